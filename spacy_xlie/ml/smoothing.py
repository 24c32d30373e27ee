"""Activation smoothing for the int8 encoder (SmoothQuant, Xiao et al. 2023).

Dynamic int8 quantises each matrix multiplication's input with one scale for the whole
tensor, so one channel far larger than the rest sets the step for every channel, and the
others get a handful of int8 steps each. The layers of e5-small have such channels: in the
input of every feed-forward up-projection one channel (the same one layer after layer)
spans many times the median channel's range (:func:`activation_ranges` measures them).

SmoothQuant moves that range into the weights, where int8 has a scale per output unit and
can afford it: the input's channel ``j`` is divided by ``s_j`` and the weight's input column
``j`` multiplied by it, an exact rewrite in fp32. ``s_j = a_j ** alpha / w_j ** (1 - alpha)``
balances the activation's range ``a_j`` against the weight column's ``w_j``.

Why hand-written: ONNX Runtime's quantiser has SmoothQuant only for calibrated static
quantisation (through Intel Neural Compressor), not for the dynamic int8 the pipeline runs.

The activation ranges are measured on token ids drawn at random from the vocabulary, not on
text: the large channels are the model's own, whatever the language (on e5-small, random
ids and English KBP37 sentences put the maximum in the same channel of every layer, at
similar sizes), so the graph needs no data and favours no language. What it bought on the
e5small pipeline is in the int8 dev table of ``bench/results/relation_extractor.md``.
"""

import copy
from typing import Callable, Dict

import torch

#: How many random sequences, and of what length, measure the activation ranges.
CALIBRATION_SEQUENCES, CALIBRATION_LENGTH = 64, 64


class SmoothedLinear(torch.nn.Module):
    """``linear(x / s)`` with the weight's input columns multiplied by ``s``: the same
    function as ``linear``, with the range moved from the input into the weight. Takes
    ``linear`` over and changes its weight in place."""

    def __init__(self, linear: torch.nn.Linear, scales: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        with torch.no_grad():
            self.linear.weight.mul_(scales)
        self.register_buffer("inverse_scales", 1.0 / scales)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.linear(inputs * self.inverse_scales)


def smoothed_stack(model: torch.nn.Module, alpha: float,
                   quantised: Callable[[torch.nn.Linear], bool] = lambda linear: True,
                   seed: int = 0) -> torch.nn.Module:
    """A copy of ``model.encoder`` (a BERT-style layer stack) with every linear layer that
    will be ``quantised`` smoothed with strength ``alpha`` (SmoothQuant's default is 0.5),
    its activation ranges measured through ``model`` on random token ids; ``model`` is left
    as it is. Layers that stay fp32 are left as they are: smoothing them costs a
    multiplication and gains nothing."""
    ranges = activation_ranges(model, seed)
    stack = copy.deepcopy(model.encoder)
    linears = {name: module for name, module in stack.named_modules()
               if isinstance(module, torch.nn.Linear) and quantised(module)}
    for name, linear in linears.items():
        parent_name, _, child = name.rpartition(".")
        parent = stack.get_submodule(parent_name) if parent_name else stack
        setattr(parent, child, SmoothedLinear(linear, smoothing_scales(
            ranges[name], linear.weight.detach(), alpha)))
    return stack


def smoothing_scales(activation_range: torch.Tensor, weight: torch.Tensor, alpha: float
                     ) -> torch.Tensor:
    """SmoothQuant's per-channel scales ``a_j ** alpha / w_j ** (1 - alpha)`` for a layer
    whose input channel ``j`` spans ``[-a_j, a_j]`` and whose weight (``(out, in)``) has
    column maxima ``w_j``; channels that never fire keep scale 1."""
    weight_range = weight.abs().amax(dim=0).clamp(min=1e-5)
    scales = activation_range.clamp(min=1e-5) ** alpha / weight_range ** (1.0 - alpha)
    return torch.where(activation_range > 0, scales, torch.ones_like(scales))


def activation_ranges(model: torch.nn.Module, seed: int = 0) -> Dict[str, torch.Tensor]:
    """The largest absolute value each input channel of every linear layer in
    ``model.encoder`` takes on random token sequences (names as in ``named_modules``)."""
    ranges: Dict[str, torch.Tensor] = {}

    def record(name: str):
        def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            seen = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(dim=0)
            ranges[name] = torch.maximum(ranges[name], seen) if name in ranges else seen
        return hook

    handles = [module.register_forward_hook(record(name))
               for name, module in model.encoder.named_modules()
               if isinstance(module, torch.nn.Linear)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(input_ids=random_token_ids(model.config, seed))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return ranges


def random_token_ids(config: object, seed: int) -> torch.Tensor:
    """``CALIBRATION_SEQUENCES`` sequences of ids drawn uniformly from the vocabulary past
    its special tokens, each between the model's start and end tokens."""
    generator = torch.Generator().manual_seed(seed)
    special = max(getattr(config, name, None) or 0
                  for name in ("pad_token_id", "bos_token_id", "eos_token_id")) + 1
    ids = torch.randint(special, config.vocab_size,
                        (CALIBRATION_SEQUENCES, CALIBRATION_LENGTH), generator=generator)
    ids[:, 0] = getattr(config, "bos_token_id", None) or 0
    ids[:, -1] = getattr(config, "eos_token_id", None) or 0
    return ids
