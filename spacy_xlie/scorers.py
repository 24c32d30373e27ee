"""Relation scores, including the official KBP37/RELX macro-F1.

A relation counts as correct only if its head span, tail span and label all match the
gold one, so a prediction with the right type but the wrong direction is one false
positive and one false negative. Spans are compared by character offsets, so gold and
predicted docs may be tokenised differently. ``no_relation`` is never a positive class.

``rel_macro_f`` is the metric of RELX's ``finetune.py`` (and the KBP37 papers): for each
relation type, F1 micro-averaged over its two directions (which is the per-type F1 above,
since a type's two directed labels share one pool of gold and predicted relations), then
the plain mean over the types. The types are the component's labels when given (the 18
KBP37 types), as with scikit-learn's ``labels=`` argument; otherwise those seen in gold
or predictions. As in scikit-learn (``zero_division=0``) a type with neither gold nor
predicted relations scores 0.
"""

from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from spacy.scorer import PRFScore
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from .relations import NO_RELATION

RelKey = Tuple[int, int, int, int, str]


@registry.scorers("spacy_xlie.relation_scorer.v1")
def make_relation_scorer() -> Callable[..., Dict[str, Any]]:
    """The relation extractor's default scorer (see :func:`score_relations`)."""
    return score_relations


def relation_keys(
    doc: Doc, *, source: Optional[str] = None, threshold: Optional[float] = None
) -> Set[RelKey]:
    """Directed relations as ``(head chars, tail chars, label)`` keys.

    ``threshold`` drops relations scored below it; ``source`` keeps only one source.
    """
    keys = set()
    for rel in doc._.relations:
        if rel.label == NO_RELATION or (source is not None and rel.source != source):
            continue
        if threshold is not None and rel.score < threshold:
            continue
        keys.add(
            (rel.head.start_char, rel.head.end_char, rel.tail.start_char, rel.tail.end_char,
             rel.label)
        )
    return keys


def score_relations(
    examples: Iterable[Example],
    *,
    labels: Optional[Iterable[str]] = None,
    mode: str = "exclusive",
    threshold: Optional[float] = None,
    source: Optional[str] = None,
    **_: Any,
) -> Dict[str, Any]:
    """Micro P/R/F, the official macro-F1 and per-type P/R/F of ``doc._.relations``.

    ``mode="multilabel"`` re-applies ``threshold`` to the predicted scores (so one run can
    be scored at several thresholds) and reports it as ``rel_threshold``. ``source``
    restricts the predicted relations to one source (e.g. ``"predicted"``).
    """
    cut = threshold if mode == "multilabel" else None
    per_type: Dict[str, PRFScore] = defaultdict(PRFScore)
    for eg in examples:
        gold = relation_keys(eg.reference)
        pred = relation_keys(eg.predicted, source=source, threshold=cut)
        for key in pred:
            if key in gold:
                per_type[key[4]].tp += 1
            else:
                per_type[key[4]].fp += 1
        for key in gold - pred:
            per_type[key[4]].fn += 1
    types: List[str] = sorted(set(labels) if labels is not None else per_type)
    micro = PRFScore()
    for score in per_type.values():
        micro += score
    scores: Dict[str, Any] = {
        "rel_micro_p": micro.precision,
        "rel_micro_r": micro.recall,
        "rel_micro_f": micro.fscore,
        "rel_macro_f": (
            sum(per_type[t].fscore if t in per_type else 0.0 for t in types) / len(types)
            if types else 0.0
        ),
        "rel_f_per_type": {
            t: per_type[t].to_dict() for t in sorted(set(types) | set(per_type))
        },
    }
    if mode == "multilabel":
        scores["rel_threshold"] = threshold
    return scores


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
