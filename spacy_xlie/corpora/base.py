"""Shared pieces of the converters: conversion statistics, the skip-invalid guard, the
loop of the JSON readers, and building a Doc whose entity boundaries are always token
boundaries."""

import json
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple, Type, TypeVar, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from ..errors import XlieDataError
from ..relations import RelationError, add_entities, add_relation

T = TypeVar("T")

#: Entity label used when a corpus does not type its entities (KBP37, RELX).
DEFAULT_ENT_LABEL = "ENT"


@dataclass
class ConvertStats:
    """What a conversion produced and what it skipped (with ``skip_invalid``)."""

    docs: int = 0
    skipped: int = 0
    #: Records kept without their relation because an entity marker was empty.
    empty_entities: int = 0
    #: Gold relations of such records (not ``no_relation``): no span can hold them, so
    #: they are kept in ``doc._.xlie_unrepresentable`` and scored as missed.
    unrepresentable: int = 0
    #: Records left out on purpose, not for being malformed (Prodigy answers != "accept").
    rejected: int = 0
    labels: Counter = field(default_factory=Counter)
    errors: List[str] = field(default_factory=list)

    def count_doc(self, doc: Doc, raw_label: Optional[str] = None) -> None:
        self.docs += 1
        if raw_label is not None:
            self.labels[raw_label] += 1
        else:
            for rel in doc._.relations:
                self.labels[rel.label] += 1

    def to_dict(self) -> dict:
        return {
            "docs": self.docs,
            "skipped": self.skipped,
            "empty_entities": self.empty_entities,
            "unrepresentable": self.unrepresentable,
            "rejected": self.rejected,
            "labels": dict(sorted(self.labels.items())),
            "errors": self.errors[:20],
        }


def guarded(
    records: Iterable[T],
    convert: Callable[[T], Optional[Doc]],
    *,
    skip_invalid: bool,
    stats: ConvertStats,
) -> Iterator[Doc]:
    """Convert each record; on :class:`XlieDataError` raise, or skip and count it."""
    for record in records:
        try:
            doc = convert(record)
        except XlieDataError as err:
            if not skip_invalid:
                raise
            stats.skipped += 1
            stats.errors.append(str(err))
            continue
        if doc is not None:
            yield doc


@contextmanager
def data_errors(
    path: Union[str, Path],
    line: Optional[int],
    field: str,
    errors: Tuple[Type[Exception], ...] = (RelationError,),
) -> Iterator[None]:
    """Re-raise ``errors`` from the block as an :class:`XlieDataError` naming
    ``path:line`` and ``field``, so ``skip_invalid`` can skip the record."""
    try:
        yield
    except errors as err:
        raise XlieDataError(str(err), path, line, field) from None


def set_pair(
    doc: Doc,
    e1: Tuple[int, int],
    e2: Tuple[int, int],
    *,
    ent_label: str,
    relation: Optional[str],
    head_is_e1: bool,
    kb_ids: Tuple[str, str] = ("", ""),
    labels: Tuple[Optional[str], Optional[str]] = (None, None),
    source: str = "gold",
) -> Tuple[Span, Span]:
    """Set two entities from character offsets and, unless ``relation`` is None, the
    relation between them (``head_is_e1`` gives the direction)."""
    spans = []
    for (start, end), kb_id, label in zip((e1, e2), kb_ids, labels):
        span = doc.char_span(start, end, label=label or ent_label, kb_id=kb_id or "",
                             alignment_mode="strict")
        if span is None:
            raise RelationError(f"entity [{start}:{end}] does not fall on token boundaries")
        spans.append(span)
    first, second = add_entities(doc, spans)
    if relation is not None:
        head, tail = (first, second) if head_is_e1 else (second, first)
        add_relation(doc, head, tail, relation, source=source)
    return first, second


def normalize_space(text: str) -> str:
    """Collapse whitespace runs to one space and strip the ends."""
    return " ".join(text.split())


def doc_split_at(
    nlp: Language,
    text: str,
    cuts: Iterable[int],
    tokenizer: Optional[Callable[[str], Doc]] = None,
) -> Doc:
    """Tokenise ``text`` with the language's tokenizer, then split every token that an
    offset in ``cuts`` falls inside.

    The text is kept exactly (``doc.text == text``, whitespace runs included), so
    character offsets given against the raw text stay valid; the tokenizer sees the whole
    sentence, so its context rules still apply (French ``d'<e1>Apple`` keeps the elided
    ``d'``). German ``Apples`` with an entity ``Apple`` becomes ``Apple`` + ``s``.
    ``tokenizer`` replaces ``nlp.tokenizer``: ``Tokenizer(nlp.vocab)``, which has no rules,
    splits pre-tokenised text (KBP37) on spaces only.
    """
    cuts = sorted(set(cuts))
    words: List[str] = []
    spaces: List[bool] = []
    for token in (tokenizer or nlp.tokenizer)(text):
        start, end = token.idx, token.idx + len(token)
        bounds = [start, *(c for c in cuts if start < c < end), end]
        for left, right in zip(bounds, bounds[1:]):
            words.append(text[left:right])
            spaces.append(False)
        spaces[-1] = bool(token.whitespace_)
    return Doc(nlp.vocab, words=words, spaces=spaces)


def trim_offsets(text: str, start: int, end: int) -> Tuple[int, int]:
    """Shrink ``[start, end)`` so it neither starts nor ends with whitespace; entity
    offsets that take in a neighbouring space would otherwise miss every token boundary."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# ---- JSON input: records with the line they start on, errors that name the field ----

PathLike = Union[str, Path]
_SPACE = re.compile(r"\s*")


def iter_json_list(path: PathLike) -> Iterator[Tuple[int, Any]]:
    """Yield ``(line, item)`` for each item of a file holding one JSON list.

    The list is decoded item by item so every record knows its line. Invalid JSON ends
    the file with an error even under ``skip_invalid``: nothing after it can be trusted.
    """
    path = str(path)
    with open(path, encoding="utf8") as f:
        text = f.read()
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text).end()
    if text[pos:pos + 1] != "[":
        line = text.count("\n", 0, pos) + 1
        raise XlieDataError("expected a JSON list of records", path, line, "json")
    pos = _SPACE.match(text, pos + 1).end()
    line, counted = 1, 0
    if text[pos:pos + 1] == "]":
        pos += 1
    else:
        while True:
            try:
                item, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as err:
                raise XlieDataError(f"invalid JSON: {err.msg}", path, err.lineno, "json") from None
            line += text.count("\n", counted, pos)
            counted = pos
            yield line, item
            pos = _SPACE.match(text, end).end()
            if text[pos:pos + 1] == ",":
                pos = _SPACE.match(text, pos + 1).end()
                continue
            if text[pos:pos + 1] == "]":
                pos += 1
                break
            raise XlieDataError(
                "invalid JSON: expected ',' or ']' after a record",
                path, text.count("\n", 0, pos) + 1, "json",
            )
    pos = _SPACE.match(text, pos).end()
    if pos < len(text):
        raise XlieDataError(
            "invalid JSON: extra data after the list", path, text.count("\n", 0, pos) + 1, "json"
        )


#: Input kinds by file suffix.
INPUT_KINDS = {".txt": "text", ".jsonl": "jsonl", ".json": "jsonl", ".spacy": "spacy"}


def input_kind(path: PathLike) -> str:
    """``spacy``, ``jsonl`` or ``text``, from the file name; any other suffix is an error
    (a ``.csv`` read as plain text would make a doc of its header line)."""
    path = Path(path)
    kind = INPUT_KINDS.get(path.suffix.lower())
    if kind is None:
        raise XlieDataError(f"unknown input type {path.suffix or '(no suffix)'!r}: expected "
                            f"{', '.join(INPUT_KINDS)}", path, field="suffix")
    return kind


def decode_line(raw: bytes, path: PathLike, line: int) -> Union[str, XlieDataError]:
    """One line of a file as text, or the :class:`XlieDataError` that
    says it is not UTF-8 (returned, not raised, so a reader can skip it and go on)."""
    try:
        return raw.decode("utf8")
    except UnicodeDecodeError as err:
        return XlieDataError(f"not UTF-8 text ({err.reason})", path, line, "encoding")


#: A numbered line: ``(line, byte offset, text without its line ending)``, or the line's
#: error in place of its text.
Line = Tuple[int, int, Union[str, XlieDataError]]


def read_lines(path: PathLike, start: int = 0, stop: Optional[int] = None,
               first_line: int = 1, *, blank_lines: bool = False) -> Iterator[Line]:
    """The lines of a UTF-8 file that start in bytes ``[start, stop)`` (``first_line``: the
    number of the line at ``start``), line endings removed. A line that is not UTF-8 gives
    its :class:`XlieDataError` in place of its text, and reading goes on, so a caller may
    skip it (``--skip-invalid``) or stop there. Blank lines are left out, unless
    ``blank_lines``: then a blank line is a line too, except after the file's last
    non-blank line (a trailing newline or two is not an empty record)."""
    path = Path(path)
    blanks: List[Line] = []
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        for line_no, raw in enumerate(f, start=first_line):
            if stop is not None and offset >= stop:
                break
            text = decode_line(raw, path, line_no)
            line = (line_no, offset,
                    text if isinstance(text, XlieDataError) else text.rstrip("\r\n"))
            offset += len(raw)
            if isinstance(line[2], str) and not line[2].strip():
                if blank_lines:
                    blanks.append(line)
                continue
            yield from blanks
            blanks.clear()
            yield line
    if blanks and stop is not None and offset < path.stat().st_size:
        yield from blanks  # not trailing: the file goes on in the next shard


def iter_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """Yield ``(line, text)`` for the non-blank lines of a UTF-8 file, line endings
    removed; a line that is not UTF-8 raises its :class:`XlieDataError`."""
    for line_no, _offset, text in read_lines(path):
        if isinstance(text, XlieDataError):
            raise text
        yield line_no, text


def load_docbin(path: PathLike) -> DocBin:
    """A ``.spacy`` file (user data included), or an :class:`XlieDataError` naming it."""
    try:
        return DocBin(store_user_data=True).from_disk(path)
    except (ValueError, KeyError, TypeError) as err:
        raise XlieDataError(f"not a readable DocBin ({err})", path, None, "docbin") from None


def parse_json_line(raw: str, path: PathLike, line: int) -> dict:
    """One JSONL line as a dict, or an :class:`XlieDataError` saying why not."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as err:
        raise XlieDataError(f"invalid JSON: {err.msg}", path, line, "json") from None
    if not isinstance(record, dict):
        raise XlieDataError(
            f"expected a JSON object, found {type(record).__name__}", path, line, "record"
        )
    return record


_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object",
               float: "a number", bool: "true or false"}


def require(record: Any, name: str, kind: type, path: PathLike, line: int,
            where: str = "") -> Any:
    """``record[name]`` checked to be of ``kind`` (bools are not integers here)."""
    fname = f"{where}{name}"
    if not isinstance(record, dict):
        raise XlieDataError(
            f"expected an object, found {type(record).__name__}", path, line, where.rstrip(".")
            or "record",
        )
    if name not in record:
        raise XlieDataError("missing field", path, line, fname)
    value = record[name]
    wrong_bool = isinstance(value, bool) and kind is not bool
    if wrong_bool or not isinstance(value, kind):
        raise XlieDataError(
            f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, found {type(value).__name__}",
            path, line, fname,
        )
    return value


def require_text(record: Any, name: str, path: PathLike, line: int, where: str = "") -> str:
    """A string field that is not empty or only whitespace."""
    value = require(record, name, str, path, line, where)
    if not value.strip():
        raise XlieDataError("empty text", path, line, f"{where}{name}")
    return value


def require_offsets(value: Any, limit: int, path: PathLike, line: int, fname: str,
                    unit: str = "character") -> Tuple[int, int]:
    """A ``[start, end)`` pair of integers with ``0 <= start < end <= limit``."""
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise XlieDataError(f"expected [start, end] {unit} offsets, found {value!r:.60}",
                            path, line, fname)
    start, end = value
    if not 0 <= start < end <= limit:
        raise XlieDataError(
            f"{unit} offsets [{start}, {end}] out of range for a length of {limit}",
            path, line, fname,
        )
    return start, end


def record_id(record: dict, stem: str, index: int) -> str:
    """The record's own ``id`` when it has one, else ``FILESTEM:INDEX`` (0-based)."""
    value = record.get("id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
        return str(value)
    return f"{stem}:{index}"


def read_records(
    path: PathLike,
    lang: str,
    to_doc: Callable[..., Optional[Doc]],
    *,
    nlp: Optional[Language],
    skip_invalid: bool,
    stats: Optional[ConvertStats],
    json_list: bool = False,
    label_field: Optional[str] = None,
    **options: Any,
) -> Iterator[Doc]:
    """Docs from a file of JSON records: the loop that the JSON readers share.

    The file holds one record per line (JSONL; a doc's id is the record's own ``id``, else
    ``FILESTEM:INDEX``) or, with ``json_list``, one JSON list of records (ids are always
    ``FILESTEM:INDEX``). ``to_doc(nlp, record, path=..., line=..., **options)`` builds a
    doc, or returns None to leave a record out on purpose (counted as rejected, not
    skipped). Each doc gets its id and, unless ``to_doc`` took one from the record, the
    language ``lang``. Label counts use the raw ``record[label_field]`` when it is given
    (negative labels included), else the doc's relations.
    """
    nlp = nlp or spacy.blank(lang)
    stats = stats if stats is not None else ConvertStats()
    path = str(path)
    stem = Path(path).stem

    def convert(item: Tuple[int, Tuple[int, Any]]) -> Optional[Doc]:
        index, (line, record) = item
        if json_list:
            doc_id = f"{stem}:{index}"
        else:
            record = parse_json_line(record, path, line)
            doc_id = record_id(record, stem, index)
        doc = to_doc(nlp, record, path=path, line=line, **options)
        if doc is None:
            stats.rejected += 1
            return None
        doc._.xlie_id = doc_id
        if doc._.xlie_lang is None:
            doc._.xlie_lang = lang
        stats.count_doc(doc, raw_label=record[label_field] if label_field else None)
        return doc

    records = iter_json_list(path) if json_list else iter_lines(path)
    yield from guarded(enumerate(records), convert, skip_invalid=skip_invalid, stats=stats)
