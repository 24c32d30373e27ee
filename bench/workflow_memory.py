"""Peak resident memory and wall time of every step of a ``project.yml`` workflow.

    python bench/workflow_memory.py --out bench/results --workflow all-e5 --vars config=e5small

Runs each step as a user does, ``python -m spacy project run STEP . --vars.config e5small
--force``, one after the other, and records its exit code, wall seconds and the peak
resident memory of the largest process it started (``wait4``'s ``ru_maxrss``: the
maximum over the step's process and every descendant it waited for, so the training
process of ``train-e5`` or the fresh venv's interpreter of ``check-package``). ``--steps``
runs some of them; rows of earlier runs of the other steps are kept, each with the commit
it ran on. Writes ``workflow_memory.json`` and ``.md`` to ``--out`` and the
``workflow_peak_rss_mb`` key of ``relation_extractor.json`` there (the key #24's checks
read). Run it on a quiet machine: ``train-e5`` is also the training time.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
#: The most any step may peak at (#24: a user with an 8 GB laptop runs the main job).
LIMIT_MB = 4096


def workflow_steps(project: Path, workflow: str) -> List[str]:
    """The commands of ``workflow`` in ``project``'s ``project.yml``, in order."""
    import srsly

    workflows = srsly.read_yaml(project / "project.yml").get("workflows", {})
    if workflow not in workflows:
        raise SystemExit(f"project.yml has no workflow {workflow!r}: {sorted(workflows)}")
    return list(workflows[workflow])


def run_step(step: str, project: Path, variables: Dict[str, str]) -> dict:
    """Run one step with ``--force``; its exit code, wall seconds and peak RSS (MB)."""
    command = [sys.executable, "-m", "spacy", "project", "run", step, str(project), "--force"]
    command += [f"--vars.{name}={value}" for name, value in variables.items()]
    print(f"[workflow_memory] {' '.join(command)}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=project)
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"step": step, "exit_code": process.returncode,
            "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "command": " ".join(command[1:]).replace(sys.executable, "python")}


def git_commit() -> Optional[str]:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def markdown(report: dict) -> str:
    lines = [
        f"# Peak memory of every step of `{report['workflow']}`",
        "",
        f"`python bench/workflow_memory.py {' '.join(report['arguments'])}`: each step run "
        "as `python -m spacy project run STEP . --force` with the variables below; peak "
        "RSS is the largest process of the step (`wait4`'s `ru_maxrss`). Limit: "
        f"{LIMIT_MB:,} MB a step (#24).",
        "",
        f"Variables: {', '.join(f'`{k}={v}`' for k, v in report['vars'].items()) or 'none'}",
        "",
        "| step | exit code | wall (s) | peak RSS (MB) | under the limit | commit | date |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for row in report["steps"]:
        lines.append(f"| {row['step']} | {row['exit_code']} | {row['seconds']:,.1f} | "
                     f"{row['peak_rss_mb']:,.0f} | "
                     f"{'yes' if row['peak_rss_mb'] < LIMIT_MB else '**no**'} | "
                     f"{row.get('commit') or ''} | {row.get('date', '')[:16]} |")
    lines += ["", f"Largest: {report['max_peak_rss_mb']:,.0f} MB."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--workflow", default="all-e5")
    parser.add_argument("--vars", nargs="*", default=["config=e5small"],
                        help="project variables, NAME=VALUE")
    parser.add_argument("--steps", nargs="*", help="only these steps (default: all)")
    args = parser.parse_args(argv)
    from spacy_xlie.util.io import write_json, write_text

    variables = dict(v.split("=", 1) for v in args.vars)
    order = workflow_steps(REPO, args.workflow)
    steps = args.steps or order
    unknown = sorted(set(steps) - set(order))
    if unknown:
        raise SystemExit(f"not steps of {args.workflow}: {unknown}")

    json_path = args.out / "workflow_memory.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    rows = {row["step"]: row for row in previous.get("steps", [])
            if previous.get("workflow") == args.workflow}
    commit = git_commit()
    for step in steps:
        row = run_step(step, REPO, variables)
        row.update(commit=commit, date=datetime.datetime.now().isoformat(timespec="seconds"))
        rows[step] = row
        if row["exit_code"] != 0:
            print(f"[workflow_memory] {step} failed with exit code {row['exit_code']}",
                  file=sys.stderr)
            break

    ordered = [rows[step] for step in order if step in rows]
    report = {
        "workflow": args.workflow,
        "vars": variables,
        "arguments": sys.argv[1:] if argv is None else argv,
        "limit_mb": LIMIT_MB,
        "steps": ordered,
        "max_peak_rss_mb": max(row["peak_rss_mb"] for row in ordered),
    }
    write_json(report, json_path)
    write_text(markdown(report), args.out / "workflow_memory.md")
    summary_path = args.out / "relation_extractor.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        summary["workflow_peak_rss_mb"] = {row["step"]: row["peak_rss_mb"] for row in ordered}
        write_json(summary, summary_path)
    return 0 if all(row["exit_code"] == 0 for row in ordered) else 1


if __name__ == "__main__":
    sys.exit(main())
