"""The relation data model: directed, labelled links between entity spans of a Doc.

Relations are kept in ``doc.user_data`` as plain data (token offsets, strings, floats),
never as ``Span`` objects, so they survive everything spaCy does to a Doc's user data:
``DocBin(store_user_data=True)``, ``Doc.to_bytes``/``from_bytes``, ``pickle`` (and so
``nlp.pipe(n_process=...)``) and ``Doc.copy``. ``doc._.relations`` rebuilds
:class:`Relation` objects with live ``Span`` arguments on every read.

Every argument of a relation must be an entity of the doc: a span of ``doc.ents`` or of
a named span group (``doc.spans[key]``). That keeps one source of truth for entity
labels and knowledge-base ids.
"""

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

#: Name of the Doc extension holding the plain-data records.
DATA_ATTR = "xlie_relations_data"
#: Label that means "no relation holds": never stored, never scored as positive.
NO_RELATION = "no_relation"
#: Span group of a training doc's gold relation arguments, where they are not
#: ``doc.ents`` (see :mod:`spacy_xlie.corpora.joint`): the relation extractor learns from
#: pairs of them (and of the entities a recognizer predicted) as its candidates.
GOLD_ARGUMENTS_KEY = "xlie_gold_arguments"


class RelationError(ValueError):
    """A relation or entity offset that cannot be represented on a Doc."""


@dataclass(frozen=True)
class Relation:
    """A directed relation ``head --label--> tail`` between two entity spans."""

    head: Span
    tail: Span
    label: str
    score: float = 1.0
    source: Optional[str] = None
    spans_key: Optional[str] = None

    @property
    def key(self) -> Tuple[int, int, int, int, str]:
        """Offsets and label: what scorers compare (direction included)."""
        return (self.head.start, self.head.end, self.tail.start, self.tail.end, self.label)

    def to_dict(self) -> dict:
        """Plain-data record, as stored in ``doc.user_data``."""
        return relation_record((self.head.start, self.head.end), (self.tail.start, self.tail.end),
                               self.label, self.score, self.source, self.spans_key)


def relation_record(
    head: Tuple[int, int],
    tail: Tuple[int, int],
    label: str,
    score: float = 1.0,
    source: Optional[str] = None,
    spans_key: Optional[str] = None,
) -> dict:
    """The plain-data record of a relation between the entities at token offsets ``head``
    and ``tail`` (what :meth:`Relation.to_dict` returns; for hot paths that know the
    offsets and need no ``Span``)."""
    return {
        "head": [head[0], head[1]],
        "tail": [tail[0], tail[1]],
        "label": label,
        "score": float(score),
        "source": source,
        "spans_key": spans_key,
    }


def _entity_pool(doc: Doc, spans_key: Optional[str]) -> Sequence[Span]:
    if spans_key is None:
        return doc.ents
    if spans_key not in doc.spans:
        raise RelationError(f"Doc has no span group '{spans_key}' (it has: {list(doc.spans)})")
    return doc.spans[spans_key]


class _Entities:
    """A doc's entities by pool (``None`` for ``doc.ents``, else a span group's key) and
    token offsets: relations are checked against one index per pool instead of a scan of
    the pool for each argument (``doc.ents`` builds its spans anew on every read)."""

    def __init__(self, doc: Doc):
        self.doc = doc
        self.pools: Dict[Optional[str], Dict[Tuple[int, int], Span]] = {}

    def find(self, spans_key: Optional[str], start: int, end: int) -> Span:
        if spans_key not in self.pools:
            pool: Dict[Tuple[int, int], Span] = {}
            for span in _entity_pool(self.doc, spans_key):
                pool.setdefault((span.start, span.end), span)
            self.pools[spans_key] = pool
        span = self.pools[spans_key].get((start, end))
        if span is not None:
            return span
        where = "doc.ents" if spans_key is None else f"doc.spans['{spans_key}']"
        raise RelationError(
            f"Relation argument tokens [{start}:{end}] ('{self.doc[start:end].text}') is not "
            f"an entity in {where}: add the entity before the relation"
        )


def _records(doc: Doc) -> list:
    data = doc._.get(DATA_ATTR)
    if data is None:
        return []
    # msgpack (DocBin, to_bytes) may hand back tuples: normalise to a fresh list.
    return list(data)


def _relations_getter(doc: Doc) -> List[Relation]:
    relations = []
    entities = _Entities(doc)
    for rec in _records(doc):
        key = rec.get("spans_key")
        head = entities.find(key, rec["head"][0], rec["head"][1])
        tail = entities.find(key, rec["tail"][0], rec["tail"][1])
        relations.append(
            Relation(head, tail, rec["label"], rec.get("score", 1.0), rec.get("source"), key)
        )
    return relations


def _relations_setter(doc: Doc, relations: Iterable[Relation]) -> None:
    set_relations(doc, relations)


def register_extensions() -> None:
    """Register ``doc._.relations`` (idempotent; runs on ``import spacy_xlie``)."""
    if not Doc.has_extension(DATA_ATTR):
        Doc.set_extension(DATA_ATTR, default=None)
    if not Doc.has_extension("relations"):
        Doc.set_extension("relations", getter=_relations_getter, setter=_relations_setter)
    for name in ("xlie_id", "xlie_lang"):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


def add_relation(
    doc: Doc,
    head: Span,
    tail: Span,
    label: str,
    *,
    score: float = 1.0,
    source: Optional[str] = None,
    spans_key: Optional[str] = None,
) -> Relation:
    """Add ``head --label--> tail`` to ``doc._.relations`` and return it.

    Both spans must already be entities (``doc.ents`` or ``doc.spans[spans_key]``).
    ``no_relation`` is not stored: its absence is the negative class.
    """
    return add_relations(doc, [Relation(head, tail, label, score, source, spans_key)])[0]


def add_relations(doc: Doc, relations: Iterable[Relation]) -> List[Relation]:
    """Add every relation to ``doc._.relations`` (each checked as in :func:`add_relation`)
    and return them as stored. The doc's records are written once, after all are checked,
    so a bad relation leaves the doc as it was."""
    added = _check_all(doc, relations)
    if added:
        doc._.set(DATA_ATTR, _records(doc) + [rel.to_dict() for rel in added])
    return added


def _check_all(doc: Doc, relations: Iterable[Relation]) -> List[Relation]:
    entities = _Entities(doc)
    return [_checked(doc, rel, entities) for rel in relations]


def _checked(doc: Doc, rel: Relation, entities: _Entities) -> Relation:
    """``rel`` with its arguments replaced by the doc's entities at the same offsets."""
    if not rel.label or rel.label == NO_RELATION:
        raise RelationError(f"Invalid relation label {rel.label!r}: '{NO_RELATION}' is not stored")
    for span in (rel.head, rel.tail):
        if span.doc is not doc:
            raise RelationError(f"Span '{span.text}' belongs to another Doc")
    head = entities.find(rel.spans_key, rel.head.start, rel.head.end)
    tail = entities.find(rel.spans_key, rel.tail.start, rel.tail.end)
    if head.start == tail.start and head.end == tail.end:
        raise RelationError(f"Head and tail are the same span '{head.text}'")
    return Relation(head, tail, rel.label, float(rel.score), rel.source, rel.spans_key)


def set_relations(doc: Doc, relations: Iterable[Relation]) -> None:
    """Replace all relations of ``doc`` (each one validated as in :func:`add_relation`;
    a bad one leaves the doc's relations as they were)."""
    checked = _check_all(doc, relations)
    doc._.set(DATA_ATTR, [rel.to_dict() for rel in checked] or None)


def get_relations(
    doc: Doc, *, label: Optional[str] = None, source: Optional[str] = None
) -> List[Relation]:
    """The doc's relations, optionally filtered by label and/or source."""
    return [
        rel
        for rel in doc._.relations
        if (label is None or rel.label == label) and (source is None or rel.source == source)
    ]


def clear_relations(doc: Doc, *, source: Optional[str] = None) -> None:
    """Remove all relations, or only those from one ``source``."""
    if source is None:
        doc._.set(DATA_ATTR, None)
        return
    kept = [rec for rec in _records(doc) if rec.get("source") != source]
    doc._.set(DATA_ATTR, kept or None)


def span_from_tokens(doc: Doc, start: int, end: int, label: str, kb_id: str = "") -> Span:
    """A labelled span over tokens ``[start, end)``, with a clear error when out of range."""
    if not 0 <= start < end <= len(doc):
        raise RelationError(
            f"Token offsets [{start}:{end}] out of range for a doc of {len(doc)} tokens"
        )
    return Span(doc, start, end, label=label, kb_id=kb_id)


def span_from_chars(doc: Doc, start: int, end: int, label: str, kb_id: str = "") -> Span:
    """A labelled span over characters ``[start, end)``; they must fall on token boundaries."""
    if not 0 <= start < end <= len(doc.text):
        raise RelationError(
            f"Character offsets [{start}:{end}] out of range for a text of "
            f"{len(doc.text)} characters"
        )
    span = doc.char_span(start, end, label=label, kb_id=kb_id, alignment_mode="strict")
    if span is None:
        raise RelationError(
            f"Character offsets [{start}:{end}] ('{doc.text[start:end]}') do not fall on token "
            "boundaries"
        )
    return span


def add_entities(doc: Doc, spans: Iterable[Span], spans_key: Optional[str] = None) -> List[Span]:
    """Add entity spans to ``doc.ents`` (keeping existing ones) or a span group.

    Returns the spans as stored. Overlapping or unlabelled ``doc.ents`` raise a
    :class:`RelationError`; identical spans are added once.
    """
    spans = list(spans)
    if spans_key is not None:
        group = doc.spans[spans_key] if spans_key in doc.spans else []
        known = {(s.start, s.end, s.label) for s in group}
        new = [s for s in spans if (s.start, s.end, s.label) not in known]
        doc.spans[spans_key] = list(group) + new
        return spans
    unlabelled = [s for s in spans if not s.label_]
    if unlabelled:
        # spaCy reads an entity without a label as "outside": doc.ents would drop it.
        raise RelationError(f"Entity '{unlabelled[0].text}' has no label")
    existing = {(e.start, e.end): e for e in doc.ents}
    new = [s for s in spans if (s.start, s.end) not in existing]
    try:
        doc.ents = list(doc.ents) + new
    except ValueError as err:
        texts = ", ".join(f"'{s.text}' [{s.start}:{s.end}]" for s in new)
        raise RelationError(f"Entities overlap: {texts}") from err
    return [next(e for e in doc.ents if (e.start, e.end) == (s.start, s.end)) for s in spans]
