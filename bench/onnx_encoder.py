"""The e5small pipeline's encoder alone in five engines: torch fp32, torch int8 (PyTorch
dynamic quantisation on its default engine), torch int8 on the oneDNN engine, ONNX Runtime
fp32 and ONNX Runtime int8 (the pipeline's ``quantize = "auto"``).

    python bench/onnx_encoder.py --model training/e5small/model-best \\
        --docs corpus/eval/kbp37_test.spacy --n-docs 500 --out bench/results

The same texts (the first ``--n-docs`` docs), tokenized once and cut as the pipeline cuts
them (sorted by wordpieces, at most 512 padded pieces a call), through each engine on the
same 2 threads; rounds alternate the engines and the best round counts. Agreement: the
mean cosine of each engine's token vectors with torch fp32's. Both ONNX Runtime engines
run the layer stack as the pipeline exports it (:mod:`spacy_xlie.ml.onnx_encoder`,
embeddings in torch); int8 is the pipeline's own path with the model's own int8 settings
(``onnx_int8_stack``; smoothing, fp32 outlier channels, a weight scale per output unit).
Torch int8 quantises the same linear layers with PyTorch's defaults (a scale per matrix,
the feed-forward down-projections fp32): the pipeline's int8 before it moved to ONNX
Runtime. Torch int8 on oneDNN quantises the stack the pipeline's settings rewrite
(:func:`spacy_xlie.ml.smoothing.int8_ready_stack`, a weight scale per output unit) on
torch's ``onednn`` quantized engine, which runs int8 matrix products on the CPU's VNNI/AMX
instructions where it has them (left out where torch has no such engine). This answers
#24's question whether ONNX Runtime runs the encoder faster here than torch. Writes
``onnx_encoder.{json,md}``.
"""

import argparse
import contextlib
import datetime
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy

REPO = Path(__file__).resolve().parent.parent


def load_batches(model: Path, docs: Path, n_docs: int):
    """The encoder (torch), its tokenizer's batches as numpy arrays, the word and piece
    counts, and the pipeline's int8 settings (``onnx_int8_stack``'s arguments)."""
    import spacy
    from spacy.tokens import DocBin
    from spacy_transformers.util import batch_by_length

    nlp = spacy.load(model, config={"components": {"transformer": {"quantize": "off"}}})
    texts = [doc.text for doc in DocBin().from_disk(docs).get_docs(nlp.vocab)][:n_docs]
    words = sum(len(nlp.make_doc(text)) for text in texts)
    trf = nlp.get_pipe("transformer").model
    tokenizer, encoder = trf.tokenizer, trf.transformer.eval()
    ids = tokenizer(texts, truncation=True, max_length=512)["input_ids"]
    batches = []
    for indices in batch_by_length(ids, 512):
        enc = tokenizer([texts[i] for i in indices], truncation=True, max_length=512,
                        padding=True, return_tensors="np")
        batches.append((enc["input_ids"].astype(numpy.int64),
                        enc["attention_mask"].astype(numpy.int64)))
    settings = nlp.get_pipe("transformer").int8_stack_settings()
    return encoder, batches, words, sum(map(len, ids)), settings


def torch_engine(encoder: Any) -> Callable:
    import torch

    def run(input_ids: numpy.ndarray, mask: numpy.ndarray) -> numpy.ndarray:
        with torch.inference_mode():
            out = encoder(input_ids=torch.from_numpy(input_ids),
                          attention_mask=torch.from_numpy(mask)).last_hidden_state
        return out.numpy()

    return run


def int8_children(model: Any, keep_fp32: Optional[Callable[[Any], bool]] = None
                  ) -> Dict[str, Any]:
    """A PyTorch int8 copy of each direct child of ``model`` that holds a linear layer
    (those for which ``keep_fp32`` is true stay fp32), to swap in for a block: the
    pipeline's int8 before it moved to ONNX Runtime."""
    import copy

    import torch

    from spacy_xlie.ml.quantize import quantize_linear

    return {
        name: quantize_linear(copy.deepcopy(child), keep_fp32)
        for name, child in model.named_children()
        if any(isinstance(m, torch.nn.Linear) for m in child.modules())
    }


def swapped_engine(encoder: Any, children: Dict[str, Any]) -> Callable:
    """:func:`torch_engine` with ``encoder``'s ``children`` swapped in for each call: torch
    int8 (:func:`int8_children`) or the pipeline's ONNX Runtime layer stack."""
    from spacy_xlie.ml.quantize import swapped

    fp32 = torch_engine(encoder)

    def run(input_ids: numpy.ndarray, mask: numpy.ndarray) -> numpy.ndarray:
        with swapped(encoder, children):
            return fp32(input_ids, mask)

    return run


def onednn_int8_stack(encoder: Any, settings: Dict[str, Any]) -> Any:
    """The layer stack rewritten with the pipeline's int8 ``settings`` (smoothing, fp32
    outlier channels) and quantised by torch on its oneDNN engine, a weight scale per
    output unit if the settings say so; the down-projections stay fp32 unless the
    settings make them int8, and the fp32 outlier channels stay fp32."""
    from spacy_xlie.ml.quantize import is_down_projection, quantize_linear
    from spacy_xlie.ml.smoothing import FP32_PART, int8_ready_stack

    down = settings["int8_down_projections"]
    stack = int8_ready_stack(encoder, settings["smoothing"], down, settings["outlier_ratio"])
    fp32_parts = {id(layer) for name, layer in stack.named_modules()
                  if name.endswith(FP32_PART)}

    def keep_fp32(layer: Any) -> bool:
        return id(layer) in fp32_parts or (not down and is_down_projection(layer))

    with on_quantized_engine("onednn"):
        return quantize_linear(stack, keep_fp32, per_channel=settings["per_channel"])


@contextlib.contextmanager
def on_quantized_engine(name: str) -> Iterator[None]:
    """torch's quantized engine set to ``name`` inside the block (a process-wide
    setting: weights are packed for the engine current when they are quantised)."""
    import torch

    before = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = before


def on_engine(name: str, run: Callable) -> Callable:
    """``run`` with torch's quantized engine set to ``name`` for each call."""

    def engine_run(input_ids: numpy.ndarray, mask: numpy.ndarray) -> numpy.ndarray:
        with on_quantized_engine(name):
            return run(input_ids, mask)

    return engine_run


def mean_cosine(a: numpy.ndarray, b: numpy.ndarray, mask: numpy.ndarray) -> float:
    keep = mask.astype(bool)
    x, y = a[keep], b[keep]
    cos = (x * y).sum(-1) / (numpy.linalg.norm(x, axis=-1) * numpy.linalg.norm(y, axis=-1))
    return float(cos.mean())


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("training/e5small/model-best"))
    parser.add_argument("--docs", type=Path, default=Path("corpus/eval/kbp37_test.spacy"))
    parser.add_argument("--n-docs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    import onnxruntime
    import torch

    from spacy_xlie.ml.onnx_encoder import OnnxStack, export_stack, onnx_int8_stack
    from spacy_xlie.ml.quantize import is_down_projection

    threads = torch.get_num_threads()
    encoder, batches, words, pieces, settings = load_batches(args.model, args.docs,
                                                             args.n_docs)
    with tempfile.TemporaryDirectory(prefix="xlie-onnx-") as tmp:
        export_stack(encoder.encoder, encoder.config.hidden_size, Path(tmp) / "stack.onnx")
        ort_fp32 = OnnxStack(Path(tmp) / "stack.onnx", threads)  # keeps the file open
    start = time.perf_counter()
    ort_int8 = onnx_int8_stack(encoder, **settings)
    prepare_seconds = time.perf_counter() - start
    engines: Dict[str, Callable] = {
        "torch fp32": torch_engine(encoder),
        "torch int8": swapped_engine(encoder, int8_children(encoder, is_down_projection))}
    if "onednn" in torch.backends.quantized.supported_engines:
        engines["torch int8, oneDNN engine (the pipeline's int8 settings)"] = on_engine(
            "onednn", swapped_engine(encoder, {"encoder": onednn_int8_stack(encoder, settings)}))
    engines["onnxruntime fp32"] = swapped_engine(encoder, {"encoder": ort_fp32})
    engines["onnxruntime int8 (the pipeline's)"] = swapped_engine(encoder, {"encoder": ort_int8})
    reference = [engines["torch fp32"](*batch) for batch in batches]
    agreement = {name: round(float(numpy.mean([
        mean_cosine(run(*batch), ref, batch[1])
        for batch, ref in zip(batches, reference)])), 5) for name, run in engines.items()}
    seconds: Dict[str, List[float]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, run in engines.items():
            start = time.perf_counter()
            for batch in batches:
                run(*batch)
            seconds[name].append(time.perf_counter() - start)
    rows = {name: {"best_seconds": round(min(times), 3), "rounds": [round(t, 3) for t in times],
                   "words_per_second": round(words / min(times), 1),
                   "pieces_per_second": round(pieces / min(times), 1),
                   "mean_cosine_to_torch_fp32": agreement[name]}
            for name, times in seconds.items()}
    base = rows["torch fp32"]["words_per_second"]
    for row in rows.values():
        row["speedup_over_torch_fp32"] = round(row["words_per_second"] / base, 3)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "command": "python bench/onnx_encoder.py " + " ".join(
                  sys.argv[1:] if argv is None else argv),
              "model": str(args.model), "docs": str(args.docs), "n_docs": args.n_docs,
              "words": words, "pieces": pieces, "batches": len(batches), "threads": threads,
              "int8_prepare_seconds": round(prepare_seconds, 1), "int8_settings": settings,
              "quantized_engines": list(torch.backends.quantized.supported_engines),
              "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
              "engines": rows}
    from spacy_xlie.util.io import write_json, write_text

    write_json(report, args.out / "onnx_encoder.json")
    write_text(markdown(report), args.out / "onnx_encoder.md")
    print(markdown(report))
    return 0


def markdown(report: Dict[str, Any]) -> str:
    """The report as Markdown: one row per engine, and what int8 costs at load time."""
    lines = ["# The e5small encoder alone: torch against ONNX Runtime", "",
             f"`{report['command']}` ({report['date'][:16]}; torch {report['versions']['torch']}, "
             f"onnxruntime {report['versions']['onnxruntime']}, {report['threads']} threads): "
             f"{report['n_docs']} docs of `{report['docs']}`, {report['words']:,} words, "
             f"{report['pieces']:,} pieces in {report['batches']} calls of at most 512 padded "
             "pieces; best of the alternating rounds.", "",
             "| engine | words/s | pieces/s | x torch fp32 | mean cosine to torch fp32 |",
             "|---|---:|---:|---:|---:|"]
    for name, row in report["engines"].items():
        lines.append(f"| {name} | {row['words_per_second']:,.0f} | "
                     f"{row['pieces_per_second']:,.0f} | {row['speedup_over_torch_fp32']:.2f} | "
                     f"{row['mean_cosine_to_torch_fp32']:.4f} |")
    lines += ["", "The pipeline's int8 (ONNX Runtime) exports and quantises the layer stack when "
              f"a pipeline is loaded: {report['int8_prepare_seconds']} s here. The pipeline's "
              "int8 settings (the model's config), used by both int8 rows that say so: "
              + ", ".join(f"`{k} = {v}`" for k, v in report.get("int8_settings", {}).items())
              + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
