"""RelationClassifier: shapes, empty inputs, prediction in chunks and a numerical gradient
check."""

import numpy
import pytest
import spacy
from spacy.util import registry
from thinc.api import Linear, chain

from spacy_xlie.ml import relation_model
from spacy_xlie.ml.relation_model import pair_features


def _inputs(rng):
    tokvecs = [rng.normal(size=(n, 3)).astype("float32") for n in (6, 0, 4)]
    pairs = [
        numpy.array([[0, 2, 3, 5], [4, 5, 0, 1], [1, 2, 2, 3]], dtype="int32"),
        numpy.zeros((0, 4), dtype="int32"),
        numpy.array([[0, 4, 1, 2]], dtype="int32"),  # overlapping: empty context
    ]
    return tokvecs, pairs


def _tiny_tok2vec():
    return registry.resolve({"t": {
        "@architectures": "spacy.HashEmbedCNN.v2", "width": 8, "depth": 1, "embed_size": 100,
        "window_size": 1, "maxout_pieces": 2, "subword_features": False,
        "pretrained_vectors": None}})["t"]


def _assert_backprop_matches_finite_differences(model, tokvecs, pairs, rng, docs,
                                                eps: float, **tolerance) -> None:
    """``model`` (pair vectors in, a 2-d array out) backprops into every value of the
    ``docs``' token vectors what central differences of ``sum(Y * dY)`` give."""
    model.initialize(X=(tokvecs, pairs))
    Y, backprop = model.begin_update((tokvecs, pairs))
    dY = rng.normal(size=Y.shape).astype("float32")
    d_tokvecs, _ = backprop(dY)

    def loss(vecs):
        return float((model.predict((vecs, pairs)) * dY).sum())

    for doc_i in docs:
        for row in range(len(tokvecs[doc_i])):
            for col in range(tokvecs[doc_i].shape[1]):
                plus = [v.copy() for v in tokvecs]
                minus = [v.copy() for v in tokvecs]
                plus[doc_i][row, col] += eps
                minus[doc_i][row, col] -= eps
                numeric = (loss(plus) - loss(minus)) / (2 * eps)
                assert d_tokvecs[doc_i][row, col] == pytest.approx(numeric, **tolerance)
    for doc_i, vecs in enumerate(tokvecs):
        assert d_tokvecs[doc_i].shape == vecs.shape


@pytest.mark.parametrize("pooling", ["mean", "first", "mean_max"])
@pytest.mark.parametrize("use_context", [True, False])
def test_feature_values(pooling, use_context):
    rng = numpy.random.default_rng(0)
    tokvecs, pairs = _inputs(rng)
    model = pair_features(pooling=pooling, use_context=use_context)
    Y = model.predict((tokvecs, pairs))
    per_span = {"mean": 1, "first": 1, "mean_max": 2}[pooling] * 3
    assert Y.shape == (4, per_span * (3 if use_context else 2))
    X = tokvecs[0]
    head = X[0:2].mean(0) if pooling != "first" else X[0]
    assert numpy.allclose(Y[0, :3], head, atol=1e-6)
    if pooling == "mean_max":
        assert numpy.allclose(Y[0, 3:6], X[0:2].max(0), atol=1e-6)
    if use_context:
        assert numpy.allclose(Y[2, -per_span:], 0.0)  # adjacent spans: no context
        assert numpy.allclose(Y[3, -per_span:], 0.0)  # overlapping spans


@pytest.mark.parametrize("pooling", ["mean", "first", "mean_max"])
def test_gradient_check(pooling):
    """Backprop of pooled features + a linear layer matches finite differences."""
    rng = numpy.random.default_rng(1)
    tokvecs, pairs = _inputs(rng)
    model = chain(pair_features(pooling=pooling), Linear(nO=2))
    _assert_backprop_matches_finite_differences(model, tokvecs, pairs, rng, docs=(0, 2),
                                                eps=1e-2, abs=2e-3)


@pytest.mark.parametrize("pooling", ["mean", "first", "mean_max"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 5, 10_000])
def test_prediction_in_chunks_is_the_training_forward(pooling, chunk_rows, monkeypatch):
    """Prediction pools a few pairs at a time (fewer rows gathered at once); the features
    are the ones the training forward computes in one piece, bit for bit."""
    rng = numpy.random.default_rng(2)
    tokvecs = [rng.normal(size=(n, 3)).astype("float32") for n in (9, 5)]
    pairs = [numpy.array([[0, 2, 5, 8], [3, 4, 4, 5], [8, 9, 0, 1], [1, 3, 6, 7]], "int32"),
             numpy.array([[0, 1, 1, 2], [4, 5, 0, 2]], "int32")]
    model = pair_features(pooling=pooling)
    monkeypatch.setattr(relation_model, "PREDICT_CHUNK_ROWS", chunk_rows)
    predicted = model.predict((tokvecs, pairs))
    trained, _ = model.begin_update((tokvecs, pairs))
    assert predicted.shape == trained.shape == (6, trained.shape[1])
    assert numpy.array_equal(predicted, trained)


def test_no_pairs_and_bad_pooling():
    model = pair_features()
    Y, backprop = model.begin_update(([numpy.zeros((3, 4), "f")], [numpy.zeros((0, 4), "i")]))
    assert Y.shape == (0, 24)
    assert backprop(Y)[0][0].shape == (3, 4)
    assert model.predict(([numpy.zeros((3, 4), "f")], [numpy.zeros((0, 4), "i")])).shape == (0, 24)
    with pytest.raises(ValueError, match="pooling"):
        pair_features(pooling="sum")


@pytest.mark.parametrize("name", ["v1", "v3", "v4"])
def test_full_model_refs_initialize_and_train(name):
    """Each version exposes the refs the pipe reads, initializes from a sample (v4's
    LayerNorm learns its width from it) and moves its scores in an update."""
    tok2vec = _tiny_tok2vec()
    build = registry.architectures.get(f"spacy_xlie.RelationClassifier.{name}")
    model = build(tok2vec, hidden_width=8, dropout=0.0, nO=5)
    assert model.get_ref("tok2vec") is tok2vec
    docs = [spacy.blank("en")("Ann and Bob married .")]
    pairs = [numpy.array([[0, 1, 2, 3]], "int32")]
    model.initialize(X=(docs, pairs))
    assert model.get_ref("output_layer").get_dim("nO") == 5
    before = model.predict((docs, pairs))
    scores, backprop = model.begin_update((docs, pairs))
    backprop(numpy.ones_like(scores))
    model.finish_update(registry.resolve({"o": {"@optimizers": "Adam.v1"}})["o"])
    assert not numpy.allclose(before, model.predict((docs, pairs)))

def _two_sentence_doc():
    doc = spacy.blank("en")("Ann met Bob . Then Cy saw Di today .")
    for i, token in enumerate(doc):
        token.is_sent_start = i in (0, 4)
    return doc


def test_pair_sentences_spans_the_sentences_of_both_arguments():
    doc = _two_sentence_doc()  # sentences [0, 4) and [4, 10)
    pairs = numpy.array([[0, 1, 2, 3], [5, 6, 7, 8], [7, 8, 0, 1]], dtype="int32")
    assert relation_model.pair_sentences(doc, pairs).tolist() == [
        [0, 1, 2, 3, 0, 4], [5, 6, 7, 8, 4, 10], [7, 8, 0, 1, 0, 10]]
    unsentenced = doc.copy()
    for token in unsentenced:
        token.is_sent_start = None
    assert relation_model.pair_sentences(unsentenced, pairs[1:2]).tolist() == [
        [5, 6, 7, 8, 0, 10]]
    assert relation_model.pair_sentences(doc, numpy.zeros((0, 4), "i")).shape == (0, 6)


@pytest.mark.parametrize("pooling", ["mean", "first", "mean_max"])
def test_sentence_features_pool_the_sentence_and_backprop(pooling):
    rng = numpy.random.default_rng(3)
    tokvecs = [rng.normal(size=(n, 3)).astype("float32") for n in (6, 4)]
    pairs = [numpy.array([[0, 1, 2, 3, 0, 6], [3, 4, 4, 5, 2, 5]], "int32"),
             numpy.array([[0, 1, 1, 2, 0, 4]], "int32")]
    features = relation_model.sentence_features(pooling=pooling).predict((tokvecs, pairs))
    want = tokvecs[0][2:5].mean(0) if pooling != "first" else tokvecs[0][2]
    assert numpy.allclose(features[1, :3], want, atol=1e-6)
    if pooling == "mean_max":
        assert numpy.allclose(features[2, 3:], tokvecs[1].max(0), atol=1e-6)
    model = chain(relation_model.sentence_features(pooling=pooling), Linear(nO=2))
    _assert_backprop_matches_finite_differences(model, tokvecs, pairs, rng, docs=(0,),
                                                eps=1e-2, abs=2e-3)


def test_v3_reads_the_words_outside_the_pair_and_v1_does_not():
    """A word after both arguments ("married" in "X and Y married") changes v3's scores;
    v1 sees head, tail and the words between them only."""

    nlp = spacy.blank("en")
    docs = [nlp("Ann and Bob have long been married ."),
            nlp("Ann and Bob have long been divorced .")]
    pairs = [numpy.array([[0, 1, 2, 3]], "int32")] * 2
    for name, changes in (("v1", False), ("v3", True)):
        build = registry.architectures.get(f"spacy_xlie.RelationClassifier.{name}")
        model = build(_tiny_tok2vec(), hidden_width=8, nO=3)
        model.initialize(X=(docs, pairs))
        scores = model.predict((docs, pairs))
        assert (not numpy.allclose(scores[0], scores[1])) is changes, name


def test_argument_product_is_head_times_tail():
    """v4's extra features before their LayerNorm: the pooled head times the pooled tail."""
    tokvecs = [numpy.array([[1, 2], [3, 4], [5, -6], [0, 1]], "float32")]
    pairs = [numpy.array([[0, 2, 2, 3], [3, 4, 0, 1]], "int32")]
    product = relation_model.argument_product(pooling="mean").layers[:2]
    Y = chain(*product).predict((tokvecs, pairs))
    # head mean (2, 3) times tail (5, -6); head (0, 1) times tail (1, 2)
    assert Y.tolist() == [[10.0, -18.0], [0.0, 2.0]]


@pytest.mark.parametrize("pooling", ["mean", "first", "mean_max"])
def test_argument_product_gradient_check(pooling):
    rng = numpy.random.default_rng(4)
    tokvecs, pairs = _inputs(rng)
    model = chain(relation_model.argument_product(pooling=pooling), Linear(nO=2))
    _assert_backprop_matches_finite_differences(model, tokvecs, pairs, rng, docs=(0,),
                                                eps=1e-3, abs=5e-3, rel=2e-2)

