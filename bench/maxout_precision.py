"""How much faster could the recognizer's maxout layers multiply in bf16 or int8 here?

    python bench/maxout_precision.py --out bench/results

The e5small pipeline's ``ner`` spends most of its time in the two maxout layers of its
own tok2vec (1,152 inputs, 1,152 outputs per token: ``bench/results/cpu_ops.md``), and
``ner`` took 0.77 s of the int8 pipeline's 3.66 s a round (``int8_budget`` in
``bench/results/relation_extractor.json``). Those products run in fp32 on numpy's BLAS.
This times one product of that shape (``--rows`` tokens) each way the CPU offers, in one
process, alternating the ways over ``--rounds`` rounds, and reports each way's relative
error against fp32 on the same random inputs: what a lower-precision recognizer head
could save before any of it is built. Writes ``maxout_precision.json`` and ``.md``.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict

import numpy
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)

REPO = Path(__file__).resolve().parent.parent
WIDTH = 1152
#: The way the pipeline multiplies today, which the others are compared with.
BASELINE = "numpy BLAS fp32 (the pipeline's)"


def ways(x: numpy.ndarray, w: numpy.ndarray) -> Dict[str, Callable[[], numpy.ndarray]]:
    """Each way of computing ``x @ w`` (as float32 numpy), by name."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    bx, bw = tx.bfloat16(), tw.bfloat16()
    linear = torch.nn.Linear(WIDTH, WIDTH, bias=False)
    with torch.no_grad():
        linear.weight.copy_(tw.T)
    int8 = torch.ao.quantization.quantize_dynamic(
        torch.nn.Sequential(linear), {torch.nn.Linear}, dtype=torch.qint8)
    return {
        BASELINE: lambda: ops.gemm(x, w),
        "torch fp32": lambda: (tx @ tw).numpy(),
        "torch bf16": lambda: (bx @ bw).float().numpy(),
        "torch int8 (dynamic, per-tensor)": lambda: int8(tx).numpy(),
    }


def relative_error(result: numpy.ndarray, reference: numpy.ndarray) -> float:
    return float(numpy.linalg.norm(result - reference) / numpy.linalg.norm(reference))


def measure(rows: int, rounds: int, repeats: int, seed: int) -> Dict[str, Any]:
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((rows, WIDTH), dtype=numpy.float32)
    w = (rng.standard_normal((WIDTH, WIDTH)) / numpy.sqrt(WIDTH)).astype(numpy.float32)
    products = ways(x, w)
    reference = x.astype(numpy.float64) @ w.astype(numpy.float64)
    seconds: Dict[str, list] = {name: [] for name in products}
    with torch.no_grad():
        errors = {name: relative_error(run(), reference) for name, run in products.items()}
        for _ in range(rounds):
            for name, run in products.items():
                start = time.perf_counter()
                for _ in range(repeats):
                    run()
                seconds[name].append((time.perf_counter() - start) / repeats)
    best = {name: min(values) for name, values in seconds.items()}
    base = best[BASELINE]
    return {name: {"seconds": best[name], "speedup": base / best[name],
                   "relative_error": errors[name]} for name in products}


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# The recognizer's maxout product in lower precision", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}; torch "
             f"{report['torch']}, {report['threads']} threads). One product of "
             f"{report['rows']:,} x {WIDTH:,} by {WIDTH:,} x {WIDTH:,} (the shape of the "
             "recognizer's maxout layers), best of the alternating rounds; relative error: "
             "the Frobenius norm of the difference from a float64 product over that of the "
             "product, on random inputs (not a measure of the recognizer's quality).", "",
             "| way | seconds | x numpy BLAS fp32 | relative error |",
             "|---|---:|---:|---:|"]
    for name, row in report["ways"].items():
        lines.append(f"| {name} | {row['seconds']:.4f} | {row['speedup']:.2f} | "
                     f"{row['relative_error']:.1e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    report = {**dev_bench.stamp(), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "rows": args.rows,
              "ways": measure(args.rows, args.rounds, args.repeats, args.seed)}
    dev_bench.write_report(report, markdown, args.out, "maxout_precision")


if __name__ == "__main__":
    main()
