"""Candidate entity pairs for the relation extractor.

The relation extractor scores every candidate pair, so this is where a doc with hundreds
of entities is kept from exhausting memory: pairs are generated nearest first and cut at
``max_candidates``. Pairs are unordered (the first argument starts first); the component
adds both orders itself in ``multilabel`` mode.
"""

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.util import registry

Pair = Tuple[Span, Span]


@registry.misc("spacy_xlie.candidate_pairs.v1")
def create_candidate_pairs(
    max_distance: int = 100,
    same_sentence: bool = False,
    allowed_label_pairs: Optional[List[List[str]]] = None,
    max_candidates: int = 1000,
    spans_key: Optional[str] = None,
) -> "CandidatePairs":
    """Pairs of entities at most ``max_distance`` tokens apart (gap between the spans).

    ``same_sentence`` keeps only pairs inside one sentence (docs without sentence
    boundaries count as one sentence). ``allowed_label_pairs`` lists ``[label1, label2]``
    entity-label pairs, in either order, e.g. ``[["PER", "ORG"]]``; ``None`` allows all.
    ``spans_key`` reads entities from ``doc.spans[spans_key]`` instead of ``doc.ents``.
    """
    if max_distance < 0 or max_candidates < 0:
        raise ValueError("max_distance and max_candidates must be >= 0")
    allowed = None
    if allowed_label_pairs is not None:
        allowed = frozenset(tuple(pair) for pair in allowed_label_pairs)
        if any(len(pair) != 2 for pair in allowed):
            raise ValueError("allowed_label_pairs must hold [label1, label2] pairs")
    return CandidatePairs(max_distance, same_sentence, allowed, max_candidates, spans_key)


@dataclass(frozen=True)
class CandidatePairs:
    """A picklable candidate generator (``nlp.pipe(n_process=...)`` pickles pipes)."""

    max_distance: int
    same_sentence: bool
    allowed_label_pairs: Optional[frozenset]
    max_candidates: int
    spans_key: Optional[str]

    def entities(self, doc: Doc) -> Sequence[Span]:
        """The doc's entities, sorted by position (a span group's duplicates dropped)."""
        if self.spans_key is None:
            return doc.ents
        group = doc.spans[self.spans_key] if self.spans_key in doc.spans else []
        unique = {(s.start, s.end): s for s in reversed(list(group))}
        return [unique[key] for key in sorted(unique)]

    def __call__(self, doc: Doc) -> List[Pair]:
        return self.pairs(doc, self.entities(doc))

    def pairs(self, doc: Doc, ents: Sequence[Span]) -> List[Pair]:
        """The candidate pairs among ``ents`` (spans of ``doc`` sorted by start)."""
        sent_ids = self._sentence_ids(doc, ents)
        pairs = []
        for i, first in enumerate(ents):
            for j in range(i + 1, len(ents)):
                second = ents[j]
                gap = max(0, second.start - first.end)
                if gap > self.max_distance:
                    break  # sorted by start: later entities are further away
                if self._allowed(first, second) and sent_ids[i] == sent_ids[j]:
                    pairs.append((gap, first.start, second.start, first, second))
        pairs.sort(key=lambda p: p[:3])
        kept = pairs[: self.max_candidates]
        kept.sort(key=lambda p: (p[1], p[2]))
        return [(first, second) for *_, first, second in kept]

    def _allowed(self, first: Span, second: Span) -> bool:
        if self.allowed_label_pairs is None:
            return True
        labels = (first.label_, second.label_)
        return labels in self.allowed_label_pairs or labels[::-1] in self.allowed_label_pairs

    def _sentence_ids(self, doc: Doc, ents: Iterable[Span]) -> List[int]:
        if not self.same_sentence or not doc.has_annotation("SENT_START"):
            return [0 for _ in ents]
        return [ent.sent.start for ent in ents]
