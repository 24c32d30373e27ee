"""The relation classifier: one encoder pass per doc, then one row of scores per entity pair.

Input is ``(docs, pairs)``: ``pairs[i]`` is an ``(n_i, 4)`` int array of token offsets
``[head_start, head_end, tail_start, tail_end]`` for doc ``i``. The docs go through the
tok2vec (a CNN listener or a transformer listener) once; every pair then reads its head
span, tail span and (optionally) the tokens between them from that single encoding, so
the cost of the encoder does not grow with the number of pairs or labels (the per-pair
re-encoding of zshot-style extractors). Output is one row of logits per pair: the pipe
decides whether they go through a softmax (one decision per pair) or sigmoids.
"""

from typing import Callable, List, Optional, Tuple

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Dropout, LayerNorm, Linear, Maxout, Model, chain
from thinc.types import Floats2d, Ints1d, Ints2d

from .pair_encoder import pair_encoder

PairInput = Tuple[List[Doc], List[Ints2d]]
PairVectors = Tuple[List[Floats2d], List[Ints2d]]

POOLINGS = ("mean", "first", "mean_max")


@registry.architectures("spacy_xlie.RelationClassifier.v1")
def build_relation_classifier(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    dropout: float = 0.2,
    pooling: str = "mean_max",
    use_context: bool = True,
    nO: Optional[int] = None,
) -> Model[PairInput, Floats2d]:
    """tok2vec → pooled head, tail (and between-context) vectors → Maxout → Linear logits.

    ``pooling`` reduces each span: ``"mean"``, ``"first"`` (first token, as BERT-style
    entity-start pooling) or ``"mean_max"`` (both, concatenated). ``nO`` is set by the
    pipe from its labels at initialization.
    """
    features = pair_features(pooling=pooling, use_context=use_context)
    return _classifier(tok2vec, features, hidden_width, dropout, nO)


def _classifier(tok2vec: Model[List[Doc], List[Floats2d]],
                features: Model[PairVectors, Floats2d], hidden_width: int, dropout: float,
                nO: Optional[int],
                encode: Optional[Callable[[Model], Model[PairInput, PairVectors]]] = None
                ) -> Model[PairInput, Floats2d]:
    """tok2vec → ``features`` → dropout → Maxout → Linear, with the refs the pipe reads;
    ``encode`` (default :func:`encode_docs`) wraps the tok2vec.

    ``dropout`` is only the rate the layers start with: as in spaCy's own pipes, the
    extractor's ``update`` sets every rate to its ``drop`` (``[training] dropout`` under
    ``spacy train``) before each step, so that setting is what trains."""
    output_layer = Linear(nO=nO)
    model = chain(
        (encode or encode_docs)(tok2vec),
        features,
        Dropout(dropout),
        Maxout(nO=hidden_width, nP=2, dropout=dropout, normalize=True),
        output_layer,
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", output_layer)
    return model


@registry.architectures("spacy_xlie.RelationClassifier.v2")
def build_relation_classifier_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    encoder_width: int,
    hidden_width: int = 256,
    dropout: float = 0.2,
    pooling: str = "mean_max",
    use_context: bool = True,
    pair_width: int = 128,
    pair_heads: int = 4,
    pair_margin: int = 5,
    nO: Optional[int] = None,
) -> Model[PairInput, Floats2d]:
    """v1 plus entity markers: next to the pooled shared vectors (v1's features), the
    same spans pooled again from a pair encoder (:mod:`spacy_xlie.ml.pair_encoder`),
    which re-reads each pair's window with head and tail marked. ``encoder_width`` is
    the tok2vec's output width (multilingual-e5-small: 384); ``pair_width``,
    ``pair_heads`` and ``pair_margin`` size the pair encoder's layer and window.
    The pair encoder is a PyTorch layer, so it keeps ``dropout`` while training; the
    thinc layers after it run at the update's ``drop`` (see :func:`_classifier`).
    """
    features = _concatenate_features(
        pair_features(pooling=pooling, use_context=use_context),
        chain(
            pair_encoder(encoder_width, width=pair_width, heads=pair_heads,
                         margin=pair_margin, dropout=dropout),
            pair_features(pooling=pooling, use_context=use_context),
        ),
    )
    return _classifier(tok2vec, features, hidden_width, dropout, nO)


@registry.architectures("spacy_xlie.RelationClassifier.v3")
def build_relation_classifier_v3(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    dropout: float = 0.2,
    pooling: str = "mean_max",
    use_context: bool = True,
    nO: Optional[int] = None,
) -> Model[PairInput, Floats2d]:
    """v1 plus the pair's sentence, pooled as the spans are, beside the head, tail and
    between-context vectors: words outside the stretch from head to tail ("X and Y
    married", "Y-born X") reach the classifier too. The sentence is the doc's sentence
    holding the pair (from its first argument's to its second's where they differ), or
    the whole doc where it has no sentence boundaries (KBP37's one-sentence training docs).
    """
    features = _concatenate_features(
        pair_features(pooling=pooling, use_context=use_context),
        sentence_features(pooling=pooling),
    )
    return _classifier(tok2vec, features, hidden_width, dropout, nO,
                       encode=encode_docs_with_sentences)


@registry.architectures("spacy_xlie.RelationClassifier.v4")
def build_relation_classifier_v4(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    dropout: float = 0.2,
    pooling: str = "mean_max",
    use_context: bool = True,
    nO: Optional[int] = None,
) -> Model[PairInput, Floats2d]:
    """v1 plus the element-wise product of the pooled head and pooled tail, layer-normalised
    (the ``u * v`` of sentence-pair and span-pair scorers). v1's Maxout sees head and tail
    side by side, so each of its units adds a linear map of one to a linear map of the
    other and cannot ask whether the two are alike; the product can ("IBM" /
    "International Business Machines" as one organisation's two names against a parent
    and its subsidiary). Measured on e5small, it did not beat v1 on KBP37 dev
    (bench/results/e5small_product.md), so the configs keep v1.
    """
    features = _concatenate_features(
        pair_features(pooling=pooling, use_context=use_context),
        argument_product(pooling=pooling),
    )
    return _classifier(tok2vec, features, hidden_width, dropout, nO)


def argument_product(pooling: str = "mean_max") -> Model[PairVectors, Floats2d]:
    """The pooled head times the pooled tail, element by element, then a LayerNorm: the
    encoder's few outlier dimensions square in a product, and the norm keeps them from
    swamping the Maxout's input."""
    return chain(pair_features(pooling=pooling, use_context=False), _halves_product(),
                 LayerNorm())


def _halves_product() -> Model[Floats2d, Floats2d]:
    """``X[:, :w] * X[:, w:]`` for a ``(n, 2w)`` input (head and tail side by side)."""
    return Model("halves_product", _halves_product_forward)


def _halves_product_forward(
    model: Model, X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    width = X.shape[1] // 2
    head, tail = X[:, :width], X[:, width:]

    def backprop(dY: Floats2d) -> Floats2d:
        return model.ops.xp.hstack([dY * tail, dY * head])

    return head * tail, backprop


def _concatenate_features(
    *branches: Model[PairVectors, Floats2d]
) -> Model[PairVectors, Floats2d]:
    """Each branch's features side by side. thinc's ``concatenate`` adds its branches'
    input gradients with ``+``, which joins tuples instead of adding the per-doc arrays."""
    return Model("concatenate_pair_features", _concatenate_forward, layers=list(branches),
                 init=_concatenate_init)


def _concatenate_init(model: Model, X: Optional[PairVectors] = None, Y=None) -> None:
    """Initialize each branch on the sample, so a branch with a layer of unknown input
    width (v4's LayerNorm) learns it."""
    for branch in model.layers:
        branch.initialize(X=X)


def _concatenate_forward(
    model: Model, inputs: PairVectors, is_train: bool
) -> Tuple[Floats2d, Callable]:
    results = [branch(inputs, is_train) for branch in model.layers]
    widths = [Y.shape[1] for Y, _ in results]
    Y = model.ops.xp.hstack([Y for Y, _ in results])

    def backprop(dY: Floats2d) -> PairVectors:
        d_tokvecs = None
        col = 0
        for (_, bp_branch), width in zip(results, widths):
            d_branch, _ = bp_branch(model.ops.xp.ascontiguousarray(dY[:, col:col + width]))
            col += width
            d_tokvecs = d_branch if d_tokvecs is None else [
                a + b for a, b in zip(d_tokvecs, d_branch)]
        return d_tokvecs, inputs[1]

    return Y, backprop


def encode_docs(tok2vec: Model[List[Doc], List[Floats2d]]) -> Model[PairInput, PairVectors]:
    """Run ``tok2vec`` on the docs and pass the pairs through untouched."""
    return Model("encode_docs", _encode_forward, layers=[tok2vec], init=_encode_init)


def _encode_init(model: Model, X=None, Y=None) -> None:
    tok2vec = model.layers[0]
    tok2vec.initialize(X=X[0] if X is not None else None)


def _encode_forward(
    model: Model, inputs: PairInput, is_train: bool
) -> Tuple[PairVectors, Callable]:
    docs, pairs = inputs
    tokvecs, bp_tokvecs = model.layers[0](docs, is_train)

    def backprop(d_out: PairVectors) -> PairInput:
        bp_tokvecs(d_out[0])
        return inputs

    return (tokvecs, pairs), backprop


def encode_docs_with_sentences(
    tok2vec: Model[List[Doc], List[Floats2d]]
) -> Model[PairInput, PairVectors]:
    """:func:`encode_docs`, each pair's row extended by its sentence's token range
    ``[sentence_start, sentence_end)`` (columns 4 and 5), which :func:`sentence_features`
    pools."""
    return Model("encode_docs_with_sentences", _encode_with_sentences_forward,
                 layers=[tok2vec], init=_encode_init)


def _encode_with_sentences_forward(
    model: Model, inputs: PairInput, is_train: bool
) -> Tuple[PairVectors, Callable]:
    docs, pairs = inputs
    (tokvecs, _), backprop = _encode_forward(model, inputs, is_train)
    ops = model.ops
    extended = [ops.asarray2i(pair_sentences(doc, ops.to_numpy(doc_pairs)))
                for doc, doc_pairs in zip(docs, pairs)]
    return (tokvecs, extended), backprop


def pair_sentences(doc: Doc, pairs: numpy.ndarray) -> numpy.ndarray:
    """``pairs`` (``(n, 4)`` token offsets) with two more columns: the start and end of the
    sentence holding each pair, from the sentence of its earlier argument to that of its
    later one; the whole doc where the doc has no sentence boundaries."""
    pairs = numpy.asarray(pairs, dtype="int32").reshape(-1, 4)
    if not len(pairs):
        return numpy.zeros((0, 6), dtype="int32")
    starts = numpy.zeros(len(doc), dtype="int32")
    ends = numpy.full(len(doc), len(doc), dtype="int32")
    if doc.has_annotation("SENT_START"):
        for sent in doc.sents:
            starts[sent.start:sent.end] = sent.start
            ends[sent.start:sent.end] = sent.end
    first = numpy.minimum(pairs[:, 0], pairs[:, 2])
    last = numpy.maximum(pairs[:, 1], pairs[:, 3]) - 1
    return numpy.hstack([pairs, starts[first][:, None], ends[last][:, None]])


def sentence_features(pooling: str = "mean_max") -> Model[PairVectors, Floats2d]:
    """Each pair's sentence pooled (``pooling`` as in :func:`pair_features`), from pairs
    that :func:`encode_docs_with_sentences` extended with their sentence's range."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    return Model("sentence_features", _features_forward,
                 attrs={"pooling": pooling, "segments": "sentence"})


def pair_features(pooling: str = "mean_max", use_context: bool = True) -> Model[
    PairVectors, Floats2d
]:
    """Concatenate the pooled head, tail and between-context vectors of every pair.

    The context is the token range between the two arguments; it is empty (zeros) for
    adjacent or overlapping spans.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    return Model(
        "pair_features",
        _features_forward,
        attrs={"pooling": pooling, "use_context": use_context, "segments": "pair"},
    )


def _segment_index(starts: numpy.ndarray, ends: numpy.ndarray) -> Tuple[numpy.ndarray, Ints1d]:
    """Row indices of all segments ``[start, end)`` laid end to end, and their lengths."""
    lengths = numpy.maximum(ends - starts, 0).astype("int32")
    total = int(lengths.sum())
    seg_starts = numpy.cumsum(lengths) - lengths
    index = numpy.arange(total, dtype="int64") - numpy.repeat(seg_starts, lengths)
    index += numpy.repeat(starts.astype("int64"), lengths)
    return index, lengths


def _pool(model: Model, X: Floats2d, starts: numpy.ndarray, ends: numpy.ndarray):
    """Pool rows ``X[start:end]`` per segment; return the pooled rows and a backprop that
    adds the gradient into a ``dX`` buffer. Empty segments pool to zeros."""
    ops = model.ops
    pooling = model.attrs["pooling"]
    index, lengths = _segment_index(starts, ends)
    index_d = ops.asarray1i(index) if index.size else ops.alloc1i(0)
    lengths_d = ops.asarray1i(lengths)
    gathered = X[index_d]
    parts = []
    callbacks = []
    if pooling in ("mean", "mean_max") and not index.size:
        # Every segment empty (one doc whose only pair is two adjacent entities): thinc's
        # reduce_mean reads past an empty buffer, so the zeros are made here.
        parts.append(ops.alloc2f(len(lengths), X.shape[1]))
        callbacks.append(lambda d: ops.alloc2f(0, X.shape[1]))
    elif pooling in ("mean", "mean_max"):
        parts.append(ops.reduce_mean(gathered, lengths_d))
        callbacks.append(lambda d: ops.backprop_reduce_mean(d, lengths_d))
    if pooling == "mean_max":
        nonempty = lengths > 0
        nonempty_d = ops.asarray1i(numpy.flatnonzero(nonempty))
        maxed = ops.alloc2f(len(lengths), X.shape[1])
        if nonempty.any():
            best, which = ops.reduce_max(gathered, ops.asarray1i(lengths[nonempty]))
            maxed[nonempty_d] = best
        else:
            which = None

        def bp_max(d: Floats2d) -> Floats2d:
            if which is None:
                return ops.alloc2f(0, X.shape[1])
            return ops.backprop_reduce_max(
                ops.xp.ascontiguousarray(d[nonempty_d]), which,
                ops.asarray1i(lengths[nonempty]),
            )

        parts.append(maxed)
        callbacks.append(bp_max)
    if pooling == "first":
        # The first token of each segment; an empty segment reads nothing.
        firsts = numpy.cumsum(lengths) - lengths
        rows = ops.alloc2f(len(lengths), X.shape[1])
        nonempty_d = ops.asarray1i(numpy.flatnonzero(lengths > 0))
        firsts_d = ops.asarray1i(firsts[lengths > 0])
        rows[nonempty_d] = gathered[firsts_d]

        def bp_first(d: Floats2d) -> Floats2d:
            d_gathered = ops.alloc2f(*gathered.shape)
            d_gathered[firsts_d] = d[nonempty_d]
            return d_gathered

        parts.append(rows)
        callbacks.append(bp_first)
    width = X.shape[1]

    def backprop(dY: Floats2d, dX: Floats2d) -> None:
        d_gathered = ops.alloc2f(*gathered.shape)
        for i, callback in enumerate(callbacks):
            d_gathered += callback(ops.xp.ascontiguousarray(dY[:, i * width:(i + 1) * width]))
        if index.size:
            ops.scatter_add(dX, index_d, d_gathered)

    return ops.xp.hstack(parts), backprop


def _features_forward(
    model: Model, inputs: PairVectors, is_train: bool
) -> Tuple[Floats2d, Callable]:
    tokvecs, pairs = inputs
    ops = model.ops
    width = tokvecs[0].shape[1] if tokvecs else 0
    doc_lengths = numpy.array([len(t) for t in tokvecs], dtype="int64")
    offsets = numpy.cumsum(doc_lengths) - doc_lengths
    flat = [_pair_rows(ops.to_numpy(p)) + offsets[i] for i, p in enumerate(pairs)]
    # no docs: no rows, as wide as any layout (head and tail, or with the sentence: 6)
    spans = numpy.concatenate(flat) if flat else numpy.zeros((0, 6), dtype="int64")
    X = ops.flatten(tokvecs) if tokvecs else ops.alloc2f(0, width)
    segments = _segments(model, spans)
    if not is_train:
        return _pool_in_chunks(model, X, segments), _no_backprop
    pooled = [_pool(model, X, starts, ends) for starts, ends in segments]
    Y = ops.xp.hstack([rows for rows, _ in pooled]) if len(spans) else ops.alloc2f(
        0, sum(rows.shape[1] for rows, _ in pooled)
    )

    def backprop(dY: Floats2d) -> PairVectors:
        dX = ops.alloc2f(*X.shape)
        col = 0
        for rows, bp_rows in pooled:
            bp_rows(dY[:, col:col + rows.shape[1]], dX)
            col += rows.shape[1]
        return ops.unflatten(dX, ops.asarray1i(doc_lengths)), pairs

    return Y, backprop


def _pair_rows(pairs: numpy.ndarray) -> numpy.ndarray:
    """A doc's pairs as 2-d int64 rows (an empty doc's may come as a 1-d array)."""
    pairs = pairs.astype("int64")
    return pairs if pairs.ndim == 2 else pairs.reshape(-1, 4)


def _segments(model: Model, spans: numpy.ndarray) -> List[Tuple[numpy.ndarray, numpy.ndarray]]:
    """The ``(starts, ends)`` token ranges a features layer pools for every pair: the
    sentence (:func:`sentence_features`), or head, tail and, with ``use_context``, the
    tokens strictly between the two arguments, whichever comes first."""
    if model.attrs["segments"] == "sentence":
        return [(spans[:, 4], spans[:, 5])]
    segments = [(spans[:, 0], spans[:, 1]), (spans[:, 2], spans[:, 3])]
    if model.attrs["use_context"]:
        left_end = numpy.minimum(spans[:, 1], spans[:, 3])
        right_start = numpy.maximum(spans[:, 0], spans[:, 2])
        segments.append((left_end, right_start))
    return segments


#: Token rows a prediction gathers at once (3 MB of 384-wide float32 vectors).
PREDICT_CHUNK_ROWS = 2048


def _pool_in_chunks(model: Model, X: Floats2d, segments: list) -> Floats2d:
    """The pooled features of every pair, pooled a few pairs at a time.

    Pooling gathers the rows of every segment first: for a batch of docs with many pairs
    that is tens of MB, above glibc's largest mmap threshold, so each batch paid for fresh
    pages (bench/results/pipeline_components_before.md against pipeline_components.md).
    Chunks of ``PREDICT_CHUNK_ROWS`` rows are reused from the heap; each segment is
    reduced on its own, so the features are the same as in one piece."""
    lengths = sum(numpy.maximum(ends - starts, 0) for starts, ends in segments)
    return model.ops.xp.vstack([
        model.ops.xp.hstack([_pool(model, X, starts[start:end], ends[start:end])[0]
                             for starts, ends in segments])
        for start, end in _chunks(lengths, PREDICT_CHUNK_ROWS)
    ])


def _chunks(lengths: numpy.ndarray, max_rows: int) -> List[Tuple[int, int]]:
    """Consecutive ``(start, end)`` ranges of segments whose lengths sum to at most
    ``max_rows`` (a longer segment alone); one empty range when there are none, so the
    caller still gets its output width."""
    totals = numpy.cumsum(lengths)
    bounds = []
    start = 0
    while start < len(lengths):
        before = totals[start - 1] if start else 0
        end = int(numpy.searchsorted(totals, before + max_rows, side="right"))
        bounds.append((start, max(end, start + 1)))
        start = bounds[-1][1]
    return bounds or [(0, 0)]


def _no_backprop(dY: Floats2d) -> PairVectors:
    raise ValueError("pair_features was called for prediction (is_train=False): no backprop")
