"""bench/doc_windows.py: joined docs cut back into their sentences with the entities and
relations inside each, and one table row per getter and doc shape."""

import spacy

from spacy_xlie.relations import Relation, add_relations
from tests.bench import load_bench

doc_windows = load_bench("doc_windows")

TEXTS = ["Ann works for Acme .", "Bob lives in Rome .", "Cid met Ann ."]


def test_joined_docs_and_the_ranges_of_their_sentences():
    joined, ranges = doc_windows.joined_docs(TEXTS, 2)
    assert joined == ["Ann works for Acme . Bob lives in Rome .", "Cid met Ann ."]
    assert [[joined[i][a:b] for a, b in r] for i, r in enumerate(ranges)] == [
        TEXTS[:2], TEXTS[2:]]


def test_cut_back_keeps_what_lies_inside_each_sentence():
    nlp = spacy.blank("xx")
    joined, ranges = doc_windows.joined_docs(TEXTS, 3)
    doc = nlp(joined[0])
    ann, acme, bob, rome, ann2 = (doc.char_span(*s, label="X") for s in (
        (0, 3), (14, 18), (21, 24), (34, 38), (49, 52)))
    doc.ents = [ann, acme, bob, rome, ann2]
    add_relations(doc, [Relation(ann, acme, "per:employee_of", 0.9, "predicted", None),
                        Relation(bob, rome, "per:cities_of_residence", 0.8, "predicted", None),
                        Relation(acme, bob, "org:top_members/employees", 0.7, "predicted",
                                 None)])
    pieces = doc_windows.cut_back(doc, ranges[0])
    # a piece keeps the space after its last token (offsets are all the scorer reads)
    assert [piece.text.rstrip() for piece in pieces] == TEXTS
    assert [[e.text for e in piece.ents] for piece in pieces] == [
        ["Ann", "Acme"], ["Bob", "Rome"], ["Ann"]]
    # the relation across two sentences belongs to neither
    assert [[(r.head.text, r.label, r.tail.text) for r in piece._.relations]
            for piece in pieces] == [[("Ann", "per:employee_of", "Acme")],
                                     [("Bob", "per:cities_of_residence", "Rome")], []]


def test_one_row_per_getter_and_shape():
    pair = {"micro_f": 0.5, "macro_f": 0.4}
    row = {"exact": pair, "overlap": {"micro_f": 0.6, "macro_f": 0.45},
           "words_per_second": 1234.5}
    report = {"command": "python bench/doc_windows.py", "date": "2026-12-07", "machine": "x",
              "model": "m", "sentences": 1724, "sentences_per_doc": 20,
              "rows": {"strided_spans": {"joined": row, "separate": row}},
              "gold_entity_macro_f": {"strided_spans": 0.65}}
    lines = doc_windows.markdown(report).splitlines()
    assert ("| `spacy-transformers.strided_spans.v1` | joined | 50.0 | 40.0 | 60.0 | 45.0 | "
            "1,234 | 65.0 |") in lines
