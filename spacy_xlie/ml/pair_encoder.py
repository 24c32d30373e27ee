"""A pair encoder: each candidate pair's tokens re-read by one small transformer layer
that knows which tokens are the head and which the tail.

The shared encoder reads a doc once, so every pair of a doc pools its spans from the
same vectors: the encoding does not know which two entities are asked about. Relation
extractors that mark the pair in the encoder's input (``[E1] … [/E1]``, typed markers;
Zhou & Chen 2022) re-encode the sentence once per pair with the full encoder, which
costs a whole encoder pass per pair. Here the markers are role embeddings (head, tail,
other) added to the shared encoder's token vectors in a window around the pair, and only
one narrow layer runs per pair: ``width`` units (a projection from the encoder's width),
``heads`` attention heads, a feed-forward of twice the width. The window spans both
arguments plus ``margin`` tokens on each side, so a pair's cost grows with the distance
between its arguments, not with the doc.

Output: one ``(window length, width)`` matrix per pair and the pair's spans in window
coordinates, the input :func:`~spacy_xlie.ml.relation_model.pair_features` pools.
PyTorch's ``TransformerEncoderLayer`` does the layer; thinc's ``PyTorchWrapper_v2`` makes
it a thinc layer that the pipe's optimizer updates and that serializes with the pipe.
"""

from typing import Callable, List, Tuple

import numpy
import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d, Ints2d

#: Roles of a window's tokens: the embedding rows added to their vectors
OTHER, HEAD, TAIL = 0, 1, 2

PairVectors = Tuple[List[Floats2d], List[Ints2d]]


class MarkedPairLayer(torch.nn.Module):
    """Projection to ``width``, role embeddings, one pre-norm transformer layer."""

    def __init__(self, input_width: int, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.project = torch.nn.Linear(input_width, width)
        self.roles = torch.nn.Embedding(3, width)
        self.layer = torch.nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=2 * width, dropout=dropout, batch_first=True,
            norm_first=True,
        )

    def forward(self, vectors: torch.Tensor, roles: torch.Tensor,
                padding: torch.Tensor) -> torch.Tensor:
        hidden = self.project(vectors) + self.roles(roles)
        return self.layer(hidden, src_key_padding_mask=padding)


def pair_encoder(input_width: int, width: int = 128, heads: int = 4, margin: int = 5,
                 dropout: float = 0.1) -> Model[PairVectors, PairVectors]:
    """The thinc layer of the module docstring over ``(token vectors per doc, pairs per
    doc)``; ``input_width`` is the shared encoder's width."""
    torch_layer = PyTorchWrapper_v2(
        MarkedPairLayer(input_width, width, heads, dropout), convert_inputs=_convert_inputs
    )
    return Model("pair_encoder", _forward, layers=[torch_layer],
                 attrs={"margin": margin, "width": width})


def _convert_inputs(model: Model, inputs, is_train: bool):
    """Only the vectors take a gradient (roles and padding are integer and bool)."""
    vectors, roles, padding = inputs
    args = ArgsKwargs(
        args=(xp2torch(vectors, requires_grad=is_train), xp2torch(roles),
              xp2torch(padding)),
        kwargs={},
    )
    return args, lambda d_args: torch2xp(d_args.args[0])


def pair_windows(doc_lengths: numpy.ndarray, pairs: List[numpy.ndarray], margin: int):
    """For every pair of every doc: the flat row index of each window token (-1 past the
    window's end), each token's role, the pair's spans in window coordinates and the
    window's length. Padding is never a role: past a window's end the rows lie beyond
    both of its spans."""
    offsets = numpy.cumsum(doc_lengths) - doc_lengths
    spans = numpy.concatenate(
        [numpy.asarray(p, dtype="int64").reshape(-1, 4) for p in pairs]
        or [numpy.zeros((0, 4), dtype="int64")]
    )
    per_doc = [len(p) for p in pairs]
    starts = numpy.maximum(numpy.minimum(spans[:, 0], spans[:, 2]) - margin, 0)
    ends = numpy.minimum(numpy.maximum(spans[:, 1], spans[:, 3]) + margin,
                         numpy.repeat(doc_lengths, per_doc))
    lengths = ends - starts
    positions = numpy.arange(int(lengths.max(initial=0)))[None, :]
    doc_rows = starts[:, None] + positions
    index = numpy.where(positions < lengths[:, None],
                        numpy.repeat(offsets, per_doc)[:, None] + doc_rows, -1)
    roles = numpy.full(index.shape, OTHER, dtype="int64")
    roles[(doc_rows >= spans[:, 0:1]) & (doc_rows < spans[:, 1:2])] = HEAD
    roles[(doc_rows >= spans[:, 2:3]) & (doc_rows < spans[:, 3:4])] = TAIL
    local = (spans - starts[:, None]).astype("int32")
    return index, roles, local, lengths


def _gather_windows(ops, X: Floats2d, index: numpy.ndarray):
    """The windows' token vectors, zero-padded (``index`` rows of ``X``, -1 for padding),
    the padding mask, and what backprop needs to scatter gradients back: the mask on the
    device and the rows read."""
    inside = index >= 0
    inside_d = ops.asarray(inside)
    rows = ops.asarray1i(index[inside])
    vectors = ops.alloc3f(*index.shape, X.shape[1])
    vectors[inside_d] = X[rows]
    return vectors, ops.asarray(~inside), inside_d, rows


#: Window tokens (padding included) a prediction encodes at once: 8,192 × 384 float32
#: inputs are 12.6 MB. All windows at once grow with pairs × the longest window: one doc at
#: the candidate cap (1,000 pairs) with 110-token windows is 169 MB of inputs alone.
PREDICT_CHUNK_TOKENS = 8192


def _predict_in_chunks(model: Model, X: Floats2d, index: numpy.ndarray,
                       roles: numpy.ndarray, lengths: numpy.ndarray) -> List[Floats2d]:
    """Every pair's window encoded for prediction, a chunk of windows of similar length
    at a time (sorted by length, so little padding), in the pairs' order."""
    ops = model.ops
    outputs: List[Floats2d] = [None] * len(lengths)  # type: ignore[list-item]
    chunk: List[int] = []
    for i in [*numpy.argsort(lengths, kind="stable"), None]:
        if chunk and (i is None or (len(chunk) + 1) * lengths[i] > PREDICT_CHUNK_TOKENS):
            width = int(lengths[chunk[-1]])
            vectors, padding, _, _ = _gather_windows(ops, X, index[chunk, :width])
            Y = model.layers[0].predict((vectors, ops.asarray(roles[chunk, :width]),
                                         padding))
            for row, pair in enumerate(chunk):
                outputs[pair] = Y[row, :lengths[pair]]
            chunk = []
        if i is not None:
            chunk.append(int(i))
    return outputs


def _no_backprop(d_out: PairVectors) -> PairVectors:
    raise ValueError("pair_encoder was called for prediction (is_train=False): no backprop")


def _forward(model: Model, inputs: PairVectors, is_train: bool) -> Tuple[PairVectors, Callable]:
    tokvecs, pairs = inputs
    ops = model.ops
    width = model.attrs["width"]
    doc_lengths = numpy.array([len(t) for t in tokvecs], dtype="int64")
    index, roles, local, lengths = pair_windows(
        doc_lengths, [ops.to_numpy(p) for p in pairs], model.attrs["margin"]
    )
    if not len(index):
        # No pair anywhere: one empty window, so the features keep their width
        return ([ops.alloc2f(0, width)], [ops.alloc2i(0, 4)]), lambda d: (
            [ops.alloc2f(*t.shape) for t in tokvecs], pairs)
    X = ops.flatten(tokvecs)
    local_pairs = [local[i:i + 1] for i in range(len(local))]
    if not is_train:
        return (_predict_in_chunks(model, X, index, roles, lengths), local_pairs), _no_backprop
    vectors, padding, inside_d, rows = _gather_windows(ops, X, index)
    Y, bp_layer = model.layers[0]((vectors, ops.asarray(roles), padding), is_train)
    outputs = [Y[i, :n] for i, n in enumerate(lengths)]

    def backprop(d_out: PairVectors) -> PairVectors:
        d_outputs = d_out[0]
        dY = ops.alloc3f(*index.shape, width)
        for i, n in enumerate(lengths):
            dY[i, :n] = d_outputs[i]
        d_vectors = bp_layer(dY)
        dX = ops.alloc2f(*X.shape)
        ops.scatter_add(dX, rows, d_vectors[inside_d])
        return ops.unflatten(dX, ops.asarray1i(doc_lengths)), pairs

    return (outputs, local_pairs), backprop
