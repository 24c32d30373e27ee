"""blis or numpy's BLAS for a pipeline's CPU layers: speed, same predictions, same run.

    python bench/cpu_ops.py --model training/e5small/model-best --out bench/results

The raw-text pipeline (no gold entities: sentencizer, encoder, recognizer, extractor) over
``--docs`` KBP37 test sentences, with ``spacy_xlie.cpu_ops.v1`` set to ``use_blis = true``
(thinc's default) and ``false``, each pass in a fresh process and the two alternating for
``--rounds`` rounds so that the machine's drift hits both alike. Each pass times every
component over batches of 64, as ``nlp.pipe`` runs them, and keeps what the pipeline
predicted (entities and relations), which must be the same both ways. Also times one
matrix product of the recognizer's maxout shape both ways. With ``--train-steps N``, two
``spacy train`` runs of ``--train-config`` for N steps (no evaluation), one each way,
timed by wall clock.

Writes ``cpu_ops.json`` and ``cpu_ops.md`` to ``--out``.
"""

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from relation_extractor import measure  # noqa: E402  (bench/ is sys.path[0] when run)

REPO = Path(__file__).resolve().parent.parent
WAYS = {"blis": True, "numpy BLAS": False}


def ops_override(use_blis: bool) -> Dict[str, Any]:
    return {"nlp": {"after_pipeline_creation": {"@callbacks": "spacy_xlie.cpu_ops.v1",
                                                "use_blis": use_blis}}}


def gemm_seconds(rows: int = 8000, width: int = 1152, repeats: int = 4) -> Dict[str, float]:
    """Seconds of one (rows x width) by (width x width) product with thinc's ``gemm``, as
    the recognizer's maxout layers run it (width: 3 x 384 inputs, 3 x 384 pieces out)."""
    import numpy
    from thinc.api import NumpyOps

    x = numpy.random.default_rng(0).random((rows, width), dtype="float32")
    w = numpy.random.default_rng(1).random((width, width), dtype="float32")
    found = {}
    for way, use_blis in WAYS.items():
        ops = NumpyOps(use_blis=use_blis)
        ops.gemm(x, w, trans2=True)
        start = time.perf_counter()
        for _ in range(repeats):
            ops.gemm(x, w, trans2=True)
        found[way] = round((time.perf_counter() - start) / repeats, 4)
    return found


def train_seconds(config: Path, steps: int, use_blis: bool, paths: List[str]) -> float:
    """Wall seconds of ``spacy train`` on ``config`` for ``steps`` steps, no evaluation,
    the callback set one way."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "spacy", "train", str(config),
                   "--output", tmp, *paths, "--training.max_steps", str(steps),
                   "--training.eval_frequency", str(10 * steps), "--paths.train_log", "null",
                   "--nlp.after_pipeline_creation.use_blis", str(use_blis).lower(),
                   "--gpu-id", "-1"]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return round(time.perf_counter() - start, 1)


def alternating_passes(model: Path, test: Path, docs: int, rounds: int,
                       overrides: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """The raw-text pipeline of ``model`` over ``docs`` sentences of ``test`` once per way
    (``overrides``: a way's name -> its ``spacy.load`` config overrides), each pass in a
    fresh process and the ways alternating for ``rounds`` rounds, so that the machine's
    drift hits every way alike. Per way its passes and mean words/s, and whether every
    pass predicted the same entities and relations."""
    passes: Dict[str, List[Dict[str, Any]]] = {way: [] for way in overrides}
    for _ in range(rounds):
        for way, override in overrides.items():
            passes[way].append(measure(way, model, test, docs, True, override,
                                       raw_text=True, keep_predictions=True))
    predictions = [p.pop("predicted") for entry in passes.values() for p in entry]
    first = next(iter(passes.values()))[0]
    return {
        "command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "docs": first["docs"], "words": first["words"], "rounds": rounds,
        "components": list(first["component_seconds"]),
        "ways": {way: {"passes": entry, "words_per_second": round(
            sum(p["words_per_second"] for p in entry) / len(entry), 1)}
            for way, entry in passes.items()},
        "same_predictions": all(p == predictions[0] for p in predictions)}


def ways_table(report: Dict[str, Any]) -> List[str]:
    """Markdown rows: per way its mean and per-pass words/s, the first pass's seconds per
    component and the largest peak RSS of its passes."""
    lines = ["| way | words/s (mean) | words/s per pass | "
             + " | ".join(f"{name} s" for name in report["components"]) + " | peak RSS MB |",
             "|---|---:|---|" + "---:|" * len(report["components"]) + "---:|"]
    for way, entry in report["ways"].items():
        passes = ", ".join(f"{p['words_per_second']:,.0f}" for p in entry["passes"])
        first = entry["passes"][0]["component_seconds"]
        lines.append(f"| {way} | {entry['words_per_second']:,.0f} | {passes} | "
                     + " | ".join(f"{first[name]:.2f}" for name in report["components"])
                     + f" | {max(p['peak_rss_mb'] for p in entry['passes']):,.0f} |")
    return lines


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# blis or numpy's BLAS for the pipeline's CPU layers", "",
             f"Model: `{report['model']}`. Command: `{report['command']}`. Run {report['date']} "
             f"on {report['machine']}.", "",
             f"The raw-text pipeline over {report['docs']} KBP37 test sentences "
             f"({report['words']:,} words), each pass in a fresh process, the two ways "
             f"alternating ({report['rounds']} rounds). Same predictions both ways (entities "
             f"and relations of every doc): **{report['same_predictions']}**.", "",
             *ways_table(report)]
    lines += ["", f"Speed-up of the pipeline (mean words/s): **{report['speedup']:.2f}x**. "
              "Component seconds: the first pass of each way.", "",
              f"One matrix product of the recognizer's maxout shape (8,000 x 1,152 by "
              f"1,152 x 1,152): blis {report['gemm_seconds']['blis']:.3f} s, numpy's BLAS "
              f"{report['gemm_seconds']['numpy BLAS']:.3f} s."]
    if report.get("train_seconds"):
        train = report["train_seconds"]
        lines += ["", f"`spacy train {report['train_config']}` for {report['train_steps']} steps "
                  f"(no evaluation; loading and initialising included): blis "
                  f"{train['blis']:.0f} s, numpy's BLAS {train['numpy BLAS']:.0f} s."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--test", type=Path, default=Path("corpus/eval/kbp37_test.spacy"))
    parser.add_argument("--train-steps", type=int, default=0,
                        help="also time spacy train for this many steps each way (0: no)")
    parser.add_argument("--train-config", type=Path, default=Path("configs/e5small.cfg"),
                        help="the config those runs train (it must set spacy_xlie.cpu_ops.v1)")
    parser.add_argument("--train-path", action="append", default=[],
                        help="a --paths override for that run, as NAME=VALUE")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    report = alternating_passes(args.model, args.test, args.docs, args.rounds,
                                {way: ops_override(use_blis) for way, use_blis in WAYS.items()})
    report.update({"model": str(args.model),
                   "speedup": round(report["ways"]["numpy BLAS"]["words_per_second"]
                                    / report["ways"]["blis"]["words_per_second"], 2),
                   "gemm_seconds": gemm_seconds(), "train_steps": args.train_steps,
                   "train_config": str(args.train_config)})
    if args.train_steps:
        paths = [part for spec in args.train_path
                 for part in (f"--paths.{spec.partition('=')[0]}", spec.partition("=")[2])]
        report["train_seconds"] = {way: train_seconds(args.train_config, args.train_steps,
                                                      use_blis, paths)
                                   for way, use_blis in WAYS.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "cpu_ops.json")
    write_text(markdown(report), args.out / "cpu_ops.md")


if __name__ == "__main__":
    main()
