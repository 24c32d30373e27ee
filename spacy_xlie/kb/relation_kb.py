"""``RelationKB``: entities with aliases per language, and relation triples between them.

The KB is what distant supervision labels from: a sentence mentioning two entities whose
ids are linked by a triple gets that triple's relation. It is deliberately small in
memory, because a useful KB has millions of aliases:

* entity ids are kept once, in a list; everything else refers to them by position;
* aliases are a ``dict`` per language from the alias string to one entity position (an
  ``int``) or, for ambiguous aliases, a ``tuple`` of positions: no per-alias objects;
* triples are keyed by one ``int`` per (head, tail) pair, with interned relation names.

On disk (``to_disk``) the KB is one msgpack file of flat lists, read back with
``from_disk``; ``to_bytes``/``from_bytes`` give the same bytes, so the KB travels inside
a pipeline saved with ``nlp.to_disk``. The text formats users write are read by
:func:`read_entities` and :func:`read_triples`:

* entities, JSONL: ``{"id": "Q42", "type": "PERSON", "prior": 120,
  "aliases": {"en": ["Douglas Adams"], "de": ["Douglas Adams"]}}`` (``type`` and
  ``prior`` optional; ``prior`` ranks candidates under the ``prior`` ambiguity policy);
* triples, JSONL: ``{"head": "Q42", "relation": "P69", "tail": "Q691283", "weight": 1.0}``
  or TSV: ``head<TAB>relation<TAB>tail[<TAB>weight]`` (lines starting with ``#`` and
  blank lines are ignored); ``weight`` is optional and becomes the relation's score.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import srsly

from ..corpora.base import parse_json_line
from ..errors import XlieDataError

PathLike = Union[str, Path]
#: One entity position, or a tuple of them for an ambiguous alias.
Candidates = Union[int, Tuple[int, ...]]
#: Name of the KB file inside a directory written by :meth:`RelationKB.to_disk`.
KB_FILE = "kb.msgpack"
_FORMAT = "spacy_xlie.RelationKB.v1"
_PAIR_SHIFT = 32


@dataclass
class LoadStats:
    """Lines read and skipped while loading KB files (with ``skip_invalid``)."""

    entities: int = 0
    aliases: int = 0
    triples: int = 0
    skipped: int = 0
    errors: List[str] = field(default_factory=list)

    def skip(self, err: XlieDataError) -> None:
        self.skipped += 1
        if len(self.errors) < 20:
            self.errors.append(str(err))

    def to_dict(self) -> dict:
        return {
            "entities": self.entities,
            "aliases": self.aliases,
            "triples": self.triples,
            "skipped": self.skipped,
            "errors": self.errors,
        }


def _as_tuple(cands: Optional[Candidates]) -> Tuple[int, ...]:
    if cands is None:
        return ()
    return (cands,) if isinstance(cands, int) else cands


def clean_alias(alias: str) -> str:
    """Aliases are compared after collapsing whitespace (as in running text)."""
    return " ".join(alias.split())


class RelationKB:
    """Entities (id, optional type and prior, aliases per language) and triples."""

    def __init__(self) -> None:
        self._ids: List[str] = []
        self._index: Dict[str, int] = {}
        self._types: Dict[int, str] = {}
        self._priors: Dict[int, float] = {}
        self._aliases: Dict[str, Dict[str, Candidates]] = {}
        self._triples: Dict[int, Tuple[Tuple[str, float], ...]] = {}

    # -- building -----------------------------------------------------------------------
    def add_entity(
        self,
        entity_id: str,
        *,
        type: Optional[str] = None,
        prior: Optional[float] = None,
        aliases: Optional[Dict[str, Iterable[str]]] = None,
    ) -> int:
        """Add (or update) an entity; returns its position. Aliases are added, not replaced."""
        if not isinstance(entity_id, str) or not entity_id:
            raise ValueError(f"entity id must be a non-empty string, got {entity_id!r}")
        pos = self._index.get(entity_id)
        if pos is None:
            pos = len(self._ids)
            entity_id = sys.intern(entity_id)
            self._ids.append(entity_id)
            self._index[entity_id] = pos
        if type:
            self._types[pos] = sys.intern(type)
        if prior is not None:
            self._priors[pos] = float(prior)
        for lang, names in (aliases or {}).items():
            for name in names:
                self._add_alias_pos(pos, name, lang)
        return pos

    def add_alias(self, entity_id: str, alias: str, lang: str) -> None:
        """Add ``alias`` (in language ``lang``) for an entity, creating the entity if new."""
        self._add_alias_pos(self.add_entity(entity_id), alias, lang)

    def _add_alias_pos(self, pos: int, alias: str, lang: str) -> None:
        if not isinstance(alias, str):
            raise ValueError(f"alias must be a string, got {alias!r}")
        alias = clean_alias(alias)
        if not alias:
            return
        table = self._aliases.setdefault(sys.intern(lang), {})
        old = table.get(alias)
        if old is None:
            table[alias] = pos
        elif pos not in _as_tuple(old):
            table[alias] = _as_tuple(old) + (pos,)

    def add_triple(self, head: str, relation: str, tail: str, weight: float = 1.0) -> None:
        """Add ``head --relation--> tail``; unknown ids become entities without aliases."""
        if not relation or not isinstance(relation, str):
            raise ValueError(f"relation must be a non-empty string, got {relation!r}")
        if head == tail:
            raise ValueError(f"head and tail are the same entity {head!r}")
        key = self._pair_key(self.add_entity(head), self.add_entity(tail))
        rels = self._triples.get(key, ())
        kept = tuple(r for r in rels if r[0] != relation)
        self._triples[key] = kept + ((sys.intern(relation), float(weight)),)

    @staticmethod
    def _pair_key(head: int, tail: int) -> int:
        return (head << _PAIR_SHIFT) | tail

    # -- reading ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._index

    @property
    def languages(self) -> List[str]:
        return sorted(self._aliases)

    @property
    def n_aliases(self) -> int:
        return sum(len(table) for table in self._aliases.values())

    @property
    def n_triples(self) -> int:
        return sum(len(rels) for rels in self._triples.values())

    def entity_id(self, pos: int) -> str:
        return self._ids[pos]

    def position(self, entity_id: str) -> Optional[int]:
        return self._index.get(entity_id)

    def entity_type(self, entity_id: str) -> Optional[str]:
        pos = self._index.get(entity_id)
        return None if pos is None else self._types.get(pos)

    def prior(self, entity_id: str) -> float:
        pos = self._index.get(entity_id)
        return 0.0 if pos is None else self._priors.get(pos, 0.0)

    def type_at(self, pos: int) -> Optional[str]:
        return self._types.get(pos)

    def prior_at(self, pos: int) -> float:
        return self._priors.get(pos, 0.0)

    def candidates(self, alias: str, lang: str) -> List[str]:
        """Entity ids with exactly this alias (whitespace-collapsed) in ``lang``."""
        table = self._aliases.get(lang, {})
        return [self._ids[p] for p in _as_tuple(table.get(clean_alias(alias)))]

    def iter_aliases(self, lang: str) -> Iterator[Tuple[str, Tuple[int, ...]]]:
        """``(alias, entity positions)`` for every alias of one language."""
        for alias, cands in self._aliases.get(lang, {}).items():
            yield alias, _as_tuple(cands)

    def aliases_of(self, entity_id: str, lang: Optional[str] = None) -> List[str]:
        """An entity's aliases (a scan over all aliases: for inspection, not hot paths)."""
        pos = self._index.get(entity_id)
        if pos is None:
            return []
        langs = [lang] if lang is not None else self.languages
        return [a for lg in langs for a, cands in self.iter_aliases(lg) if pos in cands]

    def relations_at(self, head: int, tail: int) -> Tuple[Tuple[str, float], ...]:
        """``((relation, weight), ...)`` holding from entity ``head`` to ``tail`` (positions)."""
        return self._triples.get(self._pair_key(head, tail), ())

    def relations(self, head_id: str, tail_id: str) -> Dict[str, float]:
        """Relations (with weights) from ``head_id`` to ``tail_id``."""
        head, tail = self._index.get(head_id), self._index.get(tail_id)
        if head is None or tail is None:
            return {}
        return dict(self.relations_at(head, tail))

    def iter_triples(self) -> Iterator[Tuple[str, str, str, float]]:
        mask = (1 << _PAIR_SHIFT) - 1
        for key, rels in self._triples.items():
            head, tail = self._ids[key >> _PAIR_SHIFT], self._ids[key & mask]
            for rel, weight in rels:
                yield head, rel, tail, weight

    # -- serialisation ------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Flat lists in msgpack: compact, and fast to load."""
        aliases = {}
        for lang, table in self._aliases.items():
            names, offsets, flat = [], [0], []
            for name, cands in table.items():
                names.append(name)
                flat.extend(_as_tuple(cands))
                offsets.append(len(flat))
            aliases[lang] = {"names": names, "offsets": offsets, "ids": flat}
        mask = (1 << _PAIR_SHIFT) - 1
        heads, tails, rels, weights = [], [], [], []
        for key, pair_rels in self._triples.items():
            for rel, weight in pair_rels:
                heads.append(key >> _PAIR_SHIFT)
                tails.append(key & mask)
                rels.append(rel)
                weights.append(weight)
        data = {
            "format": _FORMAT,
            "ids": self._ids,
            "types": [[pos, typ] for pos, typ in self._types.items()],
            "priors": [[pos, prior] for pos, prior in self._priors.items()],
            "aliases": aliases,
            "triples": {"heads": heads, "tails": tails, "relations": rels, "weights": weights},
        }
        return srsly.msgpack_dumps(data)

    @classmethod
    def from_bytes(cls, data: bytes) -> "RelationKB":
        msg = srsly.msgpack_loads(data, use_list=True)
        if not isinstance(msg, dict) or msg.get("format") != _FORMAT:
            raise ValueError(f"not a RelationKB ({_FORMAT}) serialisation")
        kb = cls()
        kb._ids = [sys.intern(i) for i in msg["ids"]]
        kb._index = {eid: pos for pos, eid in enumerate(kb._ids)}
        kb._types = {pos: sys.intern(typ) for pos, typ in msg["types"]}
        kb._priors = {pos: float(prior) for pos, prior in msg["priors"]}
        for lang, table in msg["aliases"].items():
            offsets, flat = table["offsets"], table["ids"]
            out: Dict[str, Candidates] = {}
            for i, name in enumerate(table["names"]):
                start, end = offsets[i], offsets[i + 1]
                out[name] = flat[start] if end - start == 1 else tuple(flat[start:end])
            kb._aliases[sys.intern(lang)] = out
        trip = msg["triples"]
        for head, tail, rel, weight in zip(
            trip["heads"], trip["tails"], trip["relations"], trip["weights"]
        ):
            key = cls._pair_key(head, tail)
            kb._triples[key] = kb._triples.get(key, ()) + ((sys.intern(rel), float(weight)),)
        return kb

    def to_disk(self, path: PathLike) -> None:
        """Write the KB into directory ``path`` (atomically)."""
        from ..util.io import atomic_path

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / KB_FILE) as tmp:
            tmp.write_bytes(self.to_bytes())

    @classmethod
    def from_disk(cls, path: PathLike) -> "RelationKB":
        """Read a KB directory written by :meth:`to_disk` (or the ``kb.msgpack`` in it)."""
        path = Path(path)
        file = path / KB_FILE if path.is_dir() else path
        if not file.exists():
            raise FileNotFoundError(f"no RelationKB at {path}: expected {KB_FILE} (written by "
                                    "RelationKB.to_disk or `spacy-xlie kb build`)")
        return cls.from_bytes(file.read_bytes())

    # -- text formats -------------------------------------------------------------------
    @classmethod
    def from_files(
        cls,
        entities: Optional[PathLike],
        triples: Optional[PathLike],
        *,
        skip_invalid: bool = False,
        stats: Optional[LoadStats] = None,
    ) -> "RelationKB":
        """A KB from an entities JSONL file and a triples JSONL/TSV file."""
        kb = cls()
        stats = stats if stats is not None else LoadStats()
        if entities is not None:
            read_entities(kb, entities, skip_invalid=skip_invalid, stats=stats)
        if triples is not None:
            read_triples(kb, triples, skip_invalid=skip_invalid, stats=stats)
        return kb


def _lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    with open(path, encoding="utf8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                yield line_no, line


def _entity_record(kb: RelationKB, record: dict, path: PathLike, line_no: int) -> int:
    entity_id = record.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise XlieDataError("missing or not a non-empty string", path, line_no, "id")
    etype = record.get("type")
    if etype is not None and not isinstance(etype, str):
        raise XlieDataError(f"expected a string, got {etype!r}", path, line_no, "type")
    prior = record.get("prior")
    if prior is not None and (isinstance(prior, bool) or not isinstance(prior, (int, float))):
        raise XlieDataError(f"expected a number, got {prior!r}", path, line_no, "prior")
    aliases = record.get("aliases", {})
    if not isinstance(aliases, dict):
        raise XlieDataError("expected an object {lang: [alias, ...]}", path, line_no, "aliases")
    for lang, names in aliases.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise XlieDataError("expected a list of strings", path, line_no, f"aliases.{lang}")
    kb.add_entity(entity_id, type=etype, prior=prior, aliases=aliases)
    return sum(len(names) for names in aliases.values())


def read_entities(
    kb: RelationKB, path: PathLike, *, skip_invalid: bool = False,
    stats: Optional[LoadStats] = None,
) -> LoadStats:
    """Add the entities of a JSONL file to ``kb`` (format in the module docstring)."""
    stats = stats if stats is not None else LoadStats()
    for line_no, line in _lines(path):
        try:
            stats.aliases += _entity_record(kb, parse_json_line(line, path, line_no), path, line_no)
            stats.entities += 1
        except XlieDataError as err:
            if not skip_invalid:
                raise
            stats.skip(err)
    return stats


def _triple_fields(
    path: PathLike, line_no: int, line: str, tsv: bool
) -> Tuple[str, str, str, float]:
    if tsv:
        cols = line.split("\t")
        if len(cols) not in (3, 4):
            raise XlieDataError(f"expected 3 or 4 TAB-separated columns, found {len(cols)}",
                                path, line_no)
        head, rel, tail = (c.strip() for c in cols[:3])
        raw_weight: object = cols[3].strip() if len(cols) == 4 else 1.0
    else:
        record = parse_json_line(line, path, line_no)
        head, rel, tail = record.get("head"), record.get("relation"), record.get("tail")
        raw_weight = record.get("weight", 1.0)
    for name, value in (("head", head), ("relation", rel), ("tail", tail)):
        if not isinstance(value, str) or not value:
            raise XlieDataError(f"missing or not a non-empty string: {value!r}", path, line_no,
                                name)
    try:
        if isinstance(raw_weight, bool):
            raise ValueError
        weight = float(raw_weight)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise XlieDataError(f"expected a number, got {raw_weight!r}", path, line_no,
                            "weight") from None
    if head == tail:
        raise XlieDataError(f"head and tail are the same entity {head!r}", path, line_no, "tail")
    return head, rel, tail, weight


def read_triples(
    kb: RelationKB, path: PathLike, *, skip_invalid: bool = False,
    stats: Optional[LoadStats] = None,
) -> LoadStats:
    """Add the triples of a ``.tsv`` or ``.jsonl`` file to ``kb``."""
    stats = stats if stats is not None else LoadStats()
    tsv = Path(path).suffix.lower() in (".tsv", ".txt")
    for line_no, line in _lines(path):
        try:
            head, rel, tail, weight = _triple_fields(path, line_no, line, tsv)
        except XlieDataError as err:
            if not skip_invalid:
                raise
            stats.skip(err)
            continue
        kb.add_triple(head, rel, tail, weight)
        stats.triples += 1
    return stats


def create_kb_loader(path: str) -> Callable[[], RelationKB]:
    """``spacy_xlie.load_relation_kb.v1``: a KB loader for ``[initialize.components.X]``."""

    def load() -> RelationKB:
        return RelationKB.from_disk(path)

    return load
