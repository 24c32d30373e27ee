"""OpenNRE JSONL: one head/tail pair and its relation per line.

Either form::

    {"text": "Bill Gates founded Microsoft.", "h": {"name": "Bill Gates", "id": "Q5284",
     "pos": [0, 10]}, "t": {"name": "Microsoft", "id": "Q2283", "pos": [19, 28]},
     "relation": "founded"}
    {"token": ["Bill", "Gates", "founded", "Microsoft", "."], "h": {..., "pos": [0, 2]},
     "t": {..., "pos": [3, 4]}, "relation": "founded"}

``pos`` is ``[start, end)`` in characters with ``text``, in tokens with ``token``. The
relation holds from ``h`` (head) to ``t`` (tail); ``id`` becomes the entity's ``kb_id_``
and an optional ``type`` its label. Negative labels (``NA``, ``no_relation``, ``Other`` by
default) store no relation: absence is the negative class. Token input has no spacing
information, so tokens are joined by single spaces.
"""

from typing import Iterator, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import XlieDataError
from ..relations import NO_RELATION
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

#: Labels that OpenNRE data sets use for "no relation".
NEGATIVE_LABELS: Tuple[str, ...] = ("NA", NO_RELATION, "Other")
SOURCE = "gold"


def _argument(record: dict, role: str, limit: int, unit: str, path: str,
              line: int) -> Tuple[Tuple[int, int], str, Optional[str]]:
    """Offsets, kb id and type of ``h`` or ``t``."""
    arg = require(record, role, dict, path, line)
    offsets = require_offsets(require(arg, "pos", list, path, line, f"{role}."), limit, path,
                              line, f"{role}.pos", unit=unit)
    kb_id = arg.get("id", "")
    kb_id = str(kb_id) if isinstance(kb_id, (str, int)) and not isinstance(kb_id, bool) else ""
    label = arg.get("type")
    return offsets, kb_id, label if isinstance(label, str) and label else None


def _doc_from_token_list(nlp: Language, tokens: list, path: str, line: int) -> Doc:
    if not tokens:
        raise XlieDataError("empty sentence", path, line, "token")
    for i, word in enumerate(tokens):
        if not isinstance(word, str) or not word or word.isspace():
            raise XlieDataError(f"expected a non-empty string, found {word!r:.40}", path, line,
                                f"token[{i}]")
    return Doc(nlp.vocab, words=tokens, spaces=[True] * (len(tokens) - 1) + [False])


def record_to_doc(
    nlp: Language, record: dict, *, path: str, line: int, ent_label: str,
    negative_labels: Sequence[str],
) -> Doc:
    """One OpenNRE record -> a Doc with both entities and, unless negative, the relation."""
    relation = require_text(record, "relation", path, line)
    if "token" in record:
        doc = _doc_from_token_list(nlp, require(record, "token", list, path, line), path, line)
        (h, h_kb, h_type) = _argument(record, "h", len(doc), "token", path, line)
        (t, t_kb, t_type) = _argument(record, "t", len(doc), "token", path, line)
        h = (doc[h[0]].idx, doc[h[1] - 1].idx + len(doc[h[1] - 1]))
        t = (doc[t[0]].idx, doc[t[1] - 1].idx + len(doc[t[1] - 1]))
    else:
        text = require_text(record, "text", path, line)
        (h, h_kb, h_type) = _argument(record, "h", len(text), "character", path, line)
        (t, t_kb, t_type) = _argument(record, "t", len(text), "character", path, line)
        h, t = trim_offsets(text, *h), trim_offsets(text, *t)
        for role, span in (("h", h), ("t", t)):
            if span[0] == span[1]:
                raise XlieDataError("entity covers only whitespace", path, line, f"{role}.pos")
        doc = doc_split_at(nlp, text, [*h, *t])
    if h[0] < t[1] and t[0] < h[1]:
        raise XlieDataError("head and tail overlap", path, line, "t.pos")
    with data_errors(path, line, "h.pos"):
        set_pair(doc, h, t, ent_label=ent_label,
                 relation=None if relation in negative_labels else relation,
                 head_is_e1=True, kb_ids=(h_kb, t_kb), labels=(h_type, t_type), source=SOURCE)
    return doc


def read_opennre(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
    negative_labels: Sequence[str] = NEGATIVE_LABELS,
) -> Iterator[Doc]:
    """Docs from an OpenNRE JSONL file; label counts in ``stats`` use the raw labels."""
    return read_records(path, lang, record_to_doc, nlp=nlp, skip_invalid=skip_invalid,
                        stats=stats, label_field="relation", ent_label=ent_label,
                        negative_labels=negative_labels)
