"""RELX-Distant ``.json``: Wikipedia sentences distantly labelled with a Wikidata property.

Format (one JSON list)::

    [{"sentence": "...", "entity1": "Q688424", "entity2": "Q160746",
      "entity1_indices": [37, 42], "entity2_indices": [61, 67],
      "relation": "P127", "relation_name": "owned by"}, ...]

The relation holds from entity1 (head) to entity2 (tail). Offsets are ``[start, end)``
characters of the raw sentence and often end inside a word (German ``Apples`` for the
entity ``Apple``), so tokens are split at them. Relations get ``source="distant"``: they
come from Wikidata, not from an annotator.
"""

from typing import Any, Iterator, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import XlieDataError
from .base import (
    DEFAULT_ENT_LABEL,
    ConvertStats,
    PathLike,
    data_errors,
    doc_split_at,
    read_records,
    require,
    require_offsets,
    require_text,
    set_pair,
    trim_offsets,
)

SOURCE = "distant"


def _entity(record: Any, n: int, text: str, path: str, line: int) -> Tuple[str, Tuple[int, int]]:
    kb_id = require_text(record, f"entity{n}", path, line)
    field = f"entity{n}_indices"
    start, end = require_offsets(require(record, field, list, path, line), len(text),
                                 path, line, field)
    start, end = trim_offsets(text, start, end)
    if start == end:
        raise XlieDataError("entity covers only whitespace", path, line, field)
    return kb_id, (start, end)


def record_to_doc(nlp: Language, record: Any, *, path: str, line: int, ent_label: str) -> Doc:
    """One RELX-Distant record -> a Doc with both entities (kb ids set) and the relation."""
    text = require_text(record, "sentence", path, line)
    kb1, e1 = _entity(record, 1, text, path, line)
    kb2, e2 = _entity(record, 2, text, path, line)
    relation = require_text(record, "relation", path, line)
    if e1[0] < e2[1] and e2[0] < e1[1]:
        raise XlieDataError(f"entities {list(e1)} and {list(e2)} overlap", path, line,
                            "entity2_indices")
    doc = doc_split_at(nlp, text, [*e1, *e2])
    with data_errors(path, line, "entity1_indices"):
        set_pair(doc, e1, e2, ent_label=ent_label, relation=relation, head_is_e1=True,
                 kb_ids=(kb1, kb2), source=SOURCE)
    return doc


def read_relx_distant(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """Docs from a RELX-Distant file; ids are ``FILESTEM:INDEX`` (0-based record index)."""
    return read_records(path, lang, record_to_doc, nlp=nlp, skip_invalid=skip_invalid,
                        stats=stats, json_list=True, ent_label=ent_label)
