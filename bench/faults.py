"""What users meet when things go wrong: bad inputs to every corpus command, ``serve``
under concurrent and idle clients, and killed workers and commands.

    python bench/faults.py --model training/e5small/model-package \
        --kb training/kb_relx_distant --out bench/results

``bad_inputs``: each command (convert, label, project, predict, evaluate) on each bad
input (not UTF-8, binary, a truncated ``.spacy``, a CSV, an empty file, one 10 MB line, a
JSONL record with wrong types), run as a user runs it (``python -m spacy_xlie ...``, a
fresh process, a time limit): its exit code, whether a traceback reached the user,
whether anything was left where the output goes, and the message it printed. A row is
green when the command ended in time with no traceback and either exited 1 with a message
and no output, or accepted an input it may accept (exit 0; see ``MUST_REFUSE``).

``serve``: the page on 127.0.0.1 with ``--clients`` clients posting a sentence in a loop
and ``--idle`` sockets that connect and send nothing, for ``--seconds`` (every loop is
bounded; the server is stopped at the end): requests sent and unanswered, latency
percentiles, and the server's peak RSS.

``kills``: label, predict and project with ``--workers 2`` on ``--corpus`` repeated
``--copies`` times (``--shard-size`` records a shard): fault-free, with one Dask worker
SIGKILLed when 25, 50 and 75 % of the shards are written, and with the command SIGKILLed
at half way and rerun (see :func:`kills`). ``--sections`` measures only some sections and
keeps the others from the last report. Writes ``faults.json`` and ``faults.md`` to
``--out``.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import spacy
from spacy.tokens import DocBin

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
#: Seconds a command may run before it counts as hung.
COMMAND_LIMIT = 300
GERMAN = "Angela Merkel arbeitet für die CDU in Berlin."


def bad_files(folder: Path) -> Dict[str, Callable[[str], Path]]:
    """Each bad input as a function of the suffix the command expects."""
    nlp = spacy.blank("en")
    good = DocBin(docs=[nlp(GERMAN), nlp("Paris is in France.")]).to_bytes()

    def write(name: str, data: bytes) -> Callable[[str], Path]:
        def make(suffix: str) -> Path:
            path = folder / f"{name}{suffix}"
            path.write_bytes(data)
            return path
        return make

    return {
        "not UTF-8": write("latin1", f"{GERMAN}\n".encode() + b"caf\xe9 au lait\n"),
        "binary": write("binary", bytes(range(256)) * 64),
        "truncated .spacy": write("truncated", good[: len(good) // 2]),
        "CSV": lambda suffix: write("data", b"text,id\nAngela Merkel,1\n")(".csv"),
        "empty file": write("empty", b""),
        "one 10 MB line": write("long", b"Berlin " * 1_500_000 + b"\n"),
        "JSONL wrong types": write("types", b'{"text": 5, "id": [1], "lang": 3}\n'),
    }


def commands(model: str, kb: str, source: Path) -> Dict[str, Tuple[str, Callable]]:
    """Command name -> (input suffix, argv builder from input and output paths)."""
    return {
        "convert": (".txt", lambda src, out: ["convert", "kbp37", src, out / "out.spacy"]),
        "label": (".txt", lambda src, out: ["label", kb, src, out / "shards"]),
        "project": (".txt", lambda src, out: ["project", source, src, out / "out.spacy",
                                               "--tgt-lang", "de", "--method", "lexical"]),
        "predict": (".txt", lambda src, out: ["predict", model, src, out / "out.jsonl"]),
        "evaluate": (".spacy", lambda src, out: ["evaluate", model, src, "--output",
                                                 out / "scores.json"]),
    }


def run_command(argv: List[Any], out: Path) -> Dict[str, Any]:
    """One command in a fresh process: exit code, traceback, output left, message."""
    cmd = [sys.executable, "-m", "spacy_xlie", *map(str, argv)]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_LIMIT,
                              env=ENV, cwd=REPO)
        code, text = done.returncode, done.stderr + done.stdout
    except subprocess.TimeoutExpired:
        code, text = None, f"no answer within {COMMAND_LIMIT} s"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = next((line for line in lines if line.startswith("error:")),
                   lines[-1] if lines else "")
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    # a sharded job's manifest is its state (what failed, for the rerun), not output
    output = [name for name in left if Path(name).name != "manifest.json"]
    return {"exit_code": code, "traceback": "Traceback (most recent call last)" in text,
            "partial_output": bool(output) and code != 0, "left": left,
            "message": message[:200], "seconds": round(time.perf_counter() - start, 1)}


#: Inputs a command must refuse (the others it may also accept: an empty file is an empty
#: corpus, a 10 MB line one long doc).
MUST_REFUSE = {"not UTF-8", "binary", "truncated .spacy", "CSV", "JSONL wrong types"}


def is_green(row: Dict[str, Any]) -> bool:
    if row["exit_code"] is None or row["traceback"]:
        return False
    if row["exit_code"] == 0:
        return row["input"] not in MUST_REFUSE
    return row["exit_code"] == 1 and not row["partial_output"] and row["message"] != ""


def bad_inputs(model: str, kb: str) -> List[Dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "source.spacy"  # project's annotated side: one good doc
        DocBin(docs=[spacy.blank("en")(GERMAN)], store_user_data=True).to_disk(source)
        files = bad_files(folder)
        for command, (suffix, argv) in commands(model, kb, source).items():
            for name, make in files.items():
                use = ".spacy" if name == "truncated .spacy" else (
                    ".jsonl" if name == "JSONL wrong types" else suffix)
                src = make(use)
                out = folder / f"out-{command}-{len(rows)}"
                out.mkdir()
                row = {"command": command, "input": name, "file": src.name,
                       **run_command(argv(src, out), out)}
                row["green"] = is_green(row)
                rows.append(row)
                print(json.dumps({k: row[k] for k in ("command", "input", "exit_code",
                                                      "traceback", "green")}), flush=True)
    return rows


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a running process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_load(model: str, clients: int, idle: int, seconds: float) -> Dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "spacy_xlie", "serve", model,
                               "--port", str(port)], env=ENV, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=5)
                   for _ in range(idle)]
        latencies: List[float] = []
        failures: List[str] = []
        sent = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds
        body = urllib.parse.urlencode({"text": GERMAN}).encode()

        def client() -> None:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                with lock:
                    sent[0] += 1
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, data=body),
                                                timeout=60) as resp:
                        resp.read()
                    with lock:
                        latencies.append(time.perf_counter() - start)
                except (urllib.error.URLError, OSError) as err:
                    with lock:
                        failures.append(str(err)[:100])

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 120)
        rss = peak_rss_mb(server.pid)
        for sock in sockets:
            sock.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {"clients": clients, "idle_sockets": idle, "seconds": seconds,
            "requests": sent[0], "answered": len(latencies), "unanswered": len(failures),
            "errors": sorted(set(failures))[:5],
            "p50_ms": pct(0.5) if latencies else None, "p99_ms": pct(0.99) if latencies else None,
            "peak_rss_mb": rss}


#: Fractions of a job's shards finished when a worker is killed.
KILL_POINTS = (0.25, 0.5, 0.75)
#: A shard file's name (spacy_xlie.distributed.engine.SHARD_NAME) and any temporary file.
SHARD_FILE = re.compile(r"shard-\d+\.(spacy|jsonl)")


def kill_inputs(folder: Path, corpus: Path, copies: int) -> Tuple[Path, Path, Path]:
    """A JSONL corpus (``corpus``'s records ``copies`` times, ids made unique), its text
    lines, and an annotated English source per line for ``project`` (paired by order)."""
    records = [json.loads(line) for line in corpus.read_text(encoding="utf8").splitlines()
               if line.strip()]
    records = [{**r, "id": f"{r['id']}#{n}"} for n in range(copies) for r in records]
    jsonl, text, source = folder / "kill.jsonl", folder / "kill.txt", folder / "kill.spacy"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                     encoding="utf8")
    text.write_text("".join(r["text"].replace("\n", " ") + "\n" for r in records),
                    encoding="utf8")
    nlp = spacy.blank("en")
    DocBin(docs=[nlp(GERMAN) for _ in records], store_user_data=True).to_disk(source)
    return jsonl, text, source


def kill_jobs(model: str, kb: str, inputs: Tuple[Path, Path, Path], shard_size: int
              ) -> Dict[str, Callable[[Path], List[Any]]]:
    """Job name -> argv builder from the output folder (2 local Dask workers each)."""
    jsonl, text, source = inputs
    common = ["--workers", "2", "--shard-size", str(shard_size)]
    return {
        "label": lambda out: ["label", kb, jsonl, out, *common],
        "predict": lambda out: ["predict", model, text, out, *common],
        "project": lambda out: ["project", source, text, out, "--tgt-lang", "de",
                                "--method", "lexical", *common],
    }


def shard_files(out: Path) -> Dict[str, Tuple[str, int]]:
    """Each finished shard file: (sha256, mtime in ns)."""
    import hashlib

    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in out.glob("shard-*") if SHARD_FILE.fullmatch(p.name)}


def temp_files(out: Path) -> List[str]:
    return sorted(p.name for p in out.rglob("*") if p.name.endswith(".tmp"))


def dask_workers(pid: int) -> List[int]:
    """The worker processes of a command's local Dask cluster (spawned by its nannies)."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def run_killing(argv: List[Any], out: Path, total: int, at: Optional[float], target: str
                ) -> Dict[str, Any]:
    """One job in a fresh process (its own session); at ``at`` of its shards finished,
    SIGKILL one of its Dask workers (``target`` "worker") or the command itself and its
    workers ("client"). Returns how it ended and the shards present at the kill."""
    import signal

    cmd = [sys.executable, "-m", "spacy_xlie", *map(str, argv)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV,
                            cwd=REPO, start_new_session=True)
    killed: Dict[str, Any] = {}
    deadline = time.monotonic() + COMMAND_LIMIT
    while proc.poll() is None and time.monotonic() < deadline:
        if at is not None and not killed and len(shard_files(out)) >= at * total:
            if target == "worker":
                workers = dask_workers(proc.pid)
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    killed = {"pid": workers[0], "shards_done": len(shard_files(out))}
            else:
                killed = {"pid": proc.pid, "shards_done": len(shard_files(out)),
                          "kept": shard_files(out)}
                os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    text = proc.stdout.read().decode("utf8", "replace") if proc.stdout else ""
    return {"exit_code": proc.returncode, "killed": killed,
            "traceback": "Traceback (most recent call last)" in text, "tail": text[-300:]}


def kills(model: str, kb: str, corpus: Path, copies: int, shard_size: int
          ) -> List[Dict[str, Any]]:
    """Each job fault-free, with a worker killed at each of :data:`KILL_POINTS`, and with
    the command killed at half way and rerun: output identical to the fault-free run,
    temporary files left, and (client kill) the shards the rerun recomputed against those
    not finished (not in the manifest) when it was killed."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = kill_inputs(folder, corpus, copies)
        records = len(inputs[1].read_text(encoding="utf8").splitlines())
        total = -(-records // shard_size)
        for job, argv in kill_jobs(model, kb, inputs, shard_size).items():
            clean = folder / f"{job}-clean"
            run = run_killing(argv(clean), clean, total, None, "none")
            reference = {name: sha for name, (sha, _) in shard_files(clean).items()}
            log_row = {"job": job, "shards": total, "fault_free_exit": run["exit_code"]}
            print(json.dumps(log_row), flush=True)
            for at in KILL_POINTS:
                out = folder / f"{job}-worker-{at}"
                run = run_killing(argv(out), out, total, at, "worker")
                rows.append(kill_row(job, f"worker at {int(100 * at)} %", run, out, reference))
            out = folder / f"{job}-client"
            first = run_killing(argv(out), out, total, 0.5, "client")
            finished = set(json.loads((out / "manifest.json").read_text())["entries"]) \
                if (out / "manifest.json").exists() else set()
            run = run_killing(argv(out), out, total, None, "none")
            row = kill_row(job, "client at 50 %, rerun", run, out, reference)
            after = shard_files(out)
            kept = first["killed"].get("kept", {})
            row["recomputed_shards"] = sum(1 for name, (_, mtime) in after.items()
                                           if kept.get(name, (None, None))[1] != mtime)
            row["unfinished_at_kill"] = total - len(finished)
            row["killed"] = {k: v for k, v in first["killed"].items() if k != "kept"}
            row["green"] = row["green"] and row["recomputed_shards"] <= row["unfinished_at_kill"]
            rows.append(row)
    return rows


def kill_row(job: str, at: str, run: Dict[str, Any], out: Path, reference: Dict[str, str]
             ) -> Dict[str, Any]:
    produced = {name: sha for name, (sha, _) in shard_files(out).items()}
    row = {"job": job, "at": at, "exit_code": run["exit_code"], "traceback": run["traceback"],
           "killed": run["killed"], "identical": produced == reference and bool(reference),
           "temp_files_left": len(temp_files(out)),
           "recomputed_shards": None}
    row["green"] = (row["exit_code"] == 0 and row["identical"] and not row["traceback"]
                    and row["temp_files_left"] == 0 and (bool(run["killed"]) or "client" in at))
    print(json.dumps({k: row[k] for k in ("job", "at", "exit_code", "identical",
                                          "temp_files_left", "green")}), flush=True)
    return row


def measured_by(report: Dict[str, Any], section: str) -> str:
    """The command and date that measured a section (older reports: one for all)."""
    run = report.get("commands", {}).get(section) or report
    return f"Command: `{run['command']}`. Run {run['date']}."


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# Faults: bad inputs, serve under load, killed processes", ""]
    if "bad_inputs" in report:
        lines += ["## Bad inputs", "", measured_by(report, "bad_inputs"), "",
                  "Each command run as a user runs it, in a fresh process with a "
                  f"{COMMAND_LIMIT} s limit. Green: no traceback, and either exit 1 with a "
                  "message and nothing left where the output goes, or (an empty file, a 10 MB "
                  "line) the input accepted (exit 0).", "",
                  "| command | input | exit | traceback | output left | green | message |",
                  "|---|---|---:|---|---|---|---|"]
        for row in report["bad_inputs"]:
            message = row["message"].replace("|", "\\|")
            lines.append(f"| {row['command']} | {row['input']} | {row['exit_code']} "
                         f"| {'yes' if row['traceback'] else 'no'} "
                         f"| {'yes' if row['partial_output'] else 'no'} "
                         f"| {'yes' if row['green'] else '**no**'} | {message} |")
    if "serve" in report:
        serve = report["serve"]
        lines += ["", "## serve", "", measured_by(report, "serve"), "",
                  f"{serve['clients']} clients posting a sentence in a loop and "
                  f"{serve['idle_sockets']} idle sockets, for {serve['seconds']} s: "
                  f"{serve['requests']} requests, {serve['unanswered']} unanswered; latency "
                  f"p50 {serve['p50_ms']} ms, p99 {serve['p99_ms']} ms; server peak RSS "
                  f"{serve['peak_rss_mb']} MB.", ""]
    if "kills" in report:
        lines += ["## Killed processes", "", measured_by(report, "kills"), "",
                  "Each job with 2 local Dask workers, in a fresh process: a worker SIGKILLed "
                  "once the given share of the shards is written, or the command itself (and "
                  "its workers) SIGKILLed at half way and the same command rerun. Identical: "
                  "every shard file has the bytes of the fault-free run. Recomputed: shard "
                  "files the rerun wrote, against the shards not in the manifest when the "
                  "command was killed. Green: exit 0, identical, no traceback, no temporary "
                  "file left, and the rerun recomputed no finished shard.", "",
                  "| job | killed | exit | identical | temp files left | recomputed / unfinished "
                  "| green |", "|---|---|---:|---|---:|---|---|"]
        for row in report["kills"]:
            recomputed = ("-" if row["recomputed_shards"] is None else
                          f"{row['recomputed_shards']} / {row['unfinished_at_kill']}")
            lines.append(f"| {row['job']} | {row['at']} | {row['exit_code']} "
                         f"| {'yes' if row['identical'] else '**no**'} "
                         f"| {row['temp_files_left']} | {recomputed} "
                         f"| {'yes' if row['green'] else '**no**'} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="A pipeline with a relation extractor")
    parser.add_argument("--kb", required=True, help="A KB folder (spacy-xlie kb build)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus" / "relx_distant_raw.jsonl",
                        help="JSONL records (text, id, lang) the kill runs repeat")
    parser.add_argument("--copies", type=int, default=20, help="Repeats of --corpus")
    parser.add_argument("--shard-size", type=int, default=400)
    parser.add_argument("--sections", default="bad_inputs,serve,kills",
                        help="Sections to measure; the others are kept from the last report")
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    sections = set(args.sections.split(","))
    json_path = args.out / "faults.json"
    report = json.loads(json_path.read_text(encoding="utf8")) if json_path.exists() else {}
    command = "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    measured = {
        "bad_inputs": lambda: bad_inputs(args.model, args.kb),
        "serve": lambda: serve_load(args.model, args.clients, args.idle, args.seconds),
        "kills": lambda: kills(args.model, args.kb, args.corpus, args.copies,
                               args.shard_size),
    }
    for name in sections:
        report[name] = measured[name]()
        report.setdefault("commands", {})[name] = {
            "command": command, "date": datetime.date.today().isoformat()}
    report["all_green"] = (all(row["green"] for row in report.get("bad_inputs", []))
                           and report.get("serve", {}).get("unanswered") == 0
                           and all(row["green"] for row in report.get("kills", [])))
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, json_path)
    write_text(markdown(report), args.out / "faults.md")
    print(json.dumps(report.get("serve")))


if __name__ == "__main__":
    main()
