"""Hybrid projection (the default): lexical where confident, embedding for the rest.

A confident string match (a name copied into the translation) is more precise than any
word aligner, and costs no model call; the encoder is run only on the pairs that still
have an entity without a confident lexical candidate, in one batch. For those entities
the embedding candidates join the weaker lexical ones and the best confidence wins.

With no encoder at all (no model configured and no ``doc._.trf_data``) the hybrid
warns once and projects lexically: a pipeline without a transformer still works.
"""

import warnings
from typing import List, Sequence

from .base import AlignmentTask, Candidate, SpanAligner
from .embedding import EmbeddingAligner
from .lexical import LexicalAligner


class HybridAligner(SpanAligner):
    """Lexical candidates at or above ``threshold``; otherwise embedding candidates too."""

    name = "hybrid"

    def __init__(
        self, lexical: LexicalAligner, embedding: EmbeddingAligner, *, threshold: float = 0.6
    ) -> None:
        self.lexical = lexical
        self.embedding = embedding
        self.threshold = threshold
        self._warned = False

    def _confident(self, cands: Sequence[Candidate]) -> bool:
        return bool(cands) and cands[0].score >= self.threshold

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
                    merged = list(out[k][s]) + list(emb)
                    out[k][s] = sorted(merged, key=lambda c: (-c.score, c.start))
        return out


def create_hybrid_aligner(
    lexical: LexicalAligner, embedding: EmbeddingAligner, threshold: float = 0.6
) -> HybridAligner:
    """Registered as ``spacy_xlie.hybrid_aligner.v1`` (spacy_misc)."""
    return HybridAligner(lexical, embedding, threshold=threshold)
