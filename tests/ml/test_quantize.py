"""int8 linear layers: which layers are quantised; swapping children for a block."""

import torch

from spacy_xlie.ml.quantize import is_down_projection, quantize_linear, swapped


def feed_forward() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 4))


def test_down_projections_stay_fp32_when_asked():
    block = quantize_linear(feed_forward(), is_down_projection)
    assert type(block[0]) is not torch.nn.Linear  # the up-projection is int8
    assert type(block[2]) is torch.nn.Linear


def test_every_linear_layer_is_int8_by_default():
    block = quantize_linear(feed_forward())
    assert not any(type(m) is torch.nn.Linear for m in block.modules())


def test_per_channel_gives_each_output_unit_its_own_weight_scale():
    per_matrix = quantize_linear(feed_forward())[0].weight()
    per_unit = quantize_linear(feed_forward(), per_channel=True)[0].weight()
    assert per_matrix.qscheme() == torch.per_tensor_affine
    assert per_unit.qscheme() == torch.per_channel_affine
    assert per_unit.q_per_channel_scales().shape == (8,)


def test_swapped_replaces_children_inside_the_block_only():
    model = torch.nn.Module()
    model.embeddings = torch.nn.Embedding(10, 4)
    model.encoder = feed_forward()
    original, replacement = model.encoder, feed_forward()
    with swapped(model, {"encoder": replacement}):
        assert model.encoder is replacement
    assert model.encoder is original
