"""Check and time the GPU path (configs/xlmr.cfg) on a CUDA machine.

CI and the development machines have no GPU, yet a real user trains ``configs/xlmr.cfg``
on one: spacy-transformers on CUDA with mixed precision and the PyTorch allocator, the
relation extractor's head on CuPy arrays. This runs that path whenever a GPU is lent:

1. ``spacy train configs/xlmr.cfg --gpu-id 0`` on a small random XLM-R (the whole training
   loop, fp16 autocast and grad scaler included), ``spacy-xlie evaluate --gpu-id 0`` on the
   evaluation sets, and the same evaluation of the GPU-trained pipeline on CPU (a pipeline
   trained on GPU is packaged and used on CPU machines): the scores should agree.
2. Speed with an xlm-roberta-base-shaped random model (its tokenizer trained on the KBP37
   sentences, so words split about as with the real one): training words/s (``nlp.update``
   on ~1,000-word batches) and prediction words/s with the extractor, mixed precision on
   and off, and peak GPU memory. Random weights: the accuracy of step 1 means nothing, only
   that every step runs.

Usage (corpus/ from ``spacy project run prepare``; on the device machine the packages come
as a carried site folder)::

    python bench/gpu.py --corpus corpus --out bench/results
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(f"[gpu] {msg}", file=sys.stderr, flush=True)


def run(cmd: List[str], env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Run a command, echoing its output; return its exit status and wall seconds."""
    log(" ".join(cmd))
    start = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})})
    return {"rc": proc.returncode, "seconds": round(time.perf_counter() - start, 1)}


def sentences(corpus: Path, limit: int) -> List[str]:
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(corpus / "kbp37_train.spacy").get_docs(spacy.blank("xx").vocab)
    return [doc.text for _, doc in zip(range(limit), docs)]


def smoke(corpus: Path, work: Path, steps: int) -> Dict[str, Any]:
    """Step 1: train, evaluate on GPU, evaluate the same pipeline on CPU."""
    from spacy_xlie.util.random_xlmr import build_random_xlmr

    tiny = build_random_xlmr(work / "tiny", size="tiny", texts=sentences(corpus, 20000),
                             vocab_size=8000)
    out = work / "trained"
    train = run([sys.executable, "-m", "spacy", "train", str(REPO / "configs" / "xlmr.cfg"),
                 "--output", str(out), "--paths.train", str(corpus / "kbp37_train.spacy"),
                 "--paths.dev", str(corpus / "kbp37_dev.spacy"),
                 "--components.transformer.model.name", str(tiny),
                 "--training.max_steps", str(steps),
                 "--training.eval_frequency", str(steps // 2),
                 "--training.optimizer.learn_rate.initial_rate", "0.0005",
                 "--corpora.dev.limit", "500", "--gpu-id", "0"])
    result: Dict[str, Any] = {"train": train}
    if train["rc"]:
        return result
    for device, gpu_id, env in (("gpu", "0", {}), ("cpu", "-1", {"CUDA_VISIBLE_DEVICES": ""})):
        report = work / f"eval-{device}.json"
        step = run([sys.executable, "-m", "spacy_xlie", "evaluate", str(out / "model-best"),
                    str(corpus / "eval"), "--gold-ents", "--output", str(report),
                    "--gpu-id", gpu_id], env=env)
        if report.exists():
            step["scores"] = json.loads(report.read_text())
        result[f"evaluate_{device}"] = step
    return result


def timed_speed(model_dir: Path, corpus: Path, mixed_precision: bool,
                n_batches: int) -> Dict[str, Any]:
    """Step 2 for one precision: training and prediction words/s, peak GPU memory."""
    import torch
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config, minibatch
    from thinc.api import require_gpu

    from spacy_xlie.corpora.reader import RelationCorpus

    require_gpu(0)
    config = load_config(
        REPO / "configs" / "xlmr.cfg",
        overrides={"paths.train": str(corpus / "kbp37_dev.spacy"),
                   "paths.dev": str(corpus / "kbp37_dev.spacy"),
                   "components.transformer.model.name": str(model_dir),
                   "components.transformer.model.mixed_precision": mixed_precision,
                   "corpora.train.limit": 200},
        interpolate=False,
    )
    nlp = init_nlp(config, use_gpu=0)
    optimizer = nlp.create_optimizer()
    examples = list(RelationCorpus(corpus / "kbp37_train.spacy", gold_ents=True,
                                   limit=4000)(nlp))
    batches = [b for b in minibatch(examples, size=32)][: n_batches + 3]
    torch.cuda.reset_peak_memory_stats()
    words = 0
    for i, batch in enumerate(batches):
        if i == 3:  # three warm-up batches
            torch.cuda.synchronize()
            start = time.perf_counter()
        nlp.update(batch, sgd=optimizer, drop=0.1)
        if i >= 3:
            words += sum(len(eg.predicted) for eg in batch)
    torch.cuda.synchronize()
    train_wps = words / (time.perf_counter() - start)
    train_peak = torch.cuda.max_memory_allocated() / 2**20
    docs = [eg.predicted for eg in examples]
    list(nlp.pipe(docs[:128], batch_size=64))  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    n_relations = sum(len(doc._.relations) for doc in nlp.pipe(docs, batch_size=64))
    torch.cuda.synchronize()
    predict_wps = sum(len(doc) for doc in docs) / (time.perf_counter() - start)
    return {"train_words_per_second": round(train_wps, 1),
            "train_batches_timed": len(batches) - 3,
            "train_peak_gpu_mb": round(train_peak, 1),
            "predict_words_per_second": round(predict_wps, 1),
            "predict_docs": len(docs), "predicted_relations": n_relations}


def speed(corpus: Path, work: Path, n_batches: int, order: List[str]) -> Dict[str, Any]:
    from spacy_xlie.util.random_xlmr import REALISTIC_VOCAB_SIZE, build_random_xlmr

    base = build_random_xlmr(work / "base", size="base", texts=sentences(corpus, 20000),
                             vocab_size=REALISTIC_VOCAB_SIZE)
    results: Dict[str, Any] = {}
    for name in order:  # in turn, as the machine warms up: compare a pair's best
        key = name if name not in results else f"{name}-2"
        results[key] = timed_speed(base, corpus, name == "fp16", n_batches)
    return results


def environment() -> Dict[str, Any]:
    from importlib.metadata import version

    import cupy
    import torch

    names = ("torch", "spacy", "thinc", "spacy_transformers", "transformers")
    return {"gpu": torch.cuda.get_device_name(0), "cupy": cupy.__version__,
            **{name: version(name.replace("_", "-")) for name in names}}


def markdown(report: Dict[str, Any]) -> str:
    env = report["environment"]
    lines = ["# GPU path (configs/xlmr.cfg)", "",
             f"Command: `{report['command']}`", "",
             f"Machine: {env['gpu']}; torch {env['torch']}, cupy {env['cupy']}, spaCy "
             f"{env['spacy']}, thinc {env['thinc']}, spacy-transformers "
             f"{env['spacy_transformers']}, transformers {env['transformers']}.", "",
             "## 1. Train and evaluate on GPU (tiny random XLM-R; scores mean nothing)", ""]
    smoke_ = report.get("smoke", {})
    if "train" in smoke_:
        lines.append(f"- `spacy train configs/xlmr.cfg --gpu-id 0`: exit "
                     f"{smoke_['train']['rc']}, {smoke_['train']['seconds']} s")
    for device in ("gpu", "cpu"):
        step = smoke_.get(f"evaluate_{device}")
        if step:
            micro = {name: round(row["rel_micro_f"], 4) for name, row
                     in step.get("scores", {}).get("datasets", {}).items()}
            lines.append(f"- evaluate on {device}: exit {step['rc']}, {step['seconds']} s, "
                         f"micro-F per set {micro}")
    if "error" in smoke_:
        lines.append(f"- failed: `{smoke_['error'].splitlines()[-1]}`")
    lines += ["", "## 2. Speed, xlm-roberta-base-shaped random model", "",
              "| precision | train words/s | train peak GPU MB | predict words/s |",
              "| --- | --- | --- | --- |"]
    rows = report.get("speed", {})
    for name, row in rows.items():
        if name == "error":
            lines.append(f"failed: `{row.splitlines()[-1]}`")
            continue
        lines.append(f"| {name} | {row['train_words_per_second']} | "
                     f"{row['train_peak_gpu_mb']} | {row['predict_words_per_second']} |")
    lines += ["", "Runs in the order listed; a precision's first run may include CUDA's "
              "warm-up for its kernels, so the ratios compare the best run of each:", ""]
    for what in ("train_words_per_second", "predict_words_per_second"):
        best = {p: max((r[what] for n, r in rows.items() if n.startswith(p)), default=None)
                for p in ("fp16", "fp32")}
        if None not in best.values():
            lines.append(f"- {what.replace('_', ' ')}: fp16 / fp32 = "
                         f"{best['fp16'] / best['fp32']:.2f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--speed-batches", type=int, default=40)
    parser.add_argument("--order", default="fp32,fp16,fp16,fp32",
                        help="precisions timed, in turn (a repeat is reported as NAME-2)")
    parser.add_argument("--skip-smoke", action="store_true")
    parser.add_argument("--render", type=Path, default=None,
                        help="only rewrite the Markdown report from this gpu.json")
    args = parser.parse_args()
    if args.render:
        (args.out / "gpu.md").write_text(markdown(json.loads(args.render.read_text())))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report: Dict[str, Any] = {"command": "python bench/gpu.py " + " ".join(sys.argv[1:]),
                              "environment": environment()}
    log(f"environment {report['environment']}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        order = args.order.split(",")
        stages = {"smoke": lambda: smoke(args.corpus, Path(tmp), args.steps),
                  "speed": lambda: speed(args.corpus, Path(tmp), args.speed_batches, order)}
        if args.skip_smoke:
            del stages["smoke"]
        for stage, call in stages.items():
            try:
                report[stage] = call()
            except Exception:  # keep what the other stage measured
                report[stage] = {"error": traceback.format_exc()}
            log(f"{stage} {report[stage]}")
            write(args.out, report)


def write(out: Path, report: Dict[str, Any]) -> None:
    """Write the JSON and Markdown reports (after each stage, so a late failure keeps the rest)."""
    (out / "gpu.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
