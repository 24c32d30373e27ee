"""Evaluate projection on a parallel corpus with gold entities in every language (RELX).

Each source doc's two entities and relation are projected onto the target doc with its
entities and relations removed (its gold tokenisation is kept, and may be split further
by the projection), then compared with the target's gold entities by character offsets:
exact-match span accuracy, relation-preserved accuracy (both arguments exact and the
relation, if any, projected), and character-overlap F1.

**Roles.** RELX translators number the markers by position in the translation (``<e1>``
is always the first entity) and flip the label's direction when the order changes: EN
``per:employee_of(e1,e2)`` with e1 "Bill Gwatney" becomes DE
``per:employee_of(e2,e1)`` with e1 "Arkansas Democratic Party" (RELX 17805; 14 of the
434 relation pairs in DE, 4 in FR). So a source entity corresponds to the target entity
with the same *role in the relation* (head to head, tail to tail), not the same marker
number. For ``no_relation`` pairs the markers say nothing about which entity is which, so
a projected span is right when it is one of the two gold spans and the two projected
spans differ. ``exact_span_accuracy_by_marker`` keeps the marker-number comparison for
reference; ``exact_span_accuracy_any_role`` counts a span that matches either gold span.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.tokens import Doc

from ..corpora.marked import read_blocks, read_marked, strip_markers
from .base import SpanAligner
from .projection import ProjectionResult, project_batch

TokenSpan = Tuple[int, int]


@dataclass
class GoldPair:
    """A parallel pair with e1/e2 identified on both sides (``None`` for empty markers).

    ``roles`` maps each source span (e1, e2) to the index (0, 1) of the target span
    with the same role in the relation, or is ``None`` for a pair without a relation
    (see the module docstring).
    """

    pair_id: str
    src: Doc
    tgt: Doc
    src_spans: Tuple[Optional[TokenSpan], Optional[TokenSpan]]
    tgt_spans: Tuple[Optional[TokenSpan], Optional[TokenSpan]]
    roles: Optional[Tuple[int, int]] = None


def _roles(pair: GoldPair) -> Optional[Tuple[int, int]]:
    """Target index of each source span's counterpart, from the relations' directions."""
    src_rels, tgt_rels = pair.src._.relations, pair.tgt._.relations
    if len(src_rels) != 1 or len(tgt_rels) != 1 or src_rels[0].label != tgt_rels[0].label:
        return None if not src_rels and not tgt_rels else (0, 1)
    src_head = (src_rels[0].head.start, src_rels[0].head.end)
    tgt_head = (tgt_rels[0].head.start, tgt_rels[0].head.end)
    src_head_index = pair.src_spans.index(src_head) if src_head in pair.src_spans else 0
    tgt_head_index = pair.tgt_spans.index(tgt_head) if tgt_head in pair.tgt_spans else 0
    return (0, 1) if src_head_index == tgt_head_index else (1, 0)


def _e1_e2(doc: Doc, sentence: str) -> Tuple[Optional[TokenSpan], Optional[TokenSpan]]:
    """Token spans of e1 and e2 (doc.ents is sorted by position, so find them by offset)."""
    _text, e1, e2 = strip_markers(sentence)
    by_char = {ent.start_char: ent for ent in doc.ents}
    out = []
    for start, end in (e1, e2):
        ent = by_char.get(start) if start < end else None
        out.append((ent.start, ent.end) if ent is not None else None)
    return out[0], out[1]


def read_marked_with_roles(
    path: Union[str, Path], lang: str
) -> Iterator[Tuple[Doc, Tuple[Optional[TokenSpan], Optional[TokenSpan]]]]:
    """RELX/KBP37 docs with the token spans of e1 and e2."""
    nlp = spacy.blank(lang)
    for record, doc in zip(read_blocks(path), read_marked(path, lang, nlp=nlp)):
        yield doc, _e1_e2(doc, record.sentence)


def strip_annotations(doc: Doc) -> Doc:
    """A copy of ``doc`` without entities, span groups and relations (same tokens)."""
    out = doc.copy()
    out.ents = []
    for key in list(out.spans):
        del out.spans[key]
    out._.relations = []
    return out


def load_parallel(src_path: Path, tgt_path: Path, src_lang: str, tgt_lang: str) -> List[GoldPair]:
    """Pair two marked files by sentence id (``doc._.xlie_id``)."""
    targets = {
        doc._.xlie_id: (doc, spans) for doc, spans in read_marked_with_roles(tgt_path, tgt_lang)
    }
    pairs = []
    for src, src_spans in read_marked_with_roles(src_path, src_lang):
        if src._.xlie_id in targets:
            tgt, tgt_spans = targets[src._.xlie_id]
            pair = GoldPair(src._.xlie_id, src, tgt, src_spans, tgt_spans)
            pair.roles = _roles(pair)
            pairs.append(pair)
    return pairs


def _overlap_f1(pred: Optional[TokenSpan], gold: TokenSpan) -> float:
    if pred is None:
        return 0.0
    overlap = max(0, min(pred[1], gold[1]) - max(pred[0], gold[0]))
    if overlap == 0:
        return 0.0
    precision = overlap / (pred[1] - pred[0])
    recall = overlap / (gold[1] - gold[0])
    return 2 * precision * recall / (precision + recall)


def project_pairs(
    pairs: Sequence[GoldPair], aligner: SpanAligner, *, min_score: float = 0.5,
    batch_size: int = 32,
) -> List[ProjectionResult]:
    """Project each pair's source annotations onto its target stripped of annotations."""
    results: List[ProjectionResult] = []
    for i in range(0, len(pairs), batch_size):
        batch = pairs[i : i + batch_size]
        results += project_batch(
            [(p.src, strip_annotations(p.tgt)) for p in batch], aligner, min_score=min_score
        )
    return results


def _chars(doc: Doc, span: Optional[Sequence[int]]) -> Optional[TokenSpan]:
    if span is None:
        return None
    tokens = doc[span[0] : span[1]]
    return tokens.start_char, tokens.end_char


def score_projection(
    pairs: Sequence[GoldPair], results: Sequence[ProjectionResult]
) -> Dict[str, object]:
    """Exact span accuracy (by role), by marker, in any role; relation preserved;
    character-overlap F1; projection rate; and why entities were not projected.

    Pairs with an empty gold marker on either side are left out (nothing to compare).
    """
    exact = by_marker = either = f1 = projected = 0.0
    preserved = usable = 0
    reasons: Counter = Counter()
    for pair, result in zip(pairs, results):
        if None in pair.src_spans or None in pair.tgt_spans:
            continue
        usable += 1
        where = {tuple(ent.source): ent for ent in result.entities}
        gold = [_chars(pair.tgt, span) for span in pair.tgt_spans]
        preds = []
        for src_span in pair.src_spans:
            record = where.get(src_span)
            preds.append(_chars(result.doc, record.target) if record is not None else None)
            if record is not None and record.reason:
                reasons[record.reason] += 1
        hits = 0
        for k, pred in enumerate(preds):
            projected += pred is not None
            either += pred is not None and pred in gold
            by_marker += pred == gold[k]
            if pair.roles is None:  # no relation: no roles, each gold span once
                right = pred is not None and pred in gold and preds[1 - k] != pred
                f1 += max(_overlap_f1(pred, span) for span in gold)
            else:
                right = pred == gold[pair.roles[k]]
                f1 += _overlap_f1(pred, gold[pair.roles[k]])
            hits += right
        exact += hits
        relation_kept = all(rel.projected for rel in result.relations)
        preserved += hits == 2 and relation_kept
    n_ents = 2 * usable
    return {
        "pairs": usable,
        "exact_span_accuracy": exact / n_ents if n_ents else 0.0,
        "exact_span_accuracy_by_marker": by_marker / n_ents if n_ents else 0.0,
        "exact_span_accuracy_any_role": either / n_ents if n_ents else 0.0,
        "relation_preserved": preserved / usable if usable else 0.0,
        "token_f1": f1 / n_ents if n_ents else 0.0,
        "projection_rate": projected / n_ents if n_ents else 0.0,
        "unprojected_reasons": dict(sorted(reasons.items())),
    }


def evaluate_projection(
    pairs: Sequence[GoldPair], aligner: SpanAligner, *, min_score: float = 0.5,
    batch_size: int = 32,
) -> Dict[str, float]:
    """Project the usable pairs and score them (see :func:`score_projection`)."""
    usable = [p for p in pairs if None not in p.src_spans and None not in p.tgt_spans]
    results = project_pairs(usable, aligner, min_score=min_score, batch_size=batch_size)
    return score_projection(usable, results)
