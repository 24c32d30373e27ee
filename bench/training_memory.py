"""Resident memory of short e5small trainings, one per setting, side by side.

    python bench/training_memory.py --out bench/results --steps 400

Runs ``spacy train configs/e5small.cfg`` (the ``train-e5`` step's data, ``--steps``
optimizer steps, a small English dev set evaluated at the start and the end) once per
setting, one after the other on the same machine. By default the two settings are the
config as it is (``spacy_xlie.fixed_mmap_threshold.v1`` in ``[initialize.before_init]``)
and glibc's default threshold (``--initialize.before_init null``); ``--setting
NAME=OVERRIDES`` (repeated) compares others, e.g. ``--setting "checkpointed=
--initialize.after_init.gradient_checkpointing true"``. For each: the training process's
resident memory sampled every second, its peak (``wait4``'s ``ru_maxrss``) and the wall
time, so the report shows what a setting saves and what it costs in time. Settings that
change only how the same numbers are computed give the same losses and scores (compared
in the report). Writes ``REPORT.json`` and ``.md`` to ``--out`` (``--report``, default
``training_memory``). Run it on a quiet machine.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import psutil

REPO = Path(__file__).resolve().parent.parent
DATA = ["--paths.encoder", "assets/e5small",
        "--paths.train", "corpus/kbp37_train.spacy", "--paths.dev", "corpus/kbp37_dev.spacy",
        "--paths.ner_train", "corpus/ner/wikiann_en_train.spacy",
        "--paths.ner_dev", "corpus/ner/wikiann_en_val.spacy",
        "--corpora.dev.relations_limit", "200", "--corpora.dev.entities_limit", "200",
        "--gpu-id", "-1"]
SETTINGS = {
    "fixed 64 kB threshold (configs/e5small.cfg)": [],
    "glibc default": ["--initialize.before_init", "null"],
}


def parse_settings(specs: List[str]) -> Dict[str, List[str]]:
    """``NAME=OVERRIDES`` strings -> {name: override arguments}, in the order given."""
    settings = {}
    for spec in specs:
        name, sep, overrides = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"--setting {spec!r}: expected NAME=OVERRIDES")
        settings[name] = shlex.split(overrides)
    return settings


def train(steps: int, extra: List[str], work: Path) -> dict:
    """One run: wall seconds, peak RSS, RSS samples (seconds, MB) and its train log."""
    log = work / "train_log.jsonl"
    command = [sys.executable, "-m", "spacy", "train", "configs/e5small.cfg",
               "--output", str(work / "model"), *DATA, "--paths.train_log", str(log),
               "--training.max_steps", str(steps), "--training.eval_frequency", str(steps),
               *extra]
    print(f"[training_memory] {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    watched = psutil.Process(process.pid)
    samples = []
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:  # reaped here (not by Popen), so that its rusage is ours to read
            break
        try:
            rss = watched.memory_info().rss
        except psutil.Error:
            rss = 0
        if rss:  # 0 once the process has exited but is not yet reaped
            samples.append((round(time.perf_counter() - start, 1), round(rss / 2**20, 1)))
        time.sleep(1.0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"training failed ({process.returncode}): {' '.join(command)}")
    evaluations = [json.loads(line) for line in log.read_text().splitlines()]
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "samples": samples, "final_scores": evaluations[-1]["scores"],
            "final_losses": evaluations[-1]["losses"], "command": " ".join(command[1:])}


def quartiles(samples: List[List[float]]) -> List[float]:
    """RSS (MB) at a quarter, half, three quarters and the end of the run (samples of 0,
    read from an exited process before ``wait4`` reaped it, left out)."""
    samples = [sample for sample in samples if sample[1] > 0]
    if not samples:
        return []
    return [samples[min(len(samples) - 1, int(len(samples) * q))][1] for q in (0.25, 0.5, 0.75)
            ] + [samples[-1][1]]


def markdown(report: dict) -> str:
    lines = [
        "# Training memory: " + " against ".join(report["runs"]),
        "",
        f"`{report['command']}` ({report['date'][:16]}): `spacy train configs/e5small.cfg` for "
        f"{report['steps']} steps, run once per setting, one after the other.",
        "",
        "| setting | wall (s) | peak RSS (MB) | RSS at 25 / 50 / 75 / 100 % of the run (MB) |",
        "|---|---:|---:|---|",
    ]
    for name, run in report["runs"].items():
        points = " / ".join(f"{mb:,.0f}" for mb in quartiles(run["samples"]))
        lines.append(f"| {name} | {run['seconds']:,.0f} | {run['peak_rss_mb']:,.0f} | {points} |")
    lines += ["", f"Same final scores and losses in every run: {report['same_results']}."]
    if report["time_ratio"] is not None:
        first, second = list(report["runs"])[:2]
        lines.append(f"Wall time of {first} / {second}: {report['time_ratio']:.2f}.")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--setting", action="append", default=[],
                        help="NAME=OVERRIDES: spacy train overrides of one run (repeat; "
                             "default: the mmap threshold as configured and glibc's)")
    parser.add_argument("--report", default="training_memory",
                        help="file name of the report, without .json/.md")
    args = parser.parse_args(argv)
    settings = parse_settings(args.setting) if args.setting else SETTINGS
    runs: Dict[str, dict] = {}
    for name, extra in settings.items():
        with tempfile.TemporaryDirectory(prefix="xlie-training-memory-") as tmp:
            runs[name] = train(args.steps, extra, Path(tmp))
    first, *others = runs.values()
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python bench/training_memory.py " + shlex.join(sys.argv[1:] if argv is None
                                                                   else argv),
        "steps": args.steps,
        "runs": runs,
        "same_results": all(run["final_scores"] == first["final_scores"]
                            and run["final_losses"] == first["final_losses"]
                            for run in runs.values()),
        "time_ratio": round(first["seconds"] / others[0]["seconds"], 3) if others else None,
    }
    from spacy_xlie.util.io import write_json, write_text

    write_json(report, args.out / f"{args.report}.json")
    write_text(markdown(report), args.out / f"{args.report}.md")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
