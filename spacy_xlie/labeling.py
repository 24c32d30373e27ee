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

from .corpora.base import parse_json_line
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


#: Numbered lines as :func:`spacy_xlie.corpora.shards.shard_lines` reads them: a line's
#: text, or the error of a line that is not UTF-8.
Lines = Iterable[Tuple[int, Union[str, XlieDataError]]]


def text_records(lines: Lines, path: Path, lang: str) -> Iterator[object]:
    """Records, or the :class:`XlieDataError` of a bad line (so the caller may skip it)."""
    for line_no, text in lines:
        if isinstance(text, XlieDataError):
            yield text
            continue
        yield str(path), line_no, text, f"{path.name}:{line_no}", lang


def jsonl_records(lines: Lines, path: Path, lang: str) -> Iterator[object]:
    """Records, or the :class:`XlieDataError` of a bad line (so the caller may skip it)."""
    for line_no, line in lines:
        if isinstance(line, XlieDataError):
            yield line
            continue
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


def spacy_records(docs: Iterable[Doc], path: Path, lang: str, first: int) -> Iterator[Record]:
    for n, doc in enumerate(docs, start=first):
        doc_lang = doc._.xlie_lang or lang
        if doc_lang != lang:
            raise XlieDataError(f"doc language {doc_lang!r} differs from --lang {lang!r}: "
                                "label .spacy files one language at a time", path, n, "lang")
        yield str(path), n, doc, doc._.xlie_id or f"{path.name}:{n}", lang


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
