"""``spacy-xlie label KB INPUT OUTPUT``: distant-supervision labelling of a corpus.

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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import spacy
import typer
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..corpora.base import parse_json_line
from ..distributed import ShardError, cached, plan_shards, run_job
from ..distributed.shards import Shard, is_docbin, shard_lines, slice_docbin
from ..errors import XlieDataError
from ..kb.labels import load_label_map
from ..kb.relation_kb import RelationKB
from ..pipeline.distant_labeler import SOURCE, STATS_ATTR
from ..util.io import write_docbin, write_json
from ._app import app, fail

#: An input record: where it came from, its text or Doc, its id and language.
Record = Tuple[str, int, object, str, str]
MENTION_KEYS = ("mentions", "linked", "ambiguous", "unresolved", "partial")


@dataclass
class LabelReport:
    """What labelling produced: counts that add up over shards, then the ``--report``."""

    docs: int = 0
    skipped: int = 0
    relations: Counter = field(default_factory=Counter)
    languages: Dict[str, Counter] = field(default_factory=dict)
    totals: Counter = field(default_factory=Counter)
    errors: List[str] = field(default_factory=list)

    def add(self, doc: Doc, lang: str) -> None:
        self.docs += 1
        stats = doc._.get(STATS_ATTR) or {}
        self.totals.update(stats)
        per_lang = self.languages.setdefault(lang, Counter())
        per_lang["docs"] += 1
        labels = [r.label for r in doc._.relations if r.source == SOURCE]
        self.relations.update(labels)
        per_lang["docs_with_relation"] += bool(labels)
        per_lang["relations"] += len(labels)
        per_lang["mentions"] += stats.get("mentions", 0)
        per_lang["linked"] += stats.get("linked", 0)

    def skip(self, err: XlieDataError) -> None:
        self.skipped += 1
        if len(self.errors) < 20:
            self.errors.append(str(err))

    def counts(self) -> Dict[str, Any]:
        """Plain nested counts (summed over shards by the engine)."""
        return {"relations": dict(self.relations), "totals": dict(self.totals),
                "languages": {lang: dict(c) for lang, c in self.languages.items()}}


def label_report(docs: int, skipped: int, counts: Dict[str, Any], shards: List[str],
                 errors: List[str]) -> dict:
    """The ``--report`` JSON from the counts of all shards."""
    totals = Counter(counts.get("totals", {}))
    languages = {}
    for lang, c in sorted(counts.get("languages", {}).items()):
        languages[lang] = {**c, "coverage": c["docs_with_relation"] / c["docs"]}
    return {
        "docs": docs,
        "skipped": skipped,
        "shards": shards,
        "mentions": {k: totals[k] for k in MENTION_KEYS},
        "pairs": {"labelled": totals["positive_pairs"],
                  "negative_candidates": totals["negative_candidates"],
                  "negatives": totals["negatives"]},
        "relations": dict(Counter(counts.get("relations", {})).most_common()),
        "languages": languages,
        "errors": errors,
    }


def _text_records(lines: Iterable[Tuple[int, str]], path: Path, lang: str) -> Iterator[Record]:
    for line_no, text in lines:
        yield str(path), line_no, text, f"{path.name}:{line_no}", lang


def _jsonl_records(lines: Iterable[Tuple[int, str]], path: Path, lang: str) -> Iterator[object]:
    """Records, or the :class:`XlieDataError` of a bad line (so the caller may skip it)."""
    for line_no, line in lines:
        try:
            rec = parse_json_line(line, path, line_no)
        except XlieDataError as err:
            yield err
            continue
        if not isinstance(rec.get("text"), str) or not rec["text"].strip():
            yield XlieDataError("missing or empty string", path, line_no, "text")
        elif not isinstance(rec.get("lang", lang), str) or not rec.get("lang", lang):
            yield XlieDataError("expected a language code", path, line_no, "lang")
        elif not isinstance(rec.get("id", ""), (str, int)):
            yield XlieDataError("expected a string or integer", path, line_no, "id")
        else:
            rec_id = str(rec.get("id", f"{path.name}:{line_no}"))
            yield str(path), line_no, rec["text"], rec_id, rec.get("lang", lang)


def _spacy_records(docs: Iterable[Doc], path: Path, lang: str, first: int) -> Iterator[Record]:
    for n, doc in enumerate(docs, start=first):
        doc_lang = doc._.xlie_lang or lang
        if doc_lang != lang:
            raise XlieDataError(f"doc language {doc_lang!r} differs from --lang {lang!r}: "
                                "label .spacy files one language at a time", path, n, "lang")
        yield str(path), n, doc, doc._.xlie_id or f"{path.name}:{n}", lang


def _texts(records: Iterator[Record], meta: List[Tuple[str, str]]) -> Iterator[object]:
    """Texts (or Docs) to label; their ids and languages queue up in ``meta``."""
    for rec in records:
        meta.append((rec[3], rec[4]))
        yield rec[2]


def build_labeler_nlp(lang: str, kb: Optional[RelationKB], config: dict) -> Language:
    """``spacy.blank(lang)`` + the labeler, sharing one KB."""
    nlp = spacy.blank(lang)
    labeler = nlp.add_pipe("xlie_distant_labeler", config=config)
    if kb is not None:
        labeler.set_kb(kb)
    return nlp


class Labelers:
    """One worker's KB and its labelling pipelines, one per language, made on first use."""

    def __init__(self, kb_path: str, config: dict) -> None:
        self.kb = RelationKB.from_disk(kb_path)
        self.config = config
        self.nlps: Dict[str, Language] = {}

    def __call__(self, lang: str, path: Path, line: int) -> Language:
        if lang not in self.nlps:
            try:
                self.nlps[lang] = build_labeler_nlp(lang, self.kb, self.config)
            except ImportError:
                raise XlieDataError(f"unknown language code {lang!r}", path, line,
                                    "lang") from None
        return self.nlps[lang]


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
        if is_docbin(path):
            nlp = labelers(self.lang, path, shard.first_line)
            docbin = cached("docbin", path, None, lambda: DocBin().from_disk(path))
            docs = slice_docbin(docbin, shard.start, shard.stop).get_docs(nlp.vocab)
            return _spacy_records(docs, path, self.lang, shard.first_line)
        if path.suffix.lower() in (".jsonl", ".json"):
            return _jsonl_records(shard_lines(shard), path, self.lang)
        return _text_records(shard_lines(shard), path, self.lang)

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
                docs = nlp.pipe(_texts(itertools.chain([first], group), meta),
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
    build_labeler_nlp(lang, None, config)  # bad settings fail here, before any worker starts
    job = LabelJob(str(Path(kb_path).resolve()), str(Path(input_path).resolve()), lang, config,
                   skip_invalid=skip_invalid,
                   batch_size=batch_size, n_process=n_process)
    summary = run_job(job, plan_shards(input_path, shard_size), output_dir, workers=workers,
                      scheduler=scheduler, show_progress=show_progress)
    report = label_report(summary.docs, summary.skipped, summary.stats,
                          sorted(summary.entries), summary.errors)
    report["run"] = summary.to_dict()
    return report


@app.command("label")
def label_command(
    kb_path: Path = typer.Argument(..., help="KB directory (RelationKB.to_disk / `kb build`)",
                                   exists=True),
    input_path: Path = typer.Argument(..., help=".txt (one doc a line), .jsonl or .spacy",
                                      exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Directory for the DocBin shards"),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of records without 'lang'"),
    workers: int = typer.Option(1, "--workers", "-w",
                                help="Local worker processes (a Dask LocalCluster when > 1)"),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://HOST:PORT); "
        "its workers must see the same paths"),
    n_process: int = typer.Option(1, "--n-process",
                                  help="nlp.pipe processes inside one process (not with "
                                       "--workers or --scheduler)"),
    batch_size: int = typer.Option(1000, "--batch-size", help="Docs per batch"),
    shard_size: int = typer.Option(10_000, "--shard-size", help="Records per shard"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Skip and count bad input records"),
    report_path: Optional[Path] = typer.Option(None, "--report",
                                               help="Summary JSON (default OUTPUT/report.json)"),
    mode: str = typer.Option("match", "--mode", help="match (find aliases) or ents (link)"),
    ambiguity: str = typer.Option("skip", "--ambiguity", help="skip, all or prior"),
    label_map: Optional[str] = typer.Option(None, "--label-map",
                                            help="JSON/TSV file, or 'wikidata-kbp37'"),
    drop_unmapped: bool = typer.Option(False, "--drop-unmapped",
                                       help="Drop KB relations the label map lacks"),
    negative_ratio: float = typer.Option(1.0, "--negative-ratio",
                                         help="Negatives kept per positive (-1: all)"),
    max_distance: int = typer.Option(50, "--max-distance", help="Tokens between mentions"),
) -> None:
    """Label a corpus with the relations of a knowledge base (distant supervision)."""
    if n_process != 1 and (workers > 1 or scheduler):
        fail("--n-process: use it alone, or --workers/--scheduler alone")
    try:
        config = {"mode": mode, "ambiguity": ambiguity, "keep_unmapped": not drop_unmapped,
                  "negative_ratio": negative_ratio, "max_distance": max_distance}
        if label_map:
            config["label_map"] = load_label_map(label_map)
        report = label_corpus(kb_path, input_path, output_dir, lang=lang, config=config,
                              n_process=n_process, batch_size=batch_size,
                              shard_size=shard_size, skip_invalid=skip_invalid,
                              workers=workers, scheduler=scheduler)
    except (XlieDataError, ShardError, ValueError, ImportError, FileNotFoundError) as err:
        fail(str(err))
    write_json(report, report_path or output_dir / "report.json")
    run = report["run"]
    typer.echo(f"Labelled {report['docs']} docs ({report['skipped']} skipped) into "
               f"{run['shards']} shard(s) in {output_dir} ({run['reused']} reused): "
               f"{sum(report['relations'].values())} relations, "
               f"{report['pairs']['negatives']} negatives")
    for failure in run["failures"]:
        typer.echo(f"failed: {failure['shard']}: {failure['error']}", err=True)
    if run["failures"]:
        raise typer.Exit(1)
