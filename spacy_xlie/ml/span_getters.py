"""``spacy_xlie.sentence_spans.v1``: the encoder's windows cut at sentence boundaries.

spacy-transformers encodes a doc in windows (``get_spans``). ``strided_spans.v1`` (window
128, stride 96 in the configs) cuts a long doc every 96 tokens wherever that falls, so a
sentence is often split between two windows and read with parts of its neighbours. The
pipelines are trained on one-sentence docs (KBP37, WikiANN), which fit one window, and a
user's article is many sentences: on KBP37 dev sentences joined into docs of 20, strided
windows found fewer of the relations than the same sentences as separate docs
(``bench/results/doc_windows.md``). This getter gives each sentence a window of its own,
as in training; a sentence longer than ``window`` tokens is cut as ``strided_spans.v1``
cuts a doc, and a doc without sentence boundaries (a training doc: the sentencizer does
not annotate during training) gets exactly ``strided_spans.v1``'s windows.

spacy-transformers' ``sent_spans.v1`` gives one window per sentence too, but no upper
bound: a sentence longer than the encoder's 512 positions would be truncated, and one of
a few hundred tokens costs attention quadratic in its length.
"""

from functools import partial
from typing import Callable, Iterable, List

from spacy.tokens import Doc, Span
from spacy_transformers.span_getters import get_strided_spans
from spacy_transformers.util import registry  # spaCy's registry, with span_getters


def sentence_windows(doc: Doc, window: int, stride: int) -> List[Span]:
    """``doc``'s windows: each sentence cut by spacy-transformers' strided getter (it
    slices a sentence span as it slices a doc), or the whole doc without sentences."""
    parts = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
    return [span for part in parts for span in get_strided_spans([part], window, stride)[0]]


def get_sentence_spans(docs: Iterable[Doc], window: int, stride: int) -> List[List[Span]]:
    return [sentence_windows(doc, window, stride) for doc in docs]


@registry.span_getters("spacy_xlie.sentence_spans.v1")
def configure_sentence_spans(window: int = 128, stride: int = 96
                             ) -> Callable[[Iterable[Doc]], List[List[Span]]]:
    """One window per sentence, at most ``window`` tokens (see the module docstring). A
    ``partial``, as spacy-transformers' getters are, so a pipeline holding it pickles."""
    if not 0 < stride <= window:
        raise ValueError(f"need 0 < stride <= window, got window {window}, stride {stride}")
    return partial(get_sentence_spans, window=window, stride=stride)
