"""Stream a Wikidata JSON dump into a :class:`RelationKB` (how RELX-Distant was built).

A dump (``latest-all.json.gz``) is one JSON array with one entity per line::

    [
    {"type":"item","id":"Q42","labels":{...},"aliases":{...},"claims":{...},"sitelinks":{...}},
    {"type":"item","id":"Q64",...}
    ]

Lines are read one at a time (``.json``, ``.json.gz`` or ``.json.bz2``), so memory is that
of the KB, not the dump. Labels and aliases in the chosen languages become aliases (the
language-neutral ``mul`` labels too, when asked for); every non-deprecated claim whose
value is another item (``wikibase-entityid``) becomes a triple ``(subject, property,
value)`` when its property is in ``properties`` (all properties when none are given).
The number of sitelinks becomes the entity's prior (a popularity proxy for the ``prior``
ambiguity policy).
"""

import bz2
import gzip
import io
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional, Sequence, Tuple

import srsly

from ..errors import XlieDataError
from .relation_kb import LoadStats, PathLike, RelationKB


def open_dump(path: PathLike) -> IO[str]:
    """Open a dump as text, decompressing ``.gz``/``.bz2`` on the fly."""
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf8")
    if path.suffix == ".bz2":
        return io.TextIOWrapper(bz2.open(path, "rb"), encoding="utf8")
    return open(path, encoding="utf8")


def iter_dump_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """``(line number, JSON text)`` for each entity line (array brackets and commas gone)."""
    with open_dump(path) as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.strip()
            if line.endswith(","):
                line = line[:-1].rstrip()
            if line not in ("", "[", "]"):
                yield line_no, line


def parse_entity_line(path: PathLike, line_no: int, line: str) -> dict:
    try:
        entity = srsly.json_loads(line)
    except ValueError as err:
        raise XlieDataError(f"invalid JSON ({err})", path, line_no) from None
    if not isinstance(entity, dict):
        raise XlieDataError("expected a JSON object (one entity)", path, line_no)
    return entity


def _names(entity: dict, langs: Sequence[str]) -> Iterator[Tuple[str, str]]:
    labels = entity.get("labels") or {}
    aliases = entity.get("aliases") or {}
    if not isinstance(labels, dict) or not isinstance(aliases, dict):
        raise ValueError("labels", "expected an object keyed by language")
    for lang in langs:
        label = labels.get(lang)
        if label is not None:
            if not isinstance(label, dict) or not isinstance(label.get("value"), str):
                raise ValueError(f"labels.{lang}", "expected {'value': str}")
            yield lang, label["value"]
        values = aliases.get(lang) or []
        if not isinstance(values, list):
            raise ValueError(f"aliases.{lang}", "expected a list")
        for alias in values:
            if not isinstance(alias, dict) or not isinstance(alias.get("value"), str):
                raise ValueError(f"aliases.{lang}", "expected [{'value': str}, ...]")
            yield lang, alias["value"]


def _item_claims(
    entity: dict, properties: Optional[frozenset]
) -> Iterator[Tuple[str, str]]:
    claims = entity.get("claims") or {}
    if not isinstance(claims, dict):
        raise ValueError("claims", "expected an object keyed by property")
    for prop, statements in claims.items():
        if properties is not None and prop not in properties:
            continue
        if not isinstance(statements, list):
            raise ValueError(f"claims.{prop}", "expected a list of statements")
        for statement in statements:
            if not isinstance(statement, dict) or statement.get("rank") == "deprecated":
                continue
            snak = statement.get("mainsnak") or {}
            datavalue = snak.get("datavalue") if isinstance(snak, dict) else None
            if not isinstance(datavalue, dict) or datavalue.get("type") != "wikibase-entityid":
                continue
            value = datavalue.get("value")
            target = value.get("id") if isinstance(value, dict) else None
            if not isinstance(target, str) and isinstance(value, dict):
                numeric = value.get("numeric-id")
                target = f"Q{numeric}" if isinstance(numeric, int) else None
            if not target:
                raise ValueError(f"claims.{prop}", "wikibase-entityid without an id")
            yield prop, target


def add_entity_json(
    kb: RelationKB,
    entity: dict,
    langs: Sequence[str],
    properties: Optional[frozenset],
    stats: LoadStats,
) -> None:
    """Add one dump entity (its names, prior and item-valued claims) to ``kb``."""
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise ValueError("id", "missing or not a string")
    names = list(_names(entity, langs))
    claims = list(_item_claims(entity, properties))
    sitelinks = entity.get("sitelinks")
    prior = len(sitelinks) if isinstance(sitelinks, dict) else None
    aliases: dict = {}
    for lang, name in names:
        aliases.setdefault(lang, []).append(name)
    kb.add_entity(entity_id, prior=prior, aliases=aliases)
    for prop, target in claims:
        if target != entity_id:
            kb.add_triple(entity_id, prop, target)
            stats.triples += 1
    stats.entities += 1
    stats.aliases += len(names)


def read_wikidata_dump(
    paths: Iterable[PathLike],
    langs: Sequence[str],
    *,
    properties: Optional[Iterable[str]] = None,
    kb: Optional[RelationKB] = None,
    skip_invalid: bool = False,
    stats: Optional[LoadStats] = None,
) -> RelationKB:
    """Build (or extend) a KB from one or more Wikidata JSON dumps."""
    kb = kb if kb is not None else RelationKB()
    stats = stats if stats is not None else LoadStats()
    props = frozenset(properties) if properties else None
    for path in paths:
        for line_no, line in iter_dump_lines(path):
            try:
                entity = parse_entity_line(path, line_no, line)
                try:
                    add_entity_json(kb, entity, langs, props, stats)
                except ValueError as err:
                    field, reason = err.args if len(err.args) == 2 else (None, str(err))
                    raise XlieDataError(reason, path, line_no, field) from None
            except XlieDataError as err:
                if not skip_invalid:
                    raise
                stats.skip(err)
    return kb
