"""Adam with its own learning rate for the heads trained from scratch on a pretrained
encoder.

A pipeline on a transformer trains two kinds of weights with one optimizer: the
encoder's pretrained layers, which should move little, and the components' own layers
(the recognizer's maxout and state layers, the relation classifier), which start random.
thinc's ``Adam.v1`` gives them one learning rate, so the rate that keeps the encoder
close to its pretraining (3e-4 in ``configs/e5small.cfg``) is about a third of the 1e-3
of spaCy's quickstart CNN configs (``configs/cpu.cfg`` here: 2e-3). Fine-tuning recipes
for BERT-style encoders commonly give the new head a larger rate than the encoder; thinc
has no per-parameter rates, so this subclass scales the rate of every parameter that is
not a PyTorch module's.

The two kinds are told apart by the optimizer's key, ``(id, name)``: thinc's own layers
name their parameters flat (``W``, ``b``, ``hidden_W``), while a PyTorch shim passes each
parameter's path in its module (``encoder.layer.7.output.dense.weight``), which has a dot
wherever the parameter sits in a submodule, as all of a transformer's do. A head written
in PyTorch (``RelationClassifier.v2``'s pair layer) therefore learns at the encoder's rate.

On ``configs/e5small.cfg`` a scale of 5 raised the English dev entity F and lowered the
KBP37 dev relation macro-F, so that config keeps 1.0 (``bench/results/e5small_head_lr.md``).
"""

from typing import Tuple, cast

from spacy.util import registry
from thinc.api import Optimizer
from thinc.optimizers import ADAM_DEFAULTS, FloatOrSeq
from thinc.types import FloatsXd


def is_head_parameter(key: Tuple[int, str]) -> bool:
    """Whether the optimizer key names a thinc layer's parameter rather than a PyTorch
    module's (see the module docstring)."""
    return "." not in key[1]


class HeadScaledOptimizer(Optimizer):
    """thinc's ``Optimizer`` with the learning rate (and the decoupled weight decay it
    scales) multiplied by ``head_learn_rate_scale`` for the components' own layers."""

    __slots__ = ["head_learn_rate_scale"]

    def __init__(self, learn_rate: FloatOrSeq, *, head_learn_rate_scale: float, **settings):
        super().__init__(learn_rate, **settings)
        self.head_learn_rate_scale = head_learn_rate_scale

    def __call__(self, key: Tuple[int, str], weights: FloatsXd, gradient: FloatsXd, *,
                 lr_scale: float = 1.0):
        if is_head_parameter(key):
            lr_scale *= self.head_learn_rate_scale
        return super().__call__(key, weights, gradient, lr_scale=lr_scale)


@registry.optimizers("spacy_xlie.Adam.v1")
def create_adam(
    learn_rate: FloatOrSeq = ADAM_DEFAULTS["learn_rate"],
    *,
    head_learn_rate_scale: float = 1.0,
    L2: FloatOrSeq = ADAM_DEFAULTS["L2"],
    beta1: FloatOrSeq = ADAM_DEFAULTS["beta1"],
    beta2: FloatOrSeq = ADAM_DEFAULTS["beta2"],
    eps: FloatOrSeq = ADAM_DEFAULTS["eps"],
    grad_clip: FloatOrSeq = ADAM_DEFAULTS["grad_clip"],
    L2_is_weight_decay: bool = cast(bool, ADAM_DEFAULTS["L2_is_weight_decay"]),
    use_averages: bool = True,
) -> Optimizer:
    """thinc's ``Adam.v1`` (same settings and defaults) with ``head_learn_rate_scale``:
    the components' own layers learn at that multiple of ``learn_rate`` (a schedule
    included), the PyTorch encoder at ``learn_rate``. At 1.0 it is ``Adam.v1``."""
    if head_learn_rate_scale <= 0:
        raise ValueError(f"head_learn_rate_scale must be positive, got {head_learn_rate_scale}")
    return HeadScaledOptimizer(
        learn_rate,
        head_learn_rate_scale=head_learn_rate_scale,
        L2=L2,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
        use_radam=False,
    )
