"""Gold relations a doc cannot hold as ``doc._.relations``, kept so evaluation counts them.

A source record can name a relation whose argument has no text: KBP37 has empty markers
(``<e1> </e1>``, 26 records of its test set, 19 of them with a relation). With no span
there is no :class:`~spacy_xlie.relations.Relation`, yet the official KBP37/RELX
evaluation still scores the sentence, so the relation is a false negative there. The
converters keep such a relation in ``doc._.xlie_unrepresentable``: plain dicts in
``doc.user_data`` (like ``doc._.relations``), so they survive ``DocBin``, ``to_bytes``,
pickle and ``Doc.copy``. The scorer counts each one as missed; training never sees them,
since the corpus reader and the relation extractor read ``doc._.relations`` only.
"""

from typing import List

from spacy.tokens import Doc

#: Name of the Doc extension holding the records.
ATTR = "xlie_unrepresentable"


def register_extension() -> None:
    """Register ``doc._.xlie_unrepresentable`` (idempotent; runs on import)."""
    if not Doc.has_extension(ATTR):
        Doc.set_extension(ATTR, default=None)


def add_unrepresentable(
    doc: Doc, label: str, *, head: str = "", tail: str = "", reason: str
) -> dict:
    """Record the gold relation ``head --label--> tail`` that ``doc`` cannot hold.

    ``head`` and ``tail`` are the arguments' texts ("" for a missing one), for reading
    only; ``reason`` says why the relation has no span (e.g. "empty entity marker").
    """
    record = {"label": label, "head": head, "tail": tail, "reason": reason}
    doc._.set(ATTR, get_unrepresentable(doc) + [record])
    return record


def get_unrepresentable(doc: Doc) -> List[dict]:
    """The doc's unrepresentable gold relations (a fresh list of dicts)."""
    # msgpack (DocBin, to_bytes) may hand back tuples of dicts: normalise to a list.
    return [dict(record) for record in doc._.get(ATTR) or ()]


register_extension()
