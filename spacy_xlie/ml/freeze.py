"""Freeze the bottom of a spacy-transformers encoder for CPU fine-tuning.

Fine-tuning every weight of even a small multilingual encoder is out of reach on a 2-core
CPU: the optimizer would copy its 96M-parameter word-embedding matrix on every step, and
backprop through all layers costs about twice the forward pass. Freezing the embeddings
(which also keeps the languages' shared vocabulary space aligned, a known aid to zero-shot
transfer) and the lowest layers stops autograd below the first trainable layer, so each
step pays backward only for the layers that adapt.

It runs as an ``[initialize.after_init]`` callback because the Hugging Face model exists
only once the transformer pipe has been initialized (``from_pretrained`` runs in its
init). Parameters with ``requires_grad = False`` get no gradient, and thinc's
``PyTorchShim.finish_update`` skips parameters without one.

``spacy_xlie.freeze_transformer.v2`` can also turn on Hugging Face's gradient
checkpointing: the trained layers keep only their inputs for backprop and recompute the
rest, so each trained layer costs one more forward pass but no stored activations.
Training more layers then fits the memory that training fewer took.
"""

from typing import Callable, Iterable, Optional

from spacy.language import Language
from spacy.util import registry
from thinc.api import Model, PyTorchShim


@registry.callbacks("spacy_xlie.freeze_transformer.v1")
def create_freeze_transformer(
    component: str = "transformer", freeze_embeddings: bool = True, freeze_layers: int = 0
) -> Callable[[Language], Language]:
    """Freeze ``component``'s embeddings and its lowest ``freeze_layers`` layers.

    ``freeze_layers`` is clamped to the model's depth, so a config written for a deeper
    encoder still runs on a shallower one; freezing every layer and the embeddings is an
    error (nothing would be trained: list the component in ``training.frozen_components``
    for that).
    """

    def freeze(nlp: Language) -> Language:
        _freeze(_hf_model(nlp, component), component, freeze_embeddings, freeze_layers)
        return nlp

    return freeze


@registry.callbacks("spacy_xlie.freeze_transformer.v2")
def create_freeze_transformer_v2(
    component: str = "transformer", freeze_embeddings: bool = True, freeze_layers: int = 0,
    gradient_checkpointing: bool = False,
) -> Callable[[Language], Language]:
    """As v1, and with ``gradient_checkpointing`` the layers recompute their activations
    in backprop instead of keeping them (less memory, one more forward of the trained
    layers per step; see the module docstring)."""

    def freeze(nlp: Language) -> Language:
        hf_model = _hf_model(nlp, component)
        _freeze(hf_model, component, freeze_embeddings, freeze_layers)
        if gradient_checkpointing:
            # Non-reentrant: the first trained layer's input comes from a frozen layer and
            # needs no gradient, and the reentrant variant would then give its weights none.
            hf_model.gradient_checkpointing_enable({"use_reentrant": False})
        return nlp

    return freeze


def _freeze(hf_model, component: str, freeze_embeddings: bool, freeze_layers: int) -> None:
    layers = _encoder_layers(hf_model)
    n_frozen = max(0, min(freeze_layers, len(layers)))
    if freeze_embeddings and n_frozen == len(layers):
        raise ValueError(
            f"freeze_transformer: freezing the embeddings and all {len(layers)} layers of "
            f"'{component}' leaves nothing to train: set freeze_layers below "
            f"{len(layers)}, or list '{component}' in training.frozen_components"
        )
    frozen = [hf_model.embeddings] if freeze_embeddings else []
    frozen.extend(layers[:n_frozen])
    for module in frozen:
        for param in module.parameters():
            param.requires_grad = False


def torch_shim(model: Model) -> Optional[PyTorchShim]:
    """The shim holding the torch model inside a thinc model (a spacy-transformers
    encoder's), or None before that model is loaded."""
    for node in model.walk():
        for shim in node.shims:
            if isinstance(shim, PyTorchShim) and shim._model is not None:
                return shim
    return None


def _hf_model(nlp: Language, component: str):
    """The torch module inside a spacy-transformers pipe (its model's PyTorch shim)."""
    if component not in nlp.pipe_names:
        raise ValueError(f"freeze_transformer: no component '{component}' in {nlp.pipe_names}")
    shim = torch_shim(nlp.get_pipe(component).model)
    if shim is None:
        raise ValueError(f"freeze_transformer: '{component}' holds no PyTorch model")
    return shim._model


def _encoder_layers(hf_model) -> list:
    """The stack of transformer blocks (BERT/XLM-R ``encoder.layer``)."""
    encoder = getattr(hf_model, "encoder", None)
    layers: Iterable = getattr(encoder, "layer", None) or []
    if not hasattr(hf_model, "embeddings") or not layers:
        raise ValueError(
            f"freeze_transformer: {type(hf_model).__name__} has no embeddings/encoder.layer "
            "(BERT- and XLM-R-style encoders are supported)"
        )
    return list(layers)
