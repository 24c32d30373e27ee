"""Annotation projection: carry entities and relations from a source doc to its translation.

:func:`project` asks a :class:`~spacy_xlie.alignment.base.SpanAligner` for ranked target
candidates of every source entity, then assigns them greedily, most confident first,
so that projected entities never overlap each other or entities the target already has;
among equally confident candidates the one at the most similar relative position wins
(two entities with the same surface form keep their order). A relation is projected
only when both its arguments are, with ``source="projected"`` and the weaker argument's
confidence as its score.

What could not be projected, and why, is returned in a :class:`ProjectionResult` and
also stored as plain data in ``doc._.xlie_projection`` so it survives ``DocBin``.

The pipeline component reads a target doc's source from ``doc._.xlie_source``: the
source doc serialised with ``Doc.to_bytes`` (bytes pickle and fit in a ``DocBin``, a
``Doc`` object would not). Use :func:`attach_source` and :func:`get_source`.
"""

from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import add_entities, add_relation, register_extensions
from .base import Candidate, SpanAligner

#: Doc extension holding the serialised source doc of a target doc.
SOURCE_ATTR = "xlie_source"
#: Doc extension holding the projection record (plain data).
RECORD_ATTR = "xlie_projection"
#: Relation source written on projected relations.
PROJECTED = "projected"

#: Reasons an entity or a relation was not projected.
NO_CANDIDATE = "no_candidate"
LOW_CONFIDENCE = "low_confidence"
OVERLAP = "overlap"
ARGUMENT_MISSING = "argument_not_projected"


def register_projection_extensions() -> None:
    """Register ``doc._.xlie_source`` and ``doc._.xlie_projection`` (idempotent)."""
    register_extensions()
    for name in (SOURCE_ATTR, RECORD_ATTR):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


register_projection_extensions()


def attach_source(tgt_doc: Doc, src_doc: Doc) -> Doc:
    """Store ``src_doc`` (with its entities and relations) in ``tgt_doc._.xlie_source``."""
    tgt_doc._.set(SOURCE_ATTR, src_doc.to_bytes(exclude=["tensor"]))
    return tgt_doc


def get_source(tgt_doc: Doc, vocab: Optional[Vocab] = None) -> Optional[Doc]:
    """The source doc attached to ``tgt_doc``, or ``None`` when there is none."""
    data = tgt_doc._.get(SOURCE_ATTR)
    if data is None:
        return None
    return Doc(vocab or tgt_doc.vocab).from_bytes(data)


@dataclass
class EntityProjection:
    """One source entity and where it went (``target`` is ``None`` when nowhere)."""

    source: Tuple[int, int]
    text: str
    label: str
    kb_id: str = ""
    spans_key: Optional[str] = None
    target: Optional[Tuple[int, int]] = None
    target_text: Optional[str] = None
    score: float = 0.0
    method: Optional[str] = None
    reason: Optional[str] = None


@dataclass
class RelationProjection:
    """One source relation and whether it was projected."""

    head: Tuple[int, int]
    tail: Tuple[int, int]
    label: str
    projected: bool
    score: float = 0.0
    spans_key: Optional[str] = None
    reason: Optional[str] = None


@dataclass
class ProjectionResult:
    """The projected target doc and the record of every entity and relation."""

    doc: Doc
    method: str
    entities: List[EntityProjection] = field(default_factory=list)
    relations: List[RelationProjection] = field(default_factory=list)

    @property
    def unprojected_entities(self) -> List[EntityProjection]:
        return [ent for ent in self.entities if ent.target is None]

    @property
    def unprojected_relations(self) -> List[RelationProjection]:
        return [rel for rel in self.relations if not rel.projected]

    def to_dict(self) -> dict:
        """Plain data (lists, strings, floats), as stored in ``doc._.xlie_projection``."""
        return {
            "method": self.method,
            "entities": [_plain(asdict(ent)) for ent in self.entities],
            "relations": [_plain(asdict(rel)) for rel in self.relations],
        }


def _plain(record: dict) -> dict:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in record.items()}


_Unit = Tuple[Optional[str], int, int]


def _source_units(doc: Doc) -> List[Tuple[_Unit, Span]]:
    """Entities to project: ``doc.ents`` and span-group entities used by relations."""
    units: Dict[_Unit, Span] = {(None, ent.start, ent.end): ent for ent in doc.ents}
    for rel in doc._.relations:
        for arg in (rel.head, rel.tail):
            units.setdefault((rel.spans_key, arg.start, arg.end), arg)
    return list(units.items())


def _position(start: int, end: int, length: int) -> float:
    return (start + end) / 2 / max(length, 1)


def _assign(
    units: Sequence[Tuple[_Unit, Span]],
    candidates: Sequence[Sequence[Candidate]],
    src: Doc,
    tgt: Doc,
    min_score: float,
) -> List[Optional[Candidate]]:
    """Greedy non-overlapping assignment, best confidence first, then closest position."""
    options = []
    for idx, ((_key, start, end), _span) in enumerate(units):
        src_pos = _position(start, end, len(src))
        for cand in candidates[idx]:
            if cand.score >= min_score:
                dist = abs(src_pos - _position(cand.start, cand.end, len(tgt)))
                options.append((-cand.score, dist, idx, cand))
    options.sort(key=lambda o: (o[0], o[1], o[2], o[3].start))
    taken: Dict[Optional[str], List[Tuple[int, int]]] = {None: [(e.start, e.end) for e in tgt.ents]}
    for key in tgt.spans:
        taken[key] = [(s.start, s.end) for s in tgt.spans[key]]
    chosen: List[Optional[Candidate]] = [None] * len(units)
    for _neg, _dist, idx, cand in options:
        key = units[idx][0][0]
        if chosen[idx] is not None:
            continue
        if any(cand.overlaps(s, e) for s, e in taken.setdefault(key, [])):
            continue
        chosen[idx] = cand
        taken[key].append((cand.start, cand.end))
    return chosen


def _reason(cands: Sequence[Candidate], min_score: float) -> str:
    if not cands:
        return NO_CANDIDATE
    if max(c.score for c in cands) < min_score:
        return LOW_CONFIDENCE
    return OVERLAP


def _apply(
    src: Doc,
    tgt: Doc,
    units: Sequence[Tuple[_Unit, Span]],
    candidates: Sequence[Sequence[Candidate]],
    method: str,
    min_score: float,
) -> ProjectionResult:
    chosen = _assign(units, candidates, src, tgt, min_score)
    result = ProjectionResult(tgt, method)
    by_unit: Dict[_Unit, Tuple[Span, float]] = {}
    new_spans: Dict[Optional[str], List[Span]] = {}
    for ((key, start, end), span), cand, cands in zip(units, chosen, candidates):
        record = EntityProjection((start, end), span.text, span.label_, span.kb_id_, key)
        result.entities.append(record)
        if cand is None:
            record.reason = _reason(cands, min_score)
            continue
        new = Span(tgt, cand.start, cand.end, label=span.label_, kb_id=span.kb_id_)
        new_spans.setdefault(key, []).append(new)
        record.target = (cand.start, cand.end)
        record.target_text = new.text
        record.score = float(cand.score)
        record.method = cand.method
        by_unit[(key, start, end)] = (new, float(cand.score))
    for key, spans in new_spans.items():
        add_entities(tgt, spans, spans_key=key)
    for rel in src._.relations:
        head = by_unit.get((rel.spans_key, rel.head.start, rel.head.end))
        tail = by_unit.get((rel.spans_key, rel.tail.start, rel.tail.end))
        record = RelationProjection(
            (rel.head.start, rel.head.end), (rel.tail.start, rel.tail.end), rel.label,
            projected=head is not None and tail is not None, spans_key=rel.spans_key,
        )
        result.relations.append(record)
        if head is None or tail is None:
            missing = [name for name, arg in (("head", head), ("tail", tail)) if arg is None]
            record.reason = f"{ARGUMENT_MISSING}: {' and '.join(missing)}"
            continue
        record.score = min(head[1], tail[1])
        add_relation(tgt, head[0], tail[0], rel.label, score=record.score,
                     source=PROJECTED, spans_key=rel.spans_key)
    tgt._.set(RECORD_ATTR, result.to_dict())
    return result


def project_batch(
    pairs: Iterable[Tuple[Doc, Doc]],
    aligner: SpanAligner,
    *,
    min_score: float = 0.5,
    copy: bool = True,
) -> List[ProjectionResult]:
    """Project many ``(source, target)`` pairs with one batched aligner call.

    ``copy=False`` writes into the given target docs instead of copies.
    """
    pairs = list(pairs)
    units = [_source_units(src) for src, _tgt in pairs]
    targets = [tgt.copy() if copy else tgt for _src, tgt in pairs]
    tasks = [
        (src, tgt, [(start, end) for (_key, start, end), _span in pair_units])
        for (src, _), tgt, pair_units in zip(pairs, targets, units)
    ]
    all_candidates = aligner.candidates_batch(tasks) if tasks else []
    return [
        _apply(src, tgt, pair_units, cands, aligner.name, min_score)
        for (src, _), tgt, pair_units, cands in zip(pairs, targets, units, all_candidates)
    ]


def project(
    src_doc: Doc,
    tgt_doc: Doc,
    aligner: SpanAligner,
    *,
    min_score: float = 0.5,
    copy: bool = True,
) -> ProjectionResult:
    """Project ``src_doc``'s entities (labels, kb ids) and relations onto ``tgt_doc``."""
    return project_batch([(src_doc, tgt_doc)], aligner, min_score=min_score, copy=copy)[0]
