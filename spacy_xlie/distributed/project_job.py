"""``spacy-xlie project --workers N / --scheduler ADDRESS``: annotation projection by shard.

The client reads only what pairing needs, ids and record positions: every source doc's
``doc._.xlie_id`` (from the DocBin's user data, no doc is built) and every target
record's id, checked as the single-process command checks it. Pairing is
:func:`~spacy_xlie.alignment.corpus.pair_docs` itself, so its rules and errors are the same
and any pairing problem stops the run before a shard starts. A shard is a run of
``--shard-size`` valid target records (a byte range, or a range of docs) with the
position of each one's source doc; the worker reads both files by path, tokenises its
targets, projects and writes ``shard-NNNNN.spacy``.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple

import spacy
from spacy.tokens import Doc, DocBin

from ..alignment import build_aligner, project_batch
from ..alignment.corpus import (
    Target,
    blank_pipelines,
    pair_docs,
    projection_report,
    read_target_records,
)
from ..corpora.base import load_docbin
from ..corpora.shards import (
    PARTS_DIR,
    Shard,
    docbin_extension,
    is_docbin,
    select_docbin,
    shard_docbin,
    write_docbin_parts,
)
from ..errors import XlieDataError
from ..util.cache import cached
from ..util.io import write_docbin, write_json
from .engine import run_job


def _stand_in(rec_id: Optional[str]) -> SimpleNamespace:
    """An object with ``._.xlie_id``: what :func:`pair_docs` reads of a doc."""
    return SimpleNamespace(_=SimpleNamespace(xlie_id=rec_id))


def plan_projection(src: Path, tgt: Path, shard_size: int, skip_invalid: bool
                    ) -> Tuple[List[Shard], str, List[str]]:
    """Shards of valid target records, each with its source docs; the pairing mode and
    the errors of skipped records. Raises :class:`XlieDataError` as the command does."""
    src_bin = load_docbin(src)
    sources = [_stand_in(docbin_extension(src_bin, i, "xlie_id")) for i in range(len(src_bin))]
    targets: List[Target] = []
    skipped: List[str] = []
    for item in read_target_records(tgt):
        if isinstance(item, XlieDataError):
            if not skip_invalid:
                raise item
            skipped.append(str(item))
        else:
            targets.append(item)  # type: ignore[arg-type]
    stand_ins = [_stand_in(t[3]) for t in targets]
    pairs, pairing = pair_docs(sources, stand_ins, src, tgt)  # type: ignore[arg-type]
    if skipped and pairing == "order":
        raise XlieDataError(f"{len(skipped)} invalid line(s) skipped: pairing by order would "
                            "shift every later sentence; give ids or fix the lines", tgt)
    position = {id(s): i for i, s in enumerate(sources)}
    source_of = [position[id(s)] for s, _ in pairs]
    end = len(load_docbin(tgt)) if is_docbin(tgt) else tgt.stat().st_size
    shards = []
    for index, first in enumerate(range(0, len(targets), shard_size)):
        group = targets[first:first + shard_size]
        # Byte ranges cover the file without gaps, so a skipped line between two groups
        # is read (and skipped, and counted) by exactly one shard.
        start = 0 if index == 0 else group[0][1]
        stop = targets[first + shard_size][1] if first + shard_size < len(targets) else end
        shards.append(Shard(index, str(tgt), start, stop, 1 if index == 0 else group[0][0],
                            len(group), tuple(source_of[first:first + shard_size])))
    return shards, pairing, skipped


def split_inputs(shards: List[Shard], src: Path, tgt: Path, output_dir: Path) -> List[Shard]:
    """The shards with their source docs (and their target docs, for a ``.spacy``
    target) in files of their own, so that a worker never loads a whole DocBin."""
    parts = output_dir.resolve() / PARTS_DIR
    shards = write_docbin_parts(shards, parts, "sources", load_docbin(src),
                                lambda shard: shard.data)
    if is_docbin(tgt):
        shards = write_docbin_parts(shards, parts, "targets", load_docbin(tgt),
                                    lambda shard: range(shard.start, shard.stop))
    return shards


@dataclass
class ProjectJob:
    """Project a source DocBin's annotations onto one target file, shard by shard."""

    src: str
    tgt: str
    tgt_lang: str
    src_lang: str
    method: str
    pairing: str
    model: Optional[str] = None
    layer: int = 8
    quantize: bool = True
    min_score: float = 0.5
    batch_size: int = 32
    skip_invalid: bool = False
    #: sha256 of the pairing (which source doc each target gets), part of the job's identity.
    pairs_sha256: str = ""
    name: str = "project"
    suffix: str = ".spacy"

    @property
    def inputs(self) -> List[str]:
        return [self.src, self.tgt]

    @property
    def resources(self) -> List[str]:
        return [self.model] if self.model and Path(self.model).exists() else []

    @property
    def settings(self) -> Dict[str, Any]:
        return {"tgt_lang": self.tgt_lang, "src_lang": self.src_lang, "method": self.method,
                "model": self.model, "layer": self.layer, "quantize": self.quantize,
                "min_score": self.min_score,
                "batch_size": self.batch_size, "skip_invalid": self.skip_invalid,
                "pairing": self.pairing, "pairs_sha256": self.pairs_sha256}

    def _targets(self, shard: Shard, nlp: spacy.Language, errors: List[str]) -> List[Doc]:
        path = Path(self.tgt)
        if is_docbin(path):
            return list(shard_docbin(shard, "targets").get_docs(nlp.vocab))
        docs = []
        for item in read_target_records(path, shard):
            if isinstance(item, XlieDataError):
                if not self.skip_invalid:
                    raise item
                errors.append(str(item))
                continue
            doc = nlp(item[2])  # type: ignore[index]
            doc._.xlie_id = item[3]  # type: ignore[index]
            docs.append(doc)
        return docs

    def _sources(self, shard: Shard) -> DocBin:
        """The shard's source docs: its own file when the client wrote one, else those
        of the whole source DocBin (loaded once per process)."""
        part = shard.part("sources")
        if part is not None:
            return load_docbin(part)
        src_bin = cached("docbin", self.src, None, lambda: load_docbin(self.src))
        return select_docbin(src_bin, shard.data)

    def run(self, shard: Shard, out: Path) -> Dict[str, Any]:
        tgt_nlp = cached("blank", None, self.tgt_lang, lambda: spacy.blank(self.tgt_lang))
        src_nlp = cached("blank", None, self.src_lang, lambda: spacy.blank(self.src_lang))
        sources = list(self._sources(shard).get_docs(src_nlp.vocab))
        errors: List[str] = []
        targets = self._targets(shard, tgt_nlp, errors)
        if len(targets) != len(sources):
            raise ValueError(f"{self.tgt}: shard {shard.index} has {len(targets)} valid "
                             f"records, {len(sources)} when the run was planned: the file "
                             "changed during the run")
        for src_doc, tgt_doc in zip(sources, targets):
            if tgt_doc._.xlie_id is None:
                tgt_doc._.xlie_id = src_doc._.xlie_id  # as pair_docs does by order
        aligner = cached("aligner", self.model, (self.method, self.layer, self.quantize),
                         lambda: build_aligner(self.method, model=self.model, layer=self.layer,
                                               quantize=self.quantize))
        pairs = list(zip(sources, targets))
        results = []
        for start in range(0, len(pairs), self.batch_size):
            results += project_batch(pairs[start:start + self.batch_size], aligner,
                                     min_score=self.min_score)
        for result in results:
            result.doc._.xlie_lang = self.tgt_lang
        write_docbin((r.doc for r in results), out)
        stats = projection_report(results, self.method, self.pairing, self.tgt_lang)
        del stats["method"], stats["pairing"]
        return {"docs": len(results), "skipped": len(errors), "errors": errors, "stats": stats}


def with_rates(report: Dict[str, Any]) -> Dict[str, Any]:
    """Summed shard reports with every ``rate`` recomputed from its total and projected."""
    if "total" in report and "projected" in report:
        report["rate"] = report["projected"] / report["total"] if report["total"] else 0.0
    for value in report.values():
        if isinstance(value, dict):
            with_rates(value)
    return report


def project_distributed(
    src: Path,
    tgt: Path,
    output_dir: Path,
    *,
    tgt_lang: str,
    src_lang: str,
    method: str,
    model: Optional[str],
    layer: int,
    quantize: bool,
    min_score: float,
    batch_size: int,
    skip_invalid: bool,
    report_path: Optional[Path],
    workers: int,
    scheduler: Optional[str],
    shard_size: int,
) -> Dict[str, Any]:
    """Projection by shards: ``OUTPUT/shard-NNNNN.spacy``, the manifest and
    ``OUTPUT/report.json`` (and ``report_path``); returns the report (the engine's
    summary under ``"run"``). Raises ``ValueError`` on bad settings, the engine's errors
    on bad input."""
    if output_dir.suffix.lower() == ".spacy":
        raise ValueError(f"{output_dir}: with --workers/--scheduler OUTPUT is a directory of "
                         "shards")
    blank_pipelines(tgt_lang, src_lang)
    try:
        shards, pairing, _ = plan_projection(src, tgt, shard_size, skip_invalid)
    except UnicodeDecodeError as err:
        raise XlieDataError(f"not UTF-8 text ({err.reason})", tgt, field="encoding") from None
    pairs_sha256 = hashlib.sha256(json.dumps([s.data for s in shards]).encode()).hexdigest()
    job = ProjectJob(str(src.resolve()), str(tgt.resolve()), tgt_lang, src_lang, method,
                     pairing, model=model, layer=layer, quantize=quantize, min_score=min_score,
                     batch_size=batch_size, skip_invalid=skip_invalid,
                     pairs_sha256=pairs_sha256)
    summary = run_job(job, split_inputs(shards, src, tgt, output_dir), output_dir,
                      workers=workers, scheduler=scheduler)
    report = {"method": method, "pairing": pairing, **with_rates(summary.stats),
              "docs": summary.docs, "skipped_invalid": summary.skipped,
              "errors": summary.errors, "run": summary.to_dict()}
    write_json(report, output_dir / "report.json")
    if report_path is not None:
        write_json(report, report_path)
    return report
