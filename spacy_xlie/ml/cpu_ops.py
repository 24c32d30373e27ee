"""Matrix products of a pipeline's thinc layers on CPU through numpy's BLAS, not blis.

thinc's ``NumpyOps`` multiplies matrices with blis by default. On this project's 2-core
machine blis runs the recognizer's maxout layers (1,152 inputs, 1,152 outputs per token)
several times slower than numpy's own BLAS (OpenBLAS in the numpy wheels), and those
layers took over a third of the e5small pipeline's time beside the int8 encoder
(``bench/results/cpu_ops.md``). thinc has the switch itself, ``NumpyOps(use_blis=False)``;
this callback applies it to the layers of the pipeline's components once they are built,
so it is part of the pipeline's config (kept by ``nlp.to_disk`` and ``spacy package``),
holds for training and prediction alike, and changes nothing outside the pipeline (no
``set_current_ops``). Layers on other backends (GPU, Apple) are left as they are.
"""

from typing import Callable

from spacy.language import Language
from spacy.util import registry
from thinc.api import Model, NumpyOps


def set_cpu_ops(nlp: Language, use_blis: bool) -> int:
    """Give every layer of ``nlp``'s components that runs on thinc's plain CPU backend a
    ``NumpyOps(use_blis=use_blis)``; returns how many layers it changed."""
    ops = NumpyOps(use_blis=use_blis)
    changed = 0
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if not isinstance(model, Model):
            continue
        for layer in model.walk():
            if type(layer.ops) is NumpyOps:
                layer.ops = ops
                changed += 1
    return changed


@registry.callbacks("spacy_xlie.cpu_ops.v1")
def create_cpu_ops(use_blis: bool = False) -> Callable[[Language], Language]:
    """An ``[nlp.after_pipeline_creation]`` callback: the components' CPU layers multiply
    matrices with blis (``use_blis = true``, thinc's default) or numpy's BLAS (see the
    module docstring)."""

    def apply(nlp: Language) -> Language:
        set_cpu_ops(nlp, use_blis)
        return nlp

    return apply
