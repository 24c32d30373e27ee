"""Target tokenisation for projection: the span boundaries a projected entity may need.

A projected entity must be a spaCy span, so it can only start and end at token
boundaries. Two kinds of boundary are missing from the usual tokenisers:

- **Apostrophe suffixes** (Turkish, Azerbaijani): a name and its case ending or
  possessive are one token (``Ankara'da``, ``Microsoft'un``, ``1968'de``), while the
  entity is the bare name (RELX marks ``<e1>Ankara</e1>'da``). A token made of a stem
  that starts with an upper-case letter or a digit, an apostrophe (``'``, ``’``, ``ʼ``)
  and one to six lower-case letters is split before the apostrophe. Elisions
  (``l'université``, ``aujourd'hui``: a lower-case stem) and names with an inner
  apostrophe (``O'Brien``: an upper-case part after it) are left alone.
- **Scripts written without spaces** (Chinese, Japanese kana): a tokeniser without a
  word segmenter (``spacy.blank("xx")``) keeps a whole clause as one token. Each Han,
  Hiragana or Katakana character becomes a token (what spaCy's Chinese ``char``
  segmenter does), so entities are matched character by character.

Tokens inside existing entities or span groups are not split.
"""

import re
from typing import List, Set

from spacy.attrs import ORTH
from spacy.tokens import Doc

_APOSTROPHE_SUFFIX = re.compile(r"^(\w[^'’ʼ]*)(['’ʼ][^\W\d_]{1,6})$")
_CJK = "\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_HAS_SPLIT = re.compile(f"['’ʼ]|[{_CJK}]")
_CJK_PIECES = re.compile(f"[{_CJK}]|[^{_CJK}]+")


def _pieces(text: str) -> List[str]:
    """How a token is split (a single piece: not at all)."""
    match = _APOSTROPHE_SUFFIX.match(text)
    if match:
        stem, suffix = match.groups()
        if (stem[0].isupper() or stem[0].isdigit()) and suffix[1:].islower():
            return [stem, suffix]
    if _CJK_CHAR.search(text):
        return _CJK_PIECES.findall(text)
    return [text]


def _protected(doc: Doc) -> Set[int]:
    tokens = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    for group in doc.spans.values():
        tokens.update(i for span in group for i in range(span.start, span.end))
    return tokens


#: String hashes (the same in every vocab) of the tokens seen, and of those that may need a
#: split.
_SEEN: Set[int] = set()
_SPLIT: Set[int] = set()


def _may_split(doc: Doc) -> bool:
    """The fast check of :func:`split_target`: set operations on the token hashes, each
    string looked at once per process."""
    orths = doc.to_array(ORTH).tolist()
    if not _SEEN.issuperset(orths):
        if len(_SEEN) > 1 << 18:
            _SEEN.clear()
            _SPLIT.clear()
        strings = doc.vocab.strings
        for orth in set(orths).difference(_SEEN):
            _SEEN.add(orth)
            if _HAS_SPLIT.search(strings[orth]):
                _SPLIT.add(orth)
    return not _SPLIT.isdisjoint(orths)


def split_target(doc: Doc) -> Doc:
    """Split ``doc``'s tokens in place at apostrophe suffixes and between CJK characters.

    Returns ``doc``. Docs with neither an apostrophe nor a CJK character are untouched
    (a fast check on the token hashes).
    """
    if not _may_split(doc):
        return doc
    protected = _protected(doc)
    splits = []
    for token in doc:
        if token.i in protected:
            continue
        pieces = _pieces(token.text)
        if len(pieces) > 1:
            splits.append((token, pieces))
    if splits:
        with doc.retokenize() as retokenizer:
            for token, pieces in splits:
                heads = [(token, k) for k in range(len(pieces))]
                retokenizer.split(token, pieces, heads=heads)
    return doc
