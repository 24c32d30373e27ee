"""Shared pieces of the converters: conversion statistics, the skip-invalid guard, and
building a Doc whose entity boundaries are always token boundaries."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar

from spacy.language import Language
from spacy.tokens import Doc, Span

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


Tokenize = Callable[[str], List[Tuple[str, bool]]]


def spacy_tokenize(nlp: Language) -> Tokenize:
    """Words and trailing-space flags from the language's own tokenizer."""

    def tokenize(text: str) -> List[Tuple[str, bool]]:
        return [(t.text, bool(t.whitespace_)) for t in nlp.tokenizer(text)]

    return tokenize


def whitespace_tokenize(text: str) -> List[Tuple[str, bool]]:
    """Words of pre-tokenised text (KBP37): split on single spaces."""
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        if word:
            out.append((word, i < len(words) - 1))
    return out


def doc_with_boundaries(
    nlp: Language, text: str, cuts: Sequence[int], tokenize: Tokenize
) -> Doc:
    """Tokenise ``text`` so that every character offset in ``cuts`` is a token boundary.

    The text is tokenised segment by segment between the cuts, so an entity marker that
    sits inside a word (Turkish ``<e1>Mumbai</e1>'de``) still splits it. Between cuts the
    language's tokenizer decides as usual. ``text`` must not hold runs of whitespace.
    """
    bounds = sorted({0, len(text), *cuts})
    words: List[str] = []
    spaces: List[bool] = []
    for start, end in zip(bounds, bounds[1:]):
        segment = text[start:end]
        if segment.startswith(" "):
            if words:
                spaces[-1] = True
            segment = segment[1:]
        if not segment:
            continue
        for word, space in tokenize(segment):
            words.append(word)
            spaces.append(space)
    return Doc(nlp.vocab, words=words, spaces=spaces)


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
