"""``xlie_projection_aligner``: project a source doc's entities and relations onto its
translation, inside a target-language pipeline.

Each target doc carries its annotated source doc in ``doc._.xlie_source`` (the source
serialised with ``Doc.to_bytes``, set with
:func:`spacy_xlie.alignment.projection.attach_source`): bytes pickle, so the component
works with ``nlp.pipe(..., n_process=...)``, and fit in a ``DocBin``. Docs without a
source pass through untouched. The alignment backend is a registered function
(``spacy_xlie.hybrid_aligner.v2`` by default, ``spacy_xlie.lexical_aligner.v2``,
``spacy_xlie.embedding_aligner.v2``; the ``.v1`` versions still load); ``nlp.pipe``
batches it, so the encoder of the embedding backend runs on whole batches. With
``split_target`` (default) target tokens are split at apostrophe suffixes and between
CJK characters first (:func:`spacy_xlie.alignment.boundaries.split_target`), so a
projected name can end where RELX-style annotation ends it (``<e1>Ankara</e1>'da``).

When the target pipeline has a spacy-transformers component (``source_transformer``)
and the embedding backend reads ``doc._.trf_data``, that component is also run on the
source docs, so both sides are encoded by the same model.
"""

from typing import Callable, Iterable, Iterator, List, Optional

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch
from thinc.api import Config

from ..alignment.base import SpanAligner
from ..alignment.projection import (
    SOURCE_ATTR,
    attach_source,
    get_source,
    project_batch,
    register_projection_extensions,
)

DEFAULT_PROJECTION_CONFIG = """
[aligner]
@misc = "spacy_xlie.hybrid_aligner.v2"
threshold = 0.6
agreement_bonus = 0.1

[aligner.lexical]
@misc = "spacy_xlie.lexical_aligner.v2"
min_fuzzy = 0.65
max_suffix = 4
gazetteer = true
tie_break = "position"

[aligner.embedding]
@misc = "spacy_xlie.embedding_aligner.v2"
model = null
layer = 8
method = "itermax"
max_gap = 1
quantize = true
"""

DEFAULT_ALIGNER = Config().from_str(DEFAULT_PROJECTION_CONFIG)["aligner"]

__all__ = ["ProjectionAligner", "attach_source", "make_projection_aligner"]


@Language.factory(
    "xlie_projection_aligner",
    default_config={
        "aligner": DEFAULT_ALIGNER,
        "min_score": 0.5,
        "keep_source": False,
        "source_transformer": "transformer",
        "split_target": True,
    },
    assigns=["doc.ents", "doc._.relations", "doc._.xlie_projection"],
)
def make_projection_aligner(
    nlp: Language,
    name: str,
    aligner: SpanAligner,
    min_score: float,
    keep_source: bool,
    source_transformer: Optional[str],
    split_target: bool,
) -> "ProjectionAligner":
    """Project entities and relations from ``doc._.xlie_source`` onto each doc."""
    return ProjectionAligner(
        nlp, name, aligner=aligner, min_score=min_score, keep_source=keep_source,
        source_transformer=source_transformer, split_target=split_target,
    )


class ProjectionAligner(Pipe):
    """Pipeline component around :func:`~spacy_xlie.alignment.projection.project_batch`.

    aligner: the span alignment backend.
    min_score: lowest candidate confidence that is projected.
    keep_source: keep ``doc._.xlie_source`` after projecting (off: smaller DocBins).
    source_transformer: name of a spacy-transformers component to run on source docs.
    split_target: split target tokens at apostrophe suffixes and CJK characters first.
    """

    def __init__(
        self,
        nlp: Language,
        name: str = "xlie_projection_aligner",
        *,
        aligner: SpanAligner,
        min_score: float = 0.5,
        keep_source: bool = False,
        source_transformer: Optional[str] = "transformer",
        split_target: bool = True,
    ) -> None:
        register_projection_extensions()
        self.name = name
        self.vocab = nlp.vocab
        self.aligner = aligner
        self.min_score = min_score
        self.keep_source = keep_source
        self.source_transformer = source_transformer
        self.split_target = split_target
        self._nlp = nlp

    def __call__(self, doc: Doc) -> Doc:
        self._project([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 32) -> Iterator[Doc]:
        for batch in minibatch(stream, size=batch_size):
            self._project(batch)
            yield from batch

    def _project(self, docs: List[Doc]) -> None:
        pairs = []
        for doc in docs:
            src = get_source(doc, self.vocab)
            if src is not None:
                pairs.append((src, doc))
        if not pairs:
            return
        self._encode_sources(pairs)
        project_batch(pairs, self.aligner, min_score=self.min_score, copy=False,
                      split=self.split_target)
        if not self.keep_source:
            for _src, doc in pairs:
                doc._.set(SOURCE_ATTR, None)

    def _encode_sources(self, pairs: List) -> None:
        """Run the pipeline's transformer on source docs when targets carry trf_data."""
        name = self.source_transformer
        if not name or name not in self._nlp.pipe_names:
            return
        todo = [src for src, tgt in pairs
                if tgt.has_extension("trf_data") and tgt._.trf_data is not None]
        if todo:
            transformer: Callable = self._nlp.get_pipe(name)
            for _ in transformer.pipe(todo):
                pass
