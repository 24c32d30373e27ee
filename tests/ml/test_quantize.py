"""int8 linear layers: which layers are quantised, and the fp32 model left intact."""

import torch

from spacy_xlie.ml.quantize import int8_children, is_down_projection, quantize_linear, swapped


def feed_forward() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 4))


def test_down_projections_stay_fp32_when_asked():
    block = quantize_linear(feed_forward(), is_down_projection)
    assert type(block[0]) is not torch.nn.Linear  # the up-projection is int8
    assert type(block[2]) is torch.nn.Linear


def test_every_linear_layer_is_int8_by_default():
    block = quantize_linear(feed_forward())
    assert not any(type(m) is torch.nn.Linear for m in block.modules())


def test_int8_children_copy_only_children_with_linear_layers_and_swap_back():
    model = torch.nn.Module()
    model.embeddings = torch.nn.Embedding(10, 4)
    model.encoder = feed_forward()
    original = model.encoder
    children = int8_children(model)
    assert set(children) == {"encoder"}
    assert type(model.encoder[0]) is torch.nn.Linear  # the fp32 model is untouched
    with swapped(model, children):
        assert model.encoder is children["encoder"]
    assert model.encoder is original
