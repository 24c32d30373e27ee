"""The int8 rewrites of the layer stack: exact in fp32, ranges measured where the large
channels are, and int8 closer to fp32 with them when an input channel is large."""

from pathlib import Path

import onnx
import pytest
import torch
from transformers import AutoModel

from spacy_xlie.ml.onnx_encoder import int8_graph, onnx_int8_stack
from spacy_xlie.ml.quantize import swapped
from spacy_xlie.ml.smoothing import (
    Fp32Channels,
    SmoothedLinear,
    activation_ranges,
    int8_ready_stack,
    outlier_channels,
    smoothing_scales,
)

#: The input channel made large in every layer's feed-forward up-projection, and the one
#: made large in every down-projection's input (an up-projection unit with a large bias).
LARGE_UP, LARGE_DOWN = 7, 3


@pytest.fixture(scope="module")
def model(tiny_xlmr):
    """The tiny XLM-R with one large channel in the input of every up-projection (the
    attention block's layer-norm output, as e5-small's channels 15 and 35) and of every
    down-projection (the GELU output)."""
    torch.manual_seed(0)
    model = AutoModel.from_pretrained(str(tiny_xlmr)).eval()
    with torch.no_grad():
        for layer in model.encoder.layer:
            layer.attention.output.LayerNorm.bias[LARGE_UP] = 40.0
            layer.intermediate.dense.bias[LARGE_DOWN] = 40.0
    return model


def hidden(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


def test_ranges_find_the_large_channels(model):
    ranges = activation_ranges(model)
    for suffix, channel in (("intermediate.dense", LARGE_UP), ("output.dense", LARGE_DOWN)):
        names = [name for name in ranges if name.endswith(suffix)
                 and not name.endswith("attention.output.dense")]
        assert names and all(int(ranges[name].argmax()) == channel for name in names)
        assert all(ranges[name][channel] > 30.0 for name in names)


def test_scales_balance_activation_and_weight_ranges():
    """Channel 0: input range 4, weight column 1; channel 1: 1 and 4; channel 2 never
    fires. At 0.5, s = sqrt(a / w): 2, 0.5 and 1 (left alone)."""
    weight = torch.tensor([[1.0, 4.0, 1.0], [0.5, -2.0, 1.0]])
    scales = smoothing_scales(torch.tensor([4.0, 1.0, 0.0]), weight, alpha=0.5)
    assert torch.allclose(scales, torch.tensor([2.0, 0.5, 1.0]))


def test_outlier_channels_pass_the_ratio_to_the_median():
    ranges = torch.tensor([1.0, 2.0, 13.0, 1.5, 6.5])  # median 2
    assert outlier_channels(ranges, 6.0).tolist() == [2]
    assert outlier_channels(ranges, 3.0).tolist() == [2, 4]


def test_rewritten_stack_computes_the_same_function_in_fp32(model):
    ids = torch.randint(5, model.config.vocab_size, (2, 12))
    expected = hidden(model, ids)
    stack = int8_ready_stack(model, 0.5, int8_down_projections=True, outlier_ratio=6.0)
    kinds = {type(module) for module in stack.modules()}
    assert {SmoothedLinear, Fp32Channels} <= kinds
    with swapped(model, {"encoder": stack}):
        found = hidden(model, ids)
    assert torch.allclose(found, expected, atol=1e-4)
    assert torch.equal(hidden(model, ids), expected)  # the model itself is untouched


def test_down_projections_are_split_not_smoothed_and_only_when_int8(model):
    fp32_down = int8_ready_stack(model, 0.5, int8_down_projections=False, outlier_ratio=6.0)
    int8_down = int8_ready_stack(model, 0.5, int8_down_projections=True, outlier_ratio=6.0)
    for kept, split in zip(fp32_down.layer, int8_down.layer):
        assert type(kept.output.dense) is torch.nn.Linear
        assert isinstance(kept.intermediate.dense, SmoothedLinear)
        assert isinstance(split.output.dense, Fp32Channels)
        channels = split.output.dense.channels.tolist()
        assert LARGE_DOWN in channels and len(channels) < split.output.dense.keep.numel() // 8


def int8_error(model, ids, **settings) -> float:
    fp32 = hidden(model, ids)
    with swapped(model, {"encoder": onnx_int8_stack(model, **settings)}):
        return float((hidden(model, ids) - fp32).abs().mean())


def test_smoothing_keeps_int8_closer_to_fp32_beside_a_large_channel(model):
    ids = torch.randint(5, model.config.vocab_size, (4, 16))
    assert int8_error(model, ids, smoothing=0.5) < 0.5 * int8_error(model, ids, smoothing=0.0)


def test_fp32_channels_keep_int8_down_projections_closer_to_fp32(model):
    """The fp32 part must also stay fp32 in the graph: quantised, it is one more int8
    matrix with the large channel in its input."""
    ids = torch.randint(5, model.config.vocab_size, (4, 16))
    split = int8_error(model, ids, int8_down_projections=True, smoothing=0.5, outlier_ratio=6.0)
    whole = int8_error(model, ids, int8_down_projections=True, smoothing=0.5, outlier_ratio=0.0)
    assert split < 0.5 * whole


def test_the_fp32_channels_stay_fp32_in_the_int8_graph(model, tmp_path):
    stack = int8_ready_stack(model, 0.5, int8_down_projections=True, outlier_ratio=6.0)
    graph = int8_graph(stack, model.config.hidden_size, int8_down_projections=True,
                       per_channel=True, folder=Path(tmp_path))
    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    fp32_part = [node.op_type for node in nodes if "/fp32_channels/" in node.name]
    assert fp32_part.count("MatMul") == len(stack.layer)
    assert sum(node.op_type == "MatMulInteger" for node in nodes) == 6 * len(stack.layer)
