"""How far int8 can take the e5small pipeline past fp32 on this machine: #24's ratio bound.

    python bench/int8_ceiling.py --model training/e5small/model-best --out bench/results \
        --docs corpus/eval/kbp37_test.spacy --n-docs 500 --rounds 3

int8 makes matrix products cheaper and nothing else: the layer norms, activations,
softmaxes and additions of the encoder, its embeddings, the tokenising and alignment
around it and the recognizer's transition loop cost what they cost. So the int8 pipeline
can at most lose its matrix products. Each of ``--rounds`` rounds runs four passes over
the same docs (gold entities, as the speed pass of ``relation_extractor.py``: batches of
64, each component timed), each in a fresh process:

1. the fp32 pipeline (``quantize`` off): the baseline's seconds and its thinc matrix
   products (the recognizer's and the relation extractor's layers, ``NumpyOps.gemm``);
2. the int8 pipeline as shipped (saved in int8 as the package step saves it): its
   seconds and its thinc products;
3. the int8 pipeline with ONNX Runtime's profiler on: each graph node's kernel time, the
   matrix-product nodes (and the scalings around them) split from the rest;
4. the fp32 pipeline with torch's profiler on: its encoder's matrix products.

From them: the ceiling, pass 1's seconds over pass 2's minus every int8 matrix product
(the ratio an int8 pipeline would reach if its products cost nothing, whatever the engine
or scheme, the rest as it is); and what #24's 2.5x leaves the int8 products, against the
fp32 products of passes 1 and 4. Writes ``int8_ceiling.json`` and ``int8_ceiling.md`` to
``--out``.
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from end_to_end import log  # noqa: E402
from relation_extractor import (  # noqa: E402
    FP32,
    INT8,
    INT8_SPEEDUP_BAR,
    saved_in_int8,
    time_encoder_calls,
    timed_pass,
)

REPO = Path(__file__).resolve().parent.parent
#: ONNX Runtime node types counted as matrix products: the products (int8 or fp32, fused
#: or not), the quantising of their inputs, and every ``Mul``: the int8 graph's
#: element-wise scalings around its products (smoothing, dequantising) are ``Mul`` nodes,
#: and so is the attention's scaling, a small share counted with them so that the
#: ceiling errs high. Every other node (LayerNormalization, Gelu, Softmax, Add,
#: Transpose, Reshape, ...) runs as it would in any encoder.
PRODUCT_NODES = frozenset({
    "MatMul", "FusedMatMul", "Gemm", "MatMulInteger", "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul", "DynamicQuantizeLinear", "QLinearMatMul", "Attention",
    "QAttention", "MultiHeadAttention", "Mul"})

#: The CPU flags of int8 matrix units (``/proc/cpuinfo``), recorded in the report.
INT8_UNITS = ("avx512_vnni", "amx_int8")

#: How many times an AVX-512 VNNI instruction's int8 multiply-adds (64) outnumber an fp32
#: FMA's (16): the most an int8 product can gain over fp32 on a CPU without AMX, before
#: the quantising of inputs and the memory traffic. The report's "at VNNI's peak" ratio
#: gives every int8 product that gain over the fp32 pipeline's, the rest as measured.
VNNI_PEAK_SPEEDUP = 4.0

#: The report's medians over the rounds: each one's key, and the field of a round's
#: ``ceiling`` it is the median of.
MEDIANS = {"median_measured_ratio": "measured_ratio", "median_ceiling_ratio": "ceiling_ratio",
           "median_speedup_needed": "speedup_over_fp32_products_needed",
           "median_ratio_at_vnni_peak": "ratio_at_vnni_peak",
           "median_ratio_without_rest": "ratio_without_rest"}

#: torch's plain matrix products (a Linear layer's is ``aten::addmm``), counted in the
#: fp32 encoder. Its fused attention kernel (softmax inside) is not counted: the fp32
#: products are what the int8 ones must beat, and counting less errs in int8's favour.
TORCH_GEMMS = frozenset({"aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm"})


def timed_thinc_products(nlp: Any) -> Dict[str, float]:
    """Give the layers of ``nlp``'s components on thinc's plain CPU backend a backend that
    adds the seconds of each matrix product (``gemm``) to the returned dict's "seconds"."""
    from thinc.api import NumpyOps

    total = {"seconds": 0.0, "calls": 0}

    class TimedOps(NumpyOps):
        def gemm(self, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = super().gemm(*args, **kwargs)
            total["seconds"] += time.perf_counter() - start
            total["calls"] += 1
            return result

    for _, component in nlp.components:
        model = getattr(component, "model", None)
        for layer in model.walk() if hasattr(model, "walk") else ():
            if type(layer.ops) is NumpyOps:
                layer.ops = TimedOps(use_blis=layer.ops.use_blis)
    return total


def timed_onnx_runs(stack: Any) -> List[float]:
    """The seconds of each ONNX Runtime call of the int8 layer ``stack``, appended to the
    returned list."""
    seconds: List[float] = []
    run = stack._run

    def timed(*args: Any) -> Any:
        start = time.perf_counter()
        result = run(*args)
        seconds.append(time.perf_counter() - start)
        return result

    stack._run = timed
    return seconds


def profiled_session(stack: Any, prefix: Path) -> None:
    """Swap the int8 layer ``stack``'s session for one on the same graph with ONNX
    Runtime's profiler on (same threads and settings otherwise)."""
    import onnxruntime

    from spacy_xlie.ml.onnx_encoder import GRAPH_FILE

    old = stack.session
    options = onnxruntime.SessionOptions()
    for name in ("intra_op_num_threads", "inter_op_num_threads", "enable_mem_pattern"):
        setattr(options, name, getattr(old.get_session_options(), name))
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_profiling = True
    options.profile_file_prefix = str(prefix)
    stack.session = onnxruntime.InferenceSession(
        stack._files[GRAPH_FILE].name, options, providers=["CPUExecutionProvider"])


def node_seconds(profile: Path) -> Dict[str, float]:
    """Seconds of kernel time per node type in an ONNX Runtime profile."""
    by_type: Dict[str, float] = defaultdict(float)
    for event in json.loads(profile.read_text()):
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            by_type[event["args"]["op_name"]] += event["dur"] / 1e6
    return dict(by_type)


def _pass_worker(model: str, config: Optional[Dict[str, Any]], docbin: str, n_docs: int,
                 profile: Optional[str]) -> Dict[str, Any]:
    """One pass of the pipeline over the docs, every component timed (see the module
    docstring); with ``profile`` (a file prefix), the int8 encoder's ONNX Runtime nodes or
    the fp32 encoder's torch matrix products profiled as well. In a fresh process."""
    import spacy
    import torch

    from spacy_xlie.corpora.reader import RelationCorpus

    nlp = spacy.load(model, config=config or {})
    docs = [eg.predicted for eg in RelationCorpus(docbin, gold_ents=True, limit=n_docs)(nlp)]
    pipe = nlp.get_pipe("transformer")
    stack = pipe._int8["encoder"] if pipe.is_int8 else None
    products = timed_thinc_products(nlp)
    encoder_calls = time_encoder_calls(pipe)
    onnx_calls = timed_onnx_runs(stack) if stack is not None else []
    seconds = {name: 0.0 for name in nlp.pipe_names}
    timed_pass(nlp, [d.copy() for d in docs[:8]], {})  # the warm-up
    for counter in (encoder_calls, onnx_calls):
        counter.clear()
    products.update(seconds=0.0, calls=0)
    torch_profile = None
    if profile and stack is not None:
        profiled_session(stack, Path(profile))
    elif profile:
        torch_profile = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
    with torch_profile or contextlib.nullcontext():
        timed_pass(nlp, docs, seconds)
    result = {"docs": len(docs), "words": sum(len(doc) for doc in docs),
              "seconds": round(sum(seconds.values()), 3),
              "component_seconds": {k: round(v, 3) for k, v in seconds.items()},
              "encoder_call_seconds": round(sum(encoder_calls), 3),
              "thinc_product_seconds": round(products["seconds"], 3),
              "thinc_product_calls": products["calls"]}
    if stack is not None:
        result["onnx_call_seconds"] = round(sum(onnx_calls), 3)
        if profile:
            result["onnx_node_seconds"] = {
                op: round(s, 4) for op, s in sorted(
                    node_seconds(Path(stack.session.end_profiling())).items(),
                    key=lambda item: -item[1])}
    if torch_profile is not None:
        result["torch_gemm_seconds"] = round(sum(
            event.self_cpu_time_total for event in torch_profile.key_averages()
            if event.key in TORCH_GEMMS) / 1e6, 3)
    return result


def run_pass(name: str, model: Path, config: Optional[Dict[str, Any]], docbin: Path,
             n_docs: int, profile: Optional[Path] = None) -> Dict[str, Any]:
    from spacy_xlie.util.memory import in_fresh_process

    result = in_fresh_process(_pass_worker, str(model), config, str(docbin), n_docs,
                              str(profile) if profile else None)
    log(f"{name}: {result}")
    return result


def ceiling(fp32: Dict[str, Any], int8: Dict[str, Any], int8_profiled: Dict[str, Any],
            fp32_profiled: Dict[str, Any]) -> Dict[str, Any]:
    """One round's ratios: as measured, and with every matrix product of the int8 pass
    free; what the bar leaves the int8 products, and how much faster than the fp32
    pipeline's products (torch's in the encoder, thinc's in the heads) that is; the ratio
    with every int8 product at VNNI's peak gain over fp32's; and the ratio with the int8
    pass's every other second taken from both passes, its products as measured."""
    nodes = int8_profiled["onnx_node_seconds"]
    onnx_products = sum(s for op, s in nodes.items() if op in PRODUCT_NODES)
    products = onnx_products + int8["thinc_product_seconds"]
    rest = int8["seconds"] - products
    allowed = fp32["seconds"] / INT8_SPEEDUP_BAR - rest  # what the bar leaves the products
    fp32_products = fp32_profiled["torch_gemm_seconds"] + fp32["thinc_product_seconds"]
    return {"fp32_seconds": fp32["seconds"], "int8_seconds": int8["seconds"],
            "measured_ratio": round(fp32["seconds"] / int8["seconds"], 3),
            "onnx_product_seconds": round(onnx_products, 3),
            "onnx_other_node_seconds": round(
                sum(s for op, s in nodes.items() if op not in PRODUCT_NODES), 3),
            "thinc_product_seconds": int8["thinc_product_seconds"],
            "int8_seconds_without_products": round(rest, 3),
            "ceiling_ratio": round(fp32["seconds"] / rest, 3),
            "product_seconds_allowed": round(allowed, 3),
            "fp32_product_seconds": round(fp32_products, 3),
            "speedup_over_fp32_products_needed": (
                round(fp32_products / allowed, 2) if allowed > 0 else None),
            "ratio_at_vnni_peak": round(
                fp32["seconds"] / (rest + fp32_products / VNNI_PEAK_SPEEDUP), 3),
            "ratio_without_rest": round((fp32["seconds"] - rest) / products, 3)}


def medians(rounds: List[Dict[str, Any]]) -> Dict[str, float]:
    """Each :data:`MEDIANS` field's median over ``rounds``; a speed-up needed of ``None``
    (free products would still miss the bar) counts as infinite."""
    return {key: statistics.median(float("inf") if r["ceiling"][field] is None
                                   else r["ceiling"][field] for r in rounds)
            for key, field in MEDIANS.items()}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> Dict[str, bool]:
    """Which of the CPU's int8 matrix units (:data:`INT8_UNITS`) this machine reports."""
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return {flag: flag in flags for flag in INT8_UNITS}


def int8_units(flags: Dict[str, bool]) -> str:
    """What the CPU's int8 units allow, as a sentence for the report."""
    if flags.get("amx_int8"):
        return "This CPU has AMX int8 tile units: products can run far past fp32's."
    if flags.get("avx512_vnni"):
        return ("This CPU has AVX-512 VNNI and no AMX: one VNNI instruction does 64 int8 "
                "multiply-adds where an fp32 FMA does 16, 4x at best, before the quantising "
                "of inputs and the memory traffic.")
    return "This CPU reports neither AVX-512 VNNI nor AMX."


def needed(speedup: Optional[float]) -> str:
    """A "faster by" cell: the factor, or "-" where even free products would miss the
    bar."""
    return "-" if speedup is None else f"{speedup:.1f}x"


def markdown(report: Dict[str, Any]) -> str:
    rounds = report["rounds"]
    first = rounds[0]["passes"]
    lines = [
        "# How far int8 can take the e5small pipeline on this machine", "",
        f"`{report['command']}` ({report['date']}; {report['machine']}; model "
        f"`{report['model']}`; {first['fp32']['docs']} KBP37 test docs, "
        f"{first['fp32']['words']} words, gold entities, batches of 64). Each round runs "
        "the fp32 pass, the int8 pass and the profiled int8 pass, each in a fresh process; "
        "seconds per pass.", "",
        "int8 makes matrix products cheaper and nothing else. The ceiling is the fp32 "
        "pipeline's seconds over the int8 pipeline's with every matrix product taken away "
        "(ONNX Runtime's product nodes and the scalings around them, profiled in the third "
        "pass, and the recognizer's and the extractor's thinc products): what any int8 "
        "engine could reach here if its products cost nothing, the rest of the pipeline "
        "as it is.", "",
        f"Median over {len(rounds)} rounds: measured **{report['median_measured_ratio']:.2f}x**,"
        f" ceiling **{report['median_ceiling_ratio']:.2f}x**; #24 asks {report['bar']}x. "
        f"\"products s at {report['bar']}x\": what the int8 pipeline's matrix products may "
        f"take for it to reach {report['bar']}x, the rest as measured; \"fp32 products s\":"
        " the fp32 pipeline's (torch's plain products in its encoder, profiled in a fourth "
        "pass, its fused attention left out, and the thinc products); \"faster than fp32 "
        "by\": how many times faster than those the int8 products would have to run, "
        f"median **{report['median_speedup_needed']:.1f}x**. {int8_units(report['cpu_flags'])}"
        f" \"at VNNI's peak\": the ratio if every int8 product ran {VNNI_PEAK_SPEEDUP:g}x "
        "faster than the fp32 pipeline's and the rest stayed as measured, median "
        f"**{report['median_ratio_at_vnni_peak']:.2f}x**. \"without the rest\": the "
        "ratio if every second of the int8 pass outside its products were taken from both "
        "passes (none of the work around the products left in the int8 pipeline, the fp32 "
        "one lighter by as much) and the int8 products ran as measured, median "
        f"**{report['median_ratio_without_rest']:.2f}x**.",
        "",
        "| round | fp32 s | int8 s | measured | ONNX products s | ONNX other nodes s | "
        "thinc products s | int8 s without products | ceiling | products s at "
        f"{report['bar']}x | fp32 products s | faster than fp32 by | at VNNI's peak | "
        "without the rest |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for number, round_ in enumerate(rounds, 1):
        c = round_["ceiling"]
        lines.append(
            f"| {number} | {c['fp32_seconds']:.2f} | {c['int8_seconds']:.2f} | "
            f"{c['measured_ratio']:.2f}x | {c['onnx_product_seconds']:.2f} | "
            f"{c['onnx_other_node_seconds']:.2f} | {c['thinc_product_seconds']:.2f} | "
            f"{c['int8_seconds_without_products']:.2f} | {c['ceiling_ratio']:.2f}x | "
            f"{c['product_seconds_allowed']:.2f} | {c['fp32_product_seconds']:.2f} | "
            f"{needed(c['speedup_over_fp32_products_needed'])} | "
            f"{c['ratio_at_vnni_peak']:.2f}x | {c['ratio_without_rest']:.2f}x |")
    fp32, int8 = first["fp32"], first["int8"]
    lines += ["", "Round 1 by component:", "", "| component | fp32 s | int8 s |",
              "|---|---:|---:|"]
    lines += [f"| {name} | {seconds:.3f} | {int8['component_seconds'][name]:.3f} |"
              for name, seconds in fp32["component_seconds"].items()]
    lines += [f"| (transformer: encoder calls) | {fp32['encoder_call_seconds']:.3f} | "
              f"{int8['encoder_call_seconds']:.3f} |",
              f"| (int8 encoder calls: ONNX Runtime runs) | | {int8['onnx_call_seconds']:.3f} |",
              f"| (thinc matrix products) | {fp32['thinc_product_seconds']:.3f} | "
              f"{int8['thinc_product_seconds']:.3f} |", "",
              "ONNX Runtime kernel time per node type in round 1's profiled int8 pass "
              "(product: counted as a matrix product):", "",
              "| node type | seconds | product |", "|---|---:|---|"]
    lines += [f"| {op} | {s:.3f} | {'yes' if op in PRODUCT_NODES else ''} |"
              for op, s in first["int8_profiled"]["onnx_node_seconds"].items()]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--model", type=Path, required=True)
    options.add_argument("--out", type=Path, required=True)
    options.add_argument("--docs", type=Path, default=REPO / "corpus/eval/kbp37_test.spacy")
    options.add_argument("--n-docs", type=int, default=500)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--work-dir", type=Path, default=REPO / "bench/work/int8_ceiling")
    args = options.parse_args(argv)
    dev_bench.require(args.model, args.docs)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    int8_model = saved_in_int8(args.model, args.work_dir / "int8-model", INT8)
    rounds = []
    for _ in range(args.rounds):  # alternating: the machine's drift hits all passes alike
        passes = {
            "fp32": run_pass("fp32", int8_model, FP32, args.docs, args.n_docs),
            "int8": run_pass("int8", int8_model, None, args.docs, args.n_docs),
            "int8_profiled": run_pass("int8 profiled", int8_model, None, args.docs,
                                      args.n_docs, args.work_dir / "onnx-profile"),
            "fp32_profiled": run_pass("fp32 profiled", int8_model, FP32, args.docs,
                                      args.n_docs, args.work_dir / "torch-profile"),
        }
        rounds.append({"passes": passes, "ceiling": ceiling(**passes)})
    report = {**dev_bench.stamp(), "model": str(args.model), "bar": INT8_SPEEDUP_BAR,
              "cpu_flags": cpu_flags(),
              "rounds": rounds,
              **medians(rounds)}
    dev_bench.write_report(report, markdown, args.out, "int8_ceiling")


if __name__ == "__main__":
    main()
