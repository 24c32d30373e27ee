"""``xlie_distant_labeler``: silver relations from a knowledge base (distant supervision).

For each doc the component

1. finds entity mentions: ``mode="match"`` looks up the KB aliases of the pipeline's
   language (longest, non-overlapping; see :mod:`spacy_xlie.kb.alias_index` for the
   normalisation) and writes linked mentions to ``doc.ents`` (or the span group
   ``spans_key``) without touching existing entities; ``mode="ents"`` links the doc's
   existing entities by alias instead; ``mode="gazetteer"`` finds and links mentions as
   ``match`` does, writes them as entities and stops there (no relations, no
   negatives, other relations untouched): an entity source for the relation extractor;
2. links them: ``span.kb_id_`` is the entity id. An alias with several ids is resolved by
   ``ambiguity``: ``skip`` (leave it unlinked), ``all`` (keep every candidate while
   labelling; the span's ``kb_id_`` is the one that took part in a relation, else the
   first), ``prior`` (the candidate with the highest KB prior; a tie is skipped);
3. labels every ordered pair of linked mentions in the same sentence, at most
   ``max_distance`` tokens apart, whose ids have a KB triple ``head --rel--> tail``:
   relation ``rel`` (through ``label_map``) from head to tail, ``source="distant"``,
   scored with the triple's weight. Several relations on one pair are all kept when
   ``multilabel``, else the first in ``priority`` wins (then alphabetical order);
4. records negatives under the **closed-world assumption**: a pair with no triple in
   either direction is taken to be unrelated. They go to ``doc._.xlie_negatives`` as plain
   data (``{"head": [start, end], "tail": [start, end], "head_id", "tail_id"}``), at most
   ``ceil(negative_ratio * max(positives, 1))`` per doc (``negative_ratio = -1``: all),
   sampled with a seed derived from ``seed`` and the doc text, so results do not depend
   on batch order or ``n_process``. A pair whose only triples are unmapped relations
   dropped by ``keep_unmapped = false`` is neither positive nor negative.

Bags: every labelled pair carries its (head id, tail id) as the spans' ``kb_id_``, so
instances group into bags for multi-instance learning. Sentences: a doc without sentence
boundaries (``spacy.blank`` sets none) is one sentence; add a ``sentencizer`` before this
component to pair within sentences. Per-doc counts go to ``doc._.xlie_distant``.
"""

import math
import random
import warnings
import zlib
from bisect import bisect_right
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
import srsly
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import SimpleFrozenList
from spacy.vocab import Vocab
from thinc.api import Config

from ..kb.alias_index import AliasIndex
from ..kb.relation_kb import RelationKB
from ..relations import DATA_ATTR, Relation, clear_relations

SOURCE = "distant"
NEGATIVES_ATTR = "xlie_negatives"
STATS_ATTR = "xlie_distant"
MODES = ("match", "ents", "gazetteer")
AMBIGUITY = ("skip", "all", "prior")
#: The language-neutral alias language (Wikidata's ``mul`` labels).
NEUTRAL_LANG = "mul"

default_config_str = """
[labeler]
mode = "match"
attr = "LOWER"
fold_diacritics = false
subtokens = true
suffixes = null
alias_langs = null
spans_key = null
ent_label = "ENT"
use_kb_types = true
ambiguity = "skip"
max_distance = 50
multilabel = true
priority = []
label_map = {}
keep_unmapped = true
negative_ratio = 1.0
seed = 0
"""
DEFAULT_CONFIG = Config().from_str(default_config_str)["labeler"]

#: A linked mention: start, end, candidate entity positions, partial-token flag.
Mention = Tuple[int, int, Tuple[int, ...], bool]
#: A positive pair: mention indices (head, tail), then (label, weight, head pos, tail pos).
Labelled = Tuple[int, int, List[Tuple[str, float, int, int]]]


def register_extensions() -> None:
    """``doc._.xlie_negatives`` and ``doc._.xlie_distant`` (plain data, default None)."""
    for name in (NEGATIVES_ATTR, STATS_ATTR):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


register_extensions()


@Language.factory(
    "xlie_distant_labeler",
    default_config=DEFAULT_CONFIG,
    assigns=["doc.ents", "doc._.xlie_relations_data", f"doc._.{NEGATIVES_ATTR}"],
)
def make_distant_labeler(
    nlp: Language,
    name: str,
    mode: str,
    attr: str,
    fold_diacritics: bool,
    subtokens: bool,
    suffixes: Optional[List[str]],
    alias_langs: Optional[List[str]],
    spans_key: Optional[str],
    ent_label: str,
    use_kb_types: bool,
    ambiguity: str,
    max_distance: Optional[int],
    multilabel: bool,
    priority: List[str],
    label_map: Dict[str, str],
    keep_unmapped: bool,
    negative_ratio: Optional[float],
    seed: int,
) -> "DistantLabeler":
    """Create the labeler; give it a KB with ``initialize`` (``kb_loader``) or ``set_kb``."""
    return DistantLabeler(
        nlp.vocab, name, lang=nlp.lang, tokenizer=nlp.tokenizer, mode=mode, attr=attr,
        fold_diacritics=fold_diacritics, subtokens=subtokens, suffixes=suffixes,
        alias_langs=alias_langs, spans_key=spans_key, ent_label=ent_label,
        use_kb_types=use_kb_types, ambiguity=ambiguity, max_distance=max_distance,
        multilabel=multilabel, priority=priority, label_map=label_map,
        keep_unmapped=keep_unmapped, negative_ratio=negative_ratio, seed=seed,
    )


def alias_tokenizer(tokenizer: Callable[[str], Doc]) -> Callable[[str], List[str]]:
    """Token texts of an alias, as the pipeline's tokenizer would cut it in running text.

    A spaCy ``Tokenizer`` is copied onto a private vocab, so a million aliases do not leave
    a million lexemes in the pipeline's vocab; aliases of purely alphabetic words that are
    no tokenizer exception are split on spaces without running the tokenizer at all.
    """
    if not isinstance(tokenizer, Tokenizer):
        return lambda text: [t.text for t in tokenizer(text)]
    private = Tokenizer(Vocab())
    private.from_bytes(tokenizer.to_bytes(exclude=["vocab"]))
    rules = frozenset(tokenizer.rules or {})

    def tokenize(text: str) -> List[str]:
        words = text.split(" ")
        if all(w.isalpha() and w not in rules for w in words):
            return words
        return [t.text for t in private(text)]

    return tokenize


class DistantLabeler(Pipe):
    """Link mentions to a :class:`RelationKB` and label pairs with its relations."""

    def __init__(
        self,
        vocab: Vocab,
        name: str = "xlie_distant_labeler",
        *,
        lang: str,
        tokenizer: Optional[Callable[[str], Doc]] = None,
        kb: Optional[RelationKB] = None,
        mode: str = "match",
        attr: str = "LOWER",
        fold_diacritics: bool = False,
        subtokens: bool = True,
        suffixes: Optional[Sequence[str]] = None,
        alias_langs: Optional[Sequence[str]] = None,
        spans_key: Optional[str] = None,
        ent_label: str = "ENT",
        use_kb_types: bool = True,
        ambiguity: str = "skip",
        max_distance: Optional[int] = 50,
        multilabel: bool = True,
        priority: Sequence[str] = (),
        label_map: Optional[Dict[str, str]] = None,
        keep_unmapped: bool = True,
        negative_ratio: Optional[float] = 1.0,
        seed: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if ambiguity not in AMBIGUITY:
            raise ValueError(f"ambiguity must be one of {AMBIGUITY}, got {ambiguity!r}")
        if attr not in ("ORTH", "LOWER"):
            raise ValueError(f"attr must be 'ORTH' or 'LOWER', got {attr!r}")
        self.vocab = vocab
        self.name = name
        self.lang = lang
        self.tokenizer = tokenizer
        self.mode = mode
        self.attr = attr
        self.fold_diacritics = fold_diacritics
        self.subtokens = subtokens
        self.suffixes = list(suffixes) if suffixes is not None else None
        self.alias_langs = list(alias_langs) if alias_langs else [lang, NEUTRAL_LANG]
        self.spans_key = spans_key
        self.ent_label = ent_label
        self.use_kb_types = use_kb_types
        self.ambiguity = ambiguity
        self.max_distance = max_distance
        self.multilabel = multilabel
        self.priority = {label: i for i, label in enumerate(priority)}
        self.label_map = dict(label_map or {})
        self.keep_unmapped = keep_unmapped
        self.negative_ratio = negative_ratio
        self.seed = seed
        self.kb = kb
        self._index: Optional[AliasIndex] = None

    # -- the KB ---------------------------------------------------------------------------
    def set_kb(self, kb: RelationKB) -> None:
        """Use ``kb`` from now on (the alias index is rebuilt on the next doc)."""
        if not isinstance(kb, RelationKB):
            raise TypeError(f"expected a RelationKB, got {type(kb).__name__}")
        self.kb = kb
        self._index = None

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
        kb_loader: Optional[Callable[[], RelationKB]] = None,
    ) -> None:
        """Load the KB with ``kb_loader`` (e.g. ``spacy_xlie.RelationKB.v1``) and index it."""
        if kb_loader is not None:
            self.set_kb(kb_loader())
        if nlp is not None:
            self.tokenizer = nlp.tokenizer
        self._index = self._build_index()

    @property
    def index(self) -> AliasIndex:
        """The alias index over ``alias_langs``, built on first use."""
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def _build_index(self) -> AliasIndex:
        kb = self._require_kb()
        if self.tokenizer is None:
            raise ValueError(f"'{self.name}' has no tokenizer to cut aliases: pass nlp to "
                             "initialize() or create it with nlp.add_pipe")
        index = AliasIndex(self.lang, attr=self.attr, fold_diacritics=self.fold_diacritics,
                           subtokens=self.subtokens, suffixes=self.suffixes)
        tokenize = alias_tokenizer(self.tokenizer)
        langs = [lg for lg in self.alias_langs if lg in kb.languages]
        if not langs:
            warnings.warn(f"[{self.name}] the KB has no aliases in {self.alias_langs} (it has "
                          f"{kb.languages}): no mention will be found", stacklevel=2)
        for lang in langs:
            for alias, cands in kb.iter_aliases(lang):
                index.add(tokenize(alias), cands)
        return index

    def _require_kb(self) -> RelationKB:
        if self.kb is None:
            raise ValueError(
                f"'{self.name}' has no knowledge base: call nlp.initialize() with "
                f"[initialize.components.{self.name}.kb_loader] set, or "
                f"nlp.get_pipe('{self.name}').set_kb(RelationKB.from_disk(path))"
            )
        return self.kb

    # -- labelling ------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        kb = self._require_kb()
        index = self.index
        ext = doc._  # one accessor for every extension read and write below
        if self.mode != "gazetteer" and ext.get(DATA_ATTR) is not None:
            clear_relations(doc, source=SOURCE)
        pool = self._pool(doc)
        orths = doc.to_array(ORTH)
        if self.mode != "ents":
            found = index.find_orths(orths.tolist(), doc.vocab.strings)
        else:
            found = [(s.start, s.end, index.lookup([t.text for t in s]), False) for s in pool]
        stats = {"mentions": len(found), "linked": 0, "ambiguous": 0, "unresolved": 0,
                 "partial": 0, "positive_pairs": 0, "negative_candidates": 0, "negatives": 0}
        mentions: List[Mention] = []
        existing: Dict[Tuple[int, int], Span] = {}
        by_start = {(s.start, s.end): s for s in pool}
        occupied = {i for s in pool for i in range(s.start, s.end)}
        for start, end, cands, partial in found:
            if len(cands) > 1:
                stats["ambiguous"] += 1
            chosen = self._resolve(kb, cands)
            if len(cands) > 1 and not chosen:
                stats["unresolved"] += 1
            span = by_start.get((start, end))
            if span is not None and span.kb_id_:
                pos = kb.position(span.kb_id_)
                chosen = (pos,) if pos is not None and pos in chosen else ()
            elif span is None and any(i in occupied for i in range(start, end)):
                chosen = ()
            if chosen:
                if span is not None:
                    existing[(start, end)] = span
                mentions.append((start, end, chosen, partial))
                stats["partial"] += partial
        mentions.sort(key=lambda m: m[0])
        stats["linked"] = len(mentions)
        if self.mode == "gazetteer":
            self._write_entities(doc, kb, mentions, existing, [])
            ext.set(STATS_ATTR, stats)
            return doc
        positives, negatives = self._pairs(doc, kb, mentions)
        negatives_kept = self._sample(orths, negatives, len(positives))
        stats["positive_pairs"] = len(positives)
        stats["negative_candidates"] = len(negatives)
        stats["negatives"] = len(negatives_kept)
        spans = self._write_entities(doc, kb, mentions, existing, positives)
        if positives:
            # The spans were just written as entities, so the records are valid as built
            # (add_relation would re-check each one against every entity of the doc).
            records = list(ext.get(DATA_ATTR) or [])
            records.extend(
                Relation(spans[head], spans[tail], label, weight, SOURCE, self.spans_key).to_dict()
                for head, tail, labels in positives for label, weight, _, _ in labels
            )
            ext.set(DATA_ATTR, records)
        if negatives_kept or ext.get(NEGATIVES_ATTR) is not None:
            # Not written when there are none to write: the default is None anyway, and
            # a doc's user data (what n_process and DocBin serialise) stays smaller.
            ext.set(NEGATIVES_ATTR, [
                {"head": [spans[h].start, spans[h].end], "tail": [spans[t].start, spans[t].end],
                 "head_id": spans[h].kb_id_, "tail_id": spans[t].kb_id_}
                for h, t in negatives_kept
            ] or None)
        ext.set(STATS_ATTR, stats)
        return doc

    def _pool(self, doc: Doc) -> Sequence[Span]:
        if self.spans_key is None:
            return doc.ents
        return doc.spans[self.spans_key] if self.spans_key in doc.spans else []

    def _resolve(self, kb: RelationKB, cands: Tuple[int, ...]) -> Tuple[int, ...]:
        if len(cands) <= 1 or self.ambiguity == "all":
            return cands
        if self.ambiguity == "skip":
            return ()
        priors = sorted(((kb.prior_at(c), c) for c in cands), reverse=True)
        return () if priors[0][0] == priors[1][0] else (priors[0][1],)

    def _sentence_of(self, doc: Doc) -> Callable[[int], int]:
        if not doc.has_annotation("SENT_START"):
            return lambda i: 0
        starts = [t.i for t in doc if t.is_sent_start]
        return lambda i: bisect_right(starts, i)

    def _labels(
        self, kb: RelationKB, heads: Tuple[int, ...], tails: Tuple[int, ...]
    ) -> Tuple[List[Tuple[str, float, int, int]], bool]:
        """Mapped labels from any head candidate to any tail candidate, and whether any
        (mapped or not) triple exists."""
        labels: Dict[str, Tuple[str, float, int, int]] = {}
        any_triple = False
        for h in heads:
            for t in tails:
                for rel, weight in kb.relations_at(h, t):
                    any_triple = True
                    label = self.label_map.get(rel, rel if self.keep_unmapped else None)
                    if label is not None and label not in labels:
                        labels[label] = (label, weight, h, t)
        chosen = list(labels.values())
        if chosen and not self.multilabel:
            rank = len(self.priority)
            chosen = [min(chosen, key=lambda x: (self.priority.get(x[0], rank), x[0]))]
        return chosen, any_triple

    def _pairs(
        self, doc: Doc, kb: RelationKB, mentions: List[Mention]
    ) -> Tuple[List[Labelled], List[Tuple[int, int]]]:
        sent_of = self._sentence_of(doc)
        sents = [sent_of(m[0]) for m in mentions]
        positives: List[Labelled] = []
        negatives: List[Tuple[int, int]] = []
        for i, first in enumerate(mentions):
            for j in range(i + 1, len(mentions)):
                second = mentions[j]
                if sents[i] != sents[j]:
                    break
                if self.max_distance is not None and second[0] - first[1] > self.max_distance:
                    break
                heads, tails = first[2], second[2]
                if heads == tails or (len(heads) > 1 or len(tails) > 1) and not set(
                        heads).isdisjoint(tails):
                    continue  # the same entity twice: no relation with itself
                forward, fwd_any = self._labels(kb, first[2], second[2])
                backward, bwd_any = self._labels(kb, second[2], first[2])
                if forward:
                    positives.append((i, j, forward))
                if backward:
                    positives.append((j, i, backward))
                if not fwd_any and not bwd_any:
                    negatives.append((i, j))
        return positives, negatives

    def _sample(
        self, orths: numpy.ndarray, negatives: List[Tuple[int, int]], n_positive: int
    ) -> List[Tuple[int, int]]:
        if self.negative_ratio is None or self.negative_ratio < 0:
            return negatives
        limit = math.ceil(self.negative_ratio * max(n_positive, 1))
        if len(negatives) <= limit:
            return negatives
        # Seeded by the doc's tokens (ORTH hashes are stable across processes), so the
        # sample does not depend on batch order or n_process; cheaper than doc.text.
        rng = random.Random(self.seed * 1_000_003 + zlib.crc32(orths.tobytes()))
        keep = sorted(rng.sample(range(len(negatives)), limit))
        return [negatives[k] for k in keep]

    def _write_entities(
        self,
        doc: Doc,
        kb: RelationKB,
        mentions: List[Mention],
        existing: Dict[Tuple[int, int], Span],
        positives: List[Labelled],
    ) -> List[Span]:
        """Spans for the linked mentions, written to ``doc.ents`` or the span group."""
        used: Dict[int, int] = {}
        for head, tail, labels in positives:
            for _, _, h, t in labels:
                used.setdefault(head, h)
                used.setdefault(tail, t)
        spans: List[Span] = []
        for i, (start, end, chosen, _) in enumerate(mentions):
            pos = used.get(i, chosen[0])
            old = existing.get((start, end))
            label = old.label_ if old is not None else self._label(kb, pos)
            span = Span(doc, start, end, label=label, kb_id=kb.entity_id(pos))
            spans.append(span)
        if spans and self.spans_key is None:
            doc.set_ents(spans, default="unmodified")  # other entities stay as they are
        elif spans:
            ours = {(s.start, s.end): s for s in spans}
            kept = [ours.get((s.start, s.end), s) for s in self._pool(doc)]
            new = [s for s in spans if (s.start, s.end) not in existing]
            doc.spans[self.spans_key] = kept + new
        return spans

    def _label(self, kb: RelationKB, pos: int) -> str:
        kb_type = kb.type_at(pos) if self.use_kb_types else None
        return kb_type or self.ent_label

    # -- serialisation ----------------------------------------------------------------------
    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        return srsly.msgpack_dumps({"kb": self.kb.to_bytes() if self.kb is not None else None})

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()
    ) -> "DistantLabeler":
        data = srsly.msgpack_loads(bytes_data)
        if data.get("kb") is not None:
            self.set_kb(RelationKB.from_bytes(data["kb"]))
        return self

    def to_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()
    ) -> None:
        """The KB goes into ``path/kb`` so a packaged pipeline carries it."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.kb is not None:
            self.kb.to_disk(path / "kb")

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()
    ) -> "DistantLabeler":
        kb_dir = Path(path) / "kb"
        if kb_dir.exists():
            self.set_kb(RelationKB.from_disk(kb_dir))
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_index"] = None  # rebuilt where it is used (e.g. in a worker process)
        return state
