"""bench/onnx_encoder.py's oneDNN row: the stack the pipeline's int8 settings rewrite,
quantised by torch on its oneDNN engine."""

import pytest
import torch
from transformers import XLMRobertaModel

from tests.bench import load_bench

onnx_encoder_bench = load_bench("onnx_encoder")

SETTINGS = {"int8_down_projections": False, "per_channel": True, "smoothing": 0.5,
            "outlier_ratio": 6.0}

pytestmark = pytest.mark.skipif("onednn" not in torch.backends.quantized.supported_engines,
                                reason="this torch build has no oneDNN quantized engine")


def quantized(stack: torch.nn.Module) -> list:
    return [name for name, m in stack.named_modules()
            if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]


def test_the_down_projections_follow_the_setting(tiny_xlmr):
    encoder = XLMRobertaModel.from_pretrained(tiny_xlmr).eval()
    fp32_down = quantized(onnx_encoder_bench.onednn_int8_stack(encoder, SETTINGS))
    int8_down = quantized(onnx_encoder_bench.onednn_int8_stack(
        encoder, {**SETTINGS, "int8_down_projections": True}))
    # 2 layers: query, key, value, attention output, up-projection each; then the
    # down-projections as well
    assert len(fp32_down) == 2 * 5 and not any(n.endswith("output.dense") and
                                               "attention" not in n for n in fp32_down)
    assert len(int8_down) == 2 * 6


def test_the_int8_stack_computes_what_the_fp32_stack_does(tiny_xlmr):
    encoder = XLMRobertaModel.from_pretrained(tiny_xlmr).eval()
    ids = torch.randint(5, encoder.config.vocab_size, (3, 12))
    with torch.no_grad():
        fp32 = encoder(input_ids=ids).last_hidden_state
        stack = onnx_encoder_bench.onednn_int8_stack(encoder, SETTINGS)
        original, encoder.encoder = encoder.encoder, stack
        with onnx_encoder_bench.on_quantized_engine("onednn"):
            int8 = encoder(input_ids=ids).last_hidden_state
        encoder.encoder = original
    # a stack computing another function (every weight times 3) fails this bound, which
    # int8 of the same function clears by a wide margin
    assert torch.nn.functional.cosine_similarity(fp32, int8, dim=-1).min() > 0.999


def test_the_engine_is_set_only_inside_the_block():
    before = torch.backends.quantized.engine
    with onnx_encoder_bench.on_quantized_engine("onednn"):
        assert torch.backends.quantized.engine == "onednn"
    assert torch.backends.quantized.engine == before != "onednn"
