"""The corpus engine on a small labelling job: the same bytes in this process and on a
Dask cluster, resuming from the manifest, bad input stopping the job, and a worker
killed inside its labelling loop whose shard is retried, and a shard whose workers keep
dying that fails alone."""

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import spacy
import srsly
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.corpora.shards import PARTS_DIR, plan_shards
from spacy_xlie.distributed import ShardError, run_job
from spacy_xlie.distributed.label_job import LabelJob, label_corpus
from spacy_xlie.util.io import write_docbin

DUMP = Path(__file__).parent.parent / "kb" / "fixtures" / "wikidata_small.json"
SENTENCES = ["Marie Curie married Pierre Curie.",
             "Pierre Curie worked at the Sorbonne in Paris, France.",
             "Nothing to see here.",
             "Paris is the capital of France."]
#: 24 records, 6 shards of 4.
CORPUS = [{"text": text, "id": f"r{i}"} for i, text in
          enumerate(SENTENCES[i % len(SENTENCES)] for i in range(24))]
#: Only spouses: each "Marie Curie married Pierre Curie." gets the relation both ways.
CONFIG = {"ambiguity": "prior", "label_map": {"P26": "per:spouse"}, "keep_unmapped": False}


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("kb") / "kb"
    result = CliRunner().invoke(app, ["kb", "from-wikidata", str(DUMP), "--out", str(out),
                                      "--lang", "en"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    srsly.write_jsonl(path, CORPUS)
    return path


@pytest.fixture(scope="module")
def reference(kb_dir, corpus, tmp_path_factory):
    """The in-process run: shard name -> bytes."""
    out = tmp_path_factory.mktemp("reference")
    report = label_corpus(kb_dir, corpus, out, lang="en", config=CONFIG, shard_size=4,
                          show_progress=False)
    assert report["docs"] == 24 and report["run"]["shards"] == 6
    assert report["relations"] == {"per:spouse": 12}
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard-*.spacy"))}


def shard_bytes(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard-*.spacy"))}


def manifest(out):
    return json.loads((out / "manifest.json").read_text())


def test_same_bytes_on_a_cluster(kb_dir, corpus, reference, tmp_path, dask_scheduler):
    report = label_corpus(kb_dir, corpus, tmp_path, lang="en", config=CONFIG, shard_size=4,
                          scheduler=dask_scheduler, show_progress=False)
    assert shard_bytes(tmp_path) == reference
    assert report["relations"] == {"per:spouse": 12} and report["docs"] == 24
    data = manifest(tmp_path)
    assert data["complete"] and data["job"] == "label" and data["docs"] == 24
    assert set(data["entries"]) == set(reference)
    assert {e["docs"] for e in data["entries"].values()} == {4}
    assert data["versions"]["distributed"] and data["settings"]["config"] == CONFIG
    # Two worker processes shared the shards, each loading the KB once for all of them.
    assert len(report["run"]["workers"]) == 2


def test_rerun_skips_finished_shards(kb_dir, corpus, reference, tmp_path):
    def run(**config):
        return label_corpus(kb_dir, corpus, tmp_path, lang="en", config={**CONFIG, **config},
                            shard_size=4, show_progress=False)["run"]

    assert run()["ran"] == 6
    assert (run()["ran"], run()["reused"]) == (0, 6)
    (tmp_path / "shard-00002.spacy").unlink()
    with open(tmp_path / "shard-00004.spacy", "ab") as f:
        f.write(b"x")  # a damaged file: its sha256 no longer matches the manifest
    assert (run()["ran"], run()["reused"]) == (2, 6)
    assert shard_bytes(tmp_path) == reference
    assert run(negative_ratio=0.0)["ran"] == 6  # another job: nothing reused
    assert manifest(tmp_path)["settings"]["config"]["negative_ratio"] == 0.0
    assert shard_bytes(tmp_path) != reference


def test_temp_files_of_killed_writers_are_removed(kb_dir, corpus, reference, tmp_path):
    """A process SIGKILLed while it wrote a shard leaves its temporary file; the next
    run of the job removes it, and nothing else."""
    (tmp_path / ".shard-00003.spacy.k2n4bq.tmp").write_bytes(b"half a shard")
    (tmp_path / ".notes.txt.tmp").write_text("not ours")
    label_corpus(kb_dir, corpus, tmp_path, lang="en", config=CONFIG, shard_size=4,
                 show_progress=False)
    assert shard_bytes(tmp_path) == reference
    assert sorted(p.name for p in tmp_path.glob(".*")) == [".notes.txt.tmp"]


def test_docbin_input_by_shard_files(kb_dir, tmp_path, dask_scheduler):
    """A .spacy input: the client cuts it into one file per shard (the workers read only
    theirs); the same bytes in this process and on the cluster; the files are removed
    when the job is done, and kept for the rerun when it stops on bad input."""
    nlp = spacy.blank("en")
    docs = [nlp(record["text"]) for record in CORPUS]
    for doc, record in zip(docs, CORPUS):
        doc._.xlie_id = record["id"]
    path = tmp_path / "corpus.spacy"
    write_docbin(docs, path)
    runs = {}
    for name, scheduler in (("one", None), ("many", dask_scheduler)):
        report = label_corpus(kb_dir, path, tmp_path / name, lang="en", config=CONFIG,
                              shard_size=4, scheduler=scheduler, show_progress=False)
        assert report["relations"] == {"per:spouse": 12} and report["docs"] == 24
        assert not (tmp_path / name / PARTS_DIR).exists()
        runs[name] = shard_bytes(tmp_path / name)
    assert len(runs["one"]) == 6 and runs["one"] == runs["many"]
    docs[9]._.xlie_lang = "de"  # stops the job in its third shard
    write_docbin(docs, path)
    with pytest.raises(ShardError, match="corpus.spacy:10: lang"):
        label_corpus(kb_dir, path, tmp_path / "bad", lang="en", config=CONFIG, shard_size=4,
                     show_progress=False)
    assert len(list((tmp_path / "bad" / PARTS_DIR).glob("input-*.spacy"))) == 6


def test_bad_record_stops_the_job(kb_dir, tmp_path, dask_scheduler):
    records = [json.dumps(r) for r in CORPUS]
    records[13] = '{"txt": "no text"}'  # line 14, in the fourth shard
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text("\n".join(records) + "\n", encoding="utf8")
    out = tmp_path / "out"
    with pytest.raises(ShardError, match=r"bad.jsonl:14: text: missing or empty string"):
        label_corpus(kb_dir, corpus, out, lang="en", config=CONFIG, shard_size=4,
                     scheduler=dask_scheduler, show_progress=False)
    data = manifest(out)
    assert not data["complete"] and "shard-00003.spacy" not in data["entries"]
    assert data["failures"][0]["shard"] == "shard-00003.spacy"
    assert not list(out.glob(".*"))  # no temporary file left behind
    report = label_corpus(kb_dir, corpus, out, lang="en", config=CONFIG, shard_size=4,
                          scheduler=dask_scheduler, skip_invalid=True, show_progress=False)
    assert (report["docs"], report["skipped"]) == (23, 1)
    assert report["errors"] == [f"{corpus}:14: text: missing or empty string"]


@dataclass
class SlowLabelJob(LabelJob):
    """The label job, leaving a marker ``INDEX-PID`` from inside its labelling loop (one
    record labelled, the next being read) and pausing there half a second."""

    markers: str = ""

    def records(self, shard, labelers):
        for n, item in enumerate(super().records(shard, labelers)):
            if n == 1:
                Path(self.markers, f"{shard.index}-{os.getpid()}").touch()
                time.sleep(0.5)
            yield item


@dataclass
class DyingLabelJob(LabelJob):
    """The label job, whose worker dies (SIGKILL) inside the labelling loop of shard 2."""

    def records(self, shard, labelers):
        for n, item in enumerate(super().records(shard, labelers)):
            if n == 1 and shard.index == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            yield item


def test_killed_worker_shard_is_retried(kb_dir, corpus, reference, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "out"
    job = SlowLabelJob(str(kb_dir), str(corpus), "en", CONFIG, markers=str(markers))
    killed = []

    def kill_first_worker():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            started = list(markers.iterdir())
            if started:
                index, pid = started[0].name.split("-")
                os.kill(int(pid), signal.SIGKILL)
                killed.append((index, pid))
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    summary = run_job(job, plan_shards(corpus, 4), out, workers=2, show_progress=False)
    killer.join()
    (index, pid), = killed
    runs = sorted(m.name for m in markers.iterdir() if m.name.startswith(f"{index}-"))
    assert len(runs) == 2 and f"{index}-{pid}" in runs  # started, killed, run again
    assert summary.complete and summary.failures == [] and summary.docs == 24
    assert shard_bytes(out) == reference  # nothing lost, nothing duplicated
    assert not list(out.glob(".*"))  # no temporary file left


def test_a_shard_whose_workers_keep_dying_fails_alone(kb_dir, corpus, reference, tmp_path):
    """Retries run out (Dask's allowed-failures): the shard is a failure, the others are
    written, and a rerun of the job redoes only that shard."""
    import dask

    out = tmp_path / "out"
    job = DyingLabelJob(str(kb_dir), str(corpus), "en", CONFIG)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        summary = run_job(job, plan_shards(corpus, 4), out, workers=2, show_progress=False)
    # Dask also blames the death on a shard queued behind it on the same worker
    failed = {f["shard"] for f in summary.failures}
    assert "shard-00002.spacy" in failed and len(failed) < 6
    assert all(f["error"].startswith("workers died") for f in summary.failures)
    assert not summary.complete and summary.docs == 4 * (6 - len(failed))
    expected = {name: data for name, data in reference.items() if name not in failed}
    # A shard blamed for the death may have been written before it (its result was lost
    # with the worker): the rerun redoes it all the same.
    written = {name: data for name, data in shard_bytes(out).items() if name not in failed}
    assert written == expected and not list(out.glob(".*"))
    rerun = run_job(LabelJob(str(kb_dir), str(corpus), "en", CONFIG), plan_shards(corpus, 4),
                    out, show_progress=False)
    assert (rerun.ran, rerun.reused) == (len(failed), 6 - len(failed))
    assert shard_bytes(out) == reference
