"""Find KB aliases in tokenised text: normalised, longest-first, non-overlapping.

Why not spaCy's ``PhraseMatcher``: its patterns are Docs, so every alias token becomes a
lexeme in a vocab (about 2 KB per alias, measured: 2+ GB for a million aliases), and
matching on a custom normalisation needs a second Doc per sentence (~20 µs). The index
here keeps one ``dict`` from the normalised token sequence to entity positions and one
from a first token to the longest alias starting with it; matching a sentence is a few
dict look-ups per token, with the same semantics (token-sequence match, longest wins).

Normalisation of a token (aliases and text go through the same steps):

1. case: ``attr="LOWER"`` case-folds; for Turkish and Azerbaijani ``İ``/``I`` fold to
   ``i``/``ı`` first, so ``İstanbul`` = ``istanbul`` and ``ISPARTA`` ≠ ``isparta``;
2. diacritics (``fold_diacritics``): NFKD, combining marks dropped, and letters with no
   decomposition mapped (``ı ø ł đ ß æ œ``); off by default, as it merges real words
   (and Japanese kana voicing);
3. sub-tokens (``subtokens``): a token is split at hyphens, apostrophes, quotes and
   slashes, so ``Mac-Computer``, ``İstanbul'da`` or ``l'"Odyssée`` contain the pieces
   ``Mac``, ``İstanbul``, ``Odyssée``. A mention inside a token covers the whole token
   (token boundaries are never changed). URLs and e-mail addresses stay whole: a name in
   a link's path (``…/wiki/Siemens``) or an address is not a mention of it;
4. inflection (``suffixes``): a text piece that is not itself an alias piece but becomes
   the last piece of an alias after removing one suffix (German ``Apples`` → ``Apple``,
   ``Koreanern`` → ``Koreaner``; French ``Kurdes`` → ``Kurde``) is read as that piece.
"""

import re
import unicodedata
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.lang.lex_attrs import like_email, like_url

Candidates = Union[int, Tuple[int, ...]]
#: A match: first token, end token (exclusive), entity positions, whether it is partial
#: (covers part of a token: sub-token or inflected piece).
Match = Tuple[int, int, Tuple[int, ...], bool]

#: Inflection suffixes tried per language (longest first); others get none.
DEFAULT_SUFFIXES: Dict[str, Tuple[str, ...]] = {
    "de": ("ern", "es", "en", "er", "ns", "s", "n"),
    "nl": ("en", "s"),
    "fr": ("s", "x"),
    "es": ("es", "s"),
    "pt": ("es", "s"),
    "it": (),
    "en": ("s",),
}
TURKIC = ("tr", "az")
_SEP = "\x1f"
_SPLIT_RE = re.compile(
    r"([\-\u2010\u2011\u2013\u2014'\u2018\u2019\"\u201c\u201d\u201e\u00ab\u00bb/])"
)
_FOLD = str.maketrans({"ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
                       "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th"})
_MIN_STEM = 3
_CACHE_LIMIT = 500_000


def make_normalizer(lang: str, attr: str, fold_diacritics: bool) -> Callable[[str], str]:
    """The token normalisation described in the module docstring (steps 1 and 2)."""
    if attr not in ("ORTH", "LOWER"):
        raise ValueError(f"attr must be 'ORTH' or 'LOWER', got {attr!r}")
    lower = attr == "LOWER"
    turkic = lang in TURKIC

    def normalize(text: str) -> str:
        if lower:
            if turkic:
                text = text.replace("İ", "i").replace("I", "ı")
            text = text.casefold()
        if fold_diacritics:
            text = unicodedata.normalize("NFKD", text)
            text = "".join(c for c in text if not unicodedata.combining(c)).translate(_FOLD)
        return text

    return normalize


class AliasIndex:
    """Normalised aliases of one language → entity positions, and a matcher over tokens."""

    def __init__(
        self,
        lang: str,
        *,
        attr: str = "LOWER",
        fold_diacritics: bool = False,
        subtokens: bool = True,
        suffixes: Optional[Sequence[str]] = None,
    ) -> None:
        self.lang = lang
        self.normalize = make_normalizer(lang, attr, fold_diacritics)
        self.subtokens = subtokens
        chosen = DEFAULT_SUFFIXES.get(lang, ()) if suffixes is None else suffixes
        self.suffixes = tuple(sorted(chosen, key=len, reverse=True))
        self._keys: Dict[str, Candidates] = {}
        self._starts: Dict[str, int] = {}
        self._ends: set = set()
        self._cache: Dict[str, Tuple[Tuple[str, ...], bool]] = {}
        self._orth_cache: Dict[int, Tuple[Tuple[str, ...], bool]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def _split(self, text: str) -> List[str]:
        norm = self.normalize(text)
        if not self.subtokens or like_url(text) or like_email(text):
            return [norm]
        return [p for p in _SPLIT_RE.split(norm) if p]

    def add(self, tokens: Iterable[str], candidates: Sequence[int]) -> None:
        """Index an alias given as its tokens (from the pipeline's tokenizer)."""
        pieces = [p for tok in tokens if not tok.isspace() for p in self._split(tok)]
        if not pieces or not candidates:
            return
        key = _SEP.join(pieces)
        old = self._keys.get(key)
        if old is None:
            new: Candidates = candidates[0] if len(candidates) == 1 else tuple(candidates)
        else:
            merged = list(old) if isinstance(old, tuple) else [old]
            merged += [c for c in candidates if c not in merged]
            new = merged[0] if len(merged) == 1 else tuple(merged)
        self._keys[key] = new
        if self._starts.get(pieces[0], 0) < len(pieces):
            self._starts[pieces[0]] = len(pieces)
        self._ends.add(pieces[-1])
        self._cache.clear()
        self._orth_cache.clear()

    def _pieces(self, text: str) -> Tuple[Tuple[str, ...], bool]:
        """Normalised (and de-inflected) pieces of one text token, and whether a piece
        was de-inflected; cached."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        if text.isspace():
            result: Tuple[Tuple[str, ...], bool] = ((), False)
        else:
            pieces = self._split(text)
            partial = False
            for i, piece in enumerate(pieces):
                stem = self._stem(piece)
                if stem is not None:
                    pieces[i] = stem
                    partial = True
            result = (tuple(pieces), partial)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[text] = result
        return result

    def _stem(self, piece: str) -> Optional[str]:
        if not self.suffixes or piece in self._starts or piece in self._ends:
            return None
        for suffix in self.suffixes:
            if piece.endswith(suffix) and len(piece) - len(suffix) >= _MIN_STEM:
                stem = piece[: -len(suffix)]
                if stem in self._ends:
                    return stem
        return None

    def find(self, tokens: Sequence[str]) -> List[Match]:
        """Longest non-overlapping alias matches over token texts, in text order."""
        cache = self._cache
        return self._match([cache.get(text) or self._pieces(text) for text in tokens])

    def find_orths(self, orths: Sequence[int], strings: Any) -> List[Match]:
        """As :meth:`find`, over ``ORTH`` hashes (a Doc's ``to_array(ORTH)``): a Doc's
        token texts are never materialised, except for tokens not seen before."""
        cache = self._orth_cache
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        entries = []
        for orth in orths:
            entry = cache.get(orth)
            if entry is None:
                entry = cache[orth] = self._pieces(strings[orth])
            entries.append(entry)
        return self._match(entries)

    def _match(self, entries: List[Tuple[Tuple[str, ...], bool]]) -> List[Match]:
        pieces: List[str] = []
        owner: List[int] = []
        for ti, (tok_pieces, _) in enumerate(entries):
            if len(tok_pieces) == 1:
                pieces.append(tok_pieces[0])
                owner.append(ti)
            else:
                pieces.extend(tok_pieces)
                owner.extend([ti] * len(tok_pieces))
        found: List[Tuple[int, int, int, Candidates, bool]] = []
        n = len(pieces)
        starts, keys = self._starts, self._keys
        for i in range(n):
            longest = starts.get(pieces[i])
            if not longest:
                continue
            for length in range(min(longest, n - i), 0, -1):
                key = pieces[i] if length == 1 else _SEP.join(pieces[i:i + length])
                cands = keys.get(key)
                if cands is not None:
                    first, last = owner[i], owner[i + length - 1]
                    partial = (
                        entries[first][1] or entries[last][1]
                        or (i > 0 and owner[i - 1] == first)
                        or (i + length < n and owner[i + length] == last)
                    )
                    found.append((first, last + 1, length, cands, partial))
                    break
        return _longest_first(found)

    def lookup(self, tokens: Sequence[str]) -> Tuple[int, ...]:
        """Entity positions for a whole span (``ents`` mode), or ``()``."""
        pieces = [p for text in tokens for p in self._pieces(text)[0]]
        cands = self._keys.get(_SEP.join(pieces)) if pieces else None
        if cands is None:
            return ()
        return cands if isinstance(cands, tuple) else (cands,)


def _longest_first(found: List[Tuple[int, int, int, Candidates, bool]]) -> List[Match]:
    """Keep the longest matches (tokens, then pieces), earliest first, without overlap."""
    found.sort(key=lambda m: (-(m[1] - m[0]), -m[2], m[0]))
    taken: set = set()
    kept: List[Match] = []
    for start, end, _, cands, partial in found:
        if any(t in taken for t in range(start, end)):
            continue
        taken.update(range(start, end))
        kept.append((start, end, cands if isinstance(cands, tuple) else (cands,), partial))
    kept.sort(key=lambda m: m[0])
    return kept
