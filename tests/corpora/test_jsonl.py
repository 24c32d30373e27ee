"""spacy-xlie JSONL both ways: export, import, and a lossless round trip."""

import json

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_xlie.corpora import (
    ConvertStats,
    doc_to_record,
    read_docbin,
    read_jsonl,
    read_kbp37,
    read_relx_distant,
)
from spacy_xlie.relations import add_entities, add_relation, span_from_tokens
from spacy_xlie.unrepresentable import add_unrepresentable, get_unrepresentable
from spacy_xlie.util.io import write_jsonl

from .util import FIXTURES, ents, expect_error, rels, write


def state(doc, tokens=True):
    """What must survive a round trip; without tokens, in characters, not tokens."""
    def offsets(span):
        return (span.start, span.end) if tokens else (span.start_char, span.end_char)

    return (
        [(t.text, t.whitespace_) for t in doc] if tokens else doc.text, ents(doc),
        {k: [(*offsets(s), s.label_) for s in g] for k, g in doc.spans.items()},
        [(offsets(r.head), offsets(r.tail), r.label, r.score, r.source, r.spans_key)
         for r in doc._.relations],
        doc._.xlie_id, doc._.xlie_lang, get_unrepresentable(doc),
    )


def test_import_hand_written():
    (doc,) = read_jsonl(FIXTURES / "xlie.jsonl")
    assert ents(doc) == [("Bill Gates", "PER", "Q5284"), ("Microsoft", "ORG", "Q2283")]
    assert rels(doc) == [("Microsoft", "Bill Gates", "org:founded_by")]
    rel = doc._.relations[0]
    assert (rel.score, rel.source, doc._.xlie_id, doc._.xlie_lang) == (0.75, "predicted", "a1",
                                                                      "en")


def test_export_format():
    (doc,) = read_jsonl(FIXTURES / "xlie.jsonl")
    record = doc_to_record(doc, tokens=False)
    assert record == {
        "id": "a1", "lang": "en", "text": "Bill Gates founded Microsoft.",
        "entities": [
            {"start": 0, "end": 10, "label": "PER", "kb_id": "Q5284", "text": "Bill Gates"},
            {"start": 19, "end": 28, "label": "ORG", "kb_id": "Q2283", "text": "Microsoft"},
        ],
        "relations": [{"head": 1, "tail": 0, "label": "org:founded_by", "score": 0.75,
                       "source": "predicted"}],
    }


@pytest.mark.parametrize("tokens", [True, False])
def test_round_trip_through_jsonl(tmp_path, tokens):
    docs = list(read_kbp37(FIXTURES / "kbp37_sample.txt"))
    docs += list(read_relx_distant(FIXTURES / "relx_distant_de.json", "de"))
    # A span-group relation with overlapping arguments, as a candidate generator makes.
    doc = docs[0]
    a, b = add_entities(doc, [span_from_tokens(doc, 0, 1, "X"), span_from_tokens(doc, 0, 2, "Y")],
                        spans_key="cands")
    add_relation(doc, a, b, "part_of", score=0.5, source="predicted", spans_key="cands")
    # A gold relation with no span (KBP37's empty marker) must survive too.
    add_unrepresentable(docs[1], "org:subsidiaries", head="IBM", reason="empty entity marker")
    path = tmp_path / "out.jsonl"
    write_jsonl((doc_to_record(d, tokens=tokens) for d in docs), path)
    back = list(read_jsonl(path))
    assert [state(d, tokens) for d in back] == [state(d, tokens) for d in docs]


def test_docbin_export_reader(tmp_path):
    docs = list(read_kbp37(FIXTURES / "kbp37_sample.txt"))
    DocBin(store_user_data=True, docs=docs).to_disk(tmp_path / "x.spacy")
    stats = ConvertStats()
    back = list(read_docbin(tmp_path / "x.spacy", nlp=spacy.blank("en"), stats=stats))
    assert [state(d) for d in back] == [state(d) for d in docs]
    assert stats.docs == 4


def test_docbin_reader_rejects_garbage(tmp_path):
    path = write(tmp_path, "x.spacy", "not a docbin")
    with pytest.raises(Exception, match="not a readable DocBin"):
        list(read_docbin(path))


GOOD = json.loads((FIXTURES / "xlie.jsonl").read_text())
TOKENS = [{"text": w, "ws": w not in ("Microsoft", ".")}
          for w in ["Bill", "Gates", "founded", "Microsoft", "."]]


@pytest.mark.parametrize(
    "record,field,match",
    [
        ({**GOOD, "text": None}, "text", "expected a string"),
        ({**GOOD, "text": " "}, "text", "empty sentence"),
        ({**GOOD, "entities": [{"start": 0, "end": 99}]}, "entities[0].end", "out of range"),
        ({**GOOD, "relations": [], "entities": [{"start": 1, "end": 10}], "tokens": TOKENS},
         "entities[0].start", "token bound"),
        ({**GOOD, "relations": [{"head": 0, "tail": 5, "label": "r"}]}, "relations[0].tail",
         "out of range"),
        ({**GOOD, "relations": [{"head": 0, "tail": 0, "label": "r"}]}, "relations[0].label",
         "same span"),
        ({**GOOD, "relations": [{"head": 0, "tail": 1, "label": "r", "score": "x"}]},
         "relations[0].score", "expected a number"),
        ({**GOOD, "relations": [{"head": 0, "tail": 1}]}, "relations[0].label", "missing"),
        ({**GOOD, "entities": [{"start": 0, "end": 10}, {"start": 5, "end": 18}]}, "entities",
         "overlap"),
        ({**GOOD, "tokens": [{"text": "Bill"}]}, "tokens", "do not spell"),
        ({**GOOD, "unrepresentable": {}}, "unrepresentable", "expected a list"),
        ({**GOOD, "unrepresentable": [{"label": "r"}]}, "unrepresentable[0].reason",
         "missing"),
        ({**GOOD, "unrepresentable": [{"label": "r", "reason": "x", "tail": 3}]},
         "unrepresentable[0].tail", "expected a string"),
    ],
)
def test_bad_records(tmp_path, record, field, match):
    path = write(tmp_path, "x.jsonl", json.dumps(GOOD) + "\n" + json.dumps(record) + "\n")
    expect_error(read_jsonl, path, 2, field, match)
