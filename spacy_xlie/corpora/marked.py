"""KBP37 and RELX ``.txt``: sentences with ``<e1>``/``<e2>`` markers and a directed label.

Format (blocks separated by blank lines)::

    17647<TAB>"The <e1> Sacramento Heatwave </e1> is ... <e2> California </e2>."
    org:stateorprovince_of_headquarters(e1,e2)

``rel(e1,e2)`` holds from e1 to e2, ``rel(e2,e1)`` from e2 to e1, ``no_relation`` means
none (no relation is stored: absence is the negative class). The sentence id is kept in
``doc._.xlie_id`` so parallel RELX docs can be paired across languages. A relation whose
entity marker is empty has no span: it goes to ``doc._.xlie_unrepresentable`` (see
:mod:`spacy_xlie.unrepresentable`) and is counted in ``ConvertStats.unrepresentable``.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from ..errors import XlieDataError
from ..relations import NO_RELATION, RelationError, add_entities, span_from_chars
from ..unrepresentable import add_unrepresentable
from .base import (
    DEFAULT_ENT_LABEL,
    ConvertStats,
    data_errors,
    doc_split_at,
    guarded,
    normalize_space,
    set_pair,
)

MARKER_RE = re.compile(r"\s*</(e[12])>|<(e[12])>\s*")
LABEL_RE = re.compile(r"^(?P<rel>[^()\s]+)\((?P<first>e[12]),(?P<second>e[12])\)$")


@dataclass
class MarkedRecord:
    """One block of a marked file, with the line numbers used in error messages."""

    path: str
    line: int
    sent_id: str
    sentence: str
    label: str
    label_line: int


def read_items(path: Union[str, Path]) -> Iterator[Union[MarkedRecord, XlieDataError]]:
    """Yield each block of a KBP37/RELX file (a sentence line, then a label line), or the
    error that spoils it, and read on: ``skip_invalid`` can then skip a block with a
    missing TAB or label line and keep the rest of the file."""
    path = str(path)
    pending: Optional[Tuple[int, str, str]] = None
    with open(path, encoding="utf8") as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            if pending is not None and "\t" not in line:
                yield MarkedRecord(path, pending[0], pending[1], pending[2], line.strip(), line_no)
                pending = None
                continue
            if pending is not None:  # labels hold no TAB: this is the next sentence
                yield XlieDataError("sentence has no label line", path, pending[0], "label")
            if "\t" not in line:
                yield XlieDataError(
                    "expected 'ID<TAB>\"sentence\"', found no TAB", path, line_no, "sentence"
                )
                continue
            sent_id, sentence = line.split("\t", 1)
            pending = (line_no, sent_id.strip(), sentence)
    if pending is not None:
        yield XlieDataError("sentence has no label line", path, pending[0], "label")


def read_blocks(path: Union[str, Path]) -> Iterator[MarkedRecord]:
    """Yield the blocks of a KBP37/RELX file; the first malformed one raises."""
    for item in read_items(path):
        if isinstance(item, XlieDataError):
            raise item
        yield item


def parse_label(label: str) -> Tuple[Optional[str], bool]:
    """``rel(e2,e1)`` -> ``("rel", False)``: relation and whether e1 is the head."""
    if label == NO_RELATION:
        return None, True
    match = LABEL_RE.match(label)
    if match is None:
        raise ValueError(f"unknown label or direction {label!r}: expected REL(e1,e2), "
                         f"REL(e2,e1) or {NO_RELATION}")
    first, second = match.group("first"), match.group("second")
    if first == second:
        raise ValueError(f"unknown direction ({first},{second}) in {label!r}")
    return match.group("rel"), first == "e1"


def _ends_with_space(pieces: List[str]) -> bool:
    """True at the start of the text or after a space: a further space would double it."""
    text = "".join(pieces)
    return not text or text.endswith(" ")


def strip_markers(sentence: str) -> Tuple[str, Tuple[int, int], Tuple[int, int]]:
    """Remove the markers; return the clean text and the character spans of e1 and e2."""
    sentence = normalize_space(sentence)
    if len(sentence) >= 2 and sentence[0] == sentence[-1] == '"':
        sentence = sentence[1:-1].strip()
    pieces: List[str] = []
    opened: dict = {}
    closed: dict = {}
    length = 0
    last = 0
    for match in MARKER_RE.finditer(sentence):
        piece = sentence[last:match.start()]
        if piece.startswith(" ") and _ends_with_space(pieces):
            piece = piece[1:]  # an empty entity "<e1> </e1>" leaves two spaces
        pieces.append(piece)
        length += len(piece)
        last = match.end()
        closing, opening = match.group(1), match.group(2)
        name = closing or opening
        target = closed if closing else opened
        if name in target:
            raise ValueError(f"marker {match.group().strip()} appears twice")
        if closing and name not in opened:
            raise ValueError(f"unbalanced marker: </{name}> before <{name}>")
        target[name] = length
    tail = sentence[last:]
    if tail.startswith(" ") and _ends_with_space(pieces):
        tail = tail[1:]
    pieces.append(tail)
    for name in ("e1", "e2"):
        if name not in opened or name not in closed:
            missing = f"<{name}>" if name not in opened else f"</{name}>"
            raise ValueError(f"missing marker {missing}")
    text = "".join(pieces)
    e1 = (opened["e1"], closed["e1"])
    e2 = (opened["e2"], closed["e2"])
    if e1[0] < e2[1] and e2[0] < e1[1]:
        raise ValueError("entities e1 and e2 overlap")
    return text, e1, e2


def record_to_doc(
    nlp: Language,
    record: MarkedRecord,
    *,
    tokenizer: Optional[Callable[[str], Doc]],
    lang: str,
    ent_label: str,
    stats: Optional[ConvertStats] = None,
) -> Doc:
    """One block -> a Doc with two entities, at most one relation, its id and language
    (an empty marker: one entity, and the relation in ``doc._.xlie_unrepresentable``).
    ``tokenizer`` replaces ``nlp.tokenizer`` (see :func:`doc_split_at`)."""
    with data_errors(record.path, record.label_line, "label", (ValueError,)):
        relation, head_is_e1 = parse_label(record.label)
    with data_errors(record.path, record.line, "sentence", (ValueError, RelationError)):
        text, e1, e2 = strip_markers(record.sentence)
        if not text.strip():
            raise ValueError("empty sentence")
        doc = doc_split_at(nlp, text, [*e1, *e2], tokenizer)
        if e1[0] == e1[1] or e2[0] == e2[1]:
            # Upstream data has a few empty markers ("<e1> </e1>"): keep the doc (counts
            # stay those of the raw file) with the other entity. Its relation has no span
            # to hold it: it is kept aside, so evaluation still counts it as missed.
            kept = [span for span in (e1, e2) if span[0] < span[1]]
            add_entities(doc, [span_from_chars(doc, *span, label=ent_label) for span in kept])
            if stats is not None:
                stats.empty_entities += 1
            if relation is not None:
                head, tail = (e1, e2) if head_is_e1 else (e2, e1)
                add_unrepresentable(doc, relation, head=text[slice(*head)],
                                    tail=text[slice(*tail)], reason="empty entity marker")
                if stats is not None:
                    stats.unrepresentable += 1
        else:
            set_pair(doc, e1, e2, ent_label=ent_label, relation=relation,
                     head_is_e1=head_is_e1)
    doc._.xlie_id = record.sent_id
    doc._.xlie_lang = lang
    return doc


def read_marked(
    path: Union[str, Path],
    lang: str = "en",
    *,
    pretokenized: bool = False,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """Docs from a KBP37/RELX file.

    ``pretokenized`` splits on spaces only (KBP37); otherwise the tokenizer of ``nlp``
    (default ``spacy.blank(lang)``) is used (RELX translations). Either way tokens are also
    split at the entity markers. Docs share ``nlp.vocab`` when ``nlp`` is given.
    """
    nlp = nlp or spacy.blank(lang)
    tokenizer = Tokenizer(nlp.vocab) if pretokenized else None
    stats = stats if stats is not None else ConvertStats()

    def convert(record: Union[MarkedRecord, XlieDataError]) -> Doc:
        if isinstance(record, XlieDataError):
            raise record
        doc = record_to_doc(
            nlp, record, tokenizer=tokenizer, lang=lang, ent_label=ent_label, stats=stats
        )
        stats.count_doc(doc, raw_label=record.label)
        return doc

    yield from guarded(read_items(path), convert, skip_invalid=skip_invalid, stats=stats)
