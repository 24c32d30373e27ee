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
   (``Kalifornien``, ``Universität von Minnesota``, ``York Bölgesi``). Function words
   (the target language's stop words) render function words (``of`` ~ ``für``,
   ``The National`` ~ ``Der National``), and a long target word may render several
   entity words as the parts of a compound (``Infantry Division`` ~ ``Infanteriedivision``).

Each level has a fixed confidence ceiling so exact matches always win over fuzzy ones.
All string levels are searched, so one entity may have several candidates; when they
are about equally good, the one that corresponds to the source entity's occurrence
wins: the k-th of n equal source strings goes to the k-th of n target candidates, else
the one at the closest relative position (translations keep a rough word order).
"""

import unicodedata
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

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
#: Weight of an entity's function word (stop word) in a fuzzy score, the similarity of
#: two different function words, and the cost of an unmatched one inside a window.
FUNCTION_WEIGHT = 0.5
FUNCTION_SIM = 0.8
FUNCTION_COST = 0.03
#: Discount of an entity word matched as a part of a longer target word (a compound).
PART_FACTOR = 0.9
PART_FLOOR = 0.65
#: Candidates within ``TIE`` of the best are disambiguated by occurrence and position;
#: the ones not chosen lose ``AMBIGUITY_PENALTY``.
TIE = 0.03
AMBIGUITY_PENALTY = 0.02


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


def part_similarity(source: str, target: str, *, head: bool = False) -> float:
    """0–1 similarity of ``source`` with the start (or, for a ``head``, the end) of a
    longer ``target``.

    Compounds render several words as one (``management studies`` ~
    ``managementstudien``, ``infantry division`` ~ ``infanteriedivision``), derivations
    keep the stem (``Mexico`` ~ ``mexikanischen``): an entity word of five characters or
    more may match the start of a word at least three characters longer, at a discount.
    Only the head (the last content word of a multi-word entity) may match the end: a
    single word matching a compound's end names another thing (``actor`` ~
    ``Drehbuchautor``).
    """
    if len(source) < 5 or len(target) < len(source) + 3:
        return 0.0
    size = len(source)
    best = 0.0
    for part in (target[:size], target[-size:]) if head else (target[:size],):
        best = max(
            best,
            Indel.normalized_similarity(source, part),
            0.95 * Indel.normalized_similarity(loose_key(source), loose_key(part)),
        )
    return PART_FACTOR * best


class _Words:
    """The word tokens of a doc (or a span) in fuzzy form, with function-word flags."""

    def __init__(self, tokens: Sequence) -> None:
        self.tokens = [t for t in tokens if _is_word(t.text)]
        self.norms = [_fuzzy_form(t.text) for t in self.tokens]
        self.function = [t.is_stop for t in self.tokens]


def _similarities(
    ent: _Words, tgt: _Words
) -> Tuple[List[List[float]], List[List[float]]]:
    """Whole-word and compound-part similarities of every entity word with every word.

    Two function words render each other (``of`` ~ ``von``) at ``FUNCTION_SIM`` at
    least; function words are no compound parts.
    """
    sims, parts = [], []
    content = [i for i, func in enumerate(ent.function) if not func]
    head = content[-1] if len(content) > 1 else None
    for i, (e_norm, e_func) in enumerate(zip(ent.norms, ent.function)):
        row, part_row = [], []
        for t_norm, t_func in zip(tgt.norms, tgt.function):
            sim = word_similarity(e_norm, t_norm)
            row.append(max(sim, FUNCTION_SIM) if e_func and t_func else sim)
            part_row.append(
                0.0 if e_func or t_func else part_similarity(e_norm, t_norm, head=i == head)
            )
        sims.append(row)
        parts.append(part_row)
    return sims, parts


def _matching_score(
    sims: Sequence[Sequence[float]],
    parts: Sequence[Sequence[float]],
    ent_function: Sequence[bool],
    win_function: Sequence[bool],
    floor: float,
) -> float:
    """How well a window of target words renders an entity's words, 0–1.

    ``sims[i][j]`` is the similarity of entity word ``i`` with window word ``j``. Pairs
    are matched one-to-one, most similar first, in any order (translations reorder:
    ``Parti communiste``, ``29. Dezember 1968``); similarities under ``floor`` are no
    match. Content words still unmatched may then match a part of a word (a compound,
    ``parts``), matched or not, if similar enough (``PART_FLOOR``). The matched
    similarity is divided by the entity's length, in which function words weigh
    ``FUNCTION_WEIGHT``; at least one content word must match. An unmatched content
    word inside the window that can stand for an unmatched content word of the entity
    earns a little credit, an unmatched function word inside costs little (articles:
    ``Norfolk und des Norwich``); any other unmatched window word costs, and one at the
    edge always costs, so windows do not grow into the neighbours. A window starts
    (ends) with a function word only where the entity does (``Der National``).
    """
    rows, cols = len(sims), len(sims[0])
    weights = [FUNCTION_WEIGHT if f else 1.0 for f in ent_function]
    pairs = sorted(
        ((sims[i][j], i, j) for i in range(rows) for j in range(cols)), reverse=True
    )
    row_of: Dict[int, int] = {}
    total = 0.0
    for sim, i, j in pairs:
        if sim < floor:
            break
        if i not in row_of.values() and j not in row_of:
            row_of[j] = i
            total += weights[i] * sim
    used_rows, used_cols = set(row_of.values()), set(row_of)
    for i in range(rows):
        if i in used_rows or ent_function[i]:
            continue
        j = max(range(cols), key=lambda col: parts[i][col])
        if parts[i][j] >= PART_FLOOR:
            used_rows.add(i)
            used_cols.add(j)
            total += parts[i][j]
    if not any(not ent_function[i] for i in used_rows):
        return 0.0
    first, last = min(used_cols), max(used_cols)
    if (win_function[first] and row_of.get(first, 0) != 0) or (
        win_function[last] and row_of.get(last, rows - 1) != rows - 1
    ):
        return 0.0  # a window starts (ends) with a function word only where the entity does
    edge = first + (cols - 1 - last)
    inner = [j for j in range(first, last + 1) if j not in used_cols]
    inner_function = sum(1 for j in inner if win_function[j])
    inner_content = len(inner) - inner_function
    free_rows = sum(1 for i in range(rows) if i not in used_rows and not ent_function[i])
    credit = INNER_CREDIT * min(free_rows, inner_content)
    cost = (EXTRA_COST * (edge + max(0, inner_content - free_rows))
            + FUNCTION_COST * inner_function)
    return max(0.0, (total + credit) / sum(weights) - cost)


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
        src_view = _NormalizedDoc(src, NORMALIZERS["fold"])
        words = _Words(tgt)
        out = []
        for start, end in spans:
            span = src[start:end]
            found = self._string_matches(span, views)
            if not found:
                found = self._fuzzy_matches(span, words)
            found = _disambiguate(found, span, src_view, len(tgt))
            found.sort(key=lambda c: (-c.score, c.start))
            out.append(found[: self.max_candidates])
        return out

    def _string_matches(self, span: Span, views: Dict[str, _NormalizedDoc]) -> List[Candidate]:
        """Matches at every string level, the best level per target span."""
        best: Dict[Tuple[int, int], Candidate] = {}
        for level, view in views.items():
            needle = _span_text(span, NORMALIZERS[level])
            if not needle:
                continue
            at = view.text.find(needle)
            while at != -1:
                cand = self._to_tokens(view, at, at + len(needle), level, len(needle))
                key = (cand.start, cand.end) if cand is not None else None
                if cand is not None and (key not in best or best[key].score < cand.score):
                    best[key] = cand
                at = view.text.find(needle, at + 1)
        return list(best.values())

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

    def _fuzzy_matches(self, span: Span, words: _Words) -> List[Candidate]:
        ent = _Words(span)
        if not ent.tokens or not words.tokens or all(ent.function):
            return []  # function words alone ("he", "his") are translated, not found
        sims, parts = _similarities(ent, words)
        found = []
        max_len = len(ent.tokens) + 3
        tokens = words.tokens
        for i in range(len(tokens)):
            for j in range(i + 1, min(len(tokens), i + max_len) + 1):
                if tokens[j - 1].i - tokens[i].i + 1 > 2 * max_len:
                    break  # words too far apart in the doc
                score = _matching_score(
                    [row[i:j] for row in sims], [row[i:j] for row in parts],
                    ent.function, words.function[i:j], self.word_floor,
                )
                if score >= self.min_fuzzy:
                    found.append(
                        Candidate(tokens[i].i, tokens[j - 1].i + 1, FUZZY_MAX * score,
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


def _occurrences(view: _NormalizedDoc, needle: str) -> List[int]:
    """First tokens of the whole-token occurrences of ``needle`` in a normalised doc."""
    out = []
    at = view.text.find(needle) if needle else -1
    while at != -1:
        first = view.char_token[at]
        last = view.char_token[at + len(needle) - 1]
        if view.token_start[first] == at and view.token_end[last] == at + len(needle):
            out.append(first)
        at = view.text.find(needle, at + 1)
    return out


def _disambiguate(
    found: List[Candidate], span: Span, src_view: _NormalizedDoc, tgt_len: int
) -> List[Candidate]:
    """Prefer, among about equally good candidates, the one this occurrence maps to.

    When the source holds the entity's string ``n`` times and ``n`` candidates tie, the
    k-th occurrence takes the k-th candidate (``Losi Team Losi``); otherwise the
    candidate at the closest relative position wins. The others lose a little
    confidence, so they stay available when the preferred one is taken.
    """
    if len(found) < 2:
        return found
    best = max(c.score for c in found)
    tied = sorted((c for c in found if c.score >= best - TIE), key=lambda c: c.start)
    if len(tied) < 2:
        return found
    occurrences = _occurrences(src_view, _span_text(span, NORMALIZERS["fold"]))
    if len(occurrences) == len(tied) and span.start in occurrences:
        chosen = tied[occurrences.index(span.start)]
    else:
        src_len = len(span.doc)
        expected = (span.start + span.end) / 2 / max(src_len, 1)
        chosen = min(tied, key=lambda c: abs((c.start + c.end) / 2 / max(tgt_len, 1)
                                             - expected))
    lowered = min(chosen.score, best) - AMBIGUITY_PENALTY
    return [
        c if c is chosen or c not in tied else replace(c, score=min(c.score, lowered))
        for c in found
    ]


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
