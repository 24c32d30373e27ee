"""``xlie_entity_filter``: cleans the recognizer's entities before the extractor pairs them.

Four rules, each for a mistake a recognizer trained on English names makes, more often
in other languages' text:

- **No letter or digit, no entity.** It now and then tags a lone full stop or other mark
  as an entity (the shipped e5small pipeline tagged "." as a DATE in a French sentence).
  No name, date or title is made of punctuation alone in any script: one `str.isalnum`
  check per entity, which knows the letters and digits of every script.
- **Glued neighbours of one type are one entity** (``join_glued``). In scripts written
  without spaces (Chinese, Japanese, Thai) the tokenizer splits every character off, and
  one encoder wordpiece often covers several of those tokens (阿里巴巴 is one piece), so
  they share one vector and the recognizer cuts names at arbitrary characters: 阿里 ORG
  + 巴巴 ORG. Two entities of one label with no whitespace between them are joined. In
  spaced text two names of one type hardly ever touch without a space or a mark between
  them: on the rebuilt e5small model no RELX or WikiANN figure changed with the rule
  (``bench/results/rebuild/end_to_end.md`` before and after it).

- **No separator at a name's edge** (``trim_separators``). It now and then runs a name on
  into the comma or colon after it ("Ottawa ,"): a token of separators alone (``,`` ``;``
  ``:`` and their full-width and Arabic forms) at either end of an entity is cut off. A
  name hardly ever ends in one, unlike ``.`` (``Jr.``, ``U.S.``, which WikiANN splits into
  "Jr ." and tags whole) and brackets (``Shake (company)``), which stay. On English dev
  data the recognizer's F did not move with the rule and its precision and recall rose a
  little (``bench/results/entity_filter_trim_separators.md``).

- **No boundary inside a wordpiece** (``snap_to_pieces``). One encoder wordpiece often
  covers several of those character tokens (東京 is one piece, 東 and 京 two tokens), and
  every token of a piece gets that piece's vector: the recognizer cannot see where inside
  it a name starts or ends, yet now and then cuts there (京 LOC for 東京). Where an
  entity's boundary falls between two glued tokens of letters or digits that one
  wordpiece covers, the entity grows to take in the neighbour, unless it would then reach
  into another entity. Spaced text hardly ever has such a boundary: a wordpiece does not
  cross a space, and a piece that joins a word to the mark after it (``Inc.)``) joins no
  two alphanumeric tokens.

None of spaCy's built-in components does any of these (``doc_cleaner`` removes doc attributes
such as the tensor; the rulers add entities; ``merge_entities`` merges tokens, not
entities).
"""

from typing import List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span
from thinc.types import Ragged


@Language.factory(
    "xlie_entity_filter",
    requires=["doc.ents"],
    assigns=["doc.ents"],
    default_config={"join_glued": True, "trim_separators": True, "snap_to_pieces": True},
)
def make_entity_filter(nlp: Language, name: str, join_glued: bool, trim_separators: bool,
                       snap_to_pieces: bool) -> "EntityFilter":
    """The entity filter (see the module docstring). ``join_glued``: join entities of one
    label that touch with no whitespace between them. ``trim_separators``: cut separator
    tokens off both ends of every entity. ``snap_to_pieces``: move a boundary that falls
    inside an encoder wordpiece out to the piece's edge (needs the transformer's output,
    ``doc._.trf_data``; docs without it are left as they are)."""
    return EntityFilter(join_glued=join_glued, trim_separators=trim_separators,
                        snap_to_pieces=snap_to_pieces)


#: Characters that separate words or clauses and never end a name: a token made of them
#: alone is cut off an entity's edge by ``trim_separators``.
SEPARATORS = frozenset(",;:\uff0c\u3001\uff1b\uff1a\u060c\u061b")


class EntityFilter:
    """Drops entities with no letter or digit and, with ``trim_separators``, cuts separator
    tokens off their edges; with ``join_glued``, joins glued neighbours of one label (see
    the module docstring)."""

    def __init__(self, *, join_glued: bool = True, trim_separators: bool = True,
                 snap_to_pieces: bool = True) -> None:
        self.join_glued = join_glued
        self.trim_separators = trim_separators
        self.snap_to_pieces = snap_to_pieces

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        if self.trim_separators:
            ents = [without_edge_separators(ent) for ent in ents]
        ents = [ent for ent in ents if has_letter_or_digit(ent)]
        if self.snap_to_pieces:
            align = piece_alignment(doc)
            if align is not None:
                ents = snapped_to_pieces(ents, align)
        if self.join_glued:
            ents = join_glued_neighbours(ents)
        if [(e.start, e.end) for e in ents] != [(e.start, e.end) for e in doc.ents]:
            doc.ents = ents
        return doc


def has_letter_or_digit(span: Span) -> bool:
    """Whether any character of ``span`` is a letter or digit, in any script."""
    return any(char.isalnum() for char in span.text)


def is_separator(text: str) -> bool:
    """Whether a token's text is separators alone (:data:`SEPARATORS`)."""
    return bool(text) and all(char in SEPARATORS for char in text)


def without_edge_separators(ent: Span) -> Span:
    """``ent`` without the separator tokens at its start and end, with its label and KB id
    (``ent`` itself when it has none there, or nothing else: separators alone have no
    letter or digit, and the filter drops them)."""
    start, end = ent.start, ent.end
    while start < end and is_separator(ent.doc[start].text):
        start += 1
    while end > start and is_separator(ent.doc[end - 1].text):
        end -= 1
    if start == end or (start, end) == (ent.start, ent.end):
        return ent
    return Span(ent.doc, start, end, label=ent.label, kb_id=ent.kb_id)


def join_glued_neighbours(ents: List[Span]) -> List[Span]:
    """``ents`` (in doc order) with each run of entities that share a label and a KB id
    and touch with no whitespace between them replaced by one entity over the run."""
    joined: List[Span] = []
    for ent in ents:
        last = joined[-1] if joined else None
        if (last is not None and last.end == ent.start and not last[-1].whitespace_
                and same_kind(last, ent)):
            joined[-1] = Span(ent.doc, last.start, ent.end, label=ent.label, kb_id=ent.kb_id)
        else:
            joined.append(ent)
    return joined


def piece_alignment(doc: Doc) -> Optional[Ragged]:
    """The encoder wordpieces each token of ``doc`` was read from (a ``Ragged`` of indices
    into ``doc._.trf_data.wordpieces``, one row a token), or ``None`` where the doc has no
    transformer output."""
    data = doc._.trf_data if Doc.has_extension("trf_data") else None
    align = getattr(data, "align", None)
    return align if align is not None and len(align.lengths) == len(doc) else None


def cut_inside_piece(doc: Doc, align: Ragged, i: int) -> bool:
    """Whether the boundary after token ``i`` lies inside a wordpiece: tokens ``i`` and
    ``i + 1`` are glued letters or digits that share a piece (the pieces are looked up
    only for such tokens, which spaced text hardly has)."""
    left, right = doc[i], doc[i + 1]
    if left.whitespace_ or not left.text.isalnum() or not right.text.isalnum():
        return False
    return not set(align[i].dataXd.ravel().tolist()).isdisjoint(
        align[i + 1].dataXd.ravel().tolist())


def snapped_to_pieces(ents: List[Span], align: Ragged) -> List[Span]:
    """``ents`` (in doc order, not overlapping) with each boundary that lies inside a
    wordpiece moved out to the piece's edge. An entity that would then reach into one of
    another label or KB id stays as it was; entities of one label and KB id that reach
    into each other become one."""
    if not ents:
        return ents
    doc = ents[0].doc
    owner = {i: ent for ent in ents for i in range(ent.start, ent.end)}
    grown: List[Span] = []
    for ent in ents:
        start, end = ent.start, ent.end
        while start > 0 and cut_inside_piece(doc, align, start - 1):
            start -= 1
        while end < len(doc) and cut_inside_piece(doc, align, end - 1):
            end += 1
        if any(not same_kind(owner[i], ent) for i in range(start, end) if i in owner):
            grown.append(ent)
        else:
            grown.append(Span(doc, start, end, label=ent.label, kb_id=ent.kb_id))
    merged = [grown[0]]
    for ent in grown[1:]:  # overlapping ones share label and KB id (see above)
        last = merged[-1]
        if ent.start < last.end:
            merged[-1] = Span(doc, last.start, max(last.end, ent.end), label=last.label,
                              kb_id=last.kb_id)
        else:
            merged.append(ent)
    return merged


def same_kind(a: Span, b: Span) -> bool:
    """Whether two entities share their label and KB id."""
    return a.label == b.label and a.kb_id == b.kb_id
