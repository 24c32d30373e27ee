"""int8 transformer layers on ONNX Runtime, for CPU inference.

Why ONNX Runtime and not PyTorch's dynamic quantisation: on the e5small pipeline's own
batches, the layer stack on ONNX Runtime int8 with the pipeline's int8 settings ran 1.90x
as fast as torch fp32 at a mean cosine of 0.9986 to its vectors; torch's own int8 ran
1.30x at 0.9837 on its default engine, and 1.71x at 0.9953 on its oneDNN engine (which
uses the CPU's VNNI/AMX int8 instructions) with the same settings
(``bench/results/onnx_encoder.md``): faster, and closer to fp32.

Only the stack of transformer layers (a BERT-style model's ``encoder`` child) goes to ONNX
Runtime: the embedding table, most of a multilingual model's weights, stays the torch
model's own (no second copy in memory), and so do the pooler and the fp32 weights that
training and ``to_disk`` use. The stack is exported and quantised from the weights a
pipeline holds; its int8 graph (:meth:`OnnxStack.save`) can be saved beside them, so that
a pipeline saved in int8 loads without exporting again.

A call's rows are padded to its longest. With ``length_buckets``, :class:`OnnxStack`
runs the rows in groups of similar length, each cut to its own longest
(:func:`length_buckets`): a doc's windows are one call, and one window a sentence
(``spacy_xlie.sentence_spans.v1``) makes them as uneven as the doc's sentences. The rows'
outputs do not depend on the other rows but through int8's activation scales, which
ONNX Runtime's dynamic quantisation takes from each call's whole input, padding included.

The graph keeps its weights in a file of their own (``GRAPH_FILE`` + ``.data``, ONNX's
external data) and the session is made from the files, not from bytes in memory: ONNX
Runtime's Python session keeps the bytes it was made from for its lifetime, and a graph
with inline weights parses into one more copy (the int8 pipeline's peak RSS in
``bench/results/relation_extractor.md``).
"""

import logging
import shutil
import tempfile
import warnings
import weakref
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple

import numpy
import torch
from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions

from ..util.io import atomic_path
from .smoothing import FP32_PART, int8_ready_stack

#: Names of the exported graph's inputs and output.
HIDDEN, MASK, OUTPUT = "hidden_states", "attention_mask", "last_hidden_state"

#: The int8 graph's file name, and that of its weights (the graph names it: the two are
#: saved under these names together). Graphs saved before the weights had a file of their
#: own hold them inline and have no data file.
GRAPH_FILE = "int8.onnx"
DATA_FILE = GRAPH_FILE + ".data"

#: :func:`length_buckets`: a row joins a group while its length is at most ``BUCKET_RATIO``
#: times the group's shortest row's, or times ``BUCKET_FLOOR`` pieces where that is more
#: (the shortest rows share one group rather than a call each)
BUCKET_RATIO = 1.3
BUCKET_FLOOR = 16


class TracedStack(torch.nn.Module):
    """What the exporter traces: ``(hidden states, additive mask) -> hidden states``
    through a BERT-style model's layer stack."""

    def __init__(self, stack: torch.nn.Module) -> None:
        super().__init__()
        self.stack = stack

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor
                ) -> torch.Tensor:
        return self.stack(hidden_states, attention_mask=attention_mask,
                          return_dict=True).last_hidden_state


class OnnxStack(torch.nn.Module):
    """Takes the layer stack's place in a BERT-style model (see :func:`onnx_int8_stack`)
    and runs an ONNX Runtime session of the ONNX file ``graph`` (its weights inline or in
    ``DATA_FILE`` beside it) instead.

    The files stay open, not read into memory, for :meth:`save`: an open file keeps its
    contents when its folder is saved over (an atomic rename) or deleted (the temporary
    folder of an export), and costs no memory."""

    def __init__(self, graph: Path, threads: int, spinning: bool = False,
                 memory_pattern: bool = False, length_buckets: bool = False) -> None:
        super().__init__()
        self.length_buckets = length_buckets
        data = graph.parent / DATA_FILE
        self._files: Dict[str, IO[bytes]] = {GRAPH_FILE: open(graph, "rb")}
        if graph.name == GRAPH_FILE and data.exists():
            self._files[DATA_FILE] = open(data, "rb")
        weakref.finalize(self, _close_all, list(self._files.values()))
        self.session = stack_session(graph, threads, spinning=spinning,
                                     memory_pattern=memory_pattern)

    def save(self, folder: Path) -> None:
        """Write the graph (and its weights' file) into ``folder``, each atomically, the
        weights first; remove a weights file there that this graph does not use."""
        for name in sorted(self._files, key=lambda name: name != DATA_FILE):
            source = self._files[name]
            source.seek(0)
            with atomic_path(folder / name) as partial, open(partial, "wb") as target:
                shutil.copyfileobj(source, target)
        if DATA_FILE not in self._files:
            (folder / DATA_FILE).unlink(missing_ok=True)

    def forward(self, hidden_states: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                **kwargs: Any) -> BaseModelOutputWithPastAndCrossAttentions:
        hidden = hidden_states.detach().to(torch.float32).numpy()
        mask = additive_mask(attention_mask, hidden_states).numpy()
        if not self.length_buckets:
            output = self._run(hidden, mask)
        else:
            # positions past a row's group's length stay 0: nothing reads a padded vector
            output = numpy.zeros_like(hidden)
            for rows, length in length_buckets(mask):
                output[rows, :length] = self._run(hidden[rows, :length],
                                                  mask[rows, :, :, :length])
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=torch.from_numpy(output))

    def _run(self, hidden: numpy.ndarray, mask: numpy.ndarray) -> numpy.ndarray:
        return self.session.run([OUTPUT], {HIDDEN: hidden, MASK: mask})[0]


def length_buckets(mask: numpy.ndarray) -> List[Tuple[numpy.ndarray, int]]:
    """The rows of a padded call (its ``(batch, 1, 1, pieces)`` additive ``mask``: 0 where
    a row attends) in groups of similar length, shortest first: each group's row indices
    (ascending) and the length it is cut to, its longest row's (a row's length: one past
    the last position it attends to)."""
    attends = mask[:, 0, 0, :] == 0
    lengths = attends.shape[1] - numpy.argmax(attends[:, ::-1], axis=1)
    lengths[~attends.any(axis=1)] = 1
    order = numpy.argsort(lengths, kind="stable")
    groups, first = [], 0
    for i in range(1, len(order) + 1):
        if i == len(order) or (lengths[order[i]]
                               > BUCKET_RATIO * max(lengths[order[first]], BUCKET_FLOOR)):
            groups.append((numpy.sort(order[first:i]), int(lengths[order[i - 1]])))
            first = i
    return groups


def _close_all(files: List[IO[bytes]]) -> None:
    for file in files:
        file.close()


def additive_mask(mask: Optional[torch.Tensor], hidden: torch.Tensor) -> torch.Tensor:
    """The ``(batch, 1, 1, pieces)`` additive mask the graph takes, from what a BERT-style
    model hands its stack: None (no padding in the batch), or a 4-d mask whose rows all
    repeat the padding mask (SDPA's ``(batch, 1, pieces, pieces)``, eager's
    ``(batch, 1, 1, pieces)``)."""
    if mask is None:
        return torch.zeros(hidden.shape[0], 1, 1, hidden.shape[1])
    return mask[:, :, :1, :].to(torch.float32)


def onnx_int8_stack(model: torch.nn.Module, int8_down_projections: bool = False,
                    per_channel: bool = True, smoothing: float = 0.0,
                    outlier_ratio: float = 0.0, spinning: bool = False,
                    memory_pattern: bool = False, length_buckets: bool = False) -> OnnxStack:
    """A module to swap in for ``model.encoder`` (a BERT-style model's layer stack) that
    runs the stack with int8 weights on ONNX Runtime; ``model`` is left as it is. The
    feed-forward down-projections stay fp32 unless ``int8_down_projections`` (see
    :func:`spacy_xlie.ml.quantize.is_down_projection`). ``per_channel``: one int8 scale per
    output unit of each weight matrix rather than one per matrix, so a unit whose weights
    are small keeps its resolution beside one whose weights are large. ``smoothing``
    (SmoothQuant's strength) and ``outlier_ratio`` (the down-projections' input channels
    kept fp32), 0 for none: see :func:`spacy_xlie.ml.smoothing.int8_ready_stack`.
    ``spinning``, ``memory_pattern``: see :func:`stack_session`; ``length_buckets``: see
    the module docstring."""
    if not isinstance(getattr(model, "encoder", None), torch.nn.Module) or not hasattr(
            model, "embeddings"):
        raise ValueError(f"int8 needs a BERT-style encoder (embeddings, then a layer stack "
                         f"named `encoder`); {type(model).__name__} is not one")
    # the stack keeps the graph's files open: the folder can go once it is made
    with tempfile.TemporaryDirectory(prefix="xlie-onnx-", ignore_cleanup_errors=True) as tmp:
        stack = model.encoder
        if smoothing > 0 or (int8_down_projections and outlier_ratio > 0):
            stack = int8_ready_stack(model, smoothing, int8_down_projections, outlier_ratio)
        graph = int8_graph(stack, model.config.hidden_size, int8_down_projections,
                           per_channel=per_channel, folder=Path(tmp))
        return OnnxStack(graph, torch.get_num_threads(), spinning=spinning,
                         memory_pattern=memory_pattern, length_buckets=length_buckets)


def int8_graph(stack: torch.nn.Module, width: int, int8_down_projections: bool,
               per_channel: bool, folder: Path) -> Path:
    """The layer ``stack`` as an ONNX graph with int8 weights (dynamic quantisation: the
    activations are quantised on the fly, no calibration data; weight scales per output
    unit with ``per_channel``), written to ``folder`` as ``GRAPH_FILE`` and its weights'
    ``DATA_FILE``; returns the graph's path."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The exporter's tracer warnings and the quantiser's advice to pre-process the graph
    # (a step for calibrated static quantisation) say nothing a pipeline user can act on.
    disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp32, int8 = folder / "stack-fp32.onnx", folder / GRAPH_FILE
            export_stack(stack, width, fp32)
            exclude = fp32_part_nodes(fp32)
            if not int8_down_projections:
                exclude += down_projection_nodes(fp32)
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8,
                             nodes_to_exclude=exclude, per_channel=per_channel,
                             use_external_data_format=True)
            fp32.unlink()
    finally:
        logging.disable(disabled)
    return int8


def stack_session(graph: Path, threads: int, spinning: bool = False,
                  memory_pattern: bool = False) -> Any:
    """A CPU session of an exported layer stack on ``threads`` threads (as many as torch
    uses, so that the swap changes the engine and nothing else). ONNX Runtime's threads
    spin-wait for more work after each call unless ``spinning`` is off: then they sleep,
    and the torch and numpy work between encoder calls (the embeddings, the recognizer)
    gets the cores instead of sharing them with idle spinners. Off ran the e5small
    pipeline's encoder component faster on 2 cores (``bench/results/onnx_spinning.md``).
    ``memory_pattern``: ONNX Runtime plans a call's intermediate tensors as one block per
    input shape (its default) and keeps each shape's plan; off, they come from its arena one
    by one. A pipeline's calls come in many shapes (batch size by padded length), and off
    kept less memory at the same speed (the int8 rows of
    ``bench/results/relation_extractor.md``)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = memory_pattern
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def export_stack(stack: torch.nn.Module, width: int, path: Path) -> None:
    """Write the layer ``stack`` as an ONNX graph with a dynamic batch size and length."""
    example = (torch.zeros(2, 8, width), torch.zeros(2, 1, 1, 8))
    was_training = stack.training
    stack.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(
                TracedStack(stack), example, str(path), input_names=[HIDDEN, MASK],
                output_names=[OUTPUT], opset_version=17, dynamo=False,
                dynamic_axes={HIDDEN: {0: "batch", 1: "pieces"},
                              MASK: {0: "batch", 3: "pieces"},
                              OUTPUT: {0: "batch", 1: "pieces"}})
    finally:
        stack.train(was_training)


def fp32_part_nodes(path: Path) -> List[str]:
    """The graph's nodes that compute the fp32 channels of a layer
    (:class:`spacy_xlie.ml.smoothing.Fp32Channels`)."""
    import onnx

    return [node.name for node in onnx.load(str(path), load_external_data=False).graph.node
            if f"/{FP32_PART}/" in node.name]


def down_projection_nodes(path: Path) -> List[str]:
    """The graph's MatMul nodes whose weight maps a wider input to a narrower output: the
    feed-forward down-projections (ONNX stores their weights as ``(in, out)``)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    shapes = {init.name: numpy_helper.to_array(init).shape for init in graph.initializer}
    return [node.name for node in graph.node if node.op_type == "MatMul"
            and any(len(shapes.get(i, ())) == 2 and shapes[i][0] > shapes[i][1]
                    for i in node.input)]
