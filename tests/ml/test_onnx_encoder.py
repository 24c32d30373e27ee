"""The int8 layer stack on ONNX Runtime: the exported stack masks padding as torch does,
int8 stays close to fp32, the torch model is untouched, BERT-style models only; a call's
rows run in groups of similar length with the same vectors."""

import gc

import numpy
import pytest
import torch
from transformers import AutoModel

from spacy_xlie.ml.onnx_encoder import (
    OnnxStack,
    additive_mask,
    export_stack,
    length_buckets,
    onnx_int8_stack,
)
from spacy_xlie.ml.quantize import swapped


@pytest.fixture(scope="module")
def encoder(tiny_xlmr):
    torch.manual_seed(0)
    return AutoModel.from_pretrained(str(tiny_xlmr)).eval()


def hidden(model, ids, mask):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).last_hidden_state


def padded_batch(model):
    """Two docs of 12 and 7 pieces, the second padded to 12."""
    ids = torch.randint(5, model.config.vocab_size, (2, 12))
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, 7:] = 0
    return ids, mask


def test_exported_stack_gives_torch_vectors_with_padding(encoder, tmp_path):
    """fp32 graph (no quantisation error), weights large enough that attention is sharp:
    unmasked padding would move the padded doc's vectors well past the tolerance."""
    model = AutoModel.from_pretrained(encoder.name_or_path).eval()
    for layer in model.encoder.modules():
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.normal_(layer.weight, std=0.3)
    export_stack(model.encoder, model.config.hidden_size, tmp_path / "stack.onnx")
    ids, mask = padded_batch(model)
    expected = hidden(model, ids, mask)
    with swapped(model, {"encoder": OnnxStack(tmp_path / "stack.onnx", threads=1)}):
        found = hidden(model, ids, mask)
        unpadded = hidden(model, ids[:1], mask[:1])  # no padding: the model passes no mask
    assert torch.allclose(found[mask.bool()], expected[mask.bool()], atol=1e-4)
    assert torch.allclose(unpadded[0], expected[0], atol=1e-4)


def test_int8_stack_is_close_to_fp32(encoder):
    ids, mask = padded_batch(encoder)
    fp32 = hidden(encoder, ids, mask)
    with swapped(encoder, {"encoder": onnx_int8_stack(encoder)}):
        int8 = hidden(encoder, ids, mask)
    cosine = torch.nn.functional.cosine_similarity(int8[mask.bool()], fp32[mask.bool()], dim=-1)
    assert cosine.min() > 0.98
    assert not torch.equal(int8, fp32)


def test_per_channel_weights_keep_small_units_beside_large_ones(encoder):
    """One output unit of every linear layer with weights 100x the others': a scale per
    matrix (per tensor) rounds the other units' weights to a few int8 steps, a scale per
    output unit keeps them, so per-channel int8 stays far closer to fp32."""
    model = AutoModel.from_pretrained(encoder.name_or_path).eval()
    with torch.no_grad():
        for layer in model.encoder.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight[0] *= 100.0
    ids, mask = padded_batch(model)
    fp32 = hidden(model, ids, mask)

    def error(per_channel: bool) -> float:
        with swapped(model, {"encoder": onnx_int8_stack(model, int8_down_projections=True,
                                                        per_channel=per_channel)}):
            found = hidden(model, ids, mask)
        return float((found - fp32)[mask.bool()].abs().mean())

    assert error(per_channel=True) < 0.5 * error(per_channel=False)


def test_the_fp32_model_is_left_as_it_was(encoder):
    ids, mask = padded_batch(encoder)
    before = hidden(encoder, ids, mask)
    stack = encoder.encoder
    stack.train()  # exporting traces in eval mode; the stack's own mode comes back
    onnx_int8_stack(encoder, int8_down_projections=True)
    assert encoder.encoder is stack and stack.training
    stack.eval()
    assert torch.equal(hidden(encoder, ids, mask), before)


def test_additive_mask_from_what_the_model_hands_its_stack():
    states = torch.zeros(2, 3, 4)
    assert torch.equal(additive_mask(None, states), torch.zeros(2, 1, 1, 3))
    padding = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, -1e9]])
    sdpa = padding[:, None, None, :].expand(2, 1, 3, 3)
    assert torch.equal(additive_mask(sdpa, states), padding[:, None, None, :])


def test_a_model_without_a_layer_stack_is_refused():
    with pytest.raises(ValueError, match="BERT-style encoder"):
        onnx_int8_stack(torch.nn.Linear(2, 2))


def test_a_dropped_stack_closes_its_graph_files(encoder, tmp_path):
    """The stack holds its graph's files open (to save them later) until it is dropped."""
    stack = onnx_int8_stack(encoder)
    files = list(stack._files.values())
    assert len(files) == 2 and not any(f.closed for f in files)
    del stack
    gc.collect()
    assert all(f.closed for f in files)


def mask_of(lengths, width):
    """The additive mask of a call whose rows attend to their first ``lengths`` pieces."""
    mask = numpy.full((len(lengths), 1, 1, width), -3.4e38, dtype="float32")
    for row, length in enumerate(lengths):
        mask[row, 0, 0, :length] = 0
    return mask


def test_length_buckets_group_rows_of_similar_length():
    groups = length_buckets(mask_of([5, 40, 12, 100, 41, 3, 60], 100))
    assert [(rows.tolist(), length) for rows, length in groups] == [
        ([0, 2, 5], 12), ([1, 4], 41), ([6], 60), ([3], 100)]


def test_length_buckets_of_an_unpadded_call_are_the_call():
    groups = length_buckets(mask_of([9, 9], 9))
    assert [(rows.tolist(), length) for rows, length in groups] == [([0, 1], 9)]


def test_buckets_give_each_row_the_vectors_of_the_padded_call(encoder, tmp_path):
    """An fp32 graph (no int8 activation scales shared across rows): rows of 60, 4, 30 and
    26 pieces in three groups (the 26 padded to 30 in its group) get the vectors the
    padded call gives them; positions past a row's group's length are 0."""
    export_stack(encoder.encoder, encoder.config.hidden_size, tmp_path / "stack.onnx")
    lengths = [60, 4, 30, 26]
    assert [length for _, length in length_buckets(mask_of(lengths, 60))] == [4, 30, 60]
    ids = torch.randint(5, encoder.config.vocab_size, (4, 60))
    mask = torch.zeros(4, 60, dtype=torch.long)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    stack = OnnxStack(tmp_path / "stack.onnx", threads=1)
    with swapped(encoder, {"encoder": stack}):
        padded = hidden(encoder, ids, mask)
        stack.length_buckets = True
        bucketed = hidden(encoder, ids, mask)
    assert torch.allclose(bucketed[mask.bool()], padded[mask.bool()], atol=1e-4)
    assert not bucketed[1, 4:].any() and not bucketed[3, 30:].any()
    assert bucketed[3, 26:30].any()
