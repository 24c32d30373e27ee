"""int8 linear layers for CPU inference (PyTorch dynamic quantisation), and swapping a
model's children for a block.

Dynamic quantisation stores each ``torch.nn.Linear`` weight as int8 and quantises the
activations on the fly: no calibration data, no retraining, and on CPU the matrix products
that dominate a transformer's time run in int8. The embedding aligner uses it; the
``xlie_transformer`` component's int8 encoder runs on ONNX Runtime instead
(:mod:`spacy_xlie.ml.onnx_encoder` says why) and swaps it in with :class:`swapped`.
"""

import warnings
from typing import Any, Callable, Dict, Optional


def quantize_linear(module: Any, keep_fp32: Optional[Callable[[Any], bool]] = None,
                    per_channel: bool = False) -> Any:
    """``module`` with its linear layers as int8 (dynamic quantisation), quantised in place;
    the linear layers for which ``keep_fp32`` is true stay as they are. ``per_channel``:
    a weight scale per output unit instead of one per matrix."""
    import torch

    qconfig = (torch.ao.quantization.per_channel_dynamic_qconfig if per_channel
               else torch.ao.quantization.default_dynamic_qconfig)
    spec = {
        name: qconfig
        for name, layer in module.named_modules()
        if isinstance(layer, torch.nn.Linear) and not (keep_fp32 and keep_fp32(layer))
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the eager-mode API is marked for migration
        return torch.ao.quantization.quantize_dynamic(module, spec, dtype=torch.qint8,
                                                      inplace=True)


def is_down_projection(layer: Any) -> bool:
    """Whether a linear layer maps a wider input to a narrower output: in a transformer,
    the feed-forward block's second layer. Its input is the GELU activation, whose few
    very large values set the scale of the per-tensor int8 activation and leave the rest
    of it a handful of levels; every other linear layer reads a layer-normalised input."""
    return layer.in_features > layer.out_features


class swapped:
    """Context manager: ``model``'s children replaced by ``children`` inside the block."""

    def __init__(self, model: Any, children: Dict[str, Any]) -> None:
        self.model = model
        self.children = children
        self.saved: Dict[str, Any] = {}

    def __enter__(self) -> Any:
        for name, child in self.children.items():
            self.saved[name] = getattr(self.model, name)
            setattr(self.model, name, child)
        return self.model

    def __exit__(self, *exc: Any) -> None:
        for name, child in self.saved.items():
            setattr(self.model, name, child)
        self.saved = {}
