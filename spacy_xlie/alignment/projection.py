"""Annotation projection: carry entities and relations from a source doc to its translation.

:func:`project` first gives the target the token boundaries a projected entity may
need (:func:`~spacy_xlie.alignment.boundaries.split_target`: apostrophe suffixes, CJK
characters), asks a :class:`~spacy_xlie.alignment.base.SpanAligner` for ranked target
candidates of every source entity, then assigns them greedily, most confident first,
so that projected entities never overlap each other or entities the target already
has. Each argument's place (and so its role in a relation) comes from aligning that
source entity; positions never decide:

- two entities competing for one target place: the higher confidence wins, and the
  other falls back to its next candidate or is reported (``role_conflict``); with
  equal confidence neither is projected (``role_conflict``);
- one entity with two equally confident places and nothing to tell them apart is not
  projected (``ambiguous``).

A relation is projected only when both its arguments are, with ``source="projected"``
and the weaker argument's confidence as its score.

What could not be projected, and why (:data:`REASONS`), is returned in a
:class:`ProjectionResult` and also stored as plain data in ``doc._.xlie_projection`` so
it survives ``DocBin``.

The pipeline component reads a target doc's source from ``doc._.xlie_source``: the
source doc serialised with ``Doc.to_bytes`` (bytes pickle and fit in a ``DocBin``, a
``Doc`` object would not). Use :func:`attach_source` and :func:`get_source`.
"""

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import DATA_ATTR, add_entities, register_extensions, relation_record
from .base import CROSSES_TOKEN_BOUNDARY, Candidate, SpanAligner
from .boundaries import split_target

#: Doc extension holding the serialised source doc of a target doc.
SOURCE_ATTR = "xlie_source"
#: Doc extension holding the projection record (plain data).
RECORD_ATTR = "xlie_projection"
#: Relation source written on projected relations.
PROJECTED = "projected"

#: Reasons an entity was not projected: nothing found; found only below ``min_score``;
#: two or more equally good places; its place went to another source entity (or tied
#: with one); found only as part of a target token; its place overlaps an entity the
#: target already had.
NOT_FOUND = "not_found"
LOW_CONFIDENCE = "low_confidence"
AMBIGUOUS = "ambiguous"
ROLE_CONFLICT = "role_conflict"
OVERLAP = "overlap"
REASONS = (NOT_FOUND, LOW_CONFIDENCE, AMBIGUOUS, ROLE_CONFLICT, CROSSES_TOKEN_BOUNDARY,
           OVERLAP)
#: Reason a relation was not projected (followed by the missing argument(s)).
ARGUMENT_MISSING = "argument_not_projected"
#: Confidences closer than this are equal (a tie, never broken by position).
EPS = 1e-9


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


def _offsets(offsets: Optional[Sequence[int]]) -> Optional[Tuple[int, int]]:
    """A record's offsets (a list after JSON or msgpack) as a tuple."""
    return None if offsets is None else (offsets[0], offsets[1])


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

    @classmethod
    def from_dict(cls, record: dict) -> "EntityProjection":
        """From its plain record (:func:`entity_record`)."""
        return cls(**{**record, "source": _offsets(record["source"]),
                      "target": _offsets(record["target"])})


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

    @classmethod
    def from_dict(cls, record: dict) -> "RelationProjection":
        """From its plain record (:func:`relation_projection_record`)."""
        return cls(**{**record, "head": _offsets(record["head"]), "tail": _offsets(record["tail"])})


def entity_record(
    source: Sequence[int], text: str, label: str, kb_id: str = "",
    spans_key: Optional[str] = None, target: Optional[Sequence[int]] = None,
    target_text: Optional[str] = None, score: float = 0.0, method: Optional[str] = None,
    reason: Optional[str] = None,
) -> dict:
    """The plain record of an :class:`EntityProjection` (its fields, offsets as lists)."""
    return {"source": list(source), "text": text, "label": label, "kb_id": kb_id,
            "spans_key": spans_key, "target": None if target is None else list(target),
            "target_text": target_text, "score": score, "method": method, "reason": reason}


def relation_projection_record(
    head: Sequence[int], tail: Sequence[int], label: str, projected: bool,
    score: float = 0.0, spans_key: Optional[str] = None, reason: Optional[str] = None,
) -> dict:
    """The plain record of a :class:`RelationProjection` (its fields, offsets as lists)."""
    return {"head": list(head), "tail": list(tail), "label": label, "projected": projected,
            "score": score, "spans_key": spans_key, "reason": reason}


@dataclass
class ProjectionResult:
    """The projected target doc and the record of every entity and relation.

    The records are kept as the plain data stored in ``doc._.xlie_projection`` (the same
    lists); :attr:`entities` and :attr:`relations` read them as dataclasses.
    """

    doc: Doc
    method: str
    entity_records: List[dict] = field(default_factory=list)
    relation_records: List[dict] = field(default_factory=list)

    @property
    def entities(self) -> List[EntityProjection]:
        return [EntityProjection.from_dict(rec) for rec in self.entity_records]

    @property
    def relations(self) -> List[RelationProjection]:
        return [RelationProjection.from_dict(rec) for rec in self.relation_records]

    @property
    def unprojected_entities(self) -> List[EntityProjection]:
        return [ent for ent in self.entities if ent.target is None]

    @property
    def unprojected_relations(self) -> List[RelationProjection]:
        return [rel for rel in self.relations if not rel.projected]

    def to_dict(self) -> dict:
        """Plain data (lists, strings, floats), as stored in ``doc._.xlie_projection``."""
        return {"method": self.method, "entities": self.entity_records,
                "relations": self.relation_records}


_Unit = Tuple[Optional[str], int, int]


def _relation_records(doc: Doc) -> List[dict]:
    """The plain relation records of ``doc`` (reading ``doc._.relations`` would rebuild
    every argument span from ``doc.ents``, which costs more than projecting)."""
    return list(doc._.get(DATA_ATTR) or [])


def _source_units(doc: Doc, relations: Sequence[dict]) -> List[Tuple[_Unit, Span]]:
    """Entities to project: ``doc.ents`` and span-group entities used by ``relations``
    (the doc's relation records, read once per doc by :func:`project_batch`)."""
    units: Dict[_Unit, Span] = {(None, ent.start, ent.end): ent for ent in doc.ents}
    for rec in relations:
        key = rec.get("spans_key")
        for start, end in (rec["head"], rec["tail"]):
            if (key, start, end) not in units:
                units[(key, start, end)] = doc[start:end] if key is None else next(
                    span for span in doc.spans[key] if (span.start, span.end) == (start, end))
    return list(units.items())


def _rank(cand: Candidate) -> Tuple[float, int]:
    return -cand.score, cand.start


def _tied(ranked: Sequence[Candidate], best: Candidate) -> bool:
    """Whether another place, apart from ``best``, is as good (``ranked``: best first)."""
    floor = best.score - EPS
    for cand in ranked[1:]:
        if cand.score < floor:
            return False
        if not cand.overlaps(best.start, best.end):
            return True
    return False


class _Assignment:
    """Greedy assignment of candidates to units (see the module docstring)."""

    def __init__(
        self,
        units: Sequence[Tuple[_Unit, Span]],
        candidates: Sequence[Sequence[Candidate]],
        tgt: Doc,
        min_score: float,
    ) -> None:
        self.keys = [key for (key, _s, _e), _span in units]
        self.usable = []
        for cands in candidates:
            usable = [c for c in cands if c.blocked is None and c.score >= min_score]
            if len(usable) > 1:
                usable.sort(key=_rank)
            self.usable.append(usable)
        # what each key's entities may not overlap: the existing and the projected ones
        self.taken: Dict[Optional[str], List[Tuple[int, int]]] = {
            None: [(e.start, e.end) for e in tgt.ents]}
        groups = tgt.spans
        for key in groups:
            self.taken[key] = [(s.start, s.end) for s in groups[key]]
        self.projected: Dict[Optional[str], List[Tuple[int, int]]] = {}
        self.chosen: List[Optional[Candidate]] = [None] * len(units)
        self.reasons: List[Optional[str]] = [None] * len(units)

    def _free(self, unit: int) -> List[Candidate]:
        taken = self.taken.get(self.keys[unit])
        if not taken:
            return self.usable[unit]
        return [c for c in self.usable[unit]
                if all(c.end <= start or end <= c.start for start, end in taken)]

    def _project(self, unit: int, cand: Candidate) -> None:
        key = self.keys[unit]
        self.chosen[unit] = cand
        self.projected.setdefault(key, []).append((cand.start, cand.end))
        self.taken.setdefault(key, []).append((cand.start, cand.end))

    def _settled(self) -> bool:
        """Choose every unit's best candidate at once where the greedy loop could only
        choose those (the common case): each best place is free, overlaps no other
        unit's best place of its key, and has no other place as good."""
        bests: List[Candidate] = []
        places: List[Tuple[Optional[str], int, int]] = []
        for key, usable in zip(self.keys, self.usable):
            if not usable or (len(usable) > 1 and _tied(usable, usable[0])):
                return False
            best = usable[0]
            start, end = best.start, best.end
            for other, s, e in places:
                if other == key and s < end and start < e:
                    return False
            for s, e in self.taken.get(key, ()):
                if s < end and start < e:
                    return False
            bests.append(best)
            places.append((key, start, end))
        for unit, best in enumerate(bests):
            self._project(unit, best)
        return True

    def run(self) -> None:
        if not self._settled():
            self._greedy()

    def _greedy(self) -> None:
        """Assign the most confident free candidate first, reporting ties (see the module
        docstring)."""
        open_units: Set[int] = set(range(len(self.keys)))
        while open_units:
            free = {}
            for unit in open_units:
                cands = self._free(unit)
                if cands:
                    free[unit] = cands
            if not free:
                break
            top = max(f[0].score for f in free.values())
            level = sorted(u for u, f in free.items() if f[0].score >= top - EPS)
            conflicts: Dict[int, str] = {}
            for unit in level:
                best = free[unit][0]
                rivals = len(level) > 1 and any(
                    v != unit and self.keys[v] == self.keys[unit]
                    and free[v][0].overlaps(best.start, best.end) for v in level)
                if rivals:
                    conflicts[unit] = ROLE_CONFLICT
                elif _tied(free[unit], best):
                    conflicts[unit] = AMBIGUOUS
                else:
                    self._project(unit, best)
                    open_units.discard(unit)
                    break
            else:  # every unit at the top confidence is tied: report, do not guess
                for unit, reason in conflicts.items():
                    self.reasons[unit] = reason
                    open_units.discard(unit)
        for unit in open_units:
            self.reasons[unit] = self._reason(unit)

    def _reason(self, unit: int) -> str:
        """Why an open unit got nothing: its usable candidates all overlap others."""
        key = self.keys[unit]
        lost_to_projected = any(
            c.overlaps(s, e) for c in self.usable[unit] for s, e in self.projected.get(key, []))
        return ROLE_CONFLICT if lost_to_projected else OVERLAP


def _reason(cands: Sequence[Candidate]) -> str:
    """Why a unit with no usable candidate was not projected."""
    if any(c.blocked is None for c in cands):
        return LOW_CONFIDENCE
    blocked = [c.blocked for c in cands if c.blocked]
    return blocked[0] if blocked else NOT_FOUND


def _apply(
    src: Doc,
    tgt: Doc,
    units: Sequence[Tuple[_Unit, Span]],
    candidates: Sequence[Sequence[Candidate]],
    method: str,
    min_score: float,
    relations: Sequence[dict],
) -> ProjectionResult:
    assignment = _Assignment(units, candidates, tgt, min_score)
    assignment.run()
    entities: List[dict] = []
    by_unit: Dict[_Unit, Tuple[Tuple[int, int], float]] = {}
    new_spans: Dict[Optional[str], List[Span]] = {}
    for ((key, start, end), span), cand, cands, usable, reason in zip(
            units, assignment.chosen, candidates, assignment.usable, assignment.reasons):
        label, kb_id = span.label_, span.kb_id_
        if cand is None:
            entities.append(entity_record((start, end), span.text, label, kb_id, key,
                                          reason=reason if usable else _reason(cands)))
            continue
        new = Span(tgt, cand.start, cand.end, label=label, kb_id=kb_id)
        new_spans.setdefault(key, []).append(new)
        target, score = (cand.start, cand.end), float(cand.score)
        entities.append(entity_record((start, end), span.text, label, kb_id, key, target,
                                      new.text, score, cand.method))
        by_unit[(key, start, end)] = (target, score)
    for key, spans in new_spans.items():
        if key is None:  # never overlapping (the assignment saw to it): no checks needed
            tgt.set_ents(spans, default="unmodified")
        else:
            add_entities(tgt, spans, spans_key=key)
    tgt_ext = tgt._
    records = list(tgt_ext.get(DATA_ATTR) or [])
    projected_relations: List[dict] = []
    for rec in relations:
        key = rec.get("spans_key")
        head = by_unit.get((key, *rec["head"]))
        tail = by_unit.get((key, *rec["tail"]))
        score, reason = 0.0, None
        if head is None or tail is None:
            missing = [name for name, arg in (("head", head), ("tail", tail)) if arg is None]
            reason = f"{ARGUMENT_MISSING}: {' and '.join(missing)}"
        else:
            score = min(head[1], tail[1])
            records.append(relation_record(head[0], tail[0], rec["label"], score, PROJECTED,
                                           key))
        projected_relations.append(relation_projection_record(
            rec["head"], rec["tail"], rec["label"], reason is None, score, key, reason))
    tgt_ext.set(DATA_ATTR, records)
    result = ProjectionResult(tgt, method, entities, projected_relations)
    tgt_ext.set(RECORD_ATTR, result.to_dict())
    return result


def project_batch(
    pairs: Iterable[Tuple[Doc, Doc]],
    aligner: SpanAligner,
    *,
    min_score: float = 0.5,
    copy: bool = True,
    split: bool = True,
) -> List[ProjectionResult]:
    """Project many ``(source, target)`` pairs with one batched aligner call.

    ``copy=False`` writes into the given target docs instead of copies; ``split=False``
    keeps the target tokens as they are (no boundaries added at apostrophe suffixes and
    CJK characters, :func:`~spacy_xlie.alignment.boundaries.split_target`).
    """
    pairs = list(pairs)
    relations = [_relation_records(src) for src, _tgt in pairs]
    units = [_source_units(src, rels) for (src, _tgt), rels in zip(pairs, relations)]
    targets = [tgt.copy() if copy else tgt for _src, tgt in pairs]
    if split:
        targets = [split_target(tgt) for tgt in targets]
    tasks = [
        (src, tgt, [(start, end) for (_key, start, end), _span in pair_units])
        for (src, _), tgt, pair_units in zip(pairs, targets, units)
    ]
    all_candidates = aligner.candidates_batch(tasks) if tasks else []
    return [
        _apply(src, tgt, pair_units, cands, aligner.name, min_score, rels)
        for (src, _), tgt, pair_units, cands, rels in zip(
            pairs, targets, units, all_candidates, relations)
    ]


def project(
    src_doc: Doc,
    tgt_doc: Doc,
    aligner: SpanAligner,
    *,
    min_score: float = 0.5,
    copy: bool = True,
    split: bool = True,
) -> ProjectionResult:
    """Project ``src_doc``'s entities (labels, kb ids) and relations onto ``tgt_doc``."""
    return project_batch([(src_doc, tgt_doc)], aligner, min_score=min_score, copy=copy,
                         split=split)[0]
