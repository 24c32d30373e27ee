"""Candidate entity pairs for the relation extractor.

The relation extractor scores every candidate pair, so this is where a doc with hundreds
of entities is kept from exhausting memory: pairs are generated nearest first and cut at
``max_candidates``. Pairs are unordered (the first argument starts first); the component
adds both orders itself in ``multilabel`` mode.

``spacy_xlie.candidate_pairs.v1`` cuts the nearest ``max_candidates`` pairs of the whole
doc, so one long doc (an article of 400 sentences has thousands of same-sentence pairs)
lost pairs in every sentence that the same sentences as separate docs kept. ``.v2``, with
``same_sentence``, cuts each sentence's pairs on their own: a doc's candidates are then
those of its sentences, whatever else the doc holds, and the cap still guards against
one sentence with hundreds of entities (a list or a table).
"""

import dataclasses
from collections import Counter
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


@registry.misc("spacy_xlie.candidate_pairs.v2")
def create_candidate_pairs_v2(
    max_distance: int = 100,
    same_sentence: bool = False,
    allowed_label_pairs: Optional[List[List[str]]] = None,
    max_candidates: int = 1000,
    spans_key: Optional[str] = None,
) -> "CandidatePairs":
    """As ``spacy_xlie.candidate_pairs.v1``, with ``max_candidates`` counted per sentence
    when ``same_sentence`` is on (see the module docstring)."""
    pairs = create_candidate_pairs(max_distance, same_sentence, allowed_label_pairs,
                                   max_candidates, spans_key)
    return dataclasses.replace(pairs, cap_per_sentence=True)


@dataclass(frozen=True)
class CandidatePairs:
    """A picklable candidate generator (``nlp.pipe(n_process=...)`` pickles pipes)."""

    max_distance: int
    same_sentence: bool
    allowed_label_pairs: Optional[frozenset]
    max_candidates: int
    spans_key: Optional[str]
    cap_per_sentence: bool = False

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
                    pairs.append((gap, first.start, second.start, sent_ids[i], first, second))
        kept = self._nearest(pairs)
        kept.sort(key=lambda p: (p[1], p[2]))
        return [(first, second) for *_, first, second in kept]

    def _nearest(self, pairs: List[tuple]) -> List[tuple]:
        """The ``max_candidates`` nearest of ``pairs`` (``(gap, start, start, sentence,
        first, second)``; ties by position), in the doc or, with ``cap_per_sentence``, in
        each sentence."""
        pairs.sort(key=lambda p: p[:3])
        if not self.cap_per_sentence:
            return pairs[: self.max_candidates]
        taken: Counter = Counter()
        kept = []
        for pair in pairs:
            if taken[pair[3]] < self.max_candidates:
                taken[pair[3]] += 1
                kept.append(pair)
        return kept

    def _allowed(self, first: Span, second: Span) -> bool:
        if self.allowed_label_pairs is None:
            return True
        labels = (first.label_, second.label_)
        return labels in self.allowed_label_pairs or labels[::-1] in self.allowed_label_pairs

    def _sentence_ids(self, doc: Doc, ents: Iterable[Span]) -> List[int]:
        if not self.same_sentence or not doc.has_annotation("SENT_START"):
            return [0 for _ in ents]
        return [ent.sent.start for ent in ents]
