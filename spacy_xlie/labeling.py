"""Distant-supervision labelling of a corpus, record by record: the input records (text,
JSONL, DocBin) and what the labelling produced. :mod:`spacy_xlie.distributed.label_job`
runs it over shards; ``spacy-xlie label`` is its command line."""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .corpora.records import BLANK_MAX_LENGTH, InputRecord, within_max_length
from .errors import XlieDataError
from .kb.relation_kb import RelationKB
from .pipeline.distant_labeler import SOURCE, STATS_ATTR

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


def label_records(records: Iterable[Union[InputRecord, XlieDataError]], lang: str
                  ) -> Iterator[object]:
    """The :data:`Record` of each input record (as
    :func:`~spacy_xlie.corpora.records.read_records` reads them), or the
    :class:`XlieDataError` of a bad one, so the caller may skip it. A DocBin's doc in
    another language than ``lang`` stops the run."""
    for record in records:
        if isinstance(record, XlieDataError):
            yield record
        elif record.kind == "spacy":
            yield _doc_record(record, lang)
        elif record.kind == "text":
            yield _within_max_length(
                (str(record.path), record.line, record.text or "", _default_id(record), lang))
        else:
            yield _within_max_length(_json_record(record, lang))


def _default_id(record: InputRecord) -> str:
    return f"{record.path.name}:{record.line}"


def _within_max_length(item: Union[Record, XlieDataError]) -> Union[Record, XlieDataError]:
    """A text record (plain text or JSONL) as it is, or the error of a text too long for
    the blank pipeline that labels it; an error passes through."""
    if isinstance(item, XlieDataError):
        return item
    path, line, text = item[:3]
    try:
        within_max_length(str(text), BLANK_MAX_LENGTH, Path(path), line)
    except XlieDataError as err:
        return err
    return item


def _doc_record(record: InputRecord, lang: str) -> Record:
    doc = record.doc
    doc_lang = doc._.xlie_lang or lang
    if doc_lang != lang:
        raise XlieDataError(f"doc language {doc_lang!r} differs from --lang {lang!r}: "
                            "label .spacy files one language at a time", record.path,
                            record.line, "lang")
    return str(record.path), record.line, doc, doc._.xlie_id or _default_id(record), lang


def _json_record(record: InputRecord, lang: str) -> Union[Record, XlieDataError]:
    """A JSONL record's :data:`Record`, or the error of its first bad field."""
    rec, path, line = record.fields or {}, record.path, record.line
    if not isinstance(rec.get("text"), str) or not rec["text"].strip():
        return XlieDataError("missing or empty string", path, line, "text")
    if not isinstance(rec.get("lang", lang), str) or not rec.get("lang", lang):
        return XlieDataError("expected a language code", path, line, "lang")
    if not isinstance(rec.get("id", ""), (str, int)):
        return XlieDataError("expected a string or integer", path, line, "id")
    rec_id = str(rec.get("id", _default_id(record)))
    return str(path), line, rec["text"], rec_id, rec.get("lang", lang)


def texts(records: Iterator[Record], meta: List[Tuple[str, str]]) -> Iterator[object]:
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
