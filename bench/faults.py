"""What users meet when things go wrong: bad inputs to every corpus command, and ``serve``
under concurrent and idle clients.

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

The kill rows the issue asks for (a worker SIGKILLed at 25/50/75 % of a job) are not
measured here yet. Writes ``faults.json`` and ``faults.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
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
from typing import Any, Callable, Dict, List, Tuple

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


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# Faults: bad inputs and serve under load", "",
             f"Command: `{report['command']}`. Run {report['date']}.", "",
             "## Bad inputs", "",
             "Each command run as a user runs it, in a fresh process with a "
             f"{COMMAND_LIMIT} s limit. Green: no traceback, and either exit 1 with a message "
             "and nothing left where the output goes, or (an empty file, a 10 MB line) the input "
             "accepted (exit 0).", "",
             "| command | input | exit | traceback | output left | green | message |",
             "|---|---|---:|---|---|---|---|"]
    for row in report["bad_inputs"]:
        message = row["message"].replace("|", "\\|")
        lines.append(f"| {row['command']} | {row['input']} | {row['exit_code']} "
                     f"| {'yes' if row['traceback'] else 'no'} "
                     f"| {'yes' if row['partial_output'] else 'no'} "
                     f"| {'yes' if row['green'] else '**no**'} | {message} |")
    serve = report["serve"]
    lines += ["", "## serve", "",
              f"{serve['clients']} clients posting a sentence in a loop and "
              f"{serve['idle_sockets']} idle sockets, for {serve['seconds']} s: "
              f"{serve['requests']} requests, {serve['unanswered']} unanswered; latency p50 "
              f"{serve['p50_ms']} ms, p99 {serve['p99_ms']} ms; server peak RSS "
              f"{serve['peak_rss_mb']} MB.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="A pipeline with a relation extractor")
    parser.add_argument("--kb", required=True, help="A KB folder (spacy-xlie kb build)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    report = {"command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(),
              "bad_inputs": bad_inputs(args.model, args.kb),
              "serve": serve_load(args.model, args.clients, args.idle, args.seconds)}
    report["all_green"] = (all(row["green"] for row in report["bad_inputs"])
                           and report["serve"]["unanswered"] == 0)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "faults.json")
    write_text(markdown(report), args.out / "faults.md")
    print(json.dumps(report["serve"]))


if __name__ == "__main__":
    main()
