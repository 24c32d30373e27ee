"""Hypothesis: random and garbled records never crash a converter with anything but
XlieDataError (and with ``skip_invalid`` never raise at all, except for broken JSON lists)."""

import json
import os
import tempfile
from pathlib import Path

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spacy_xlie.corpora import (
    ConvertStats,
    read_jsonl,
    read_kbp37,
    read_opennre,
    read_prodigy,
    read_relx,
    read_relx_distant,
)
from spacy_xlie.errors import XlieDataError

from .util import FIXTURES

NLP = spacy.blank("en")
# XLIE_FUZZ_EXAMPLES=2000 for a longer hunt than the default CI budget.
SETTINGS = settings(max_examples=int(os.environ.get("XLIE_FUZZ_EXAMPLES", "120")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Text drawn from pieces that matter to the parsers, plus anything at all.
PIECES = ["<e1>", "</e1>", "<e2>", "</e2>", " ", "  ", '"', "\t", "'de", "-", ".", "Apple",
          "s", "\u00a0", "马", "(e1,e2)", "(e2,e1)", "no_relation", "rel"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=12).map(
    "".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 60) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def run(read, content: str, suffix: str, **kwargs) -> None:
    """Read ``content`` both strictly and with skip_invalid; only XlieDataError may escape."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_text(content, encoding="utf8", errors="surrogatepass")
        try:
            list(read(path, nlp=NLP, **kwargs))
        except XlieDataError as err:
            assert str(err).startswith(str(path))
        try:
            stats = ConvertStats()
            docs = list(read(path, nlp=NLP, skip_invalid=True, stats=stats, **kwargs))
            assert stats.docs == len(docs)
        except XlieDataError as err:
            assert err.field == "json", err  # only an unreadable JSON list is fatal


def mutate(record: dict, data) -> dict:
    """A good record with some fields replaced by random JSON or removed."""
    record = json.loads(json.dumps(record))
    for _ in range(data.draw(st.integers(1, 3))):
        target = record
        # walk into nested objects/lists at random
        while isinstance(target, (dict, list)) and target and data.draw(st.booleans()):
            keys = list(target) if isinstance(target, dict) else list(range(len(target)))
            child = target[data.draw(st.sampled_from(keys))]
            if not isinstance(child, (dict, list)) or not child:
                break
            target = child
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target)))
            if data.draw(st.booleans()):
                del target[key]
            else:
                target[key] = data.draw(JSON)
        elif isinstance(target, list) and target:
            target[data.draw(st.integers(0, len(target) - 1))] = data.draw(JSON)
    return record


@SETTINGS
@given(st.lists(st.tuples(TEXT, TEXT, TEXT), max_size=4))
@pytest.mark.parametrize("read", [read_kbp37, read_relx])
def test_marked(read, blocks):
    content = "".join(f"{i}\t{sent}\n{label}\n\n" for i, sent, label in blocks)
    run(read, content, ".txt")


@SETTINGS
@given(st.text(max_size=200))
def test_marked_any_text(content):
    run(read_relx, content, ".txt")


def _good(name: str) -> list:
    path = FIXTURES / name
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


JSONL_READERS = [
    (read_prodigy, _good("prodigy_rel.jsonl")),
    (read_opennre, _good("opennre_text.jsonl") + _good("opennre_token.jsonl")),
    (read_jsonl, _good("xlie.jsonl")),
]


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("read,good", JSONL_READERS, ids=["prodigy", "opennre", "jsonl"])
def test_jsonl_formats_garbled(read, good, data):
    records = [mutate(data.draw(st.sampled_from(good)), data) for _ in range(2)]
    lines = [json.dumps(r) for r in records] + data.draw(st.lists(TEXT, max_size=2))
    run(read, "\n".join(lines) + "\n", ".jsonl")


@SETTINGS
@given(st.lists(JSON, max_size=3))
@pytest.mark.parametrize("read", [read_prodigy, read_opennre, read_jsonl],
                         ids=["prodigy", "opennre", "jsonl"])
def test_jsonl_formats_random(read, values):
    run(read, "\n".join(json.dumps(v) for v in values) + "\n", ".jsonl")


@SETTINGS
@given(data=st.data())
def test_relx_distant_garbled(data):
    good = _good("relx_distant_de.json")
    records = [mutate(data.draw(st.sampled_from(good)), data) for _ in range(2)]
    content = json.dumps(records + data.draw(st.lists(JSON, max_size=2)), indent=2)
    if data.draw(st.booleans()):  # break the JSON itself
        cut = data.draw(st.integers(0, len(content)))
        content = content[:cut] + data.draw(TEXT) + content[cut:]
    run(read_relx_distant, content, ".json")
