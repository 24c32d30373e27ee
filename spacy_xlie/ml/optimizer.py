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

One component's layers can learn at their own multiple instead
(``spacy_xlie.component_learn_rates.v1``, a ``[training.before_update]`` callback): the
recognizer's head faster without the relation head. thinc's optimizer sees only a
parameter's key, and spaCy's training loop hands the callback the pipeline but not the
optimizer, so the callback records the keys of the component's parameters in
:data:`PARAMETER_LEARN_RATE_SCALES`, which this optimizer reads. Keys hold thinc's model
ids, unique within a process, so two pipelines never share an entry.
"""

from typing import Any, Callable, Dict, Tuple, cast

from spacy.language import Language
from spacy.util import registry
from thinc.api import Model, Optimizer
from thinc.optimizers import ADAM_DEFAULTS, FloatOrSeq
from thinc.types import FloatsXd

#: Learning-rate multipliers of single thinc parameters, by the optimizer's key ``(model
#: id, parameter name)``; filled by :func:`scale_learn_rate`.
PARAMETER_LEARN_RATE_SCALES: Dict[Tuple[int, str], float] = {}


def scale_learn_rate(model: Model, scale: float) -> int:
    """Have every thinc parameter of ``model`` and its layers learn at ``scale`` times the
    rate it would otherwise get from :class:`HeadScaledOptimizer`; returns how many
    parameters that is. A PyTorch module's parameters are not thinc's and stay as they
    are."""
    keys = [(node.id, name) for node in model.walk() for name in node.param_names]
    PARAMETER_LEARN_RATE_SCALES.update(dict.fromkeys(keys, scale))
    return len(keys)


def is_head_parameter(key: Tuple[int, str]) -> bool:
    """Whether the optimizer key names a thinc layer's parameter rather than a PyTorch
    module's (see the module docstring)."""
    return "." not in key[1]


class HeadScaledOptimizer(Optimizer):
    """thinc's ``Optimizer`` with the learning rate (and the decoupled weight decay it
    scales) multiplied by ``head_learn_rate_scale`` for the components' own layers, and
    by a parameter's entry in :data:`PARAMETER_LEARN_RATE_SCALES` where it has one."""

    __slots__ = ["head_learn_rate_scale"]

    def __init__(self, learn_rate: FloatOrSeq, *, head_learn_rate_scale: float, **settings):
        super().__init__(learn_rate, **settings)
        self.head_learn_rate_scale = head_learn_rate_scale

    def __call__(self, key: Tuple[int, str], weights: FloatsXd, gradient: FloatsXd, *,
                 lr_scale: float = 1.0):
        if is_head_parameter(key):
            lr_scale *= self.head_learn_rate_scale
        lr_scale *= PARAMETER_LEARN_RATE_SCALES.get(key, 1.0)
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


@registry.callbacks("spacy_xlie.component_learn_rates.v1")
def create_component_learn_rates(
    scales: Dict[str, float]
) -> Callable[[Language, Dict[str, Any]], None]:
    """A ``[training.before_update]`` callback: the thinc layers of each named component
    learn at its scale times the rate ``spacy_xlie.Adam.v1`` gives them (with
    ``head_learn_rate_scale``, the product). An empty mapping changes nothing; another
    optimizer ignores the scales."""
    for name, scale in scales.items():
        if scale <= 0:
            raise ValueError(f"the learning-rate scale of {name!r} must be positive, got {scale}")

    def before_update(nlp: Language, args: Dict[str, Any]) -> None:
        for name, scale in scales.items():
            model = getattr(nlp.get_pipe(name), "model", None)  # a rule-based pipe has none
            if not isinstance(model, Model) or not scale_learn_rate(model, scale):
                raise ValueError(f"component {name!r} has no thinc parameters to scale")

    return before_update
