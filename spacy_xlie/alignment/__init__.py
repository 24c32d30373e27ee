"""Annotation projection: word/span alignment backends and entity/relation projection.

Backends (``lexical``, ``embedding``, ``hybrid``) are registered in spaCy's ``misc``
registry as ``spacy_xlie.<name>_aligner.v2`` (``.v1``: the earlier settings);
:func:`build_aligner` makes one by name for the CLI and the benchmark. torch and
transformers load only when an embedding model is first used.
"""

from typing import Optional

from .base import Candidate, SpanAligner
from .projection import (
    ProjectionResult,
    attach_source,
    get_source,
    project,
    project_batch,
)

METHODS = ("lexical", "embedding", "hybrid")


def build_aligner(
    method: str = "hybrid",
    *,
    model: Optional[str] = None,
    layer: int = 8,
    align_method: str = "itermax",
    threshold: float = 0.6,
    batch_size: int = 16,
    quantize: bool = True,
) -> SpanAligner:
    """An aligner by method name; ``model`` is a Hugging Face name or path; ``quantize``
    runs the encoder with int8 linear layers on CPU."""
    from .embedding import EmbeddingAligner
    from .hybrid import HybridAligner
    from .lexical import LexicalAligner

    if method == "lexical":
        return LexicalAligner()
    embedding = EmbeddingAligner(model, layer=layer, method=align_method, batch_size=batch_size,
                                 quantize=quantize)
    if method == "embedding":
        return embedding
    if method == "hybrid":
        return HybridAligner(LexicalAligner(), embedding, threshold=threshold)
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


__all__ = [
    "METHODS",
    "Candidate",
    "ProjectionResult",
    "SpanAligner",
    "attach_source",
    "build_aligner",
    "get_source",
    "project",
    "project_batch",
]
