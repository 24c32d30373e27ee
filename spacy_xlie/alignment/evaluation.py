"""Evaluate projection on a parallel corpus with gold entities in every language (RELX).

Each source doc's two entities and relation are projected onto the target doc with its
entities and relations removed (its gold tokenisation is kept), then compared with the
target's gold entities: exact-match span accuracy of e1 and e2, relation-preserved
accuracy (both arguments exact and the relation, if any, projected), and token-overlap F1.
"""

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
    """A parallel pair with e1/e2 identified on both sides (``None`` for empty markers)."""

    pair_id: str
    src: Doc
    tgt: Doc
    src_spans: Tuple[Optional[TokenSpan], Optional[TokenSpan]]
    tgt_spans: Tuple[Optional[TokenSpan], Optional[TokenSpan]]


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
            pairs.append(GoldPair(src._.xlie_id, src, tgt, src_spans, tgt_spans))
    return pairs


def _token_f1(pred: Optional[TokenSpan], gold: TokenSpan) -> float:
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


def score_projection(
    pairs: Sequence[GoldPair], results: Sequence[ProjectionResult]
) -> Dict[str, float]:
    """Exact span accuracy, relation-preserved accuracy, token F1 and projection rate.

    Pairs with an empty gold marker on either side are left out (nothing to compare).
    """
    exact = f1 = projected = either = 0.0
    preserved = 0
    usable = 0
    for pair, result in zip(pairs, results):
        if None in pair.src_spans or None in pair.tgt_spans:
            continue
        usable += 1
        where = {tuple(ent.source): ent.target for ent in result.entities}
        hits = 0
        for src_span, gold in zip(pair.src_spans, pair.tgt_spans):
            pred = where.get(src_span)
            pred = tuple(pred) if pred is not None else None
            projected += pred is not None
            hits += pred == gold
            either += pred is not None and pred in pair.tgt_spans
            f1 += _token_f1(pred, gold)
        exact += hits
        relation_kept = all(rel.projected for rel in result.relations)
        preserved += hits == 2 and relation_kept
    n_ents = 2 * usable
    return {
        "pairs": usable,
        "exact_span_accuracy": exact / n_ents if n_ents else 0.0,
        # The same, counting a span that matches the *other* gold entity as right: some
        # translations swapped the <e1>/<e2> markers.
        "exact_span_accuracy_any_role": either / n_ents if n_ents else 0.0,
        "relation_preserved": preserved / usable if usable else 0.0,
        "token_f1": f1 / n_ents if n_ents else 0.0,
        "projection_rate": projected / n_ents if n_ents else 0.0,
    }


def evaluate_projection(
    pairs: Sequence[GoldPair], aligner: SpanAligner, *, min_score: float = 0.5,
    batch_size: int = 32,
) -> Dict[str, float]:
    """Project the usable pairs and score them (see :func:`score_projection`)."""
    usable = [p for p in pairs if None not in p.src_spans and None not in p.tgt_spans]
    results = project_pairs(usable, aligner, min_score=min_score, batch_size=batch_size)
    return score_projection(usable, results)
