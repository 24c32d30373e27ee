"""The pair encoder: windows and roles by hand, a numerical gradient check, and marked
pairs read differently from the same tokens."""

import numpy
import pytest
from thinc.api import Linear, Model, chain, fix_random_seed, noop

from spacy_xlie.ml import pair_encoder as pair_encoder_module
from spacy_xlie.ml.pair_encoder import HEAD, OTHER, TAIL, pair_encoder, pair_windows
from spacy_xlie.ml.relation_model import build_relation_classifier_v2, pair_features


def test_pair_windows_by_hand():
    """Docs of 6, 0 and 4 tokens; margin 1. Pair [0:2]-[3:5] in doc 0 reads tokens 0-5,
    pair [4:5]-[0:1] reads 0-5 too (clipped at the doc's end), pair [0:4]-[1:2] in doc 2
    reads its 4 tokens, rows 6-9 of the flat matrix."""
    pairs = [numpy.array([[0, 2, 3, 5], [4, 5, 0, 1]]), numpy.zeros((0, 4)),
             numpy.array([[0, 4, 1, 2]])]
    index, roles, local, lengths = pair_windows(numpy.array([6, 0, 4]), pairs, margin=1)
    assert lengths.tolist() == [6, 6, 4]
    assert index.tolist() == [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5], [6, 7, 8, 9, -1, -1]]
    H, T, N = HEAD, TAIL, OTHER
    assert roles.tolist() == [[H, H, N, T, T, N], [T, N, N, N, H, N], [H, T, H, H, N, N]]
    assert local.tolist() == [[0, 2, 3, 5], [4, 5, 0, 1], [0, 4, 1, 2]]


def test_window_starts_after_the_margin():
    index, _, local, _ = pair_windows(numpy.array([20]), [numpy.array([[10, 12, 14, 15]])], 2)
    assert index.tolist() == [list(range(8, 17))]
    assert local.tolist() == [[2, 4, 6, 7]]


def _inputs(rng):
    tokvecs = [rng.normal(size=(n, 6)).astype("float32") for n in (7, 0, 4)]
    pairs = [numpy.array([[0, 2, 3, 5], [5, 6, 0, 1]], dtype="int32"),
             numpy.zeros((0, 4), dtype="int32"),
             numpy.array([[0, 1, 1, 2]], dtype="int32")]
    return tokvecs, pairs


def _encoder_then_linear():
    """The pair encoder, pooling and a linear layer, and how to get the gradient of
    their input."""
    model = chain(pair_encoder(6, width=4, heads=2, margin=1, dropout=0.0),
                  pair_features(pooling="mean"), Linear(nO=2))
    return model, lambda backprop, dY: backprop(dY)[0]


def _classifier_v2():
    """The whole v2 head: shared-vector and pair-encoder features side by side. Its
    tok2vec hands the vectors through and keeps their gradient (a listener passes it on
    to the shared encoder, and the classifier returns its input)."""
    gradients = []

    def forward(model, tokvecs, is_train):
        return tokvecs, gradients.append

    model = build_relation_classifier_v2(Model("vectors", forward), encoder_width=6,
                                         hidden_width=5, dropout=0.0, pooling="mean",
                                         pair_width=4, pair_heads=2, pair_margin=1, nO=2)
    return model, lambda backprop, dY: (backprop(dY), gradients.pop())[1]


@pytest.mark.parametrize("make_model", [_encoder_then_linear, _classifier_v2])
def test_gradient_check(make_model):
    """Backprop matches finite differences (dropout off; mean pooling, whose gradient is
    smooth: a max flips under the finite step; test_relation_model checks max pooling's
    gradient)."""
    fix_random_seed(0)
    rng = numpy.random.default_rng(0)
    tokvecs, pairs = _inputs(rng)
    model, input_gradient = make_model()
    model.initialize(X=(tokvecs, pairs))
    Y, backprop = model.begin_update((tokvecs, pairs))
    dY = rng.normal(size=Y.shape).astype("float32")
    d_tokvecs = input_gradient(backprop, dY)

    def loss(vecs):
        return float((model.predict((vecs, pairs)).astype("float64") * dY).sum())

    eps = 3e-3
    for doc_i in (0, 2):
        for row in range(len(tokvecs[doc_i])):
            for col in range(6):
                plus = [v.copy() for v in tokvecs]
                minus = [v.copy() for v in tokvecs]
                plus[doc_i][row, col] += eps
                minus[doc_i][row, col] -= eps
                numeric = (loss(plus) - loss(minus)) / (2 * eps)
                assert d_tokvecs[doc_i][row, col] == pytest.approx(numeric, abs=5e-3)
    assert d_tokvecs[1].shape == (0, 6)


def test_the_same_tokens_read_differently_as_head_and_tail():
    """Two pairs over the same two spans in opposite roles: the shared-vector features
    are the same blocks swapped, the pair encoder's are not."""
    fix_random_seed(0)
    rng = numpy.random.default_rng(3)
    tokvecs = [rng.normal(size=(5, 6)).astype("float32")]
    pairs = [numpy.array([[0, 1, 3, 4], [3, 4, 0, 1]], dtype="int32")]
    encoder = pair_encoder(6, width=4, heads=2, margin=1, dropout=0.0)
    encoder.initialize(X=(tokvecs, pairs))
    (windows, _), _ = encoder.begin_update((tokvecs, pairs))
    assert not numpy.allclose(windows[0][0], windows[1][3], atol=1e-4)
    assert not numpy.allclose(windows[0][2], windows[1][2], atol=1e-4)


def test_classifier_v2_shapes_and_no_pairs():
    fix_random_seed(0)
    rng = numpy.random.default_rng(4)
    tokvecs, pairs = _inputs(rng)
    # noop stands in for the listener: the "docs" are their token vectors already
    model = build_relation_classifier_v2(noop(), encoder_width=6, hidden_width=8,
                                         pair_width=4, pair_heads=2, nO=5)
    model.initialize(X=(tokvecs, pairs))
    assert model.predict((tokvecs, pairs)).shape == (3, 5)
    empty = [numpy.zeros((0, 4), dtype="int32")] * 3
    assert model.predict((tokvecs, empty)).shape == (0, 5)


@pytest.mark.parametrize("chunk_tokens", [1, 7, 12, 10_000])
def test_prediction_in_chunks_is_the_training_forward(chunk_tokens, monkeypatch):
    """Prediction encodes a few windows at a time, sorted by length; every pair's output
    is the one the training forward computes for all windows at once."""
    fix_random_seed(0)
    rng = numpy.random.default_rng(5)
    tokvecs = [rng.normal(size=(n, 6)).astype("float32") for n in (12, 5)]
    pairs = [numpy.array([[0, 1, 10, 12], [3, 4, 4, 5], [8, 9, 0, 1]], dtype="int32"),
             numpy.array([[0, 1, 1, 2], [4, 5, 0, 2]], dtype="int32")]
    encoder = pair_encoder(6, width=4, heads=2, margin=1, dropout=0.0)
    encoder.initialize(X=(tokvecs, pairs))
    monkeypatch.setattr(pair_encoder_module, "PREDICT_CHUNK_TOKENS", chunk_tokens)
    (predicted, predicted_pairs) = encoder.predict((tokvecs, pairs))
    (trained, trained_pairs), _ = encoder.begin_update((tokvecs, pairs))
    assert [p.tolist() for p in predicted_pairs] == [p.tolist() for p in trained_pairs]
    # windows of 12 (clipped at the doc's end), 4, 10, 3 and 5 (clipped) tokens
    assert [len(p) for p in predicted] == [12, 4, 10, 3, 5]
    for got, want in zip(predicted, trained):
        assert got.shape == want.shape
        assert numpy.allclose(got, want, atol=1e-5)
