"""Run a corpus job shard by shard: in this process, on a local Dask cluster, or on any
Dask scheduler.

A job (``label``, ``project``, ``predict``) is a small picklable object with the paths
and settings of the run; :func:`run_shard` runs one shard of it on a worker, which
loads the pipeline or knowledge base by path once (:mod:`.cache`) and writes the
shard's output file atomically. The client keeps ``OUTPUT/manifest.json`` up to date as
shards finish: what ran (command, settings, input sha256, versions) and, per shard, its
record range, counts and the output's sha256. A rerun with the same job skips every
shard the manifest lists with a matching file; a different job (new settings or input)
starts over. Dask reschedules the shard of a worker that dies (up to
``distributed.scheduler.allowed-failures`` times); since every shard is written whole
under a fixed name, a retried shard is neither lost nor duplicated. The docs of a
``.spacy`` input wait for their workers in one file per shard under
``OUTPUT/.input-parts/`` (:func:`spacy_xlie.corpora.shards.split_docbin_input`), removed
once every shard is done.

Bad input (an :class:`~spacy_xlie.errors.XlieDataError` in a shard, e.g. without
``--skip-invalid``) stops the job with that error; a shard lost to its workers (Dask's
``KilledWorker``) is reported as a failure and the other shards go on.
"""

import datetime
import hashlib
import json
import logging
import os
import platform
import re
import shlex
import shutil
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..corpora.shards import PARTS_DIR, Shard
from ..errors import XlieDataError
from ..util.cache import load_seconds, path_signature
from ..util.io import write_json
from ..util.memory import peak_rss_mb

MANIFEST = "manifest.json"
SHARD_NAME = re.compile(r"shard-\d+\.(spacy|jsonl)")
#: The temporary file of a shard being written (:func:`spacy_xlie.util.io.atomic_path`).
SHARD_TEMP = re.compile(r"\.shard-\d+\.(spacy|jsonl)\..+\.tmp")
#: Seconds between two manifest writes while shards finish (always written at the end).
MANIFEST_INTERVAL = 1.0
MAX_ERRORS = 20


class ShardError(RuntimeError):
    """A shard failed on bad input; the message is the ``FILE:LINE: field: what`` error.

    Raised in place of :class:`XlieDataError`, whose extra constructor arguments do not
    survive pickling back from a worker.
    """


class ShardJob(Protocol):
    """What a corpus command runs on each shard. Keep it small: it is sent with every
    task, so it holds paths and settings, never a loaded pipeline."""

    name: str
    #: Output file suffix: ``.spacy`` (DocBin) or ``.jsonl``.
    suffix: str
    #: Files whose content decides the output (hashed into the manifest).
    inputs: List[str]
    #: Pipelines / KBs by path (identified by size and mtime of their files).
    resources: List[str]
    #: Every other setting that decides the output (JSON-serialisable).
    settings: Dict[str, Any]

    def run(self, shard: Shard, path: Path) -> Dict[str, Any]:
        """Process ``shard`` and write its output to ``path`` atomically; return
        ``{"docs", "skipped", "errors", "stats"}`` (stats: nested counts, summed)."""


def run_shard(job: ShardJob, shard: Shard, output_dir: str) -> Dict[str, Any]:
    """One shard, on whatever process runs it; returns its manifest entry."""
    start = time.perf_counter()
    loading = load_seconds()
    path = Path(output_dir) / shard.name(job.suffix)
    try:
        result = job.run(shard, path)
    except XlieDataError as err:
        raise ShardError(str(err)) from None
    return {
        "index": shard.index,
        "first_line": shard.first_line,
        "records": shard.records,
        "docs": result["docs"],
        "skipped": result["skipped"],
        "errors": result["errors"][:MAX_ERRORS],
        "stats": result["stats"],
        "sha256": sha256_file(path),
        "seconds": round(time.perf_counter() - start, 4),
        "load_seconds": round(load_seconds() - loading, 4),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "peak_rss_mb": peak_rss_mb(),
    }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def merge_counts(total: Dict[str, Any], part: Dict[str, Any]) -> Dict[str, Any]:
    """Add nested counts of ``part`` into ``total`` (numbers summed, dicts merged)."""
    for key, value in part.items():
        if isinstance(value, dict):
            merge_counts(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value
    return total


def versions() -> Dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("spacy-xlie", "spacy", "thinc", "srsly", "dask", "distributed"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


@dataclass
class JobSummary:
    """What a run did: counts over all shards (finished now or before) and per worker."""

    output: str
    shards: int = 0
    ran: int = 0
    reused: int = 0
    docs: int = 0
    skipped: int = 0
    errors: List[str] = field(default_factory=list)
    failures: List[Dict[str, str]] = field(default_factory=list)
    stats: Dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    workers: Dict[str, Dict[str, float]] = field(default_factory=dict)
    entries: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, entry: Dict[str, Any], *, reused: bool) -> None:
        self.entries[name] = entry
        self.reused += reused
        self.ran += not reused
        self.docs += entry["docs"]
        self.skipped += entry["skipped"]
        self.errors.extend(entry["errors"][: MAX_ERRORS - len(self.errors)])
        merge_counts(self.stats, entry["stats"])
        if not reused:
            worker = self.workers.setdefault(entry["worker"], {
                "shards": 0, "docs": 0, "seconds": 0.0, "load_seconds": 0.0, "peak_rss_mb": 0.0})
            worker["shards"] += 1
            worker["docs"] += entry["docs"]
            worker["seconds"] = round(worker["seconds"] + entry["seconds"], 4)
            worker["load_seconds"] = round(worker["load_seconds"] + entry["load_seconds"], 4)
            worker["peak_rss_mb"] = max(worker["peak_rss_mb"], entry["peak_rss_mb"])

    @property
    def complete(self) -> bool:
        return len(self.entries) == self.shards

    def to_dict(self) -> Dict[str, Any]:
        return {
            "output": self.output, "shards": self.shards, "ran": self.ran,
            "reused": self.reused, "docs": self.docs, "skipped": self.skipped,
            "errors": self.errors, "failures": self.failures,
            "seconds": round(self.seconds, 3), "workers": self.workers,
        }


class Manifest:
    """``OUTPUT/manifest.json``: the job's identity and one entry per finished shard."""

    def __init__(self, output_dir: Path, job: ShardJob, shards: List[Shard],
                 command: Optional[str]) -> None:
        self.path = output_dir / MANIFEST
        self.output_dir = output_dir
        self.job = job
        self.header = {
            "job": job.name,
            "command": command or shlex.join(["spacy-xlie", *sys.argv[1:]]),
            "settings": job.settings,
            "inputs": {p: {"bytes": os.path.getsize(p), "sha256": sha256_file(Path(p))}
                       for p in job.inputs},
            "resources": {p: path_signature(p) for p in job.resources},
            "shards": [[s.start, s.stop] for s in shards],
            "versions": versions(),
        }
        self.fingerprint = hashlib.sha256(json.dumps(
            {k: v for k, v in self.header.items() if k not in ("command", "versions")}
            | {"versions": {k: v for k, v in self.header["versions"].items()
                            if k in ("spacy-xlie", "spacy")}},
            sort_keys=True).encode("utf8")).hexdigest()
        self.entries: Dict[str, Dict[str, Any]] = {}
        self._written = 0.0

    def load_finished(self) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
        """Entries of an earlier run of the same job whose files are intact, and the
        files of a different job's run (to be replaced)."""
        if not self.path.exists():
            return {}, []
        old = json.loads(self.path.read_text(encoding="utf8"))
        if old.get("fingerprint") != self.fingerprint:
            return {}, list(old.get("entries", {}))
        finished = {}
        for name, entry in old.get("entries", {}).items():
            path = self.output_dir / name
            if path.exists() and sha256_file(path) == entry.get("sha256"):
                finished[name] = entry
        return finished, []

    def write(self, summary: JobSummary, *, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._written < MANIFEST_INTERVAL:
            return
        self._written = now
        write_json({
            **self.header, "fingerprint": self.fingerprint,
            "updated": datetime.datetime.now().isoformat(timespec="seconds"),
            "complete": summary.complete, "docs": summary.docs, "skipped": summary.skipped,
            "failures": summary.failures,
            "entries": dict(sorted(summary.entries.items())),
        }, self.path)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("shards · {task.fields[docs]:,} docs · {task.fields[rate]:,.0f} docs/s"),
        TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled, transient=True,
    )


def run_job(
    job: ShardJob,
    shards: List[Shard],
    output_dir: Path,
    *,
    workers: int = 1,
    scheduler: Optional[str] = None,
    command: Optional[str] = None,
    show_progress: bool = True,
) -> JobSummary:
    """Run every shard not finished before; raise :class:`ShardError` on bad input.

    ``workers`` > 1 starts a ``LocalCluster`` of that many single-threaded worker
    processes on 127.0.0.1; ``scheduler`` (``tcp://HOST:PORT``) uses an existing Dask
    cluster instead, whose workers must reach the same paths (inputs, model or KB, and
    ``output_dir``: a shared filesystem). With neither, shards run in this process.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(output_dir, job, shards, command)
    finished, stale = manifest.load_finished()
    for name in stale:
        if SHARD_NAME.fullmatch(name):  # never a path the manifest could point elsewhere
            (output_dir / name).unlink(missing_ok=True)
    summary = JobSummary(output=str(output_dir), shards=len(shards))
    for shard in shards:
        name = shard.name(job.suffix)
        if name in finished:
            summary.add(name, finished[name], reused=True)
    todo = [s for s in shards if s.name(job.suffix) not in finished]
    start = time.perf_counter()
    docs_before = summary.docs
    with _progress(show_progress) as progress:
        task = progress.add_task(job.name, total=len(shards), completed=summary.reused,
                                 docs=summary.docs, rate=0.0)

        def finished_one(name: str, entry: Dict[str, Any]) -> None:
            summary.add(name, entry, reused=False)
            manifest.write(summary, force=False)
            rate = (summary.docs - docs_before) / max(time.perf_counter() - start, 1e-9)
            progress.update(task, advance=1, docs=summary.docs, rate=rate)

        try:
            if scheduler is None and workers <= 1:
                for shard in todo:
                    finished_one(shard.name(job.suffix), run_shard(job, shard, str(output_dir)))
            else:
                _run_dask(job, todo, output_dir, workers, scheduler, finished_one, summary)
        finally:
            summary.seconds = time.perf_counter() - start
            manifest.write(summary)
            remove_shard_temps(output_dir)
    if summary.complete:  # a rerun of an unfinished job still needs its input parts
        shutil.rmtree(output_dir / PARTS_DIR, ignore_errors=True)
    return summary


def remove_shard_temps(output_dir: Path) -> None:
    """Delete the temporary shard files of processes killed while they wrote (a worker
    SIGKILLed mid-shard cannot clean up; its shard was rerun elsewhere). Called when the
    job's own workers are done, so no live writer loses its file."""
    for path in output_dir.iterdir():
        if SHARD_TEMP.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _run_dask(
    job: ShardJob,
    shards: List[Shard],
    output_dir: Path,
    workers: int,
    scheduler: Optional[str],
    finished_one: Callable[[str, Dict[str, Any]], None],
    summary: JobSummary,
) -> None:
    from distributed import Client, KilledWorker, LocalCluster, as_completed

    if scheduler is not None:
        cluster = None
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               silence_logs=logging.CRITICAL)
        client = Client(cluster)
    try:
        run_id = uuid.uuid4().hex[:8]
        futures = {
            client.submit(run_shard, job, shard, str(output_dir), pure=False,
                          key=f"xlie-{job.name}-{run_id}-{shard.index:05d}"): shard
            for shard in shards
        }
        for future in as_completed(list(futures)):
            shard = futures[future]
            name = shard.name(job.suffix)
            if future.status == "finished":
                finished_one(name, future.result())
                continue
            error = future.exception()
            if isinstance(error, KilledWorker):
                summary.failures.append({"shard": name, "error": f"workers died: {error}"})
                continue
            client.cancel(list(futures))
            summary.failures.append({"shard": name, "error": str(error)})
            raise error
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

