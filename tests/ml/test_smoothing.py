"""SmoothQuant for the int8 stack: an exact rewrite in fp32, ranges measured where the
large channels are, and int8 closer to fp32 with it when an input channel is large."""

import pytest
import torch
from transformers import AutoModel

from spacy_xlie.ml.onnx_encoder import onnx_int8_stack
from spacy_xlie.ml.quantize import is_down_projection, swapped
from spacy_xlie.ml.smoothing import (
    SmoothedLinear,
    activation_ranges,
    smoothed_stack,
    smoothing_scales,
)

#: The input channel made large in every layer's feed-forward up-projection.
LARGE = 7


@pytest.fixture(scope="module")
def model(tiny_xlmr):
    """The tiny XLM-R with one large channel in the input of every up-projection (the
    attention block's layer-norm output, as e5-small's channels 15 and 35)."""
    torch.manual_seed(0)
    model = AutoModel.from_pretrained(str(tiny_xlmr)).eval()
    with torch.no_grad():
        for layer in model.encoder.layer:
            layer.attention.output.LayerNorm.bias[LARGE] = 40.0
    return model


def hidden(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


def test_ranges_find_the_large_channel(model):
    ranges = activation_ranges(model)
    up = [name for name in ranges if name.endswith("intermediate.dense")]
    assert up and all(int(ranges[name].argmax()) == LARGE for name in up)
    assert all(ranges[name][LARGE] > 30.0 for name in up)


def test_scales_balance_activation_and_weight_ranges():
    """Channel 0: input range 4, weight column 1; channel 1: 1 and 4; channel 2 never
    fires. At 0.5, s = sqrt(a / w): 2, 0.5 and 1 (left alone)."""
    weight = torch.tensor([[1.0, 4.0, 1.0], [0.5, -2.0, 1.0]])
    scales = smoothing_scales(torch.tensor([4.0, 1.0, 0.0]), weight, alpha=0.5)
    assert torch.allclose(scales, torch.tensor([2.0, 0.5, 1.0]))


def test_smoothed_stack_computes_the_same_function_in_fp32(model):
    ids = torch.randint(5, model.config.vocab_size, (2, 12))
    expected = hidden(model, ids)
    stack = smoothed_stack(model, alpha=0.5)
    assert any(isinstance(module, SmoothedLinear) for module in stack.modules())
    with swapped(model, {"encoder": stack}):
        found = hidden(model, ids)
    assert torch.allclose(found, expected, atol=1e-4)
    assert torch.equal(hidden(model, ids), expected)  # the model itself is untouched


def test_layers_that_stay_fp32_are_not_smoothed(model):
    stack = smoothed_stack(model, 0.5, quantised=lambda linear: not is_down_projection(linear))
    for layer in stack.layer:
        assert isinstance(layer.output.dense, torch.nn.Linear)
        assert isinstance(layer.intermediate.dense, SmoothedLinear)


def test_smoothing_keeps_int8_closer_to_fp32_beside_a_large_channel(model):
    ids = torch.randint(5, model.config.vocab_size, (4, 16))
    fp32 = hidden(model, ids)

    def error(smoothing: float) -> float:
        with swapped(model, {"encoder": onnx_int8_stack(model, smoothing=smoothing)}):
            return float((hidden(model, ids) - fp32).abs().mean())

    assert error(0.5) < 0.5 * error(0.0)
