"""Relation scorer: hand-computed micro/macro scores, direction errors, per language."""

import pytest
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_xlie import add_entities, add_relation, span_from_tokens
from spacy_xlie.scorers import make_relation_scorer, score_relations, score_relations_by_language

WORDS = "A works for B in C".split()


def doc_with(relations, lang=None, scores=None) -> Doc:
    """Entities A [0:1], B [3:4], C [5:6]; relations as (head, tail, label) indices."""
    doc = Doc(Vocab(), words=WORDS)
    ents = add_entities(doc, [span_from_tokens(doc, i, i + 1, "ENT") for i in (0, 3, 5)])
    for k, (h, t, label) in enumerate(relations):
        add_relation(doc, ents[h], ents[t], label, score=(scores or {}).get(k, 1.0))
    doc._.xlie_lang = lang
    return doc


def example(pred, gold, lang=None, scores=None) -> Example:
    return Example(doc_with(pred, lang, scores), doc_with(gold, lang))


def test_registered():
    assert make_relation_scorer() is score_relations


def test_hand_computed_with_wrong_direction():
    examples = [
        # correct: employee_of A->B
        example([(0, 1, "employee_of")], [(0, 1, "employee_of")]),
        # wrong direction: predicted B->A, gold A->B: one FP and one FN for employee_of
        example([(1, 0, "employee_of")], [(0, 1, "employee_of")]),
        # located_in: one correct, one spurious (B->C predicted, no gold)
        example([(0, 2, "located_in"), (1, 2, "located_in")], [(0, 2, "located_in")]),
        # a missed gold relation of a third type
        example([], [(1, 2, "founded")]),
    ]
    s = score_relations(examples, labels=["employee_of", "located_in", "founded"])
    # micro: tp=2 (emp, loc), fp=2 (reversed emp, spurious loc), fn=2 (emp, founded)
    assert s["rel_micro_p"] == pytest.approx(2 / 4)
    per = s["rel_f_per_type"]
    # employee_of: tp=1 fp=1 fn=1 -> P=R=F=0.5
    assert per["employee_of"] == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5})
    # located_in: tp=1 fp=1 fn=0 -> P=0.5 R=1 F=2/3
    assert per["located_in"] == pytest.approx({"p": 0.5, "r": 1.0, "f": 2 / 3})
    # founded: tp=0 fp=0 fn=1 -> F=0
    assert per["founded"]["f"] == 0.0
    assert s["rel_macro_f"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert s["rel_micro_r"] == pytest.approx(2 / 4)
    assert s["rel_micro_f"] == pytest.approx(0.5)
    assert "rel_threshold" not in s


def test_macro_over_component_labels_counts_unseen_types_as_zero():
    examples = [example([(0, 1, "employee_of")], [(0, 1, "employee_of")])]
    assert score_relations(examples)["rel_macro_f"] == 1.0
    # a known type with neither gold nor predictions scores 0 (scikit-learn semantics)
    assert score_relations(examples, labels=["employee_of", "founded"])["rel_macro_f"] == 0.5


def test_empty_and_no_relations():
    s = score_relations([example([], [])])
    assert s["rel_micro_f"] == 0.0 and s["rel_macro_f"] == 0.0
    assert s["rel_f_per_type"] == {}


def test_multilabel_threshold_reapplied():
    eg = example([(0, 1, "employee_of"), (0, 2, "located_in")], [(0, 1, "employee_of")],
                 scores={0: 0.9, 1: 0.4})
    low = score_relations([eg], mode="multilabel", threshold=0.3)
    high = score_relations([eg], mode="multilabel", threshold=0.5)
    assert low["rel_micro_p"] == 0.5 and high["rel_micro_p"] == 1.0
    assert high["rel_threshold"] == 0.5


def test_by_language():
    examples = [
        example([(0, 1, "employee_of")], [(0, 1, "employee_of")], lang="en"),
        example([(1, 0, "employee_of")], [(0, 1, "employee_of")], lang="de"),
        example([(1, 0, "employee_of")], [(1, 0, "employee_of")], lang="de"),
        example([], [(0, 1, "employee_of")]),
    ]
    by_lang = score_relations_by_language(examples, labels=["employee_of"])
    assert list(by_lang) == ["de", "en", "unknown"]
    assert by_lang["en"]["docs"] == 1 and by_lang["en"]["rel_macro_f"] == 1.0
    assert by_lang["de"]["docs"] == 2 and by_lang["de"]["rel_micro_f"] == pytest.approx(0.5)
    assert by_lang["unknown"]["rel_micro_r"] == 0.0
