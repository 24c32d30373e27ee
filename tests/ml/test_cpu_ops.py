"""spacy_xlie.cpu_ops.v1: a pipeline's CPU layers switch between blis and numpy's BLAS
from its config, other backends are left alone, and predictions stay the same."""

import numpy
import spacy
from spacy.lang.en import English
from thinc.api import NumpyOps

from spacy_xlie.ml.cpu_ops import set_cpu_ops

TEXTS = ["Alice works for Acme in Paris.", "Bob met Carol in Berlin last year."]


class OtherOps(NumpyOps):
    """Stands for another CPU backend (Apple's, say): a subclass, not thinc's NumpyOps."""


def tagger_pipeline(after_pipeline_creation=None) -> spacy.Language:
    """A small trainable pipeline built from its config (the callback runs once the
    config's components exist)."""
    nlp = English.from_config({
        "nlp": {"pipeline": ["tagger"], "after_pipeline_creation": after_pipeline_creation},
        "components": {"tagger": {"factory": "tagger"}}})
    nlp.initialize(lambda: [
        spacy.training.Example.from_dict(nlp.make_doc(TEXTS[0]), {"tags": ["N"] * 7})])
    return nlp


def use_blis_of_layers(nlp: spacy.Language) -> set:
    return {layer.ops.use_blis for _, pipe in nlp.components for layer in pipe.model.walk()}


def test_set_cpu_ops_switches_every_layer_and_keeps_predictions():
    nlp = tagger_pipeline()
    assert use_blis_of_layers(nlp) == {True}
    docs = [nlp.make_doc(text) for text in TEXTS]
    scores_before = nlp.get_pipe("tagger").model.predict(docs)
    assert set_cpu_ops(nlp, use_blis=False) > 0
    assert use_blis_of_layers(nlp) == {False}
    scores_after = nlp.get_pipe("tagger").model.predict(docs)
    for a, b in zip(scores_before, scores_after):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_other_backends_are_left_alone():
    nlp = tagger_pipeline()
    other = OtherOps()
    layers = list(nlp.get_pipe("tagger").model.walk())
    layers[0].ops = other
    set_cpu_ops(nlp, use_blis=False)
    assert layers[0].ops is other
    assert all(layer.ops.use_blis is False for layer in layers[1:])


def test_the_config_callback_applies_it_and_survives_a_reload(tmp_path):
    nlp = tagger_pipeline({"@callbacks": "spacy_xlie.cpu_ops.v1", "use_blis": False})
    assert use_blis_of_layers(nlp) == {False}
    nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert use_blis_of_layers(reloaded) == {False}
    back = spacy.load(tmp_path / "pipeline", config={"nlp": {"after_pipeline_creation": {
        "@callbacks": "spacy_xlie.cpu_ops.v1", "use_blis": True}}})
    assert use_blis_of_layers(back) == {True}
