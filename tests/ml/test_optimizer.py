"""spacy_xlie.Adam.v1: the components' own layers learn at head_learn_rate_scale times
the rate of the PyTorch encoder's; spacy_xlie.component_learn_rates.v1 moves one
component's layers alone."""

import numpy
import pytest
import spacy
import torch
from spacy.util import registry
from thinc.api import Adam, Linear, PyTorchWrapper, chain

LEARN_RATE = 0.001


def _optimizer(scale: float, learn_rate=LEARN_RATE):
    config = {"@optimizers": "spacy_xlie.Adam.v1", "learn_rate": learn_rate,
              "head_learn_rate_scale": scale, "L2": 0.0, "use_averages": False}
    return registry.resolve({"optimizer": config})["optimizer"]


def _one_step(optimizer):
    """One update of a PyTorch layer followed by a thinc layer; how far each moved."""
    torch.manual_seed(0)
    encoder = PyTorchWrapper(torch.nn.Sequential(torch.nn.Linear(4, 4)))
    head = Linear(3, 4)
    model = chain(encoder, head).initialize(X=numpy.ones((2, 4), dtype="f"))
    encoder_before = [p.detach().clone() for p in encoder.shims[0]._model.parameters()]
    head_before = head.get_param("W").copy()
    output, backprop = model.begin_update(numpy.ones((2, 4), dtype="f"))
    backprop(numpy.ones_like(output))
    model.finish_update(optimizer)
    encoder_moved = max(float((p.detach() - b).abs().max())
                        for p, b in zip(encoder.shims[0]._model.parameters(), encoder_before))
    head_moved = float(numpy.abs(head.get_param("W") - head_before).max())
    return encoder_moved, head_moved


def test_first_step_moves_head_by_scaled_rate_and_encoder_by_rate():
    # Adam's first, bias-corrected step moves each weight by the learning rate (m/sqrt(v)
    # is the gradient's sign), so the step sizes are the rates themselves
    encoder_moved, head_moved = _one_step(_optimizer(5.0))
    assert encoder_moved == pytest.approx(LEARN_RATE, rel=1e-3)
    assert head_moved == pytest.approx(5 * LEARN_RATE, rel=1e-3)


def test_scale_one_is_thincs_adam():
    thinc_adam = Adam(LEARN_RATE, L2=0.0, use_averages=False)
    assert _one_step(_optimizer(1.0)) == pytest.approx(_one_step(thinc_adam))


def test_schedule_scales_too():
    # a learning-rate schedule (as configs/e5small.cfg's warmup) still applies to both; its
    # rate, unlike LEARN_RATE, is not Adam's default, so a dropped learn_rate shows here
    schedule = registry.resolve({"s": {"@schedules": "constant.v1", "rate": 0.002}})["s"]
    encoder_moved, head_moved = _one_step(_optimizer(3.0, learn_rate=schedule))
    assert encoder_moved == pytest.approx(0.002, rel=1e-3)
    assert head_moved == pytest.approx(0.006, rel=1e-3)


def test_non_positive_scale_refused():
    with pytest.raises(ValueError, match="head_learn_rate_scale"):
        _optimizer(0.0)


def _component_learn_rates(scales):
    config = {"@callbacks": "spacy_xlie.component_learn_rates.v1", "scales": scales}
    return registry.resolve({"callback": config})["callback"]


def _two_taggers():
    nlp = spacy.blank("en")
    nlp.add_pipe("tagger").add_label("N")
    nlp.add_pipe("tagger", name="other").add_label("N")
    nlp.initialize()
    return nlp


def _moved(optimizer, node, name="W") -> float:
    """How far one optimizer step with an all-ones gradient moves the parameter."""
    before = node.get_param(name).copy()
    after, _ = optimizer((node.id, name), before.copy(), numpy.ones_like(before))
    return float(numpy.abs(after - before).max())


def test_component_scale_moves_that_components_layers_alone():
    nlp = _two_taggers()
    _component_learn_rates({"tagger": 5.0})(nlp, {"step": 0, "epoch": 0})
    tagger_output = nlp.get_pipe("tagger").model.get_ref("softmax")
    other_output = nlp.get_pipe("other").model.get_ref("softmax")
    optimizer = _optimizer(2.0)
    # Adam's first step moves a weight by its rate: the scales multiply
    assert _moved(optimizer, tagger_output) == pytest.approx(10 * LEARN_RATE, rel=1e-3)
    assert _moved(optimizer, other_output) == pytest.approx(2 * LEARN_RATE, rel=1e-3)


def test_component_scale_refuses_bad_settings():
    with pytest.raises(ValueError, match="'ner' must be positive"):
        _component_learn_rates({"ner": 0.0})
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    with pytest.raises(KeyError):
        _component_learn_rates({"ner": 2.0})(nlp, {"step": 0, "epoch": 0})
    with pytest.raises(ValueError, match="'sentencizer' has no thinc parameters"):
        _component_learn_rates({"sentencizer": 2.0})(nlp, {"step": 0, "epoch": 0})
