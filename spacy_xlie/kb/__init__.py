"""Knowledge bases for distant supervision: entities, aliases per language, triples."""

from .alias_index import AliasIndex
from .labels import WIKIDATA_TO_KBP37, load_label_map
from .relation_kb import LoadStats, RelationKB, create_kb_loader, read_entities, read_triples
from .wikidata import read_wikidata_dump

__all__ = [
    "AliasIndex",
    "LoadStats",
    "RelationKB",
    "WIKIDATA_TO_KBP37",
    "create_kb_loader",
    "load_label_map",
    "read_entities",
    "read_triples",
    "read_wikidata_dump",
]
