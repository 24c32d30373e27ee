"""Large activation channels and the int8 encoder: smoothing (SmoothQuant, Xiao et al.
2023) and fp32 channels (LLM.int8()'s decomposition, Dettmers et al. 2022, by channel).

Dynamic int8 quantises each matrix multiplication's input with one scale for the whole
tensor, so one channel far larger than the rest sets the step for every channel, and the
others get a handful of int8 steps each. The layers of e5-small have such channels: in the
input of every feed-forward up-projection one channel (the same one layer after layer)
spans many times the median channel's range (:func:`activation_ranges` measures them).

SmoothQuant moves that range into the weights, where int8 has a scale per output unit and
can afford it: the input's channel ``j`` is divided by ``s_j`` and the weight's input column
``j`` multiplied by it, an exact rewrite in fp32. ``s_j = a_j ** alpha / w_j ** (1 - alpha)``
balances the activation's range ``a_j`` against the weight column's ``w_j``.

The feed-forward down-projections read the GELU output, where one channel a layer spans
far more than the rest: moved into the weights, that range coarsens every output unit's
int8 scale (in a probe before this module, smoothing them kept int8 further from fp32 than
leaving them alone).
When they are int8, their channels past ``outlier_ratio`` times the median channel's range
are split off instead and multiplied in fp32 (:class:`Fp32Channels`): a handful of columns
beside an int8 matrix of the rest.

Why hand-written: ONNX Runtime's quantiser has SmoothQuant only for calibrated static
quantisation (through Intel Neural Compressor), not for the dynamic int8 the pipeline runs.

The activation ranges are measured on token ids drawn at random from the vocabulary, not on
text: the large channels are the model's own, whatever the language (on e5-small, random
ids and English KBP37 sentences put the maximum in the same channel of every layer, at
similar sizes), so the graph needs no data and favours no language. What it bought on the
e5small pipeline is in the int8 dev table of ``bench/results/relation_extractor.md``.
"""

import copy
from typing import Dict

import torch

from .quantize import is_down_projection

#: How many random sequences, and of what length, measure the activation ranges.
CALIBRATION_SEQUENCES, CALIBRATION_LENGTH = 64, 64

#: Name of the fp32 part of a :class:`Fp32Channels` layer: the exported graph's nodes
#: under it must not be quantised.
FP32_PART = "fp32_channels"


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


class Fp32Channels(torch.nn.Module):
    """``linear`` with the input ``channels`` multiplied in fp32 by their own small layer
    and zeroed in the input of ``linear``, which int8 then quantises without them. The same
    function as ``linear``, which it takes over."""

    def __init__(self, linear: torch.nn.Linear, channels: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        keep = torch.ones(linear.in_features)
        keep[channels] = 0.0
        self.register_buffer("keep", keep)
        self.register_buffer("channels", channels)
        part = torch.nn.Linear(len(channels), linear.out_features, bias=False)
        with torch.no_grad():
            part.weight.copy_(linear.weight[:, channels])
        setattr(self, FP32_PART, part)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        part = getattr(self, FP32_PART)
        return self.linear(inputs * self.keep) + part(inputs.index_select(-1, self.channels))


def int8_ready_stack(model: torch.nn.Module, smoothing: float, int8_down_projections: bool,
                     outlier_ratio: float, seed: int = 0) -> torch.nn.Module:
    """A copy of ``model.encoder`` (a BERT-style layer stack) computing the same function,
    rewritten for int8 (see the module docstring): every linear layer but the
    down-projections smoothed with strength ``smoothing`` (0: not; SmoothQuant's default
    is 0.5); with ``int8_down_projections``, their input channels past ``outlier_ratio``
    times the median channel's range kept fp32 (0: none). The activation ranges are
    measured through ``model`` on random token ids; ``model`` is left as it is. Layers that
    stay fp32 are left as they are."""
    ranges = activation_ranges(model, seed)
    stack = copy.deepcopy(model.encoder)
    linears = {name: module for name, module in stack.named_modules()
               if isinstance(module, torch.nn.Linear)}
    for name, linear in linears.items():
        if not is_down_projection(linear) and smoothing > 0:
            rewritten: torch.nn.Module = SmoothedLinear(linear, smoothing_scales(
                ranges[name], linear.weight.detach(), smoothing))
        elif is_down_projection(linear) and int8_down_projections and outlier_ratio > 0:
            rewritten = Fp32Channels(linear, outlier_channels(ranges[name], outlier_ratio))
        else:
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(stack.get_submodule(parent_name) if parent_name else stack, child, rewritten)
    return stack


def outlier_channels(activation_range: torch.Tensor, ratio: float) -> torch.Tensor:
    """The input channels whose range exceeds ``ratio`` times the median channel's."""
    return torch.nonzero(activation_range > ratio * activation_range.median()).flatten()


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
