"""OpenNRE JSONL: text (char offsets) and token (token offsets) forms, negatives, errors."""

import json

import pytest

from spacy_xlie.corpora import ConvertStats, read_opennre

from .util import FIXTURES, ents, expect_error, rels, write


def test_text_form_and_negative_label():
    stats = ConvertStats()
    founded, negative = read_opennre(FIXTURES / "opennre_text.jsonl", stats=stats)
    assert ents(founded) == [("Bill Gates", "ENT", "Q5284"), ("Microsoft", "ENT", "Q2283")]
    assert rels(founded) == [("Bill Gates", "Microsoft", "founder_of")]  # h -> t
    assert rels(negative) == [] and len(negative.ents) == 2
    assert stats.labels == {"founder_of": 1, "NA": 1}


def test_token_form_with_types():
    (doc,) = read_opennre(FIXTURES / "opennre_token.jsonl")
    assert [t.text for t in doc] == ["Merpati", "flight", "106", "departed", "Jakarta", "."]
    assert ents(doc) == [("Merpati flight 106", "ENT", "Q6819"), ("Jakarta", "GPE", "Q3630")]
    assert rels(doc) == [("Jakarta", "Merpati flight 106", "place served by transport hub")]


def test_negative_labels_are_configurable(tmp_path):
    record = {"text": "A met B.", "h": {"pos": [0, 1]}, "t": {"pos": [6, 7]}, "relation": "NA"}
    path = write(tmp_path, "n.jsonl", json.dumps(record))
    (doc,) = read_opennre(path, negative_labels=("none",))
    assert rels(doc) == [("A", "B", "NA")]


GOOD = {"text": "A met B.", "h": {"pos": [0, 1]}, "t": {"pos": [6, 7]}, "relation": "met"}


@pytest.mark.parametrize(
    "record,field,match",
    [
        ({**GOOD, "relation": ""}, "relation", "empty text"),
        ({k: v for k, v in GOOD.items() if k != "t"}, "t", "missing field"),
        ({**GOOD, "h": {"pos": [0, 50]}}, "h.pos", "out of range"),
        ({**GOOD, "h": {"pos": [0, True]}}, "h.pos", "expected \\[start, end\\]"),
        ({**GOOD, "t": {"pos": [0, 1]}}, "t.pos", "overlap"),
        ({**GOOD, "t": {"pos": [5, 6]}}, "t.pos", "only whitespace"),
        ({**GOOD, "text": ""}, "text", "empty text"),
        ({"token": [], "h": {"pos": [0, 1]}, "t": {"pos": [1, 2]}, "relation": "r"},
         "token", "empty sentence"),
        ({"token": ["a", 3], "h": {"pos": [0, 1]}, "t": {"pos": [1, 2]}, "relation": "r"},
         "token[1]", "non-empty string"),
        ({"token": ["a", "b"], "h": {"pos": [0, 1]}, "t": {"pos": [1, 3]}, "relation": "r"},
         "t.pos", "token offsets .* out of range"),
    ],
)
def test_bad_records(tmp_path, record, field, match):
    path = write(tmp_path, "o.jsonl", json.dumps(GOOD) + "\n\n" + json.dumps(record) + "\n")
    expect_error(read_opennre, path, 3, field, match)
    stats = ConvertStats()
    assert len(list(read_opennre(path, skip_invalid=True, stats=stats))) == 1
    assert stats.skipped == 1
