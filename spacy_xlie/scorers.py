"""Relation scores, including the official KBP37/RELX macro-F1.

A relation counts as correct only if its head span, tail span and label all match the
gold one, so a prediction with the right type but the wrong direction is one false
positive and one false negative. Spans are compared by character offsets, so gold and
predicted docs may be tokenised differently. ``no_relation`` is never a positive class.

Every gold relation is counted: one no prediction can match (its pair is not a
candidate, or it has no span at all and lives in ``doc._.xlie_unrepresentable``, see
:mod:`spacy_xlie.unrepresentable`) is a false negative, as in the official evaluation.
Only relations the relation extractor wrote (``source="predicted"``) are predictions:
distant or projected relations on the same doc are not.

``rel_macro_f`` is the metric of RELX's ``finetune.py`` (and the KBP37 papers): for each
relation type, F1 micro-averaged over its two directions (which is the per-type F1 above,
since a type's two directed labels share one pool of gold and predicted relations), then
the plain mean over the types. The types are the union of the gold types, the predicted
types and the component's labels (the 18 KBP37 types), so a gold type the model does
not know scores 0 rather than dropping out. As in scikit-learn (``zero_division=0``) a
type with neither gold nor predicted relations scores 0.
"""

from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from spacy.scorer import PRFScore
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from .relations import NO_RELATION
from .unrepresentable import get_unrepresentable

RelKey = Tuple[int, int, int, int, str]

#: The source of the relation extractor's relations: what evaluation scores by default.
PREDICTED = "predicted"


@registry.scorers("spacy_xlie.relation_scorer.v1")
def make_relation_scorer() -> Callable[..., Dict[str, Any]]:
    """The relation extractor's default scorer (see :func:`score_relations`)."""
    return score_relations


def relation_keys(doc: Doc, *, source: Optional[str] = None) -> Set[RelKey]:
    """Directed relations as ``(head chars, tail chars, label)`` keys; ``source`` keeps
    only relations of that source (None: all)."""
    keys = set()
    for rel in doc._.relations:
        if rel.label == NO_RELATION or (source is not None and rel.source != source):
            continue
        keys.add(
            (rel.head.start_char, rel.head.end_char, rel.tail.start_char, rel.tail.end_char,
             rel.label)
        )
    return keys


def unrepresentable_labels(doc: Doc) -> List[str]:
    """Labels of the doc's gold relations that have no span (each one a sure miss)."""
    return [rec["label"] for rec in get_unrepresentable(doc) if rec["label"] != NO_RELATION]


def score_relations(
    examples: Iterable[Example],
    *,
    labels: Optional[Iterable[str]] = None,
    mode: str = "exclusive",
    threshold: Optional[float] = None,
    source: Optional[str] = PREDICTED,
    **_: Any,
) -> Dict[str, Any]:
    """Micro P/R/F, the official macro-F1 and per-type P/R/F of ``doc._.relations``.

    Gold: every relation of the reference doc, plus its unrepresentable ones (missed).
    Predictions: the predicted doc's relations of ``source`` (default ``"predicted"``,
    what the relation extractor writes; None takes every source). ``labels`` (the
    component's) join the gold and predicted types in the macro average. In
    ``multilabel`` mode the component's ``threshold`` is reported as ``rel_threshold``;
    the component has already dropped relations below it, so scoring one run at a
    different threshold is not possible (re-run the component with another threshold).
    """
    per_type: Dict[str, PRFScore] = defaultdict(PRFScore)
    for eg in examples:
        gold = relation_keys(eg.reference)
        pred = relation_keys(eg.predicted, source=source)
        for key in pred:
            if key in gold:
                per_type[key[4]].tp += 1
            else:
                per_type[key[4]].fp += 1
        for key in gold - pred:
            per_type[key[4]].fn += 1
        for label in unrepresentable_labels(eg.reference):
            per_type[label].fn += 1
    scores = prf_report(per_type, labels)
    if mode == "multilabel":
        scores["rel_threshold"] = threshold
    return scores


def prf_report(per_type: Dict[str, PRFScore], labels: Optional[Iterable[str]] = None
               ) -> Dict[str, Any]:
    """Micro P/R/F over ``per_type`` counts, the official macro-F over the types of
    ``per_type`` and ``labels``, the per-type scores and each type's gold relations
    (``rel_*`` keys). The gold counts say how much each type's F rests on: every type
    weighs the same in the macro-F, and a type with a handful of gold relations can move it
    by points on its own."""
    types = sorted(set(labels or ()) | set(per_type))
    micro = PRFScore()
    for score in per_type.values():
        micro += score
    return {
        "rel_micro_p": micro.precision,
        "rel_micro_r": micro.recall,
        "rel_micro_f": micro.fscore,
        "rel_macro_f": (
            sum(per_type[t].fscore if t in per_type else 0.0 for t in types) / len(types)
            if types else 0.0
        ),
        "rel_f_per_type": {t: per_type[t].to_dict() for t in types},
        "rel_gold_per_type": {t: per_type[t].tp + per_type[t].fn for t in types},
    }


def example_language(eg: Example, default: str = "unknown") -> str:
    """The example's language: ``doc._.xlie_lang`` of the reference, then the predicted doc."""
    return eg.reference._.xlie_lang or eg.predicted._.xlie_lang or default


def score_relations_by_language(
    examples: Iterable[Example], *, default_lang: str = "unknown", **kwargs: Any
) -> Dict[str, Dict[str, Any]]:
    """:func:`score_relations` per language (``doc._.xlie_lang``), each with its doc count."""
    groups: Dict[str, List[Example]] = defaultdict(list)
    for eg in examples:
        groups[example_language(eg, default_lang)].append(eg)
    results = {}
    for lang in sorted(groups):
        results[lang] = {"docs": len(groups[lang]), **score_relations(groups[lang], **kwargs)}
    return results


#: How a predicted argument must meet a gold one in :func:`score_annotated_pairs`.
BOUNDARIES = ("exact", "overlap")


def _meets(span: Tuple[int, int], gold: Tuple[int, int], boundaries: str) -> bool:
    if boundaries == "exact":
        return span == gold
    return span[0] < gold[1] and gold[0] < span[1]


def score_annotated_pairs(
    examples: Iterable[Example],
    *,
    boundaries: str = "exact",
    labels: Optional[Iterable[str]] = None,
    source: Optional[str] = PREDICTED,
) -> Dict[str, Any]:
    """Relation scores of a pipeline that found its own entities, on data that annotates
    one entity pair a doc (KBP37, RELX), compared by character offsets.

    Only predicted relations between the annotated pair's two entities are scored: one
    whose head meets one gold entity and whose tail meets the other (``boundaries``
    ``"exact"``: same offsets; ``"overlap"``: at least one shared character). It is a true
    positive when its head meets the gold head, its tail the gold tail and the labels
    agree (each gold relation matched once), else a false positive; relations between
    other pairs are not scored, since the data says nothing about them. Gold relations
    left unmatched (unrepresentable ones included) are false negatives.

    Returns :func:`prf_report`'s keys plus ``pair_found``: the share of docs with two
    gold entities whose both entities meet a predicted entity (``doc.ents``).
    """
    if boundaries not in BOUNDARIES:
        raise ValueError(f"boundaries must be one of {BOUNDARIES}, not {boundaries!r}")
    per_type: Dict[str, PRFScore] = defaultdict(PRFScore)
    found = pairs = 0
    for eg in examples:
        args = [(e.start_char, e.end_char) for e in eg.reference.ents]
        predicted_ents = [(e.start_char, e.end_char) for e in eg.predicted.ents]
        if len(args) == 2:
            pairs += 1
            found += all(any(_meets(p, a, boundaries) for p in predicted_ents) for a in args)
        gold = [(key[:2], key[2:4], key[4]) for key in sorted(relation_keys(eg.reference))]
        matched = [False] * len(gold)
        for key in sorted(relation_keys(eg.predicted, source=source)):
            head, tail, label = key[:2], key[2:4], key[4]
            on_pair = len(args) == 2 and any(
                _meets(head, a, boundaries) and _meets(tail, b, boundaries)
                for a, b in (args, args[::-1]))
            if not on_pair:
                continue
            hit = next((i for i, (g_head, g_tail, g_label) in enumerate(gold)
                        if not matched[i] and g_label == label
                        and _meets(head, g_head, boundaries)
                        and _meets(tail, g_tail, boundaries)), None)
            if hit is None:
                per_type[label].fp += 1
            else:
                matched[hit] = True
                per_type[label].tp += 1
        for (_, _, label), hit in zip(gold, matched):
            if not hit:
                per_type[label].fn += 1
        for label in unrepresentable_labels(eg.reference):
            per_type[label].fn += 1
    return {**prf_report(per_type, labels), "pair_found": found / pairs if pairs else 0.0,
            "docs": pairs}
