"""Lexical projection: find each source entity's surface form in the translation.

Names, numbers and many organisation names survive translation nearly unchanged, so a
string search finds most entities without any model. Every token of both docs is
transliterated to folded Latin once (anyascii; ``Путин`` = ``putin``, ``北京`` =
``beijing``, ``Zürich`` = ``zurich``; cached across docs) and the forms are joined
*without* spaces, so tokenisation differences (``U.S.`` / ``U. S.``, ``Jean-Pierre``)
do not matter. One search of the source span's form finds every place; each match is
then graded by how close the original strings are:

1. ``exact``: the same characters; 2. ``case``: case-folded; 3. ``fold``: case- and
   diacritic-folded; 4. ``translit``: equal only once transliterated;
5. ``gazetteer``: a translated name of a country, region or organisation from CLDR
   (Babel's territory names in the target language: ``Germany`` = ``Deutschland`` =
   ``Almanya`` = ``Германия``);
6. ``skeleton``: for targets in an abjad (Arabic, Hebrew, Syriac script), which writes
   no short vowels, the consonant skeletons (``Obama`` = ``أوباما`` = ``bm``), which may
   start after a one- or two-letter proclitic (``بأوباما``);
7. ``fuzzy`` (only when no string matches): a word-level alignment of the entity with
   windows of target words, scored with rapidfuzz (``process.cdist`` over all word
   pairs at once), tolerant to inflection and partial translation (``Kalifornien``,
   ``Universität von Minnesota``, ``Oxford Üniversitesi``). Function words (the target
   language's stop words) render function words (``of`` ~ ``für``), and a long target
   word may render several entity words as the parts of a compound
   (``Infantry Division`` ~ ``Infanteriedivision``).

**Endings.** A match may stop short of the end of a token by a few characters (an
inflectional ending: ``Helsinki`` ~ ``Helsingissä``, ``Mumbai`` ~ ``Mumbaide``): where no
apostrophe separates the ending, the rule is that the projected span covers the *whole
token*, ending included (spaCy spans cannot end inside a token, and cutting a word
without a marked boundary would guess where the stem ends). An ending after an
apostrophe (Turkish ``Ankara'da``) is split off the target token before alignment
(:func:`spacy_xlie.alignment.boundaries.split_target`), so the span is the bare name,
as RELX marks it (``<e1>Ankara</e1>'da``). A match that starts inside a token, or stops
too far from its end, is not projected and is reported as crossing a token boundary.

Each level has a fixed confidence ceiling so exact matches always win over fuzzy ones.
When several places are about equally good, the one whose neighbouring tokens agree
with the source entity's wins, else the k-th of n equal source strings takes the k-th
of n places; otherwise the tie is left to the projection, which reports the entity as
ambiguous rather than guess from positions.
"""

import re
import unicodedata
from bisect import bisect_right
from dataclasses import replace
from functools import lru_cache
from itertools import accumulate
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
from anyascii import anyascii
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist
from spacy.attrs import IS_STOP
from spacy.tokens import Doc

from .base import CROSSES_TOKEN_BOUNDARY, AlignmentTask, Candidate, SpanAligner, TokenSpan
from .boundaries import token_texts

#: Confidence of a match at each string level (fuzzy matches score at most ``FUZZY_MAX``).
LEVEL_SCORES = {
    "exact": 1.0, "case": 0.97, "fold": 0.95, "translit": 0.92, "gazetteer": 0.9,
    "skeleton": 0.85,
}
FUZZY_MAX = 0.9
#: Confidence lost per character of an ending left in the span (``Helsingissä``).
SUFFIX_COST = 0.02
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
#: Similarity cost per extra target character when an entity word matches a prefix.
PREFIX_COST = 0.03
#: Candidates within ``TIE`` of the best are disambiguated by context and occurrence;
#: the ones not chosen lose ``AMBIGUITY_PENALTY``.
TIE = 0.03
AMBIGUITY_PENALTY = 0.02
TIE_BREAKS = ("position", None)
#: Method suffix of a candidate chosen among equal ones by relative position.
POSITION_MARK = "+position"
#: Shortest needle whose partial (mid-token) match is reported as crossing a boundary.
MIN_BLOCKED_LENGTH = 4

_WORD = re.compile(r"\w+")
#: Scripts that write no short vowels: matched by consonant skeleton.
_ABJAD = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0700-\u074f\u0750-\u077f\u08a0-\u08ff]")
_SKELETON_DROP = str.maketrans("", "", "aeiouwy'`-.")
#: Characters an abjad proclitic (``و``, ``ب``, ``ال`` ...) adds before a skeleton match.
MAX_PROCLITIC = 2


@lru_cache(maxsize=1 << 17)
def translit(text: str) -> str:
    """Transliterated, case-folded, without whitespace (cached: forms repeat a lot)."""
    return "".join(anyascii(unicodedata.normalize("NFC", text)).casefold().split())


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Case- and diacritic-folded, without whitespace."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and
                   not ch.isspace())


@lru_cache(maxsize=1 << 17)
def _is_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


@lru_cache(maxsize=1 << 17)
def fuzzy_form(text: str) -> str:
    """Transliterated, folded, without the punctuation around it (``29.``, ``"Abc``)."""
    norm = translit(text)
    start, end = 0, len(norm)
    while start < end and not norm[start].isalnum():
        start += 1
    while end > start and not norm[end - 1].isalnum():
        end -= 1
    return norm[start:end]


#: Spelling variants that differ between languages' renderings of the same name
#: (``California``/``Kalifornien``, ``Morocco``/``Marokko``), applied for fuzzy matching:
#: letter pairs first, then single letters.
_LOOSE_PAIRS = {"ph": "f", "th": "t", "ck": "k", "qu": "kv"}
_LOOSE_PAIR_RE = re.compile("|".join(_LOOSE_PAIRS))
_LOOSE_LETTERS = str.maketrans({"c": "k", "z": "s", "y": "i", "j": "i", "w": "v"})
_DOUBLES = re.compile(r"(.)\1+")


@lru_cache(maxsize=1 << 17)
def loose_key(word: str) -> str:
    """A folded word with cross-language spelling variants merged and doubles collapsed."""
    word = _LOOSE_PAIR_RE.sub(lambda m: _LOOSE_PAIRS[m.group()], word)
    return _DOUBLES.sub(r"\1", word.translate(_LOOSE_LETTERS))


@lru_cache(maxsize=1 << 16)
def skeleton(form: str) -> str:
    """Consonant skeleton of a transliterated form: vowels, the letters abjads use for
    long vowels (``w``, ``y``) and the hamza sign dropped, then spelling variants merged
    (``Obama`` = ``أوباما`` = ``bm``, ``Barack`` = ``باراك`` = ``brk``)."""
    return loose_key(form.translate(_SKELETON_DROP))


@lru_cache(maxsize=1 << 16)
def _digits(word: str) -> str:
    return "".join(ch for ch in word if ch.isdigit())


class WordTable:
    """Target words prepared once per doc for fuzzy scoring: lengths, loose spellings,
    digits, and their prefixes and suffixes of each length (shared by all entities)."""

    def __init__(self, norms: Sequence[str]) -> None:
        self.norms = list(norms)
        self.loose = [loose_key(t) for t in self.norms]
        self.lengths = numpy.array([len(t) for t in self.norms], dtype=numpy.int64)
        self.short = self.lengths <= 3
        self.digits = [_digits(t) for t in self.norms]
        self.has_digits = numpy.array([bool(d) for d in self.digits], dtype=bool)
        self._cuts: Dict[Tuple[int, bool], _Cut] = {}

    def cut(self, size: int, end: bool = False) -> "_Cut":
        """Each word's first (last) ``size`` characters, with what scoring them needs."""
        key = (size, end)
        if key not in self._cuts:
            self._cuts[key] = _Cut(self, size, end)
        return self._cuts[key]


class _Cut:
    """The words of a :class:`WordTable` cut to one length, and their loose spellings
    cut to the length of the source word's loose spelling (cutting the whole word's
    spelling, cached per word, costs far less than spelling every cut piece), with which
    words are longer (prefix matches), which fit a compound part, and the cost of the
    extra characters."""

    def __init__(self, table: WordTable, size: int, end: bool) -> None:
        self.table, self.end = table, end
        self.parts = [t[-size:] if end else t[:size] for t in table.norms]
        self.longer = table.lengths > size
        self.any_longer = bool(self.longer.any())
        self.fits = table.lengths >= size + 3
        self.any_fits = bool(self.fits.any())
        self.cost = PREFIX_COST * (table.lengths - size)
        self._loose: Dict[int, List[str]] = {}

    def loose(self, size: int) -> List[str]:
        if size not in self._loose:
            self._loose[size] = [t[-size:] if self.end else t[:size] for t in self.table.loose]
        return self._loose[size]


def _indel_row(source: str, targets: Sequence[str]) -> numpy.ndarray:
    return cdist([source], targets, scorer=Indel.normalized_similarity)[0]


def word_scores(
    sources: Sequence[str], table: WordTable, *, head: Optional[int] = None
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Whole-word similarities and compound-part similarities of every normalised source
    word with every target word, 0–1 (rapidfuzz ``process.cdist``).

    **Whole words**: ``Indel`` similarity of the words, of their :func:`loose_key`
    spellings (a little lower), or of the source against the target's prefix of the same
    length (``mumbai`` ~ ``mumbai'de``) at ``PREFIX_COST`` per extra character, whichever
    is highest. Numbers match on their digits (``2nd`` = ``2.`` = ``2e``). Words of up to
    three characters must be equal: a fuzzy "his" is "ist".

    **Parts**: compounds render several words as one (``management studies`` ~
    ``managementstudien``, ``infantry division`` ~ ``infanteriedivision``), derivations
    keep the stem (``Mexico`` ~ ``mexikanischen``): a source word of five characters or
    more may match the start of a word at least three characters longer, at a discount
    (``PART_FACTOR``; loose spellings are compared over the source's loose length).
    Only the ``head`` (the last content word of a multi-word entity)
    may match the end: a single word matching a compound's end names another thing
    (``actor`` ~ ``Drehbuchautor``).
    """
    rows, cols = len(sources), len(table.norms)
    if not rows or not cols:
        return numpy.zeros((rows, cols)), numpy.zeros((rows, cols))
    whole = cdist(sources, table.norms, scorer=Indel.normalized_similarity)
    sims = numpy.maximum(whole, 0.95 * cdist([loose_key(w) for w in sources], table.loose,
                                             scorer=Indel.normalized_similarity))
    parts = numpy.zeros((rows, cols))
    for i, source in enumerate(sources):
        size = len(source)
        cut = table.cut(size)
        if size <= 3:
            sims[i] = whole[i] == 1.0
        elif cut.any_longer:
            prefix = _indel_row(source, cut.parts)
            sims[i] = numpy.where(cut.longer, numpy.maximum(sims[i], prefix - cut.cost),
                                  sims[i])
            if size >= 5 and cut.any_fits:
                loose = loose_key(source)
                best = numpy.maximum(prefix, 0.95 * _indel_row(loose, cut.loose(len(loose))))
                if i == head:
                    tail = table.cut(size, end=True)
                    best = numpy.maximum(best, numpy.maximum(
                        _indel_row(source, tail.parts),
                        0.95 * _indel_row(loose, tail.loose(len(loose)))))
                parts[i] = numpy.where(cut.fits, PART_FACTOR * best, 0.0)
        if size > 3 and table.short.any():
            sims[i] = numpy.where(table.short, whole[i] == 1.0, sims[i])
        s_digits = _digits(source)
        if s_digits or table.has_digits.any():
            numbers = table.has_digits | bool(s_digits)
            same = numpy.array([0.9 * (d == s_digits) for d in table.digits])
            sims[i] = numpy.where(numbers, same, sims[i])
    return sims, parts


def word_similarity(source: str, target: str) -> float:
    """0–1 similarity of two normalised words (see :func:`word_scores`)."""
    return float(word_scores([source], WordTable([target]))[0][0, 0])


def part_similarity(source: str, target: str, *, head: bool = False) -> float:
    """0–1 similarity of ``source`` with a part of a longer ``target`` (see
    :func:`word_scores`)."""
    return float(word_scores([source], WordTable([target]), head=0 if head else None)[1][0, 0])


class _Tokens:
    """A doc's tokens prepared once for searching: transliterated forms joined without
    spaces, with each token's offsets in the joined string."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.texts = token_texts(doc)
        self.text = "".join(self.texts)
        self.forms = list(map(translit, self.texts))
        self.ends = list(accumulate(map(len, self.forms)))
        self.starts = [0, *self.ends[:-1]]
        self.joined = "".join(self.forms)
        self._stops: Optional[List[bool]] = None
        self._words: Optional[_Words] = None
        self._skeleton: Optional[Tuple[str, List[int], List[int]]] = None

    def token_at(self, pos: int) -> int:
        """The token holding character ``pos`` of the joined string."""
        return bisect_right(self.starts, pos) - 1

    def raw(self, start: int, end: int) -> str:
        """Original text of tokens ``[start, end)`` without whitespace."""
        return "".join("".join(self.texts[start:end]).split())

    @property
    def stops(self) -> List[bool]:
        """Stop-word flag per token (the language's function words)."""
        if self._stops is None:
            self._stops = [bool(flag) for flag in self.doc.to_array(IS_STOP).tolist()]
        return self._stops

    def words(self) -> "_Words":
        if self._words is None:
            self._words = _Words(self, range(len(self.texts)))
        return self._words

    def skeleton_view(self) -> Tuple[str, List[int], List[int]]:
        """Consonant skeletons joined, with token offsets (abjad targets only)."""
        if self._skeleton is None:
            forms = [skeleton(form) for form in self.forms]
            ends = list(accumulate(len(f) for f in forms))
            self._skeleton = ("".join(forms), [e - len(f) for e, f in zip(ends, forms)], ends)
        return self._skeleton


class _Words:
    """Word tokens (``indices``) of a doc or span in fuzzy form, with function-word flags."""

    def __init__(self, tokens: _Tokens, indices: Sequence[int]) -> None:
        texts = tokens.texts
        self.indices = [i for i in indices if _is_word(texts[i])]
        self.norms = [fuzzy_form(texts[i]) for i in self.indices]
        stops = tokens.stops
        self.function = [stops[i] for i in self.indices]
        self.function_array = numpy.array(self.function, dtype=bool)
        self._table: Optional[WordTable] = None

    @property
    def table(self) -> WordTable:
        if self._table is None:
            self._table = WordTable(self.norms)
        return self._table


def _level(source: str, target: str) -> str:
    """Finest string level at which two raw texts (without whitespace) are equal."""
    source, target = unicodedata.normalize("NFC", source), unicodedata.normalize("NFC", target)
    if source == target:
        return "exact"
    if source.casefold() == target.casefold():
        return "case"
    if fold(source) == fold(target):
        return "fold"
    return "translit"


class LexicalAligner(SpanAligner):
    """String-matching span aligner: offline, no model, CPU only.

    min_fuzzy (float): lowest fuzzy window score (0–1) proposed as a candidate.
    max_suffix (int): characters a match may stop short of a token's end (an ending:
        ``Mumbai|de``); the candidate then covers the whole token.
    max_candidates (int): candidates returned per source span.
    word_floor (float): word similarity under which two words do not match at all.
    gazetteer (bool): also look for CLDR translations of names (countries, regions,
        languages, months).
    tie_break (Optional[str]): ``"position"``: among equally good places that context
        and occurrence cannot tell apart, take the one at the closest relative position
        (marked ``+position``); ``None``: leave the tie, so the entity is reported as
        ambiguous.
    """

    name = "lexical"

    def __init__(
        self,
        *,
        min_fuzzy: float = 0.65,
        max_suffix: int = 4,
        max_candidates: int = 5,
        word_floor: float = 0.5,
        gazetteer: bool = True,
        tie_break: Optional[str] = "position",
    ) -> None:
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}, not {tie_break!r}")
        self.tie_break = tie_break
        self.word_floor = word_floor
        self.min_fuzzy = min_fuzzy
        self.max_suffix = max_suffix
        self.max_candidates = max_candidates
        self.gazetteer = gazetteer

    def candidates_batch(self, tasks: Sequence[AlignmentTask]) -> List[List[List[Candidate]]]:
        return [self._pair(src, tgt, spans) for src, tgt, spans in tasks]

    def _pair(self, src: Doc, tgt: Doc, spans: Sequence[TokenSpan]) -> List[List[Candidate]]:
        source, target = _Tokens(src), _Tokens(tgt)
        names = _gazetteer(src.lang_, tgt.lang_) if self.gazetteer else {}
        abjad = _ABJAD.search(target.text) is not None and _ABJAD.search(source.text) is None
        out = []
        for start, end in spans:
            needle = "".join(source.forms[start:end])
            found, blocked = self._string_matches(source, target, start, end, needle)
            translations = names.get(needle, ())
            for name in translations:
                more, _ = self._search(target, translit(name), "gazetteer")
                found += more
            if abjad and not found:
                found += self._skeleton_matches(target, skeleton(needle))
            if not found:
                found = self._fuzzy_matches(source, start, end, target, names)
            found = _best_per_place(found)
            found = _disambiguate(found, source, target, start, end, needle, self.tie_break)
            found.sort(key=lambda c: (-c.score, c.start))
            out.append(found[: self.max_candidates] if found else blocked[:1])
        return out

    def _search(
        self, target: _Tokens, needle: str, level: Optional[str], source_raw: str = ""
    ) -> Tuple[List[Candidate], List[Candidate]]:
        """Places of ``needle`` in the target: candidates, and matches that cross a token
        boundary (blocked). ``level=None`` grades each match against ``source_raw``."""
        found: List[Candidate] = []
        blocked: List[Candidate] = []
        if not needle:
            return found, blocked
        joined = target.joined
        at = joined.find(needle)
        while at != -1:
            end = at + len(needle)
            first, last = target.token_at(at), target.token_at(end - 1)
            suffix = target.ends[last] - end
            if target.starts[first] != at or suffix > min(self.max_suffix, len(needle) // 2):
                if len(needle) >= MIN_BLOCKED_LENGTH and (
                        target.starts[first] == at or suffix == 0):
                    blocked.append(Candidate(first, last + 1, 0.0, "lexical:partial",
                                             blocked=CROSSES_TOKEN_BOUNDARY))
            elif suffix:
                score = LEVEL_SCORES[level or "translit"] - SUFFIX_COST * suffix
                found.append(Candidate(first, last + 1, score, f"lexical:{level or 'translit'}"))
            else:
                grade = level or _level(source_raw, target.raw(first, last + 1))
                found.append(Candidate(first, last + 1, LEVEL_SCORES[grade], f"lexical:{grade}"))
            at = joined.find(needle, at + 1)
        return found, blocked

    def _string_matches(
        self, source: _Tokens, target: _Tokens, start: int, end: int, needle: str
    ) -> Tuple[List[Candidate], List[Candidate]]:
        return self._search(target, needle, None, source.raw(start, end))

    def _skeleton_matches(self, target: _Tokens, needle: str) -> List[Candidate]:
        """Consonant-skeleton matches in an abjad target, whole tokens, after a proclitic."""
        if len(needle) < 3:
            return []
        text, starts, ends = target.skeleton_view()
        found = []
        at = text.find(needle)
        while at != -1:
            end = at + len(needle)
            first = bisect_right(starts, at) - 1
            last = bisect_right(starts, end - 1) - 1
            extra = (at - starts[first]) + (ends[last] - end)
            if at - starts[first] <= MAX_PROCLITIC and ends[last] - end <= self.max_suffix:
                found.append(Candidate(first, last + 1,
                                       LEVEL_SCORES["skeleton"] - SUFFIX_COST * extra,
                                       "lexical:skeleton"))
            at = text.find(needle, at + 1)
        return found

    def _fuzzy_matches(
        self, source: _Tokens, start: int, end: int, target: _Tokens,
        names: Dict[str, Tuple[str, ...]],
    ) -> List[Candidate]:
        """Fuzzy windows for the entity, and for its variants with a translated name
        (``Victoria of the United Kingdom`` -> ``Victoria of the Royaume-Uni``)."""
        ent = _Words(source, range(start, end))
        words = target.words()
        variants = [(ent.norms, ent.function)]
        vocab = target.doc.vocab
        for a in range(start, end):
            for b in range(a + 1, end + 1):
                for name in names.get("".join(source.forms[a:b]), ()):
                    parts = _WORD.findall(name)
                    before = _Words(source, range(start, a))
                    after = _Words(source, range(b, end))
                    variants.append((
                        before.norms + [fuzzy_form(p) for p in parts] + after.norms,
                        before.function + [vocab[p].is_stop for p in parts] + after.function,
                    ))
        found: List[Candidate] = []
        for norms, function in variants:
            found += self._fuzzy_windows(norms, function, words)
        return _non_overlapping(found)

    def _fuzzy_windows(
        self, norms: Sequence[str], function: Sequence[bool], words: _Words
    ) -> List[Candidate]:
        """Candidate windows of target words that render the entity's words."""
        if not norms or not words.indices or all(function):
            return []  # function words alone ("he", "his") are translated, not found
        content = [i for i, func in enumerate(function) if not func]
        head = content[-1] if len(content) > 1 else None
        sims, parts = word_scores(norms, words.table, head=head)
        win_function = words.function_array
        ent_function = numpy.array(function, dtype=bool)
        if ent_function.any():
            both = ent_function[:, None] & win_function[None, :]
            sims = numpy.where(both, numpy.maximum(sims, FUNCTION_SIM), sims)
            parts[ent_function] = 0.0
        parts[:, win_function] = 0.0
        # A word that renders the entity word as a compound part or derivation may also
        # be its one-to-one match (``Mexico`` ~ ``mexikanischen``).
        sims = numpy.where(parts >= PART_FLOOR, numpy.maximum(sims, parts), sims)
        if len(norms) == 1:  # one word: each matching word on its own is the best window
            scores = sims[0]
            return [Candidate(words.indices[j], words.indices[j] + 1,
                              FUZZY_MAX * float(scores[j]), "lexical:fuzzy")
                    for j in numpy.flatnonzero(scores >= max(self.word_floor, self.min_fuzzy))]
        matched = (sims >= self.word_floor).any(axis=0) | (parts >= PART_FLOOR).any(axis=0)
        # A window starts (ends) with a function word only where it renders the entity's
        # first (last) word (see _matching_score).
        first_ok = ~win_function | (sims[0] >= self.word_floor)
        last_ok = ~win_function | (sims[-1] >= self.word_floor)
        starts = numpy.flatnonzero(matched & first_ok)
        ends = set(numpy.flatnonzero(matched & last_ok).tolist())
        sims_rows, parts_rows, columns = sims.tolist(), parts.tolist(), sims.T.tolist()
        max_len = len(norms) + 3
        tokens = words.indices
        weights = [FUNCTION_WEIGHT if f else 1.0 for f in function]
        total_weight = sum(weights)
        found = []
        for i in starts.tolist():
            row_best = columns[i]
            for j in range(i, min(i + max_len, len(tokens))):
                if tokens[j] - tokens[i] + 1 > 2 * max_len:
                    break  # words too far apart in the doc
                if j > i:
                    row_best = list(map(max, row_best, columns[j]))
                if j not in ends or _upper_bound(row_best, weights, function, self.word_floor,
                                                 total_weight) < self.min_fuzzy:
                    continue
                score = _matching_score(
                    [row[i : j + 1] for row in sims_rows], [row[i : j + 1] for row in parts_rows],
                    function, words.function[i : j + 1], self.word_floor,
                )
                if score >= self.min_fuzzy:
                    found.append(Candidate(tokens[i], tokens[j] + 1, FUZZY_MAX * score,
                                           "lexical:fuzzy"))
        return found


def _upper_bound(
    row_best: Sequence[float], weights: Sequence[float], function: Sequence[bool],
    floor: float, total_weight: float,
) -> float:
    """A bound on :func:`_matching_score` for a window: every entity word matched at its
    best similarity in the window, or credited as if an inner word stood for it."""
    total = 0.0
    for best, weight, func in zip(row_best, weights, function):
        if best >= floor:
            total += weight * best
        elif not func:
            total += INNER_CREDIT
    return total / total_weight


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


def _best_per_place(found: List[Candidate]) -> List[Candidate]:
    """One candidate per target span: the best-scored."""
    best: Dict[Tuple[int, int], Candidate] = {}
    for cand in found:
        key = (cand.start, cand.end)
        if key not in best or best[key].score < cand.score:
            best[key] = cand
    return list(best.values())


def _non_overlapping(found: List[Candidate]) -> List[Candidate]:
    """Best window per region: a window overlapping a better one is not a new place."""
    kept: List[Candidate] = []
    for cand in sorted(found, key=lambda c: (-c.score, c.end - c.start, c.start)):
        if not any(cand.overlaps(k.start, k.end) for k in kept):
            kept.append(cand)
    return kept


def _occurrences(source: _Tokens, needle: str) -> List[int]:
    """First tokens of the whole-token occurrences of ``needle`` in the source."""
    out = []
    at = source.joined.find(needle) if needle else -1
    while at != -1:
        first = source.token_at(at)
        last = source.token_at(at + len(needle) - 1)
        if source.starts[first] == at and source.ends[last] == at + len(needle):
            out.append(first)
        at = source.joined.find(needle, at + 1)
    return out


def _context(tokens: _Tokens, start: int, end: int) -> Tuple[str, str]:
    before = tokens.forms[start - 1] if start > 0 else ""
    after = tokens.forms[end] if end < len(tokens.forms) else ""
    return before, after


def _disambiguate(
    found: List[Candidate], source: _Tokens, target: _Tokens, start: int, end: int,
    needle: str, tie_break: Optional[str] = None,
) -> List[Candidate]:
    """Prefer, among about equally good candidates, the one this occurrence maps to.

    First by context: a candidate whose neighbouring tokens equal the source entity's
    (``Sacramento ,`` against ``Sacramento Heatwave``). Then by occurrence: when the
    source holds the entity's string ``n`` times and ``n`` candidates tie, the k-th
    occurrence takes the k-th candidate (``Losi Team Losi``). Then, with
    ``tie_break="position"``, the candidate at the closest relative position, marked
    ``+position`` in its method (the hybrid aligner re-decides those with the encoder).
    The others lose a little confidence, so they stay available when the preferred one
    is taken. Otherwise the tie stays, and the projection reports the entity as
    ambiguous.
    """
    if len(found) < 2:
        return found
    best = max(c.score for c in found)
    tied = sorted((c for c in found if c.score >= best - TIE), key=lambda c: c.start)
    if len(tied) < 2:
        return found
    src_before, src_after = _context(source, start, end)
    agreement = []
    for cand in tied:
        before, after = _context(target, cand.start, cand.end)
        agreement.append(int(bool(before) and before == src_before)
                         + int(bool(after) and after == src_after))
    top = max(agreement)
    chosen: Optional[Candidate] = None
    if agreement.count(top) == 1 and top > 0:
        chosen = tied[agreement.index(top)]
    else:
        occurrences = _occurrences(source, needle)
        if len(occurrences) == len(tied) and start in occurrences:
            chosen = tied[occurrences.index(start)]
        elif tie_break == "position":
            expected = (start + end) / 2 / max(len(source.forms), 1)
            nearest = min(tied, key=lambda c: abs((c.start + c.end) / 2 /
                                                  max(len(target.forms), 1) - expected))
            chosen = replace(nearest, method=nearest.method + POSITION_MARK)
            found = [chosen if c is nearest else c for c in found]
            tied = [chosen if c is nearest else c for c in tied]
    if chosen is None:
        return found
    lowered = min(chosen.score, best) - AMBIGUITY_PENALTY
    return [
        replace(chosen, score=best) if c is chosen
        else replace(c, score=min(c.score, lowered)) if c in tied else c
        for c in found
    ]


@lru_cache(maxsize=64)
def _gazetteer(src_lang: str, tgt_lang: str) -> Dict[str, Tuple[str, ...]]:
    """Source-language name (transliterated) -> its target-language names, from CLDR:
    countries and regions, languages (``Greek`` -> ``griechisch``), month names
    (``October`` -> ``Ekim``).

    Empty when Babel has no locale for either language (``xx``).
    """
    if src_lang == tgt_lang:
        return {}
    try:
        from babel import Locale, UnknownLocaleError

        src, tgt = Locale.parse(src_lang), Locale.parse(tgt_lang)
    except (ImportError, ValueError, UnknownLocaleError):
        return {}
    tables = [(src.territories, tgt.territories), (src.languages, tgt.languages)]
    for width in ("wide", "abbreviated"):
        tables.append((src.months["format"][width], tgt.months["format"][width]))
    out: Dict[str, Tuple[str, ...]] = {}
    for src_names, tgt_names in tables:
        for code, name in src_names.items():
            translated = tgt_names.get(code)
            key = translit(name)
            if translated and translit(translated) != key and len(key) > 2:
                if translated not in out.get(key, ()):
                    out[key] = out.get(key, ()) + (translated,)
    return out


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


def create_lexical_aligner_v2(
    min_fuzzy: float = 0.65,
    max_suffix: int = 4,
    max_candidates: int = 5,
    word_floor: float = 0.5,
    gazetteer: bool = True,
    tie_break: Optional[str] = "position",
) -> LexicalAligner:
    """Registered as ``spacy_xlie.lexical_aligner.v2``: adds ``gazetteer`` and
    ``tie_break``."""
    return LexicalAligner(
        min_fuzzy=min_fuzzy, max_suffix=max_suffix, max_candidates=max_candidates,
        word_floor=word_floor, gazetteer=gazetteer, tie_break=tie_break,
    )
