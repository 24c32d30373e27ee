"""Relation scorer: hand-computed micro/macro scores, direction errors, the macro label set,
unrepresentable gold relations, the predicted source, per language."""

import pytest
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_xlie import add_entities, add_relation, span_from_tokens
from spacy_xlie.scorers import make_relation_scorer, score_relations, score_relations_by_language
from spacy_xlie.unrepresentable import add_unrepresentable

WORDS = "A works for B in C".split()


def doc_with(relations, lang=None, scores=None, source="gold") -> Doc:
    """Entities A [0:1], B [3:4], C [5:6]; relations as (head, tail, label) indices."""
    doc = Doc(Vocab(), words=WORDS)
    ents = add_entities(doc, [span_from_tokens(doc, i, i + 1, "ENT") for i in (0, 3, 5)])
    for k, (h, t, label) in enumerate(relations):
        add_relation(doc, ents[h], ents[t], label, score=(scores or {}).get(k, 1.0),
                     source=source)
    doc._.xlie_lang = lang
    return doc


def example(pred, gold, lang=None, scores=None) -> Example:
    """Predictions as the relation extractor writes them (source "predicted")."""
    return Example(doc_with(pred, lang, scores, source="predicted"), doc_with(gold, lang))


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
    # gold relations per type: the predictions (the reversed and the spurious one) add none
    assert s["rel_gold_per_type"] == {"employee_of": 2, "located_in": 1, "founded": 1}


def test_macro_label_set_is_gold_predicted_and_model_types():
    examples = [
        example([(0, 1, "employee_of")], [(0, 1, "employee_of")]),
        # a gold type the model does not know: missed, and it stays in the average
        example([], [(1, 2, "founded")]),
        # a predicted type that is neither gold nor a model label: spurious, averaged too
        example([(0, 2, "spouse")], []),
    ]
    s = score_relations(examples, labels=["employee_of", "located_in"])
    # employee_of 1, located_in 0 (no gold, no prediction), founded 0, spouse 0
    assert set(s["rel_f_per_type"]) == {"employee_of", "located_in", "founded", "spouse"}
    assert s["rel_macro_f"] == pytest.approx(1 / 4)
    assert s["rel_f_per_type"]["founded"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    # without model labels: the gold and predicted types
    assert score_relations(examples)["rel_macro_f"] == pytest.approx(1 / 3)


def test_unrepresentable_gold_relation_is_missed():
    """An empty-marker record's relation has no span, but it is gold: a false negative."""
    lost = example([(0, 1, "employee_of")], [(0, 1, "employee_of")])
    add_unrepresentable(lost.reference, "founded", head="", tail="B", reason="empty marker")
    add_unrepresentable(lost.reference, "employee_of", head="A", tail="", reason="empty marker")
    s = score_relations([lost], labels=["employee_of"])
    # employee_of: tp=1, fn=1 (the unrepresentable one); founded: fn=1
    assert s["rel_micro_p"] == 1.0
    assert s["rel_micro_r"] == pytest.approx(1 / 3)
    assert s["rel_f_per_type"]["employee_of"]["r"] == pytest.approx(1 / 2)
    assert s["rel_macro_f"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert s["rel_gold_per_type"] == {"employee_of": 2, "founded": 1}
    # on the predicted side it means nothing
    add_unrepresentable(lost.predicted, "spouse", reason="empty marker")
    assert score_relations([lost], labels=["employee_of"]) == s


def test_only_predicted_relations_are_scored():
    """Distant or projected relations on the predicted doc are not predictions."""
    predicted = doc_with([(0, 1, "employee_of")], source="distant")
    add_relation(predicted, predicted.ents[1], predicted.ents[2], "located_in",
                 source="predicted")
    eg = Example(predicted, doc_with([(0, 1, "employee_of"), (1, 2, "located_in")]))
    s = score_relations([eg])
    assert (s["rel_micro_p"], s["rel_micro_r"]) == (1.0, 0.5)
    everything = score_relations([eg], source=None)
    assert (everything["rel_micro_p"], everything["rel_micro_r"]) == (1.0, 1.0)
    assert score_relations([eg], source="distant")["rel_f_per_type"]["employee_of"]["f"] == 1.0


def test_multilabel_scores_what_the_component_kept():
    """The component drops relations below its threshold before the scorer sees them, so
    the scorer does not re-apply one: it scores the relations as they are."""
    eg = example([(0, 1, "employee_of"), (0, 2, "located_in")], [(0, 1, "employee_of")],
                 scores={0: 0.9, 1: 0.4})
    s = score_relations([eg], mode="multilabel", threshold=0.5)
    assert s["rel_micro_p"] == 0.5
    assert s["rel_threshold"] == 0.5


def test_empty_and_no_relations():
    s = score_relations([example([], [])])
    assert s["rel_micro_f"] == 0.0 and s["rel_macro_f"] == 0.0
    assert s["rel_f_per_type"] == {}


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


def raw_example(gold_args, gold_rel, pred_ents, pred_rels, words=None):
    """A pipeline's own entities (``pred_ents``, token offsets) and relations (indices into
    them) against an annotated pair (``gold_args``, ``gold_rel`` as (0|1, 0|1, label))."""
    words = words or "Barack Obama is the president of the United States".split()
    gold = Doc(Vocab(), words=words)
    args = add_entities(gold, [span_from_tokens(gold, s, e, "ENT") for s, e in gold_args])
    if gold_rel:
        add_relation(gold, args[gold_rel[0]], args[gold_rel[1]], gold_rel[2], source="gold")
    pred = Doc(gold.vocab, words=words)
    ents = add_entities(pred, [span_from_tokens(pred, s, e, "PER") for s, e in pred_ents])
    for h, t, label in pred_rels:
        add_relation(pred, ents[h], ents[t], label, source="predicted")
    return Example(pred, gold)


def test_annotated_pair_exact_and_overlapping_boundaries():
    from spacy_xlie.scorers import score_annotated_pairs

    gold = [(0, 2), (3, 5)]  # "Barack Obama", "the president"
    rel = (0, 1, "per:title")
    examples = [
        # overlapping boundaries ("Obama", "president"): right label and direction
        raw_example(gold, rel, [(1, 2), (4, 5)], [(0, 1, "per:title")]),
        # exact boundaries, wrong direction: a false positive and a miss
        raw_example(gold, rel, [(0, 2), (3, 5)], [(1, 0, "per:title")]),
        # a relation between other entities is not scored; the gold one is missed
        raw_example(gold, rel, [(0, 2), (8, 9)], [(0, 1, "per:employee_of")]),
    ]
    exact = score_annotated_pairs(examples, boundaries="exact")
    overlap = score_annotated_pairs(examples, boundaries="overlap")
    assert exact["rel_f_per_type"]["per:title"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    assert (exact["rel_micro_p"], exact["rel_micro_r"]) == (0.0, 0.0)
    assert "per:employee_of" not in exact["rel_f_per_type"]
    # overlap: 1 TP, 1 FP (direction), 2 FN -> P 1/2, R 1/3
    assert overlap["rel_micro_p"] == pytest.approx(1 / 2)
    assert overlap["rel_micro_r"] == pytest.approx(1 / 3)
    assert exact["pair_found"] == pytest.approx(1 / 3)
    assert overlap["pair_found"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="boundaries"):
        score_annotated_pairs(examples, boundaries="loose")
