"""Distant-supervision labelling of a corpus by shards (``spacy-xlie label``).

INPUT is plain text (``.txt``: one doc per non-empty line), JSONL (``.jsonl``: objects
``{"text": ..., "id"?: ..., "lang"?: ...}``) or a ``.spacy`` DocBin. The input is cut
into shards of ``--shard-size`` records (:mod:`spacy_xlie.distributed`); each shard is
labelled into ``OUTPUT/shard-NNNNN.spacy``, written atomically, and recorded in
``OUTPUT/manifest.json``, so a rerun skips finished shards. Shards run in this process,
on ``--workers N`` local processes (a Dask ``LocalCluster``) or on an existing Dask
cluster (``--scheduler tcp://HOST:PORT``); the output is the same in every case. Docs
carry ``doc._.xlie_id`` (record id, or ``FILE:LINE``) and ``doc._.xlie_lang``. A
record's ``lang`` overrides ``--lang``; consecutive records of one language are
labelled together.
"""

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from spacy.tokens import Doc

from ..corpora.base import input_kind
from ..corpora.records import read_records
from ..corpora.shards import Shard, is_docbin, plan_shards, split_docbin_input
from ..errors import XlieDataError
from ..labeling import (
    Labelers,
    LabelReport,
    Record,
    build_labeler_nlp,
    label_records,
    label_report,
    texts,
)
from ..util.cache import cached
from ..util.io import write_docbin
from .engine import run_job


@dataclass
class LabelJob:
    """Distant labelling of one input file with a KB given by path (see the module)."""

    kb_path: str
    input_path: str
    lang: str
    config: Dict[str, Any]
    skip_invalid: bool = False
    batch_size: int = 1000
    n_process: int = 1
    name: str = "label"
    suffix: str = ".spacy"

    @property
    def inputs(self) -> List[str]:
        return [self.input_path]

    @property
    def resources(self) -> List[str]:
        return [self.kb_path]

    @property
    def settings(self) -> Dict[str, Any]:
        return {"lang": self.lang, "config": self.config, "skip_invalid": self.skip_invalid}

    def labelers(self) -> Labelers:
        key = json.dumps(self.config, sort_keys=True)
        return cached("labelers", self.kb_path, key, lambda: Labelers(self.kb_path, self.config))

    def records(self, shard: Shard, labelers: Labelers) -> Iterator[object]:
        path = Path(self.input_path)
        vocab = labelers(self.lang, path, shard.first_line).vocab if is_docbin(path) else None
        return label_records(read_records(path, shard, vocab=vocab), self.lang)

    def run(self, shard: Shard, out: Path) -> Dict[str, Any]:
        report = LabelReport()
        labelers = self.labelers()

        def valid() -> Iterator[Record]:
            for item in self.records(shard, labelers):
                if isinstance(item, XlieDataError):
                    if not self.skip_invalid:
                        raise item
                    report.skip(item)
                    continue
                yield item  # type: ignore[misc]

        def labelled() -> Iterator[Doc]:
            for code, group in itertools.groupby(valid(), key=lambda rec: rec[4]):
                group = iter(group)
                first = next(group)
                nlp = labelers(code, Path(first[0]), first[1])
                meta: List[Tuple[str, str]] = []
                docs = nlp.pipe(texts(itertools.chain([first], group), meta),
                                batch_size=self.batch_size, n_process=self.n_process)
                for i, doc in enumerate(docs):
                    doc._.xlie_id, doc._.xlie_lang = meta[i]
                    report.add(doc, code)
                    yield doc

        write_docbin(labelled(), out)
        return {"docs": report.docs, "skipped": report.skipped, "errors": report.errors,
                "stats": report.counts()}


def label_corpus(
    kb_path: Path,
    input_path: Path,
    output_dir: Path,
    *,
    lang: str,
    config: Optional[dict] = None,
    n_process: int = 1,
    batch_size: int = 1000,
    shard_size: int = 10_000,
    skip_invalid: bool = False,
    workers: int = 1,
    scheduler: Optional[str] = None,
    show_progress: bool = True,
) -> dict:
    """Label ``input_path`` into DocBin shards under ``output_dir``; returns the report
    (see :func:`label_report`) with the engine's summary under ``"run"``."""
    config = dict(config or {})
    input_kind(input_path)  # an unknown input type fails before any worker starts
    build_labeler_nlp(lang, None, config)  # bad settings fail here, before any worker starts
    job = LabelJob(str(Path(kb_path).resolve()), str(Path(input_path).resolve()), lang, config,
                   skip_invalid=skip_invalid,
                   batch_size=batch_size, n_process=n_process)
    shards = split_docbin_input(plan_shards(input_path, shard_size), output_dir)
    summary = run_job(job, shards, output_dir, workers=workers,
                      scheduler=scheduler, show_progress=show_progress)
    report = label_report(summary.docs, summary.skipped, summary.stats,
                          sorted(summary.entries), summary.errors)
    report["run"] = summary.to_dict()
    return report
