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
5. ``gazetteer``: a translated name of a country, region, language, month or city from
   CLDR (Babel's names in the target language: ``Germany`` = ``Deutschland`` =
   ``Almanya`` = ``Германия``; ``Vienna`` = ``Wien`` = ``Viyana`` = ``维也纳``), also
   without its leading article, which sentences contract (``Le Caire``: ``au Caire``);
6. ``skeleton``: for targets in an abjad (Arabic, Hebrew, Syriac script), which writes
   no short vowels, the consonant skeletons (``Obama`` = ``أوباما`` = ``bm``), which may
   start after a one- or two-letter proclitic (``بأوباما``);
7. ``fuzzy`` (only when no string matches): a word-level alignment of the entity with
   windows of target words, scored with rapidfuzz (``process.cdist`` over all word
   pairs at once), tolerant to inflection and partial translation (``Kalifornien``,
   ``Universität von Minnesota``, ``Oxford Üniversitesi``). Function words (the target
   language's stop words) render function words (``of`` ~ ``für``), and a long target
   word may render several entity words as the parts of a compound
   (``Infantry Division`` ~ ``Infanteriedivision``) or of a hyphenated word
   (``Utah Army`` ~ ``Utah-Armee``, ``Saint Petersburg`` ~ ``Санкт-Петербург``). A
   window stays inside one clause: it does not run across a comma, bracket or quote
   (in any script: ``،``, ``、``) unless the entity holds one.

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
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy
from anyascii import anyascii
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist
from spacy.attrs import IS_STOP, ORTH
from spacy.tokens import Doc

from ..util.by_hash import ByHash
from .base import CROSSES_TOKEN_BOUNDARY, AlignmentTask, Candidate, SpanAligner, TokenSpan

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
#: Confidence lost by a translated name found without its leading article.
ARTICLE_COST = 0.01
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


#: Punctuation that separates clauses or phrases in any script (commas, semicolons,
#: colons, question and exclamation marks, brackets and quotes; not hyphens, slashes,
#: ampersands or full stops, which occur inside names: ``Jean-Pierre``, ``AT&T``,
#: ``St. Louis``).
_BREAK_CHARS = frozenset(",;:!?\"、，；：！？。،؛؟")
_BREAK_CATEGORIES = frozenset(("Ps", "Pe", "Pi", "Pf"))


@lru_cache(maxsize=1 << 16)
def is_break(text: str) -> bool:
    """Whether a token is clause punctuation (``,``, ``)``, ``«``, ``،``, ``、``): a fuzzy
    window of target words does not run across one unless the entity holds one too."""
    return bool(text) and all(
        ch in _BREAK_CHARS or unicodedata.category(ch) in _BREAK_CATEGORIES for ch in text)


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

    def __init__(
        self, norms: Sequence[str], loose: Optional[Sequence[str]] = None,
        digits: Optional[Sequence[str]] = None,
    ) -> None:
        """``loose`` and ``digits``: the words' :func:`loose_key` and digits where the
        caller has them (a doc's words: :data:`_WORDS`)."""
        self.norms = list(norms)
        self.loose = list(loose) if loose is not None else [loose_key(t) for t in self.norms]
        self.lengths = [len(t) for t in self.norms]
        self.max_length = max(self.lengths, default=0)
        self.short = [j for j, n in enumerate(self.lengths) if n <= 3]
        self._longer: Dict[int, List[int]] = {}
        self.digits = list(digits) if digits is not None else [_digits(t) for t in self.norms]
        self.any_digits = any(self.digits)
        self._numbers: Dict[str, List[float]] = {}
        self._cuts: Dict[Tuple[int, int, bool, bool], List[str]] = {}
        self._pieces: Optional[Tuple[List[int], Optional[WordTable]]] = None

    def pieces(self) -> Tuple[List[int], Optional["WordTable"]]:
        """The parts of the hyphenated words (``utah-armee``: ``utah``, ``armee``) as a
        table, with the word (column) each part belongs to; ``None`` without any."""
        if self._pieces is None:
            cols: List[int] = []
            parts: List[str] = []
            for col, norm in enumerate(self.norms):
                if "-" in norm:
                    split = [p for p in map(fuzzy_form, norm.split("-")) if p]
                    if len(split) > 1:
                        cols += [col] * len(split)
                        parts += split
            self._pieces = (cols, WordTable(parts) if parts else None)
        return self._pieces

    def numbers(self, digits: str) -> List[float]:
        """The similarity of a number (a source word with ``digits``) with each word: 0.9
        where the digits are the same, else 0."""
        if digits not in self._numbers:
            self._numbers[digits] = [0.9 if d == digits else 0.0 for d in self.digits]
        return self._numbers[digits]

    def longer(self, size: int) -> List[int]:
        """The words (columns) longer than ``size`` characters."""
        if size not in self._longer:
            self._longer[size] = [j for j, n in enumerate(self.lengths) if n > size]
        return self._longer[size]

    def cut(self, size: int, longer: int, end: bool = False, loose: bool = False) -> List[str]:
        """The first (last) ``size`` characters of each word longer than ``longer``
        characters (:meth:`longer`: only a longer word can start or end with a source
        word), or of its loose spelling (cutting the whole word's spelling, cached per
        word, costs far less than spelling every cut piece)."""
        key = (size, longer, end, loose)
        if key not in self._cuts:
            words = self.loose if loose else self.norms
            cols = self.longer(longer)
            self._cuts[key] = ([words[j][-size:] for j in cols] if end
                               else [words[j][:size] for j in cols])
        return self._cuts[key]


class _Choices:
    """Strings to compare with in one ``cdist`` call: the target words, then cuts of the
    longer ones (each list of cuts added once, at its offset)."""

    def __init__(self, table: WordTable, loose: bool) -> None:
        self.table, self.loose = table, loose
        self.strings = list(table.loose if loose else table.norms)
        self._offsets: Dict[Tuple[int, int, bool], int] = {}

    def at(self, size: int, longer: int, end: bool = False) -> int:
        """Offset of the cuts to ``size`` of the words longer than ``longer``
        (:meth:`WordTable.cut`; added at the first call)."""
        key = (size, longer, end)
        if key not in self._offsets:
            self._offsets[key] = len(self.strings)
            self.strings += self.table.cut(size, longer, end, self.loose)
        return self._offsets[key]

    def scores(self, queries: Sequence[str]) -> List[List[float]]:
        return cdist(queries, self.strings, scorer=Indel.normalized_similarity,
                     dtype=numpy.float64).tolist()


def word_scores(
    sources: Sequence[str], table: WordTable, *, head: Optional[int] = None
) -> Tuple[List[List[float]], List[List[float]]]:
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
        return [[0.0] * cols for _ in sources], [[0.0] * cols for _ in sources]
    looses = [loose_key(w) for w in sources]
    sizes = [len(w) for w in sources]
    lengths = table.lengths
    # Two cdist calls in all (a call costs far more than the few strings it compares):
    # the source words against the target words and the cuts of them that any source word
    # needs, and the loose spellings against the loose spellings and their cuts. The
    # scores are then combined in plain Python: for a sentence's few dozen words that
    # costs less than numpy's per-call overhead.
    raw_choices, loose_choices = _Choices(table, False), _Choices(table, True)
    plans: List[Optional[List[Optional[int]]]] = []
    for i, size in enumerate(sizes):
        plan = None
        if 3 < size < table.max_length:  # a longer word may start with it
            plan = [raw_choices.at(size, size), None, None, None]
            if size >= 5 and table.max_length >= size + 3:  # a compound may start with it
                plan[1] = loose_choices.at(len(looses[i]), size)
                if i == head:  # the head may end a compound
                    plan[2] = raw_choices.at(size, size, end=True)
                    plan[3] = loose_choices.at(len(looses[i]), size, end=True)
        plans.append(plan)
    raw = raw_choices.scores(sources)
    loose = loose_choices.scores(looses)
    sims: List[List[float]] = []
    parts: List[List[float]] = []
    for source, size, plan, r, lo in zip(sources, sizes, plans, raw, loose):
        digits = _digits(source)
        if digits:  # a number matches the same number only
            row = list(table.numbers(digits))
        else:
            row = _word_row(size, plan, r, lo, table)
        part = [0.0] * cols
        if plan is not None and plan[1] is not None:  # the cuts of the longer words
            at, loose_at, tail_at, tail_loose_at = plan
            longer = table.longer(size)
            n = len(longer)
            best = [p if p >= 0.95 * v else 0.95 * v
                    for p, v in zip(r[at : at + n], lo[loose_at : loose_at + n])]
            if tail_at is not None:
                tail = zip(r[tail_at : tail_at + n], lo[tail_loose_at : tail_loose_at + n])
                best = [max(b, t if t >= 0.95 * v else 0.95 * v)
                        for b, (t, v) in zip(best, tail)]
            for j, b in zip(longer, best):
                if lengths[j] >= size + 3:
                    part[j] = PART_FACTOR * b
        sims.append(row)
        parts.append(part)
    return sims, parts


def _word_row(
    size: int, plan: Optional[List[Optional[int]]], raw: List[float], loose: List[float],
    table: WordTable,
) -> List[float]:
    """Whole-word similarities of a source word without digits (``size`` characters; its
    ``raw`` and ``loose`` scores against the words and their cuts, the cuts at the
    offsets in ``plan``) with every target word (see :func:`word_scores`)."""
    cols = len(table.norms)
    if size <= 3:  # words of up to three characters match only when equal
        row = [1.0 if w == 1.0 else 0.0 for w in raw[:cols]]
    else:
        row = [w if w >= 0.95 * v else 0.95 * v for w, v in zip(raw[:cols], loose)]
        if plan is not None:  # a longer word starting with it, a little lower
            lengths = table.lengths
            for j, p in zip(table.longer(size), raw[plan[0] :]):
                p -= PREFIX_COST * (lengths[j] - size)
                if p > row[j]:
                    row[j] = p
        for j in table.short:  # nor target words of up to three characters
            row[j] = 1.0 if raw[j] == 1.0 else 0.0
    if table.any_digits:  # and a word without digits no number
        row = [0.0 if d else w for w, d in zip(row, table.digits)]
    return row


def piece_scores(sources: Sequence[str], table: WordTable) -> Optional[List[List[float]]]:
    """Similarity of every source word with the most similar hyphen-separated part of
    every target word, scored as whole words (:func:`word_scores`; 0 for target words
    without a hyphen), or ``None`` when no target word has a hyphen.

    A hyphenated word renders several entity words, each as one of its parts
    (``Utah Army`` ~ ``Utah-Armee``, ``New Brunswick`` ~ ``Nouveau-Brunswick``): the
    hyphen marks where the parts meet, so unlike a compound part (:func:`word_scores`)
    a part is not discounted and may be any part.
    """
    cols, pieces = table.pieces()
    if pieces is None:
        return None
    sims, _parts = word_scores(sources, pieces)
    out = [[0.0] * len(table.norms) for _ in sources]
    for row, piece_row in zip(out, sims):
        for col, sim in zip(cols, piece_row):
            if sim > row[col]:
                row[col] = sim
    return out


def word_similarity(source: str, target: str) -> float:
    """0–1 similarity of two normalised words (see :func:`word_scores`)."""
    return word_scores([source], WordTable([target]))[0][0][0]


def part_similarity(source: str, target: str, *, head: bool = False) -> float:
    """0–1 similarity of ``source`` with a part of a longer ``target`` (see
    :func:`word_scores`)."""
    return word_scores([source], WordTable([target]), head=0 if head else None)[1][0][0]


class _WordRecord(NamedTuple):
    """What fuzzy matching reads of a token (:func:`fuzzy_form`, :func:`loose_key`,
    digits, :func:`is_break`)."""

    norm: str
    loose: str
    digits: str
    is_word: bool
    is_break: bool


def _word_record(text: str) -> _WordRecord:
    norm = fuzzy_form(text)
    return _WordRecord(norm, loose_key(norm), _digits(norm), _is_word(text), is_break(text))


#: A token's text, its transliterated form (:func:`translit`), and its word record
#: (:func:`_word_record`), by string hash.
_TEXTS: ByHash[str] = ByHash(str)
_FORMS: ByHash[str] = ByHash(translit)
_WORDS: ByHash[_WordRecord] = ByHash(_word_record)


class _Tokens:
    """A doc's tokens prepared for searching: transliterated forms joined without spaces,
    with each token's offsets in the joined string. Only the string hashes are read up
    front; texts and forms are looked up as a search needs them (a source doc's are
    mostly needed for its entities only)."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.orths: List[int] = doc.to_array(ORTH).tolist()
        self._forms: Optional[List[str]] = None
        self._texts: Optional[List[str]] = None
        self._view: Optional[Tuple[str, List[int], List[int]]] = None
        self._stops: Optional[List[bool]] = None
        self._words: Optional[_Words] = None
        self._skeleton: Optional[Tuple[str, List[int], List[int]]] = None

    def __len__(self) -> int:
        return len(self.orths)

    def forms_of(self, start: int, end: int) -> List[str]:
        """The transliterated form of tokens ``[start, end)``."""
        if self._forms is not None:
            return self._forms[start:end]
        return _FORMS.of(self.doc, self.orths[start:end])

    @property
    def forms(self) -> List[str]:
        """The transliterated form of every token."""
        if self._forms is None:
            self._forms = _FORMS.of(self.doc, self.orths)
        return self._forms

    def texts_of(self, start: int, end: int) -> List[str]:
        """The text of tokens ``[start, end)``."""
        if self._texts is not None:
            return self._texts[start:end]
        return _TEXTS.of(self.doc, self.orths[start:end])

    @property
    def texts(self) -> List[str]:
        """The text of every token."""
        if self._texts is None:
            self._texts = _TEXTS.of(self.doc, self.orths)
        return self._texts

    def view(self) -> Tuple[str, List[int], List[int]]:
        """The forms joined without spaces, with each token's offsets in the joined string
        (built at the first search: a source doc is searched only to disambiguate
        repeated names)."""
        if self._view is None:
            ends = list(accumulate(map(len, self.forms)))
            self._view = ("".join(self.forms), [0, *ends[:-1]], ends)
        return self._view

    def raw(self, start: int, end: int) -> str:
        """Original text of tokens ``[start, end)`` without whitespace."""
        return "".join("".join(self.texts_of(start, end)).split())

    def stops_of(self, start: int, end: int) -> List[bool]:
        """Stop-word flag (the language's function words) of tokens ``[start, end)``: the
        whole doc's in one array, a few tokens' one by one."""
        if self._stops is None and (start, end) == (0, len(self.orths)):
            self._stops = [bool(flag) for flag in self.doc.to_array(IS_STOP).tolist()]
        if self._stops is not None:
            return self._stops[start:end]
        doc = self.doc
        return [doc[i].is_stop for i in range(start, end)]

    def words(self) -> "_Words":
        """The doc's words (:class:`_Words`)."""
        if self._words is None:
            self._words = _Words(self, 0, len(self.orths))
        return self._words

    def skeleton_view(self) -> Tuple[str, List[int], List[int]]:
        """Consonant skeletons joined, with token offsets (abjad targets only)."""
        if self._skeleton is None:
            forms = [skeleton(form) for form in self.forms]
            ends = list(accumulate(len(f) for f in forms))
            self._skeleton = ("".join(forms), [e - len(f) for e, f in zip(ends, forms)], ends)
        return self._skeleton


class _Words:
    """Word tokens (``indices``) of tokens ``[start, end)`` in fuzzy form, with
    function-word flags."""

    def __init__(self, tokens: _Tokens, start: int, end: int) -> None:
        records = _WORDS.of(tokens.doc, tokens.orths[start:end])
        stops = tokens.stops_of(start, end)
        kept = [k for k, record in enumerate(records) if record.is_word]
        self.indices = [start + k for k in kept]
        self.norms = [records[k].norm for k in kept]
        self.function = [stops[k] for k in kept]
        self._records, self._kept = records, kept
        self._table: Optional[WordTable] = None
        self._breaks: Optional[List[int]] = None

    @property
    def has_break(self) -> bool:
        """Whether any of the tokens is clause punctuation (:func:`is_break`)."""
        return any(record.is_break for record in self._records)

    @property
    def breaks(self) -> List[int]:
        """The number of clause punctuation tokens (:func:`is_break`) before each word:
        words ``i`` and ``j`` are in one clause where the counts are equal."""
        if self._breaks is None:
            before = list(accumulate((record.is_break for record in self._records), initial=0))
            self._breaks = [before[k] for k in self._kept]
        return self._breaks

    @property
    def table(self) -> WordTable:
        if self._table is None:
            records = self._records
            self._table = WordTable(self.norms, [records[k].loose for k in self._kept],
                                    [records[k].digits for k in self._kept])
        return self._table


def _level(source: str, target: str) -> str:
    """Finest string level at which two raw texts (without whitespace) are equal."""
    if source == target:  # most matches: no normalising needed
        return "exact"
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
        out = []
        vocabs = None
        names: Dict[str, Tuple[str, ...]] = {}
        for src, tgt, spans in tasks:
            if self.gazetteer and (src.vocab, tgt.vocab) != vocabs:  # once per language pair
                vocabs = (src.vocab, tgt.vocab)
                names = _gazetteer(src.lang_, tgt.lang_)
            out.append(self._pair(src, tgt, spans, names))
        return out

    def _pair(
        self, src: Doc, tgt: Doc, spans: Sequence[TokenSpan], names: Dict[str, Tuple[str, ...]]
    ) -> List[List[Candidate]]:
        source, target = _Tokens(src), _Tokens(tgt)
        abjad: Optional[bool] = None  # looked at once an entity has no string match
        out = []
        for start, end in spans:
            needle = "".join(source.forms_of(start, end))
            found, blocked = self._string_matches(source, target, start, end, needle)
            translations = names.get(needle, ())
            for name in translations:
                more, _ = self._search(target, translit(name), "gazetteer")
                found += more
                bare = _without_article(name, tgt.vocab)
                if bare:  # "Le Caire" is "du Caire", "au Caire" in a sentence
                    whole = more
                    more, _ = self._search(target, translit(bare), "gazetteer")
                    found += [replace(c, score=c.score - ARTICLE_COST) for c in more
                              if not any(c.overlaps(w.start, w.end) for w in whole)]
            if not found and abjad is None:
                abjad = (_ABJAD.search("".join(target.texts)) is not None
                         and _ABJAD.search("".join(source.texts)) is None)
            if abjad and not found:
                found += self._skeleton_matches(target, skeleton(needle))
            if not found:
                found = self._fuzzy_matches(source, start, end, target, names)
            if len(found) > 1:
                found = _best_per_place(found)
                found = _disambiguate(found, source, target, start, end, needle,
                                      self.tie_break)
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
        joined, starts, ends = target.view()
        for at, first, last in _places(joined, starts, needle):
            end = at + len(needle)
            suffix = ends[last] - end
            if starts[first] != at or suffix > min(self.max_suffix, len(needle) // 2):
                if len(needle) >= MIN_BLOCKED_LENGTH and (starts[first] == at or suffix == 0):
                    blocked.append(Candidate(first, last + 1, 0.0, "lexical:partial",
                                             blocked=CROSSES_TOKEN_BOUNDARY))
            elif suffix:
                score = LEVEL_SCORES[level or "translit"] - SUFFIX_COST * suffix
                found.append(Candidate(first, last + 1, score, f"lexical:{level or 'translit'}"))
            else:
                grade = level or _level(source_raw, target.raw(first, last + 1))
                found.append(Candidate(first, last + 1, LEVEL_SCORES[grade], f"lexical:{grade}"))
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
        for at, first, last in _places(text, starts, needle):
            end = at + len(needle)
            extra = (at - starts[first]) + (ends[last] - end)
            if at - starts[first] <= MAX_PROCLITIC and ends[last] - end <= self.max_suffix:
                found.append(Candidate(first, last + 1,
                                       LEVEL_SCORES["skeleton"] - SUFFIX_COST * extra,
                                       "lexical:skeleton"))
        return found

    def _fuzzy_matches(
        self, source: _Tokens, start: int, end: int, target: _Tokens,
        names: Dict[str, Tuple[str, ...]],
    ) -> List[Candidate]:
        """Fuzzy windows for the entity, and for its variants with a translated name
        (``Victoria of the United Kingdom`` -> ``Victoria of the Royaume-Uni``)."""
        ent = _Words(source, start, end)
        variants = [(ent.norms, ent.function)]
        vocab = target.doc.vocab
        for a in range(start, end):
            for b in range(a + 1, end + 1):
                for name in names.get("".join(source.forms_of(a, b)), ()):
                    parts = _WORD.findall(name)
                    before = _Words(source, start, a)
                    after = _Words(source, b, end)
                    variants.append((
                        before.norms + [fuzzy_form(p) for p in parts] + after.norms,
                        before.function + [vocab[p].is_stop for p in parts] + after.function,
                    ))
        # function words alone ("he", "his") are translated, not found
        variants = [(norms, function) for norms, function in variants
                    if norms and not all(function)]
        if not variants:
            return []
        words = target.words()
        # A window stays inside one clause unless the entity spans clause punctuation too.
        one_clause = not ent.has_break
        found: List[Candidate] = []
        for norms, function in variants:
            found += self._fuzzy_windows(norms, function, words, one_clause)
        return _non_overlapping(found)

    def _fuzzy_windows(
        self, norms: Sequence[str], function: Sequence[bool], words: _Words,
        one_clause: bool = True,
    ) -> List[Candidate]:
        """Candidate windows of target words that render the entity's words (with
        ``one_clause``, none that crosses clause punctuation: ``générale , membre de
        l'Union nationale`` is no window for ``National Union of General Workers``)."""
        if not norms or not words.indices or all(function):
            return []  # function words alone ("he", "his") are translated, not found
        content = [i for i, func in enumerate(function) if not func]
        head = content[-1] if len(content) > 1 else None
        sims, parts = word_scores(norms, words.table, head=head)
        win_function = words.function
        cols = len(win_function)
        for func, row in zip(function, sims):
            if func:  # a function word renders a function word
                for j, win_func in enumerate(win_function):
                    if win_func and row[j] < FUNCTION_SIM:
                        row[j] = FUNCTION_SIM
        _no_function_parts(parts, function, win_function)
        _merge_parts(sims, parts)
        if len(norms) == 1:  # one word: each matching word on its own is the best window
            floor = max(self.word_floor, self.min_fuzzy)
            return [Candidate(words.indices[j], words.indices[j] + 1, FUZZY_MAX * score,
                              "lexical:fuzzy")
                    for j, score in enumerate(sims[0]) if score >= floor]
        # Several entity words may each render one part of a hyphenated word (not for a
        # one-word entity: a word that is only a part of a target token crosses a token
        # boundary, see _search).
        pieces = piece_scores(norms, words.table)
        if pieces is not None:
            _no_function_parts(pieces, function, win_function)
            parts = [[p if p >= q else q for p, q in zip(part, piece)]
                     for part, piece in zip(parts, pieces)]
            _merge_parts(sims, pieces)
        floor = self.word_floor
        columns = [list(column) for column in zip(*sims)]
        part_columns = list(zip(*parts))
        matched = [max(column) >= floor or max(part) >= PART_FLOOR
                   for column, part in zip(columns, part_columns)]
        # A window starts (ends) with a function word only where it renders the entity's
        # first (last) word (see _matching_score).
        starts = [j for j in range(cols) if matched[j]
                  and (not win_function[j] or sims[0][j] >= floor)]
        ends = {j for j in range(cols) if matched[j]
                and (not win_function[j] or sims[-1][j] >= floor)}
        sims_rows, parts_rows = sims, parts
        max_len = len(norms) + 3
        tokens = words.indices
        weights = [FUNCTION_WEIGHT if f else 1.0 for f in function]
        total_weight = sum(weights)
        clause = words.breaks if one_clause else [0] * len(tokens)
        found = []
        for i in starts:
            row_best = columns[i]
            for j in range(i, min(i + max_len, len(tokens))):
                if tokens[j] - tokens[i] + 1 > 2 * max_len or clause[j] != clause[i]:
                    break  # words too far apart in the doc, or in another clause
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


def _no_function_parts(
    parts: List[List[float]], ent_function: Sequence[bool], win_function: Sequence[bool]
) -> None:
    """In place: a function word of the entity (a row) has no part in any word, and a
    function word of the target (a column) is no part of anything."""
    cols = len(win_function)
    for part, func in zip(parts, ent_function):
        if func:
            part[:] = [0.0] * cols
    function_cols = [j for j, func in enumerate(win_function) if func]
    if function_cols:
        for part in parts:
            for j in function_cols:
                part[j] = 0.0


def _merge_parts(sims: List[List[float]], parts: Sequence[Sequence[float]]) -> None:
    """In place: a target word that renders an entity word as a part (of a compound, a
    derivation, a hyphenated word) may also be its one-to-one match (``Mexico`` ~
    ``mexikanischen``), where the part similarity reaches ``PART_FLOOR``."""
    for row, part in zip(sims, parts):
        if not part or max(part) < PART_FLOOR:
            continue
        for j, p in enumerate(part):
            if p >= PART_FLOOR and p > row[j]:
                row[j] = p


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
        [(sim, i, j) for i, row in enumerate(sims) for j, sim in enumerate(row) if sim >= floor],
        reverse=True,
    )
    row_of: Dict[int, int] = {}
    total = 0.0
    for sim, i, j in pairs:
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
    joined, starts, ends = source.view()
    return [first for at, first, last in _places(joined, starts, needle)
            if starts[first] == at and ends[last] == at + len(needle)]


def _places(text: str, starts: Sequence[int], needle: str) -> Iterator[Tuple[int, int, int]]:
    """Every place of ``needle`` in a view's joined ``text`` (token ``starts``): its
    character offset and the tokens holding its first and last characters."""
    if not needle:
        return
    at = text.find(needle)
    while at != -1:
        yield at, bisect_right(starts, at) - 1, bisect_right(starts, at + len(needle) - 1) - 1
        at = text.find(needle, at + 1)


def _context(tokens: _Tokens, start: int, end: int) -> Tuple[str, str]:
    before = tokens.forms_of(start - 1, start)[0] if start > 0 else ""
    after = tokens.forms_of(end, end + 1)[0] if end < len(tokens) else ""
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
            expected = (start + end) / 2 / max(len(source), 1)
            nearest = min(tied, key=lambda c: abs((c.start + c.end) / 2 /
                                                  max(len(target), 1) - expected))
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


def _without_article(name: str, vocab) -> str:
    """A translated name without its leading function words (``Le Caire`` -> ``Caire``,
    ``La Haye`` -> ``Haye``), which sentences contract or inflect (``du Caire``); empty
    when it starts with none."""
    words = name.split()
    k = 0
    while k < len(words) - 1 and vocab[words[k]].is_stop:
        k += 1
    return " ".join(words[k:]) if k else ""


@lru_cache(maxsize=64)
def _gazetteer(src_lang: str, tgt_lang: str) -> Dict[str, Tuple[str, ...]]:
    """Source-language name (transliterated) -> its target-language names, from CLDR:
    countries and regions, languages (``Greek`` -> ``griechisch``), month names
    (``October`` -> ``Ekim``), and the cities that name time zones (``Vienna`` ->
    ``Wien``, ``Vienne``, ``Viyana``, ``Вена``, ``维也纳``; a city a locale does not name
    keeps its time zone's name, ``America/New_York`` -> ``New York``).

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
    zones = sorted(set(src.time_zones) | set(tgt.time_zones))
    tables.append((_cities(src, zones), _cities(tgt, zones)))
    out: Dict[str, Tuple[str, ...]] = {}
    for src_names, tgt_names in tables:
        for code, name in src_names.items():
            translated = tgt_names.get(code)
            key = translit(name)
            if translated and translit(translated) != key and len(key) > 2:
                if translated not in out.get(key, ()):
                    out[key] = out.get(key, ()) + (translated,)
    return out


def _cities(locale, zones: Sequence[str]) -> Dict[str, str]:
    """Time zone id -> the locale's name of its exemplar city (CLDR; the time zone's own
    city name where the locale has none, which is the English one)."""
    names = locale.time_zones
    return {zone: names.get(zone, {}).get("city") or zone.rsplit("/", 1)[-1].replace("_", " ")
            for zone in zones if not zone.startswith("Etc/")}


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
