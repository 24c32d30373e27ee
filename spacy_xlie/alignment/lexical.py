"""Lexical projection: find each source entity's surface form in the translation.

Names, numbers and many organisation names survive translation nearly unchanged, so a
string search finds most entities without any model. The search runs through
increasingly tolerant levels and stops at the first that matches:

1. ``exact``: the same token texts;
2. ``case``: case-folded;
3. ``fold``: case- and diacritic-folded (``Zürich`` = ``Zurich``);
4. ``translit``: transliterated to Latin with anyascii (``Путин`` = ``Putin``,
   ``北京`` = ``BeiJing``), which also lets a match end inside a token to tolerate
   inflectional suffixes (``Mumbai'de``, ``Putina``);
5. ``fuzzy``: a word-level alignment of the entity with windows of target tokens,
   scored with rapidfuzz, tolerant to inflection and partial translation
   (``Kalifornien``, ``Universität von Minnesota``, ``York Bölgesi``).

Each level has a fixed confidence ceiling so exact matches always win over fuzzy ones.
"""

import unicodedata
from typing import Callable, Dict, List, Optional, Sequence

from anyascii import anyascii
from rapidfuzz.distance import Indel
from spacy.tokens import Doc, Span

from .base import AlignmentTask, Candidate, SpanAligner, TokenSpan

#: Confidence of a match at each string level (fuzzy matches score at most ``FUZZY_MAX``).
LEVEL_SCORES = {"exact": 1.0, "case": 0.97, "fold": 0.95, "translit": 0.92}
FUZZY_MAX = 0.9
#: Fuzzy window scoring: credit for an unmatched window word that can render an
#: unmatched entity word, cost of any other unmatched window word.
INNER_CREDIT = 0.3
EXTRA_COST = 0.15


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


NORMALIZERS: Dict[str, Callable[[str], str]] = {
    "exact": lambda text: unicodedata.normalize("NFC", text),
    "case": lambda text: unicodedata.normalize("NFC", text).casefold(),
    "fold": _fold,
    "translit": lambda text: anyascii(text).casefold(),
}


def _is_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _fuzzy_form(text: str) -> str:
    """Transliterated, folded, without the punctuation around it (``29.``, ``"Abc``)."""
    norm = NORMALIZERS["translit"](text)
    start, end = 0, len(norm)
    while start < end and not norm[start].isalnum():
        start += 1
    while end > start and not norm[end - 1].isalnum():
        end -= 1
    return norm[start:end]


class _NormalizedDoc:
    """A doc's text at one normalisation level, with a map from characters to tokens."""

    def __init__(self, doc: Doc, normalize: Callable[[str], str]) -> None:
        pieces: List[str] = []
        self.char_token: List[int] = []
        self.token_start: List[int] = []
        self.token_end: List[int] = []
        length = 0
        for token in doc:
            norm = normalize(token.text)
            self.token_start.append(length)
            pieces.append(norm)
            self.char_token.extend([token.i] * len(norm))
            length += len(norm)
            self.token_end.append(length)
            if token.whitespace_ and token.i < len(doc) - 1:
                pieces.append(" ")
                self.char_token.append(token.i)
                length += 1
        self.text = "".join(pieces)


def _span_text(span: Span, normalize: Callable[[str], str]) -> str:
    parts = []
    for token in span:
        parts.append(normalize(token.text))
        if token.whitespace_ and token.i < span.end - 1:
            parts.append(" ")
    return "".join(parts).strip()


#: Spelling variants that differ between languages' renderings of the same name
#: (``California``/``Kalifornien``, ``Morocco``/``Marokko``), applied for fuzzy matching.
_LOOSE = [("ph", "f"), ("th", "t"), ("ck", "k"), ("c", "k"), ("z", "s"), ("y", "i"),
          ("j", "i"), ("w", "v"), ("qu", "kv")]


def loose_key(word: str) -> str:
    """A folded word with cross-language spelling variants merged and doubles collapsed."""
    for old, new in _LOOSE:
        word = word.replace(old, new)
    out = []
    for ch in word:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def word_similarity(source: str, target: str) -> float:
    """0–1 similarity of two normalised words, tolerant to an inflectional suffix.

    ``Indel`` similarity of the whole words, of their :func:`loose_key` spellings (a
    little lower), or of the source against the target's prefix of the same length
    (``mumbai`` ~ ``mumbai'de``) at a small cost per extra character, whichever is
    highest. Numbers match on their digits (``2nd`` = ``2.`` = ``2e``). Words of up to
    three characters must be equal: a fuzzy "his" is "ist".
    """
    source_digits = "".join(ch for ch in source if ch.isdigit())
    target_digits = "".join(ch for ch in target if ch.isdigit())
    if source_digits or target_digits:
        return 0.9 * float(source_digits == target_digits)
    if min(len(source), len(target)) <= 3:
        return float(source == target)
    whole = max(
        Indel.normalized_similarity(source, target),
        0.95 * Indel.normalized_similarity(loose_key(source), loose_key(target)),
    )
    if len(target) > len(source):
        extra = len(target) - len(source)
        prefix = Indel.normalized_similarity(source, target[: len(source)]) - 0.03 * extra
        return max(whole, prefix)
    return whole


def _matching_score(sims: Sequence[Sequence[float]], floor: float) -> float:
    """How well a window of target words renders an entity's words, 0–1.

    ``sims[i][j]`` is the similarity of entity word ``i`` with window word ``j``. Pairs
    are matched one-to-one, most similar first, in any order (translations reorder:
    ``Parti communiste``, ``29. Dezember 1968``); similarities under ``floor`` are no
    match. The matched similarity is divided by the entity's length. An unmatched word
    inside the window that can stand for an unmatched entity word (``of`` ~ ``für``)
    earns a little credit; any other unmatched window word costs, and one at the edge
    always costs, so windows do not grow into the neighbouring words.
    """
    rows, cols = len(sims), len(sims[0])
    pairs = sorted(
        ((sims[i][j], i, j) for i in range(rows) for j in range(cols) if sims[i][j] >= floor),
        reverse=True,
    )
    used_rows, used_cols = set(), set()
    total = 0.0
    for sim, i, j in pairs:
        if i not in used_rows and j not in used_cols:
            used_rows.add(i)
            used_cols.add(j)
            total += sim
    if not used_cols:
        return 0.0
    edge = min(used_cols) + (cols - 1 - max(used_cols))
    inner = cols - len(used_cols) - edge
    free_rows = rows - len(used_rows)
    credit = INNER_CREDIT * min(free_rows, inner)
    cost = EXTRA_COST * (edge + max(0, inner - free_rows))
    return max(0.0, (total + credit) / rows - cost)


class LexicalAligner(SpanAligner):
    """String-matching span aligner: offline, no model, CPU only.

    min_fuzzy (float): lowest fuzzy window score (0–1) proposed as a candidate.
    max_suffix (int): characters a ``translit`` match may stop short of a token's end
        (inflection: ``Mumbai|'de``); the candidate then covers the whole token.
    max_candidates (int): candidates returned per source span.
    word_floor (float): word similarity under which two words do not match at all.
    """

    name = "lexical"

    def __init__(
        self,
        *,
        min_fuzzy: float = 0.65,
        max_suffix: int = 4,
        max_candidates: int = 5,
        word_floor: float = 0.5,
    ) -> None:
        self.word_floor = word_floor
        self.min_fuzzy = min_fuzzy
        self.max_suffix = max_suffix
        self.max_candidates = max_candidates

    def candidates_batch(self, tasks: Sequence[AlignmentTask]) -> List[List[List[Candidate]]]:
        return [self._pair(src, tgt, spans) for src, tgt, spans in tasks]

    def _pair(self, src: Doc, tgt: Doc, spans: Sequence[TokenSpan]) -> List[List[Candidate]]:
        views = {level: _NormalizedDoc(tgt, norm) for level, norm in NORMALIZERS.items()}
        words = [t for t in tgt if _is_word(t.text)]
        word_norms = [_fuzzy_form(t.text) for t in words]
        out = []
        for start, end in spans:
            span = src[start:end]
            found = self._string_matches(span, views)
            if not found:
                found = self._fuzzy_matches(span, words, word_norms)
            found.sort(key=lambda c: (-c.score, c.start))
            out.append(found[: self.max_candidates])
        return out

    def _string_matches(self, span: Span, views: Dict[str, _NormalizedDoc]) -> List[Candidate]:
        for level, view in views.items():
            needle = _span_text(span, NORMALIZERS[level])
            if not needle:
                continue
            found = []
            at = view.text.find(needle)
            while at != -1:
                cand = self._to_tokens(view, at, at + len(needle), level, len(needle))
                if cand is not None:
                    found.append(cand)
                at = view.text.find(needle, at + 1)
            if found:
                return found
        return []

    def _to_tokens(
        self, view: _NormalizedDoc, start: int, end: int, level: str, length: int
    ) -> Optional[Candidate]:
        first = view.char_token[start]
        last = view.char_token[end - 1]
        if view.token_start[first] != start:
            return None  # starts inside a word: "he" in "the"
        suffix = view.token_end[last] - end
        score = LEVEL_SCORES[level]
        if suffix:
            if level != "translit" or suffix > min(self.max_suffix, length // 2):
                return None
            score -= 0.02 * suffix
        return Candidate(first, last + 1, score, f"lexical:{level}")

    def _fuzzy_matches(
        self, span: Span, words: List, word_norms: List[str]
    ) -> List[Candidate]:
        ent = [_fuzzy_form(t.text) for t in span if _is_word(t.text)]
        if not ent or not words:
            return []
        sims = [[word_similarity(e, w) for w in word_norms] for e in ent]
        found = []
        max_len = len(ent) + 2
        for i in range(len(words)):
            for j in range(i + 1, min(len(words), i + max_len) + 1):
                if words[j - 1].i - words[i].i + 1 > 2 * max_len:
                    break  # words too far apart in the doc
                window = [row[i:j] for row in sims]
                score = _matching_score(window, self.word_floor)
                if score >= self.min_fuzzy:
                    found.append(
                        Candidate(words[i].i, words[j - 1].i + 1, FUZZY_MAX * score,
                                  "lexical:fuzzy")
                    )
        return _non_overlapping(found)


def _non_overlapping(found: List[Candidate]) -> List[Candidate]:
    """Best window per region: a window overlapping a better one is not a new place."""
    kept: List[Candidate] = []
    for cand in sorted(found, key=lambda c: (-c.score, c.end - c.start, c.start)):
        if not any(cand.overlaps(k.start, k.end) for k in kept):
            kept.append(cand)
    return kept


def create_lexical_aligner(
    min_fuzzy: float = 0.65,
    max_suffix: int = 4,
    max_candidates: int = 5,
    word_floor: float = 0.5,
) -> LexicalAligner:
    """Registered as ``spacy_xlie.lexical_aligner.v1`` (spacy_misc)."""
    return LexicalAligner(
        min_fuzzy=min_fuzzy, max_suffix=max_suffix, max_candidates=max_candidates,
        word_floor=word_floor,
    )
