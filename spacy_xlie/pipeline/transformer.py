"""``xlie_transformer``: spacy-transformers' ``transformer`` with encoder calls cut by
wordpieces (prediction and training), and an optional int8 encoder for CPU.

The settings live in the component's config, so they survive ``nlp.to_disk``,
``spacy.load`` and ``spacy package``, and nobody has to remember a step after loading.
``max_batch_pieces`` (default 512) sorts each ``nlp.pipe`` batch by wordpieces and cuts it
at that many padded pieces an encoder call (see :meth:`Transformer._sub_batches`; null:
spacy-transformers' batching); ``max_update_pieces`` (default null: one call a batch)
does the same for training's updates (see :meth:`Transformer.update`). ``quantize``
chooses the encoder's precision (int8 weights for the transformer layers on ONNX Runtime,
:mod:`spacy_xlie.ml.onnx_encoder`):

* ``quantize = "auto"``: a pipeline loaded from disk predicts with the int8 layers on
  CPU and with the fp32 model on GPU;
* ``"int8"``: the same, but loading on GPU is refused (the int8 kernels are CPU-only);
* ``"off"`` (the factory's default): always fp32. ``configs/e5small.cfg`` sets ``"auto"``;
  see ``bench/results/relation_extractor.md`` and ``bench/results/end_to_end.md`` for
  what int8 changes on that pipeline's words/s and scores.

``int8_per_channel`` (default true) gives every output unit of a weight matrix its own
int8 scale instead of one scale per matrix: a unit whose weights are small then keeps its
resolution beside one whose weights are large (on the e5small pipeline's English dev data
it kept int8 closer to fp32 at the same speed: the dev table of
``bench/results/relation_extractor.md``).

``int8_smoothing`` (default 0.5; 0 turns it off) moves the range of the few very large
input channels of the int8 layers into their weights before quantising (SmoothQuant,
:mod:`spacy_xlie.ml.smoothing`): the int8 pipeline then predicted closer to fp32 on the
e5small pipeline's English dev data (the dev table of
``bench/results/relation_extractor.md``). ``int8_down_projections`` (default false; the
e5small config sets it) makes the feed-forward down-projections int8 as well, and
``int8_outlier_ratio`` (default 6; 0 turns it off) then multiplies their input channels
whose range passes that many times the median channel's in fp32 beside the int8 matrix of
the others (same module): with it, every layer int8 differed from fp32 on fewer English
dev docs than the down-projections fp32 had without smoothing (same table), and ran faster
(the int8 speed rounds of the same report).

``onnx_spinning`` (default false) lets ONNX Runtime's threads spin-wait for work after each
int8 encoder call, its own default; off, they sleep, and the torch ops between calls (the
embeddings) and the components after the encoder get the cores to themselves
(``bench/results/onnx_spinning.md``; see :func:`spacy_xlie.ml.onnx_encoder.stack_session`).
``onnx_memory_pattern`` (default false) lets ONNX Runtime plan each call's memory as one
block per input shape, its own default; off, the calls' tensors come from its arena one by
one, which kept less memory over the pipeline's calls of every shape at the same speed
(the int8 rows of ``bench/results/relation_extractor.md``). ``onnx_length_buckets``
(default true) runs each int8 call's windows in groups of similar length instead of all
padded to the longest (:func:`spacy_xlie.ml.onnx_encoder.length_buckets`;
``bench/results/onnx_buckets.md``).

An encoder that trains never uses the int8 copy: a pipeline built by ``nlp.initialize``
(``spacy train``) has none, and ``update`` drops it from a loaded one, so a sourced
component fine-tunes and evaluates on its fp32 weights. A sourced encoder that stays
frozen (``configs/e5small-predicted.cfg``) is never updated and keeps its copy: the
components that learn from its output then learn from the vectors it predicts with. The
fp32 weights stay in place (only the encoder's layer stack is exported and quantised, not
the embedding table), so saving a loaded pipeline writes the same weights it read.

``to_disk`` writes the encoder's weights to their own file, ``weights.pt``, streamed tensor
by tensor with ``torch.save``, and the rest of the component as spacy-transformers does.
spacy-transformers serialises the state dict into bytes, then msgpack, then thinc's msgpack
of the model, and holds about three copies of the weights at once: on the e5small pipeline
that lifted the peak RSS of every save (and so of training, which saves ``model-best``) by
1.3 GB and of every load by 2.6 GB (``bench/results/serialize_memory.md``). ``from_disk``
reads both layouts; ``to_bytes`` and ``from_bytes`` keep spacy-transformers' one.

``from_disk`` maps ``weights.pt`` into memory (``torch.load(mmap=True)``) instead of reading
it: a weight's pages come from the file when first used, and the model it builds first
(spacy-transformers' way) is left uninitialised, its memory never touched (transformers'
``no_init_weights``, as ``from_pretrained`` does). So the load never holds the weights
twice, and rows of the embedding table that no text uses never take memory. A pipe that
predicts in int8 saves its int8 graph beside the weights (``int8.onnx``, its weights in
``int8.onnx.data``, the settings it was made with in ``int8.json``); a load whose settings
match runs that graph and never exports, so the fp32 layers, which the int8 pipeline does
not use, are never read (the package step saves ``model-package`` from a loaded pipeline,
so packages carry the graph).
Without one, the load exports the stack (which reads every fp32 layer once) and then maps
the file afresh, so that those layers go back to disk. The mapping is private (copy on write):
training a loaded pipeline never writes to the file, and saving over it replaces the file
(:func:`spacy_xlie.util.io.atomic_path`) while the old one stays mapped.
"""

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

import srsly
import torch
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.util import minibatch
from spacy_transformers.data_classes import FullTransformerBatch, TransformerData
from spacy_transformers.layers import TransformerListener
from spacy_transformers.pipeline_component import DEFAULT_CONFIG, install_extensions
from spacy_transformers.pipeline_component import Transformer as SpacyTransformer
from spacy_transformers.util import batch_by_length
from thinc.api import Model, Optimizer, PyTorchShim, set_dropout_rate
from thinc.util import get_torch_default_device
from transformers.modeling_utils import no_init_weights

from ..ml.freeze import torch_shim
from ..ml.onnx_encoder import DATA_FILE, GRAPH_FILE, OnnxStack, onnx_int8_stack
from ..ml.quantize import swapped
from ..util.dropped_layers import dropped_layers_quiet
from ..util.io import atomic_path

#: Values of the ``quantize`` setting (see the module docstring).
QUANTIZE_MODES = ("auto", "int8", "off")

#: The encoder's weights beside the component's other files (see the module docstring).
WEIGHTS_FILE = "weights.pt"

#: The settings the int8 copy's graph (``GRAPH_FILE`` and its weights' ``DATA_FILE``),
#: saved beside the weights it was made from, was made with (see :meth:`Transformer.to_disk`).
INT8_SETTINGS_FILE = "int8.json"

#: Start of the warning spacy-transformers gives when a saved state dict does not match
#: the model; with ``WEIGHTS_FILE`` the model's bytes hold an empty one on purpose.
_STATE_MISMATCH = "Error loading saved torch state_dict"


@Language.factory(
    "xlie_transformer",
    assigns=["doc._.trf_data"],
    default_config={**DEFAULT_CONFIG["transformer"], "quantize": "off",
                    "int8_down_projections": False, "int8_per_channel": True,
                    "int8_smoothing": 0.5, "int8_outlier_ratio": 6.0,
                    "onnx_spinning": False, "onnx_memory_pattern": False,
                    "onnx_length_buckets": True, "max_batch_pieces": 512,
                    "max_update_pieces": None},
)
def make_transformer(nlp: Language, name: str, model: Model, set_extra_annotations: Callable,
                     max_batch_items: int, quantize: str, int8_down_projections: bool,
                     int8_per_channel: bool, int8_smoothing: float,
                     int8_outlier_ratio: float, onnx_spinning: bool,
                     onnx_memory_pattern: bool, onnx_length_buckets: bool,
                     max_batch_pieces: Optional[int],
                     max_update_pieces: Optional[int]) -> "Transformer":
    """Create an ``xlie_transformer`` (see the module docstring)."""
    return Transformer(nlp.vocab, model, set_extra_annotations,
                       max_batch_items=max_batch_items, name=name, quantize=quantize,
                       int8_down_projections=int8_down_projections,
                       int8_per_channel=int8_per_channel, int8_smoothing=int8_smoothing,
                       int8_outlier_ratio=int8_outlier_ratio,
                       onnx_spinning=onnx_spinning,
                       onnx_memory_pattern=onnx_memory_pattern,
                       onnx_length_buckets=onnx_length_buckets,
                       max_batch_pieces=max_batch_pieces, max_update_pieces=max_update_pieces)


class Transformer(SpacyTransformer):
    """spacy-transformers' ``Transformer`` whose prediction cuts encoder calls by
    wordpieces and, when its ``quantize`` setting asks for it, runs an int8 copy of its
    encoder (see the module docstring)."""

    def __init__(self, *args: Any, quantize: str = "off", int8_down_projections: bool = False,
                 int8_per_channel: bool = True, int8_smoothing: float = 0.5,
                 int8_outlier_ratio: float = 6.0,
                 onnx_spinning: bool = False,
                 onnx_memory_pattern: bool = False, onnx_length_buckets: bool = True,
                 max_batch_pieces: Optional[int] = 512,
                 max_update_pieces: Optional[int] = None, **kwargs: Any) -> None:
        _check_mode(quantize)
        _check_int8_rewrites(int8_smoothing, int8_outlier_ratio)
        super().__init__(*args, **kwargs)
        self.quantize = quantize
        self.int8_down_projections = int8_down_projections
        self.int8_per_channel = int8_per_channel
        self.int8_smoothing = int8_smoothing
        self.int8_outlier_ratio = int8_outlier_ratio
        self.onnx_spinning = onnx_spinning
        self.onnx_memory_pattern = onnx_memory_pattern
        self.onnx_length_buckets = onnx_length_buckets
        self.max_batch_pieces = max_batch_pieces
        self.max_update_pieces = max_update_pieces
        self._int8: Optional[Dict[str, Any]] = None

    @property
    def is_int8(self) -> bool:
        """Whether ``predict`` runs the int8 copy of the encoder."""
        return self._int8 is not None

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """spacy-transformers' ``pipe``, with each batch of ``batch_size`` docs cut into
        sub-batches by wordpieces (see :meth:`_sub_batches`)."""
        install_extensions()
        for outer_batch in minibatch(stream, batch_size):
            outer_batch = list(outer_batch)
            for indices in self._sub_batches(outer_batch, self.max_batch_pieces):
                sub_batch = [outer_batch[i] for i in indices]
                self.set_annotations(sub_batch, self.predict(sub_batch))
            yield from outer_batch

    def _sub_batches(self, docs: List[Doc], max_pieces: Optional[int]) -> List[List[int]]:
        """Indices of ``docs`` per encoder call. The encoder pads every window of a call
        to the longest one in wordpieces; spacy-transformers sorts and cuts by spaCy
        tokens (at most ``max_batch_items`` tokens a call), which predict a doc's
        wordpieces poorly in most languages, and its budget holds a whole batch of
        sentences in one call. Sorted by wordpieces (the pipeline's own subword
        tokenizer) and cut at ``max_batch_pieces`` padded wordpieces, each call holds
        docs of nearly the same length (``max_pieces``: ``max_batch_pieces`` when
        predicting, ``max_update_pieces`` when training); ``max_batch_pieces = null`` keeps
        spacy-transformers' batching."""
        if not max_pieces:
            return batch_by_length(docs, self.cfg["max_batch_items"])
        # only counted, never encoded whole (the encoder reads the docs' windows): a doc
        # longer than the encoder's maximum is not the "indexing error" the tokenizer warns of
        pieces = self.model.tokenizer([doc.text for doc in docs], add_special_tokens=False,
                                      verbose=False)["input_ids"]
        return batch_by_length(pieces, max_pieces)

    def predict(self, docs: Iterable[Doc]) -> FullTransformerBatch:
        """The encoder's output for ``docs``: from the int8 copy when there is one."""
        if self._int8 is None:
            return super().predict(docs)
        with swapped(self.model.transformer, self._int8):
            return super().predict(docs)

    def update(self, examples: Iterable[Example], *, drop: float = 0.0,
               sgd: Optional[Optimizer] = None, losses: Optional[Dict[str, float]] = None
               ) -> Dict[str, float]:
        """spacy-transformers' update (the listeners get the batch's output and the
        callback that backpropagates into the encoder), after dropping the int8 copy: it
        would go stale. With ``max_update_pieces``, the batch is encoded in calls cut by
        wordpieces as when predicting (:meth:`_sub_batches`): one doc of many pieces (a
        list of URLs) no longer pads every doc of its batch to its length, and the
        attention of the trained layers, kept for backprop, no longer grows with the
        batch times that length squared (``bench/results/update_memory.md``,
        ``bench/results/training_memory_pieces.md``).
        The same gradients, summed over the calls before the optimizer steps."""
        self._int8 = None
        if not self.max_update_pieces:
            return super().update(examples, drop=drop, sgd=sgd, losses=losses)
        examples = list(examples)
        validate_examples(examples, "Transformer.update")
        losses = {} if losses is None else losses
        docs = [eg.predicted for eg in examples]
        # Docs of no tokens get no encoder output and, from the listeners, no gradient (as
        # in spacy-transformers' own update); calls and gradients index the others.
        with_tokens = [i for i, doc in enumerate(docs) if len(doc)]
        if not with_tokens:
            return losses
        set_dropout_rate(self.model, drop)
        encoded = [docs[i] for i in with_tokens]
        calls = [(ks, *self.model.begin_update([encoded[k] for k in ks]))
                 for ks in self._sub_batches(encoded, self.max_update_pieces)]
        doc_data = [TransformerData.empty() for _ in docs]
        for ks, output, _ in calls:
            for k, data in zip(ks, output.doc_data):
                doc_data[with_tokens[k]] = data
        losses.setdefault(self.name, 0.0)
        gradients: List[List[Any]] = []  # per encoded doc, summed over the listeners

        def accumulate_gradient(d_doc_data: List[TransformerData]) -> None:
            for k, d_data in enumerate(d_doc_data):
                losses[self.name] += sum(float((d ** 2).sum()) for d in d_data.tensors)
                if k == len(gradients):
                    gradients.append(list(d_data.tensors))
                else:
                    gradients[k] = [g + d for g, d in zip(gradients[k], d_data.tensors)]

        def backprop(d_doc_data: List[TransformerData]) -> List[Doc]:
            accumulate_gradient(d_doc_data)
            for ks, output, backprop_call in calls:
                backprop_call(output.unsplit_by_doc([gradients[k] for k in ks]))
            if sgd is not None:
                self.model.finish_update(sgd)
            gradients.clear()
            return docs

        batch_id = TransformerListener.get_batch_id(docs)
        for listener in self.listeners[:-1]:
            listener.receive(batch_id, doc_data, accumulate_gradient)
        if self.listeners:
            self.listeners[-1].receive(batch_id, doc_data, backprop)
        return losses

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *,
                   nlp: Optional[Language] = None) -> None:
        """spacy-transformers' initialize; a freshly initialized encoder is for training.
        A config that keeps only the checkpoint's bottom layers (``num_hidden_layers`` in
        ``transformer_config``) loads it without transformers' warning that the top layers'
        weights went unused (:mod:`spacy_xlie.util.dropped_layers`)."""
        self._int8 = None
        with dropped_layers_quiet(self._kept_layers()):
            super().initialize(get_examples, nlp=nlp)

    def _kept_layers(self) -> Optional[int]:
        """``num_hidden_layers`` of the encoder's config settings, if it sets one."""
        settings = getattr(self.model, "_init_transformer_config", None) or {}
        return settings.get("num_hidden_layers")

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """spacy-transformers' ``to_disk`` with the encoder's weights left out of the model
        file and streamed to ``WEIGHTS_FILE`` (see the module docstring)."""
        shim = torch_shim(self.model)
        if "model" in exclude or shim is None:
            super().to_disk(path, exclude=exclude)
            return
        state = shim._model.state_dict()
        with _state_held_out(shim):
            super().to_disk(path, exclude=exclude)
        # written through a file object: torch names the archive's root folder after a
        # path's file name, here the temporary one, so each save differed in its bytes
        with atomic_path(Path(path) / WEIGHTS_FILE) as partial, open(partial, "wb") as file:
            torch.save(state, file)
        self._int8_to_disk(Path(path))

    def _int8_to_disk(self, path: Path) -> None:
        """Save the int8 copy's graph and its settings beside the weights it was made from,
        so that loading the folder needs no export (``spacy-xlie kb attach`` saves
        ``model-package`` from a loaded pipeline: packages carry the graph); without an int8
        copy, remove a graph an earlier save left there, which the new weights would not
        match."""
        settings = path / INT8_SETTINGS_FILE
        if self._int8 is None:
            for name in (GRAPH_FILE, DATA_FILE, INT8_SETTINGS_FILE):
                (path / name).unlink(missing_ok=True)
            return
        self._int8["encoder"].save(path)
        with atomic_path(settings) as partial:
            srsly.write_json(partial, self._int8_settings())

    def _session_settings(self) -> Dict[str, bool]:
        """How the int8 copy's ONNX Runtime session runs (see the module docstring)."""
        return {"spinning": self.onnx_spinning, "memory_pattern": self.onnx_memory_pattern,
                "length_buckets": self.onnx_length_buckets}

    def int8_stack_settings(self) -> Dict[str, Union[bool, float]]:
        """How the int8 copy's layer stack is rewritten and quantised: the keyword
        arguments of :func:`spacy_xlie.ml.onnx_encoder.onnx_int8_stack` that its settings
        give (what a benchmark of other int8 engines quantises with too)."""
        return {"int8_down_projections": self.int8_down_projections,
                "per_channel": self.int8_per_channel, "smoothing": self.int8_smoothing,
                "outlier_ratio": self.int8_outlier_ratio}

    def _int8_settings(self) -> Dict[str, Union[bool, float]]:
        """The settings an int8 graph is made with, by their config names (what a saved
        graph's settings file records): a saved graph is only used by a pipe whose
        settings match."""
        return {name if name.startswith("int8_") else f"int8_{name}": value
                for name, value in self.int8_stack_settings().items()}

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
                  ) -> "Transformer":
        """Load the pipe, its weights from ``WEIGHTS_FILE`` where there is one, then make
        the int8 copy its ``quantize`` setting asks for."""
        weights = Path(path) / WEIGHTS_FILE
        mapped = "model" not in exclude and weights.exists()
        if not mapped:
            super().from_disk(path, exclude=exclude)
        else:
            # the model built here is replaced by the mapped weights: left uninitialised
            # (as transformers' from_pretrained does), its memory is never even touched
            with warnings.catch_warnings(), no_init_weights():
                warnings.filterwarnings("ignore", message=_STATE_MISMATCH)
                super().from_disk(path, exclude=exclude)
            self._assign_mapped(weights)
        self._forget_temporary_name()
        exported = self._prepare_int8(saved=Path(path) if mapped else None)
        if exported:
            self._assign_mapped(weights)  # let go of the layers' pages the export read
        return self

    def _assign_mapped(self, weights: Path) -> None:
        """Make the encoder's tensors those of ``weights`` mapped into memory (see the
        module docstring); ``assign``: they replace the current tensors instead of being
        copied into them."""
        state = torch.load(weights, map_location=get_torch_default_device(),
                           weights_only=True, mmap=True)
        self.model.transformer.load_state_dict(state, assign=True)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()
                   ) -> "Transformer":
        """Load the pipe, then make the int8 copy its ``quantize`` setting asks for."""
        super().from_bytes(bytes_data, exclude=exclude)
        self._forget_temporary_name()
        self._prepare_int8()
        return self

    def _forget_temporary_name(self) -> None:
        """spacy-transformers reads the encoder's config back from a temporary folder, and
        its path became the config's ``name_or_path``, saved with the pipeline again: one
        pipeline loaded and saved twice differed in those bytes. Nothing can find that
        folder once the load is over, so the name is cleared."""
        if self.model.transformer is not None:
            self.model.transformer.config.name_or_path = ""

    def set_quantize(self, quantize: str) -> None:
        """Change the ``quantize`` setting of a loaded pipe (e.g. to score its fp32 encoder):
        makes or drops the int8 copy as a load with that setting would."""
        _check_mode(quantize)
        self.quantize = quantize
        self._prepare_int8()

    def _prepare_int8(self, saved: Optional[Path] = None) -> bool:
        """Make the int8 copy of the encoder's layer stack (ONNX Runtime) where the setting
        and device allow it: from the graph saved in the folder ``saved`` when one was
        saved there with the same settings, otherwise by exporting and quantising the
        stack; refuse ``int8`` on GPU. Whether it exported (and so read every fp32 layer)."""
        self._int8 = None
        if self.quantize == "off":
            return False
        model = self.model.transformer
        if not on_cpu(model):
            if self.quantize == "int8":
                raise ValueError(
                    f"component '{self.name}': quantize = \"int8\" runs on CPU only, but the "
                    "encoder is on GPU; set it to \"auto\" or \"off\" (e.g. spacy.load(name, "
                    f"config={{'components': {{'{self.name}': {{'quantize': 'off'}}}}}}))"
                )
            return False
        graph = None if saved is None else self._saved_int8_graph(saved)
        if graph is not None:
            self._int8 = {"encoder": OnnxStack(graph, torch.get_num_threads(),
                                               **self._session_settings())}
            return False
        self._int8 = {"encoder": onnx_int8_stack(model, **self.int8_stack_settings(),
                                                 **self._session_settings())}
        return True

    def _saved_int8_graph(self, path: Path) -> Optional[Path]:
        """The int8 graph saved in ``path`` (see :meth:`_int8_to_disk`), if its settings
        are this pipe's."""
        graph, settings = path / GRAPH_FILE, path / INT8_SETTINGS_FILE
        if not (graph.exists() and settings.exists()):
            return None
        if srsly.read_json(settings) != self._int8_settings():
            return None
        return graph


@contextmanager
def _state_held_out(shim: PyTorchShim) -> Iterator[None]:
    """While inside, the shim serialises an empty state dict (its model's config and
    tokenizer are read from elsewhere, so they are written as ever)."""
    model = shim._model
    shim._model = torch.nn.Module()
    try:
        yield
    finally:
        shim._model = model


def _check_mode(quantize: str) -> None:
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, "
                         f"not {quantize!r}")


def _check_int8_rewrites(smoothing: float, outlier_ratio: float) -> None:
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"int8_smoothing must be between 0 (off) and 1, not {smoothing}")
    if outlier_ratio < 0:
        raise ValueError(f"int8_outlier_ratio must be 0 (off) or more, not {outlier_ratio}")


def set_quantize(nlp: Language, quantize: str) -> List[str]:
    """:meth:`Transformer.set_quantize` on every ``xlie_transformer`` of ``nlp``; their
    names (a pipeline without one is left as it is)."""
    _check_mode(quantize)
    names = xlie_transformers(nlp)
    for name in names:
        nlp.get_pipe(name).set_quantize(quantize)
    return names


def on_cpu(model: Any) -> bool:
    """Whether the torch ``model``'s weights are on the CPU."""
    return next(model.parameters()).device.type == "cpu"


def xlie_transformers(nlp: Language) -> List[str]:
    """Names of the pipeline's ``xlie_transformer`` components."""
    return [name for name, pipe in nlp.pipeline if isinstance(pipe, Transformer)]


def encoder_precision(nlp: Language) -> Optional[str]:
    """``"int8"`` when an ``xlie_transformer`` of ``nlp`` predicts with its int8 copy,
    ``"fp32"`` when it has one that does not, None without one (what reports name)."""
    if not xlie_transformers(nlp):
        return None
    return "int8" if int8_components(nlp) else "fp32"


def int8_components(nlp: Language) -> List[str]:
    """Names of the pipeline's ``xlie_transformer`` components that predict in int8."""
    return [name for name, pipe in nlp.pipeline
            if isinstance(pipe, Transformer) and pipe.is_int8]
