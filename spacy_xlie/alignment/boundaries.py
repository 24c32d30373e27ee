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
from functools import partial
from typing import Callable, Dict, List, Set, Tuple

from spacy.attrs import ORTH
from spacy.tokens import Doc

from ..util.by_hash import ByHash

_APOSTROPHE_SUFFIX = re.compile(r"^(\w[^'’ʼ]*)(['’ʼ][^\W\d_]{1,6})$")
_CJK = "\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_PIECES = re.compile(f"[{_CJK}]|[^{_CJK}]+")


def target_pieces(text: str) -> List[str]:
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


def _as_split(pieces: Callable[[str], List[str]], text: str) -> Tuple[str, ...]:
    """A token's ``pieces`` where it is split, ``()`` where it is not."""
    split = pieces(text)
    return tuple(split) if len(split) > 1 else ()


#: For each pieces function, the split of each token string, by string hash (most docs
#: have no token to split, and are not walked token by token).
_SPLITS: Dict[Callable[[str], List[str]], ByHash[Tuple[str, ...]]] = {}


def split_target(doc: Doc) -> Doc:
    """Split ``doc``'s tokens in place at apostrophe suffixes and between CJK characters.

    Returns ``doc``. Tokens inside entities or span groups are left alone.
    """
    return split_tokens(doc, target_pieces)


def split_tokens(doc: Doc, pieces: Callable[[str], List[str]]) -> Doc:
    """Split ``doc``'s tokens in place into the ``pieces`` of their text (a single piece:
    not split).

    Returns ``doc``. Tokens inside entities or span groups are left alone.
    """
    if pieces not in _SPLITS:
        _SPLITS[pieces] = ByHash(partial(_as_split, pieces))
    per_token = _SPLITS[pieces].of(doc, doc.to_array(ORTH).tolist())
    splits = [(i, split) for i, split in enumerate(per_token) if split]
    if splits:
        protected = _protected(doc)
        splits = [(doc[i], split) for i, split in splits if i not in protected]
    if splits:
        with doc.retokenize() as retokenizer:
            for token, split in splits:
                heads = [(token, k) for k in range(len(split))]
                retokenizer.split(token, list(split), heads=heads)
    return doc
