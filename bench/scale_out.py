"""Benchmark of scale-out: ``nlp.pipe(n_process=2)`` and the Dask engine, 1 vs 2 workers.

    python bench/scale_out.py --data-dir ../shared/data --out bench/results --docs 100000

writes ``scale_out.json`` and ``scale_out.md`` to ``--out``; work files go to
``--work-dir`` (default ``bench/work/scale_out``). On one machine, in one run:

0. the machine's own ceiling: pure-Python arithmetic and allocation, 2 processes vs 1;
1. ``nlp.pipe`` throughput with ``n_process=1`` and ``2`` (the main process and one
   worker, whose docs come back serialised) for the distant labeler, the lexical
   projection aligner component and the CPU relation-extractor pipeline, in a new Python
   process that holds only the pipeline and its input, as a user's script does;
2. the three corpus jobs on a Dask ``LocalCluster`` (single-threaded worker processes,
   started and warmed up before the clock starts) with 1 and with 2 workers, each over
   ``--docs`` records cut into shards of ``--shard-size``:

   * ``label``: KBP37 train sentences (plain text) with a KB made from KBP37 train's
     gold relations (one entity per distinct mention text), so mentions are found and
     pairs labelled as in a real distant-supervision run;
   * ``project``: RELX EN->DE (the only parallel data here), lexical method;
   * ``predict``: KBP37 train docs with gold entities through ``configs/cpu.cfg``,
     initialised but untrained (the speed does not depend on the weights);

   with docs/s per worker, peak RSS per worker, the engine's overhead per shard, the
   scheduler's round trip for an empty task, and a check that 1 and 2 workers wrote
   byte-identical shards; then an estimate of the wall time for 10M records on 32
   workers from those figures.

The load average at start and end and whether a training job ran are recorded: speed
ratios mean little while other jobs use the cores.
"""

import argparse
import datetime
import json
import logging
import os
import platform
import subprocess
import sys
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One thread per process, as Dask's workers get: the 1-process baselines and the workers
# of n_process=2 alike (set before NumPy or torch load their thread pools).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parent.parent
JOBS = ("label", "project", "predict")
TARGET_DOCS = 10_000_000
TARGET_WORKERS = 32


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_state() -> Dict[str, Any]:
    training = subprocess.run(["pgrep", "-f", "spacy train"], capture_output=True, text=True)
    return {"load_avg_1m": round(os.getloadavg()[0], 2),
            "training_job_running": bool(training.stdout.strip())}


class OtherCPU:
    """CPU seconds that processes outside this benchmark's process tree used on the machine
    since construction: 0 on a quiet machine. The machine's busy time (``/proc/stat``) less
    this process's, its live descendants' and its reaped children's."""

    def __init__(self) -> None:
        self.busy, self.own = self._busy(), self._own()

    @staticmethod
    def _busy() -> float:
        import psutil

        t = psutil.cpu_times()
        return (t.user + t.nice + t.system + getattr(t, "irq", 0.0)
                + getattr(t, "softirq", 0.0) + getattr(t, "steal", 0.0))

    @staticmethod
    def _own() -> float:
        import psutil

        me = psutil.Process()
        t = me.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in me.children(recursive=True):
            try:
                c = child.cpu_times()
            except psutil.Error:
                continue
            total += c.user + c.system
        return total

    def seconds(self) -> float:
        return round(max((self._busy() - self.busy) - (self._own() - self.own), 0.0), 2)


# -- the machine's own ceiling -----------------------------------------------------------------
def arithmetic(n: int = 6_000_000) -> int:
    """Pure-Python arithmetic: stays in the core's registers and caches."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def allocation(n: int = 400_000) -> int:
    """Pure-Python dicts, strings and lists: what pipelines do, and memory-bound."""
    table = {}
    for i in range(n):
        table[str(i)] = (i, [i])
    return len(table)


def machine_scaling() -> Dict[str, float]:
    """2 processes vs 1 on the same fixed work (2 × one run's time / two runs' time): what
    any job can gain from a second worker on this machine."""
    from multiprocessing import get_context

    out = {}
    with get_context("spawn").Pool(2) as pool:
        pool.map(abs, [1, 2])  # both processes started
        for func in (arithmetic, allocation):
            best = 0.0
            for _ in range(3):
                start = time.perf_counter()
                pool.apply(func)
                one = time.perf_counter() - start
                start = time.perf_counter()
                for result in [pool.apply_async(func) for _ in range(2)]:
                    result.get()
                best = max(best, 2 * one / (time.perf_counter() - start))
            out[func.__name__] = round(best, 2)
    log(f"machine scaling with 2 processes: {out}")
    return out


# -- inputs ---------------------------------------------------------------------------------
def kbp37_docs(data_dir: Path) -> list:
    from spacy_xlie.corpora.marked import read_marked

    return list(read_marked(data_dir / "kbp37" / "train.txt", "en", pretokenized=True,
                            skip_invalid=True))


def build_kb(docs: list, path: Path) -> Dict[str, int]:
    """Entities = distinct mention texts, triples = KBP37 train's gold relations."""
    from spacy_xlie.kb.relation_kb import RelationKB

    kb = RelationKB()
    seen = set()
    for doc in docs:
        for rel in doc._.relations:
            ids = []
            for span in (rel.head, rel.tail):
                entity_id = "E:" + span.text.lower()
                if entity_id not in seen:
                    kb.add_entity(entity_id, aliases={"en": [span.text]})
                    seen.add(entity_id)
                ids.append(entity_id)
            if ids[0] != ids[1]:
                kb.add_triple(ids[0], rel.label, ids[1])
    kb.to_disk(path)
    return {"entities": len(kb), "aliases": kb.n_aliases, "triples": kb.n_triples}


def build_model(docs: list, path: Path) -> None:
    """configs/cpu.cfg initialised on KBP37 labels, untrained."""
    from spacy.training import Example
    from spacy.util import fix_random_seed, load_config, load_model_from_config

    fix_random_seed(0)
    nlp = load_model_from_config(load_config(REPO / "configs" / "cpu.cfg"), auto_fill=True)
    examples = [Example(nlp.make_doc(d.text), d) for d in docs[:500]]
    nlp.initialize(lambda: examples)
    nlp.to_disk(path)


def relx_pairs(data_dir: Path) -> list:
    from spacy_xlie.alignment.evaluation import load_parallel

    relx = data_dir / "relx"
    return load_parallel(relx / "RELX_en.txt", relx / "RELX_de.txt", "en", "de")


def prepare(data_dir: Path, work: Path, n_docs: int) -> Dict[str, Any]:
    from spacy_xlie.util.io import write_docbin, write_jsonl, write_text

    work.mkdir(parents=True, exist_ok=True)
    docs = kbp37_docs(data_dir)
    info = {"kbp37_train_docs": len(docs), "kb": build_kb(docs, work / "kb")}
    build_model(docs, work / "model")
    write_text("".join(d.text + "\n" for d in islice(cycle(docs), n_docs)), work / "label.txt")
    gold = []
    for i, doc in enumerate(islice(cycle(docs), n_docs)):
        copy = doc.copy()
        copy._.xlie_id = f"kbp37-{i}"
        gold.append(copy)
    write_docbin(gold, work / "predict.spacy")
    pairs = relx_pairs(data_dir)
    sources, targets = [], []
    for i, pair in enumerate(islice(cycle(pairs), n_docs)):
        src = pair.src.copy()
        src._.xlie_id = f"relx-{i}"
        sources.append(src)
        targets.append({"id": f"relx-{i}", "text": pair.tgt.text})
    write_docbin(sources, work / "project_src.spacy")
    write_jsonl(targets, work / "project_tgt.jsonl")
    info["relx_pairs"] = len(pairs)
    return info


# -- 1. nlp.pipe(n_process) ------------------------------------------------------------------
def pipe_run(nlp, items: list, n_process: int, batch_size: int) -> Dict[str, float]:
    """Docs/s over the whole call (workers' start-up included) and the time to first doc."""
    other = OtherCPU()
    start = time.perf_counter()
    first = None
    count = 0
    for _ in nlp.pipe(items, n_process=n_process, batch_size=batch_size):
        count += 1
        if first is None:
            first = time.perf_counter() - start
    wall = time.perf_counter() - start
    return {"docs": count, "wall_s": round(wall, 3), "first_doc_s": round(first or 0.0, 3),
            "docs_per_second": round(count / wall, 1), "other_cpu_s": other.seconds()}


def pipe_startup(nlp, n_process: int) -> float:
    """Seconds to start and stop the workers of ``nlp.pipe(n_process=...)`` on no input."""
    start = time.perf_counter()
    list(nlp.pipe([], n_process=n_process))
    return time.perf_counter() - start


def transport_costs(nlp, items: list, batch_size: int) -> Dict[str, float]:
    """Per doc, in one process: processing, and the round trip of a doc to a worker and
    back with spaCy's ``Doc.to_bytes``/``from_bytes`` and with spacy-xlie's batches
    (``spacy_xlie.patches.multiprocessing_pipe``); inputs count too where they are docs. On
    2 cores the main process runs about half the batches itself and rebuilds the worker's
    docs, so about half the docs make the trip: 2 / (1 + transport / (2 x processing))
    bounds the speedup."""
    import gc

    from spacy.tokens import Doc

    from spacy_xlie.patches.multiprocessing_pipe import (
        DocPacker,
        _pack_inputs,
        _unpack_inputs,
        unpack_docs,
    )

    def clock(func: Callable[[], Any]) -> float:
        start = time.perf_counter()
        func()
        return 1000 * (time.perf_counter() - start) / len(items)

    def batches(docs: list) -> list:
        return [docs[i:i + batch_size] for i in range(0, len(docs), batch_size)]

    def discard(docs: Iterable) -> None:
        for _ in docs:
            pass

    out: List[Any] = []
    process = clock(lambda: out.extend(nlp.pipe(items, batch_size=batch_size)))
    gc.collect()
    spacy_ms = fast_ms = 0.0
    inputs = [d for d in items if isinstance(d, Doc)]
    for docs in ([inputs] if inputs else []) + [out]:
        data: List[Any] = []
        spacy_ms += clock(lambda docs=docs, data=data: data.extend(d.to_bytes() for d in docs))
        spacy_ms += clock(lambda data=data: discard(Doc(nlp.vocab).from_bytes(b) for b in data))
    if inputs:
        packer = DocPacker()
        msgs: List[Any] = []
        fast_ms += clock(lambda: msgs.extend(_pack_inputs(packer, [(d, None) for d in b])
                                             for b in batches(inputs)))
        fast_ms += clock(lambda: discard(_unpack_inputs(nlp.vocab, m) for m in msgs))
    packer = DocPacker()
    payloads: List[Any] = []
    fast_ms += clock(lambda: payloads.extend(packer.pack(b) for b in batches(out)))
    fast_ms += clock(lambda: discard(d for p in payloads for d in unpack_docs(nlp.vocab, p)))
    return {"process_ms": round(process, 4),
            "spacy_bytes_ms": round(spacy_ms, 4), "xlie_batches_ms": round(fast_ms, 4),
            "bound_spacy_bytes": round(2 / (1 + spacy_ms / (2 * process)), 2),
            "bound_xlie_batches": round(2 / (1 + fast_ms / (2 * process)), 2)}


def n_process_fresh(work: Path, data_dir: Path, n_docs: int, repeats: int) -> Dict[str, Any]:
    """:func:`n_process_rates` in a new Python process, as a user's script would run
    ``nlp.pipe``: holding the pipeline and its input, not the heap left from building the
    benchmark's inputs (the KB, the model, ``--docs`` records). ``n_process`` forks the caller,
    and every page that the caller or a worker then writes is copied, so a large leftover
    heap slows the runs with 2 processes and not the runs with 1."""
    out = work / "n_process.json"
    subprocess.run([sys.executable, str(Path(__file__).resolve()),
                    "--data-dir", str(data_dir.resolve()), "--work-dir", str(work),
                    "--n-process-docs", str(n_docs), "--repeats", str(repeats),
                    "--n-process-only", str(out)], check=True)
    return json.loads(out.read_text(encoding="utf8"))


def n_process_rates(work: Path, data_dir: Path, n_docs: int, repeats: int) -> Dict[str, Any]:
    import spacy
    import torch
    from spacy.tokens import DocBin

    from spacy_xlie.alignment.evaluation import strip_annotations
    from spacy_xlie.alignment.projection import attach_source
    from spacy_xlie.kb.relation_kb import RelationKB

    out: Dict[str, Any] = {}
    # Baseline: 1 process with 1 thread; with 2, the main process and its worker have 1
    # thread each (OMP/OpenBLAS/MKL set to 1 above; torch capped here and in the worker).
    torch.set_num_threads(1)

    def measure(name: str, nlp, make_items: Callable[[], list], batch_size: int) -> None:
        list(nlp.pipe(make_items()[:200]))  # warm-up: indexes, caches
        runs: Dict[str, List[Dict[str, float]]] = {"1": [], "2": []}
        for _ in range(repeats):  # 1, 2, 1, 2, ...: a passing disturbance hits one run
            for n in ("1", "2"):
                runs[n].append(pipe_run(nlp, make_items(), int(n), batch_size))
        startup = pipe_startup(nlp, 2)
        one, two = (max(runs[n], key=lambda r: r["docs_per_second"]) for n in ("1", "2"))
        out[name] = {
            "docs": one["docs"], "batch_size": batch_size,
            "1": one["docs_per_second"], "2": two["docs_per_second"],
            "speedup": round(two["docs_per_second"] / one["docs_per_second"], 2),
            "startup_2_s": round(startup, 3),
            "speedup_without_startup": round(
                one["wall_s"] / max(two["wall_s"] - startup, 1e-9), 2),
            "runs": runs,
            "transport_ms_per_doc": transport_costs(nlp, make_items()[:2000], batch_size),
        }
        log(f"n_process {name}: {out[name]}")

    texts = (work / "label.txt").read_text(encoding="utf8").splitlines()[:n_docs]
    labeler = spacy.blank("en")
    labeler.add_pipe("xlie_distant_labeler").set_kb(RelationKB.from_disk(work / "kb"))
    measure("distant_labeler", labeler, lambda: texts, 1000)

    pairs = relx_pairs(data_dir)
    projector = spacy.blank("de")
    projector.add_pipe("xlie_projection_aligner",
                       config={"aligner": {"@misc": "spacy_xlie.lexical_aligner.v2"}})
    n_pairs = max(n_docs // 2, 500)
    measure("lexical_projection", projector, lambda: [
        attach_source(strip_annotations(p.tgt), p.src)
        for p in islice(cycle(pairs), n_pairs)], 64)

    model = spacy.load(work / "model")
    n_gold = max(n_docs // 10, 500)
    docbin = DocBin().from_disk(work / "predict.spacy")
    gold = list(islice(docbin.get_docs(model.vocab), n_gold))
    measure("relation_extractor_cpu", model, lambda: [d.copy() for d in gold], 64)
    # The extractor's 1-process rate with torch's default thread count: its CPU model
    # runs on thinc's NumpyOps (blis, one thread), so threads should not matter.
    subset = gold[:min(len(gold), 1500)]
    threads = {}
    for n_threads in (torch.get_num_interop_threads() or 2, 1):
        torch.set_num_threads(n_threads)
        threads[str(n_threads)] = pipe_run(model, [d.copy() for d in subset], 1,
                                           64)["docs_per_second"]
    torch.set_num_threads(1)
    out["relation_extractor_cpu"]["one_process_by_torch_threads"] = threads
    return out


# -- 2. the Dask engine ----------------------------------------------------------------------
def jobs(work: Path, shard_size: int) -> Dict[str, Callable[[], tuple]]:
    """Job name -> a function giving (job, shards), planned as the commands plan them."""
    from spacy_xlie.corpora.shards import plan_shards
    from spacy_xlie.distributed.label_job import LabelJob
    from spacy_xlie.distributed.predict_job import PredictJob
    from spacy_xlie.distributed.project_job import ProjectJob, plan_projection

    def label():
        job = LabelJob(str(work / "kb"), str(work / "label.txt"), "en", {})
        return job, plan_shards(work / "label.txt", shard_size)

    def project():
        src, tgt = work / "project_src.spacy", work / "project_tgt.jsonl"
        shards, pairing, _ = plan_projection(src, tgt, shard_size, False)
        return ProjectJob(str(src), str(tgt), "de", "en", "lexical", pairing), shards

    def predict():
        job = PredictJob(str(work / "model"), str(work / "predict.spacy"), entities="given")
        return job, plan_shards(work / "predict.spacy", shard_size)

    return {"label": label, "project": project, "predict": predict}


def start_cluster(n_workers: int):
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0",
                           silence_logs=logging.CRITICAL)
    client = Client(cluster)
    # what a job unpickles
    client.run(lambda: __import__("spacy_xlie.distributed.label_job") and None)
    return cluster, client, time.perf_counter() - start


def empty_task_ms(client, n: int = 2000) -> float:
    """The scheduler's round trip per task: submit n no-op tasks, gather them."""
    start = time.perf_counter()
    client.gather(client.map(int, range(n), pure=False))
    return 1000 * (time.perf_counter() - start) / n


def run_scaling(work: Path, shard_size: int) -> Dict[str, Any]:
    from spacy_xlie.distributed import run_job

    results: Dict[str, Any] = {"runs": {}, "cluster_start_s": {}}
    planned = {name: make() for name, make in jobs(work, shard_size).items()}
    for n_workers in (1, 2):
        cluster, client, started = start_cluster(n_workers)
        results["cluster_start_s"][str(n_workers)] = round(started, 2)
        if n_workers == 2:
            results["empty_task_ms"] = round(empty_task_ms(client), 3)
        try:
            for name, (job, shards) in planned.items():
                out = work / "out" / f"{name}-{n_workers}"
                for old in out.glob("*"):
                    old.unlink()
                log(f"{name}: {n_workers} worker(s), {len(shards)} shards")
                other = OtherCPU()
                start = time.perf_counter()
                summary = run_job(job, shards, out, scheduler=cluster.scheduler_address,
                                  show_progress=False)
                wall = time.perf_counter() - start
                other_cpu = other.seconds()
                busy = sum(w["seconds"] for w in summary.workers.values())
                results["runs"].setdefault(name, {})[str(n_workers)] = {
                    "docs": summary.docs, "shards": summary.shards, "wall_s": round(wall, 2),
                    "docs_per_second": round(summary.docs / wall, 1),
                    "per_worker": {
                        w: {"docs": s["docs"], "busy_s": s["seconds"],
                            "load_s": s["load_seconds"],
                            "docs_per_busy_second": round(
                                s["docs"] / (s["seconds"] - s["load_seconds"]), 1),
                            "peak_rss_mb": s["peak_rss_mb"]}
                        for w, s in summary.workers.items()},
                    # Wall-clock time not spent inside a shard: scheduling, waiting for the
                    # last shard, writing the manifest (loading happens inside shards).
                    "overhead_per_shard_s": round((wall * n_workers - busy) / summary.shards, 3),
                    "sha256": {k: e["sha256"] for k, e in sorted(summary.entries.items())},
                    "complete": summary.complete,
                    "other_cpu_s": other_cpu,
                }
                log(f"{name}: {n_workers} worker(s): {summary.docs / wall:.0f} docs/s")
        finally:
            client.close()
            cluster.close()
    return results


def estimate(runs: Dict[str, Any], cluster_start: float, shard_size: int) -> Dict[str, Any]:
    """Wall time for TARGET_DOCS on TARGET_WORKERS workers, from the 2-worker run: the
    slower worker's rate (time in shards less loading, contention included), its one-time
    load of the pipeline or KB, the engine's overhead per shard, and the cluster start-up."""
    out = {}
    for name, by_workers in runs.items():
        two = by_workers["2"]
        rate = min(w["docs_per_busy_second"] for w in two["per_worker"].values())
        load = max(w["load_s"] for w in two["per_worker"].values())
        shards = -(-TARGET_DOCS // shard_size)
        compute = TARGET_DOCS / (rate * TARGET_WORKERS)
        overhead = shards * max(two["overhead_per_shard_s"], 0.0) / TARGET_WORKERS
        total = cluster_start + load + compute + overhead
        out[name] = {"per_worker_docs_per_second": rate, "shards": shards,
                     "startup_s": round(cluster_start, 1), "load_s": round(load, 1),
                     "compute_s": round(compute, 1), "overhead_s": round(overhead, 1),
                     "total_minutes": round(total / 60, 1)}
    return out


def markdown(report: Dict[str, Any]) -> str:
    m = report["machine"]
    training = (report["state_start"]["training_job_running"]
                or report["state_end"]["training_job_running"])
    lines = [
        "# Scale-out benchmark", "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}; machine: {m['platform']}, {m['cpu_count']} CPUs, "
        f"Python {m['python']}; dask {report['versions'].get('distributed', '?')}  ",
        f"Load average (1 min) at start {report['state_start']['load_avg_1m']}, at end "
        f"{report['state_end']['load_avg_1m']}; a training job was running: "
        f"{training}. CPU time used by processes outside the benchmark: "
        + ", ".join(f"{k} {v} s" for k, v in report["other_processes_cpu_s"].items())
        + " (0 on a quiet machine).", "",
        "This machine's own ceiling for a second process (2 × the time of one run / the time "
        "of two runs side by side, pure Python, no I/O), before / after the `n_process` "
        f"runs: {report['machine_scaling_2_processes']['arithmetic']} / "
        f"{report['machine_scaling_2_processes_after_n_process']['arithmetic']} for "
        f"arithmetic, {report['machine_scaling_2_processes']['allocation']} / "
        f"{report['machine_scaling_2_processes_after_n_process']['allocation']} for "
        "dict/list/str allocation, the stuff of tokenising, labelling and serialising docs.",
        "",
        "## 1. `nlp.pipe(n_process=2)` (docs/s; the main process and one worker)",
        "", "| pipeline | docs | batch | n_process=1 | n_process=2 | speedup | workers' "
        "start-up (s) | speedup without start-up | other processes' CPU (s), runs of 1 / of 2 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["n_process"].items():
        lines.append(f"| {name} | {r['docs']} | {r['batch_size']} | {r['1']} | {r['2']} | "
                     f"**{r['speedup']}** | {r['startup_2_s']} | "
                     f"{r['speedup_without_startup']} | "
                     f"{', '.join(str(x['other_cpu_s']) for x in r['runs']['1'])} / "
                     f"{', '.join(str(x['other_cpu_s']) for x in r['runs']['2'])} |")
    threads = report["n_process"]["relation_extractor_cpu"]["one_process_by_torch_threads"]
    lines += [
        "", "Measured in a new Python process that loads the pipeline and its input only "
        "(`n_process` forks the caller, and each page that the caller or a worker writes "
        "is then copied: the heap left from building the benchmark's inputs would slow "
        "the runs with 2 processes and not those with 1). "
        "Baseline: 1 process with 1 thread (OMP/OpenBLAS/MKL threads 1, "
        "`torch.set_num_threads(1)`); with 2, the main process and its worker have 1 thread "
        "each. 1 and 2 processes "
        f"ran alternately, {report['n_process_repeats']} times each; the best of each. "
        "Docs/s over the whole `nlp.pipe` call, the workers' start-up included; start-up = "
        "`nlp.pipe([], n_process=2)` (start and stop the worker), and the column after "
        "leaves it out. The "
        "relation extractor on 1 process with torch's "
        + ", ".join(f"{n} thread(s): {v} docs/s" for n, v in threads.items())
        + " (its CPU model runs on thinc's NumpyOps, one thread).",
        "", "What a doc's trip to a worker and back costs (ms per doc, one process; inputs "
        "count where they are docs) against processing it, and the speedup that leaves on "
        "2 cores, where the main process runs about half the batches itself and rebuilds the "
        "worker's docs, so about half the docs make the trip: "
        "2 / (1 + transport / (2 x processing)).", "",
        "| pipeline | processing | spaCy `to_bytes`/`from_bytes` | bound | spacy-xlie "
        "batches | bound |", "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["n_process"].items():
        t = r["transport_ms_per_doc"]
        lines.append(f"| {name} | {t['process_ms']} | {t['spacy_bytes_ms']} | "
                     f"{t['bound_spacy_bytes']} | {t['xlie_batches_ms']} | "
                     f"{t['bound_xlie_batches']} |")
    lines += [
        "", "`nlp.pipe(n_process=N)` in a pipeline with a spacy-xlie component moves docs in "
        "batches (`spacy_xlie/patches/multiprocessing_pipe.py`): the token attributes of a "
        "whole batch as "
        "one array, each string once per worker, user data pickled, docs rebuilt from "
        "lexeme ids; the main process is one of the N and runs a batch itself whenever the "
        "next result in order is not back yet. The Dask engine below sends no doc back: "
        "each worker reads its shard by path and writes its own DocBin.", "",
        f"## 2. Dask engine, 1 vs 2 workers ({report['docs']:,} records per job, shards of "
        f"{report['shard_size']:,})", "",
        "| job | workers | wall (s) | docs/s | speedup | docs/s per worker | load per worker "
        "(s) | peak RSS per worker (MB) | overhead per shard (s) | identical shards |",
        "|---|---:|---:|---:|---:|---|---|---|---:|---|",
    ]
    for name, by_workers in report["scaling"]["runs"].items():
        for n, r in by_workers.items():
            per = ", ".join(str(w["docs_per_busy_second"]) for w in r["per_worker"].values())
            load = ", ".join(str(w["load_s"]) for w in r["per_worker"].values())
            rss = ", ".join(str(w["peak_rss_mb"]) for w in r["per_worker"].values())
            speed = report["speedup_2_workers"][name] if n == "2" else ""
            same = report["identical_output"][name] if n == "2" else ""
            lines.append(f"| {name} | {n} | {r['wall_s']} | {r['docs_per_second']} | {speed} | "
                         f"{per} | {load} | {rss} | {r['overhead_per_shard_s']} | {same} |")
    s = report["scaling"]
    lines += [
        "", f"Cluster start-up (workers spawned, `spacy_xlie` imported; not in the wall times "
        f"above): {s['cluster_start_s']['1']} s for 1 worker, {s['cluster_start_s']['2']} s "
        f"for 2. Scheduler round trip per empty task (2 workers): {s['empty_task_ms']} ms. "
        "Docs/s per worker: docs over the time the worker spent inside shards, less loading "
        "(the pipeline or KB, once per worker: the load column). Overhead per shard = "
        "(wall × workers − time inside shards) / shards: scheduling, waiting on the last "
        "shard, manifest writes.",
        "", f"## 3. Estimate: {TARGET_DOCS:,} records on {TARGET_WORKERS} workers (on paper)",
        "", "Per job: start-up (this machine's 2-worker figure) + one load per worker (the "
        "slower worker's, in parallel on all workers) + compute = records / (per-worker "
        "docs/s × workers), with the slower worker of the 2-worker run (its rate includes "
        "sharing this machine's 2 cores) + overhead = shards × overhead per shard / workers. "
        "It assumes storage that the workers read and write at this rate, and no shard much "
        "slower than the others.", "",
        "| job | per-worker docs/s | shards | start-up (s) | load (s) | compute (s) | "
        "overhead (s) | total (min) |", "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in report["estimate_10m_32_workers"].items():
        lines.append(f"| {name} | {e['per_worker_docs_per_second']} | {e['shards']} | "
                     f"{e['startup_s']} | {e['load_s']} | {e['compute_s']} | "
                     f"{e['overhead_s']} | {e['total_minutes']} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--work-dir", type=Path, default=Path("bench/work/scale_out"))
    parser.add_argument("--docs", type=int, default=100_000, help="records per job")
    parser.add_argument("--n-process-docs", type=int, default=60_000,
                        help="labeler sentences for the n_process runs (projection: 1/2, "
                             "relation extractor: 1/10), enough for about 10 s or more "
                             "per run, so that the workers' start-up is amortised")
    parser.add_argument("--repeats", type=int, default=2,
                        help="n_process runs: 1 and 2 processes alternately, this many times "
                             "each; the best of each is reported")
    parser.add_argument("--shard-size", type=int, default=10_000)
    parser.add_argument("--n-process-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from spacy_xlie.distributed.engine import versions
    from spacy_xlie.util.io import write_json, write_text

    if args.n_process_only:  # part 1 alone, in the new process n_process_fresh starts
        write_json(n_process_rates(args.work_dir.resolve(), args.data_dir.resolve(),
                                   args.n_process_docs, args.repeats), args.n_process_only)
        return

    state_start = machine_state()
    log(f"machine: {state_start}")
    work = args.work_dir.resolve()
    info = prepare(args.data_dir, work, args.docs)
    log(f"inputs ready: {info}")
    other_cpu = {}
    other = OtherCPU()
    ceiling = machine_scaling()
    other_cpu["machine_scaling"] = other.seconds()
    other = OtherCPU()
    n_process = n_process_fresh(work, args.data_dir, args.n_process_docs, args.repeats)
    other_cpu["n_process"] = other.seconds()
    ceiling_after = machine_scaling()  # the ceiling varies: measured on both sides
    log(f"state after the n_process runs: {machine_state()}; other processes' CPU: "
        f"{other_cpu}")
    other = OtherCPU()
    scaling = run_scaling(work, args.shard_size)
    other_cpu["dask"] = other.seconds()
    runs = scaling["runs"]
    report = {
        "command": "python bench/scale_out.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version()},
        "versions": versions(),
        "docs": args.docs, "shard_size": args.shard_size, "inputs": info,
        "state_start": state_start,
        "other_processes_cpu_s": other_cpu,
        "machine_scaling_2_processes": ceiling,
        "machine_scaling_2_processes_after_n_process": ceiling_after,
        "n_process": n_process,
        "n_process_repeats": args.repeats,
        "speedup_n_process_2": {k: v["speedup"] for k, v in n_process.items()},
        "docs_per_second": {job: {n: r["docs_per_second"] for n, r in by.items()}
                            for job, by in runs.items()},
        "speedup_2_workers": {job: round(by["2"]["docs_per_second"]
                                         / by["1"]["docs_per_second"], 2)
                              for job, by in runs.items()},
        "identical_output": {job: by["1"]["sha256"] == by["2"]["sha256"]
                             for job, by in runs.items()},
        "scaling": scaling,
        "estimate_10m_32_workers": estimate(runs, scaling["cluster_start_s"]["2"],
                                            args.shard_size),
        "state_end": machine_state(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "scale_out.json")
    write_text(markdown(report), args.out / "scale_out.md")
    print(json.dumps({k: report[k] for k in ("speedup_n_process_2", "docs_per_second",
                                              "speedup_2_workers", "identical_output",
                                              "state_start", "state_end")}, indent=1))


if __name__ == "__main__":
    main()
