"""``spacy-xlie label KB INPUT OUTPUT``: distant-supervision labelling of a corpus.

INPUT is plain text (``.txt``: one doc per non-empty line), JSONL (``.jsonl``: objects
``{"text": ..., "id"?: ..., "lang"?: ...}``) or a ``.spacy`` DocBin. Records are read
lazily and labelled in batches, so memory stays flat for any input size (a ``.spacy``
file is loaded whole, as DocBin requires). Docs are written to ``OUTPUT/shard-NNNNN.spacy``
(``--shard-size`` docs each, every shard written atomically), with ``doc._.xlie_id``
(record id, or ``FILE:LINE``) and ``doc._.xlie_lang``. A record's ``lang`` overrides
``--lang``; consecutive records of one language are labelled together.
"""

import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Deque, Dict, Iterator, List, Optional, Tuple

import spacy
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..corpora.base import iter_lines, parse_json_line
from ..errors import XlieDataError
from ..kb.labels import load_label_map
from ..kb.relation_kb import RelationKB
from ..pipeline.distant_labeler import SOURCE, STATS_ATTR
from ..util.io import write_docbin, write_json
from ._app import app, fail

#: An input record: where it came from, its text or Doc, its id and language.
Record = Tuple[str, int, object, str, str]


@dataclass
class LabelReport:
    """What a labelling run produced; written as the ``--report`` JSON."""

    docs: int = 0
    skipped: int = 0
    shards: List[str] = field(default_factory=list)
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

    def to_dict(self) -> dict:
        languages = {}
        for lang, c in sorted(self.languages.items()):
            languages[lang] = {**c, "coverage": c["docs_with_relation"] / c["docs"]}
        return {
            "docs": self.docs,
            "skipped": self.skipped,
            "shards": self.shards,
            "mentions": {k: self.totals[k] for k in
                         ("mentions", "linked", "ambiguous", "unresolved", "partial")},
            "pairs": {"labelled": self.totals["positive_pairs"],
                      "negative_candidates": self.totals["negative_candidates"],
                      "negatives": self.totals["negatives"]},
            "relations": dict(self.relations.most_common()),
            "languages": languages,
            "errors": self.errors,
        }


def _text_records(path: Path, lang: str) -> Iterator[Record]:
    with open(path, encoding="utf8") as f:
        for line_no, line in enumerate(f, start=1):
            text = line.rstrip("\n").rstrip("\r")
            if text.strip():
                yield str(path), line_no, text, f"{path.name}:{line_no}", lang


def _jsonl_records(path: Path, lang: str) -> Iterator[object]:
    """Records, or the :class:`XlieDataError` of a bad line (so the caller may skip it)."""
    for line_no, line in iter_lines(path):
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


def _spacy_records(path: Path, lang: str, vocabs: Dict[str, Language]) -> Iterator[Record]:
    nlp = vocabs[lang]
    for n, doc in enumerate(DocBin().from_disk(path).get_docs(nlp.vocab), start=1):
        doc_lang = doc._.xlie_lang or lang
        if doc_lang != lang:
            raise XlieDataError(f"doc language {doc_lang!r} differs from --lang {lang!r}: "
                                "label .spacy files one language at a time", path, n, "lang")
        yield str(path), n, doc, doc._.xlie_id or f"{path.name}:{n}", lang


def read_records(path: Path, lang: str, nlps: Dict[str, Language]) -> Iterator[object]:
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        return _spacy_records(path, lang, nlps)
    if suffix in (".jsonl", ".json"):
        return _jsonl_records(path, lang)
    return _text_records(path, lang)


def _texts(records: Iterator[Record], meta: Deque[Tuple[str, str]]) -> Iterator[object]:
    """Texts (or Docs) to label; their ids and languages queue up in ``meta``."""
    for rec in records:
        meta.append((rec[3], rec[4]))
        yield rec[2]


def build_labeler_nlp(lang: str, kb: RelationKB, config: dict) -> Language:
    """``spacy.blank(lang)`` + the labeler, sharing one KB."""
    nlp = spacy.blank(lang)
    nlp.add_pipe("xlie_distant_labeler", config=config).set_kb(kb)
    return nlp


def label_corpus(
    kb: RelationKB,
    input_path: Path,
    output_dir: Path,
    *,
    lang: str,
    config: Optional[dict] = None,
    n_process: int = 1,
    batch_size: int = 1000,
    shard_size: int = 10_000,
    skip_invalid: bool = False,
    show_progress: bool = True,
) -> LabelReport:
    """Label ``input_path`` into DocBin shards under ``output_dir``; returns the report."""
    config = dict(config or {})
    report = LabelReport()
    nlps: Dict[str, Language] = {}

    def nlp_for(code: str) -> Language:
        if code not in nlps:
            nlps[code] = build_labeler_nlp(code, kb, config)
        return nlps[code]

    nlp_for(lang)

    def valid() -> Iterator[Record]:
        for item in read_records(input_path, lang, nlps):
            if isinstance(item, XlieDataError):
                if not skip_invalid:
                    raise item
                report.skip(item)
                continue
            yield item  # type: ignore[misc]

    def labelled() -> Iterator[Doc]:
        for code, group in itertools.groupby(valid(), key=lambda rec: rec[4]):
            nlp = nlp_for(code)
            meta: Deque[Tuple[str, str]] = deque()
            for doc in nlp.pipe(_texts(group, meta), batch_size=batch_size,
                                n_process=n_process):
                doc._.xlie_id, doc._.xlie_lang = meta.popleft()
                report.add(doc, code)
                yield doc

    output_dir.mkdir(parents=True, exist_ok=True)
    docs = labelled()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  disable=not show_progress, transient=True) as progress:
        task = progress.add_task("labelling: 0 docs")
        for shard_no in itertools.count():
            shard = list(itertools.islice(docs, shard_size))
            if not shard:
                break
            path = output_dir / f"shard-{shard_no:05d}.spacy"
            write_docbin(shard, path)
            report.shards.append(path.name)
            progress.update(task, description=f"labelling: {report.docs} docs")
    return report


@app.command("label")
def label_command(
    kb_path: Path = typer.Argument(..., help="KB directory (RelationKB.to_disk / `kb build`)",
                                   exists=True),
    input_path: Path = typer.Argument(..., help=".txt (one doc a line), .jsonl or .spacy",
                                      exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Directory for the DocBin shards"),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of records without 'lang'"),
    n_process: int = typer.Option(1, "--n-process", help="Worker processes"),
    batch_size: int = typer.Option(1000, "--batch-size", help="Docs per batch"),
    shard_size: int = typer.Option(10_000, "--shard-size", help="Docs per output shard"),
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
    try:
        kb = RelationKB.from_disk(kb_path)
        config = {"mode": mode, "ambiguity": ambiguity, "keep_unmapped": not drop_unmapped,
                  "negative_ratio": negative_ratio, "max_distance": max_distance}
        if label_map:
            config["label_map"] = load_label_map(label_map)
        report = label_corpus(kb, input_path, output_dir, lang=lang, config=config,
                              n_process=n_process, batch_size=batch_size,
                              shard_size=shard_size, skip_invalid=skip_invalid)
    except (XlieDataError, ValueError, FileNotFoundError) as err:
        fail(str(err))
    write_json(report.to_dict(), report_path or output_dir / "report.json")
    typer.echo(f"Labelled {report.docs} docs ({report.skipped} skipped) into "
               f"{len(report.shards)} shard(s) in {output_dir}: "
               f"{sum(report.relations.values())} relations, "
               f"{report.totals['negatives']} negatives")
