"""Hybrid projection (the default): lexical where confident, the encoder for the rest.

A confident string match (a name copied, transliterated or translated by the gazetteer)
is more precise than any word aligner, and costs no model call. The encoder is run only
on the pairs that still have an entity without one (a fuzzy match, a tie decided by
position, or nothing found: pronouns, translated common nouns), in one batch. For those
entities the two halves are combined:

- a lexical candidate at the place the encoder aligns the entity to keeps its lexical
  boundaries (string matching finds where a name starts and ends better than subword
  links, which often take in an article or a neighbouring word) and gains
  ``agreement_bonus``; among tied lexical candidates this is how the encoder decides;
- otherwise the candidates of both halves compete by confidence.

With no encoder at all (no model configured and no ``doc._.trf_data``) the hybrid
warns once and projects lexically: a pipeline without a transformer still works.
"""

import warnings
from dataclasses import replace
from typing import List, Sequence

from .base import AlignmentTask, Candidate, SpanAligner
from .embedding import EmbeddingAligner
from .lexical import POSITION_MARK, LexicalAligner

#: Lexical methods that are string matches (not fuzzy windows).
_FUZZY = "lexical:fuzzy"


class HybridAligner(SpanAligner):
    """Lexical candidates when confident; otherwise lexical and embedding combined.

    threshold (float): lowest lexical string-match confidence taken without the encoder.
    agreement_bonus (float): confidence added to a lexical candidate the encoder agrees
        with.
    """

    name = "hybrid"

    def __init__(
        self, lexical: LexicalAligner, embedding: EmbeddingAligner, *, threshold: float = 0.6,
        agreement_bonus: float = 0.1,
    ) -> None:
        self.lexical = lexical
        self.embedding = embedding
        self.threshold = threshold
        self.agreement_bonus = agreement_bonus
        self._warned = False

    def _confident(self, cands: Sequence[Candidate]) -> bool:
        if not cands or cands[0].blocked is not None:
            return False
        top = cands[0]
        return (top.score >= self.threshold and not top.method.startswith(_FUZZY)
                and POSITION_MARK not in top.method)

    def candidates_batch(self, tasks: Sequence[AlignmentTask]) -> List[List[List[Candidate]]]:
        lexical = self.lexical.candidates_batch(tasks)
        todo = [k for k, per_span in enumerate(lexical)
                if not all(self._confident(c) for c in per_span)]
        embed_tasks = [tasks[k] for k in todo]
        if todo and not self.embedding.available([d for t in embed_tasks for d in t[:2]]):
            if not self._warned:
                warnings.warn(
                    "hybrid aligner: no encoder (set the embedding aligner's model, or add a "
                    "transformer to the pipeline); projecting with the lexical aligner only",
                    stacklevel=2,
                )
                self._warned = True
            todo, embed_tasks = [], []
        embedded = self.embedding.candidates_batch(embed_tasks) if todo else []
        out = [list(per_span) for per_span in lexical]
        for k, per_span in zip(todo, embedded):
            for s, emb in enumerate(per_span):
                if not self._confident(out[k][s]):
                    out[k][s] = self.combine(out[k][s], emb)
        return out

    def combine(self, lexical: Sequence[Candidate], embedding: Sequence[Candidate]
                ) -> List[Candidate]:
        """Candidates for one entity from both halves (see the module docstring)."""
        usable = [c for c in lexical if c.blocked is None]
        if not embedding:
            return list(lexical)
        if not usable:
            return list(embedding) + [c for c in lexical if c.blocked is not None]
        best = embedding[0]
        agreed = [c for c in usable if c.overlaps(best.start, best.end)]
        if agreed:
            pick = max(agreed, key=lambda c: (c.score, -c.start))
            boosted = replace(
                pick, score=min(1.0, max(pick.score, best.score) + self.agreement_bonus),
                method=pick.method.replace(POSITION_MARK, "") + "+embedding",
            )
            rest = [c for c in usable if c is not pick] + list(embedding[1:])
            return [boosted] + sorted(rest, key=lambda c: (-c.score, c.start))
        return sorted([*usable, *embedding], key=lambda c: (-c.score, c.start))


def create_hybrid_aligner(
    lexical: LexicalAligner, embedding: EmbeddingAligner, threshold: float = 0.6
) -> HybridAligner:
    """Registered as ``spacy_xlie.hybrid_aligner.v1`` (spacy_misc)."""
    return HybridAligner(lexical, embedding, threshold=threshold)


def create_hybrid_aligner_v2(
    lexical: LexicalAligner, embedding: EmbeddingAligner, threshold: float = 0.6,
    agreement_bonus: float = 0.1,
) -> HybridAligner:
    """Registered as ``spacy_xlie.hybrid_aligner.v2``: adds ``agreement_bonus``."""
    return HybridAligner(lexical, embedding, threshold=threshold,
                         agreement_bonus=agreement_bonus)
