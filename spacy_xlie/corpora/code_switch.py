"""``spacy_xlie.code_switch.v1``: training docs with some of their words outside any entity
replaced by a word of another language that means about the same (code-switching,
CoSDA-ML, Qin et al. 2020).

Why: the pipeline is trained on English only and applied to other languages. A model that
has seen "geboren" or "située" where English had "born" or "located", with the same
labels, learns relation and entity cues that do not depend on the English word. CoSDA-ML
takes the translations from bilingual dictionaries; none ships with this project, and any
list of languages would favour those. The encoder's own input embeddings serve instead: in
multilingual-e5-small the nearest whole-word pieces of "born" by cosine are its
translations in a dozen languages and scripts (роден, født, geboren, γεννήθηκε, …;
``bench/results/code_switch_neighbours.md``), so the replacements come from every language
the encoder knows, none chosen by hand. Some neighbours stay English and shift the meaning
("brother" → "sister", "located" → "placed"): the price of having no dictionary.

Only lower-case alphabetic words outside any entity or relation argument that are not
stop words change: names keep their text (their spans and relations stay true), and the
nearest pieces of function words ("of" → "for", "the" → "and") are other English words
that would change the sentence's meaning. The doc keeps its tokens' count and spaces, so
entity tags, span groups and the relations' token offsets carry over unchanged.

spaCy's augmenters (``spacy.orth_variants.v1``) swap variants from a fixed table and
change the predicted doc with the reference; the predicted doc here must be made again
from the new text with the pipeline's tokenizer, so this is a transform of the reference
docs that :class:`~spacy_xlie.corpora.joint.JointCorpus` applies before it makes them.
"""

import random
import unicodedata
from pathlib import Path
from typing import Callable, Collection, Dict, FrozenSet, List, Sequence, Union

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.util import get_lang_class

from .augment import entity_tags, with_words

#: A transform of reference docs, applied once per pass over a corpus.
DocsTransform = Callable[[Language, List[Doc]], List[Doc]]

#: The sentencepiece mark of a piece that starts a word.
WORD_START = "▁"


@spacy.registry.misc("spacy_xlie.code_switch.v1")
def create_code_switch(
    encoder: Union[str, Path],
    level: float = 0.5,
    word_rate: float = 0.3,
    top_k: int = 10,
    min_similarity: float = 0.4,
    stop_words: str = "en",
) -> DocsTransform:
    """Code-switching for ``spacy_xlie.JointCorpus.v5``'s ``code_switch`` setting.

    encoder: a Hugging Face checkpoint folder (tokenizer and ``model.safetensors``) whose
        input word embeddings give the neighbours (``${paths.encoder}``).
    level: the share of docs that change on each pass (0: none).
    word_rate: in a doc that changes, the chance of each eligible word to be replaced.
    top_k: a replacement is drawn from a word's ``top_k`` nearest eligible pieces.
    min_similarity: pieces less similar than this (cosine) are never replacements.
    stop_words: the language whose spaCy stop words never change (the docs' language).
    """
    for name, value in (("level", level), ("word_rate", word_rate),
                        ("min_similarity", min_similarity)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"code_switch: {name} must be between 0 and 1, got {value}")
    if top_k < 1:
        raise ValueError(f"code_switch: top_k must be at least 1, got {top_k}")
    neighbours = EmbeddingNeighbours.from_encoder(encoder, top_k=top_k,
                                                  min_similarity=min_similarity)
    return CodeSwitch(neighbours, level=level, word_rate=word_rate,
                      stop_words=frozenset(get_lang_class(stop_words).Defaults.stop_words))


class EmbeddingNeighbours:
    """Each word's nearest whole-word pieces in another spelling, by the cosine of their
    input embeddings, computed for many words at once and kept."""

    def __init__(self, pieces: Sequence[str], vectors: numpy.ndarray, *, top_k: int,
                 min_similarity: float) -> None:
        # Only the pieces that can replace a word are kept (about half of e5-small's 250k):
        # a word that is one of them is also the only kind of word that gets replaced.
        rows = [i for i, piece in enumerate(pieces) if is_replacement_piece(piece)]
        self.pieces = [pieces[i] for i in rows]
        self.ids = {piece: i for i, piece in enumerate(self.pieces)}
        kept = numpy.asarray(vectors[rows], dtype=numpy.float32)
        kept /= numpy.maximum(numpy.linalg.norm(kept, axis=1, keepdims=True), 1e-12)
        self.vectors = kept
        self.top_k = top_k
        self.min_similarity = min_similarity
        self.cache: Dict[str, List[str]] = {}

    @classmethod
    def from_encoder(cls, path: Union[str, Path], *, top_k: int,
                     min_similarity: float) -> "EmbeddingNeighbours":
        """Pieces from the checkpoint's tokenizer, vectors from its word embeddings (read
        alone from the safetensors file, not the whole model)."""
        from safetensors import safe_open
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path))
        with safe_open(str(Path(path) / "model.safetensors"), framework="numpy") as tensors:
            name = next(k for k in tensors.keys() if k.endswith("word_embeddings.weight"))
            vectors = tensors.get_tensor(name)
        # The embedding matrix may have rows past the tokenizer's vocabulary (padded to a
        # round size): those ids have no piece.
        pieces = [piece or "" for piece in
                  tokenizer.convert_ids_to_tokens(list(range(vectors.shape[0])))]
        return cls(pieces, vectors, top_k=top_k, min_similarity=min_similarity)

    def knows(self, word: str) -> bool:
        """Whether ``word`` is one whole-word piece that could replace another, so that it
        has a vector of its own."""
        return WORD_START + word in self.ids

    def __call__(self, words: Collection[str]) -> Dict[str, List[str]]:
        """word -> its replacements (nearest first), for each of ``words`` it knows."""
        missing = sorted({w for w in words if w not in self.cache and self.knows(w)})
        for start in range(0, len(missing), 64):
            self._compute(missing[start:start + 64])
        return {w: self.cache[w] for w in words if w in self.cache}

    def _compute(self, words: List[str]) -> None:
        rows = [self.ids[WORD_START + w] for w in words]
        similarity = self.vectors[rows] @ self.vectors.T
        wide = min(self.top_k * 5, similarity.shape[1])
        nearest = numpy.argpartition(-similarity, wide - 1, axis=1)[:, :wide]
        for word, row, found in zip(words, similarity, nearest):
            found = found[numpy.argsort(-row[found])]
            replacements = [self.pieces[i][len(WORD_START):] for i in found
                            if row[i] >= self.min_similarity
                            and not same_word(word, self.pieces[i][len(WORD_START):])]
            self.cache[word] = replacements[:self.top_k]


def is_replacement_piece(piece: str) -> bool:
    """A piece that is a whole word of letters (combining marks included, as in Devanagari)
    of two characters or more, not starting with a capital: lower-case words replace
    lower-case words, and a capitalised neighbour ("Chief", "General") reads as a name."""
    word = piece[len(WORD_START):]
    return (piece.startswith(WORD_START) and len(word) >= 2 and not word[0].isupper()
            and all(ch.isalpha() or unicodedata.category(ch).startswith("M") for ch in word))


def same_word(word: str, other: str) -> bool:
    """Whether ``other`` is ``word`` in another case or with an ending added or cut
    ("member", "members"): not a switch of language."""
    a, b = word.casefold(), other.casefold()
    return a.startswith(b) or b.startswith(a)


class CodeSwitch:
    """Replaces, in a share of docs, some lower-case words outside any entity with a word
    drawn from their embedding neighbours."""

    def __init__(self, neighbours: EmbeddingNeighbours, *, level: float, word_rate: float,
                 stop_words: FrozenSet[str]) -> None:
        self.neighbours = neighbours
        self.level = level
        self.word_rate = word_rate
        self.stop_words = stop_words

    def __call__(self, nlp: Language, docs: List[Doc]) -> List[Doc]:
        """``docs``, a ``level`` share of them switched; the neighbours of every word that
        may change are looked up in one batch."""
        eligible = [eligible_tokens(doc, self.stop_words) if random.random() < self.level
                    else None for doc in docs]
        replacements = self.neighbours({t.text for tokens in eligible if tokens
                                        for t in tokens})
        return [doc if tokens is None else self.switched(doc, tokens, replacements)
                for doc, tokens in zip(docs, eligible)]

    def switched(self, doc: Doc, eligible: List[Token],
                 replacements: Dict[str, List[str]]) -> Doc:
        words = [t.text for t in doc]
        for token in eligible:
            options = replacements.get(token.text)
            if options and random.random() < self.word_rate:
                words[token.i] = random.choice(options)
        return respelled_words(doc, words)


def eligible_tokens(doc: Doc, stop_words: FrozenSet[str]) -> List[Token]:
    """The doc's lower-case alphabetic non-stop-word tokens outside every entity and span
    group (relation arguments live in a span group in training docs)."""
    inside = {i for span in doc.ents for i in range(span.start, span.end)}
    for group in doc.spans.values():
        inside.update(i for span in group for i in range(span.start, span.end))
    return [t for t in doc if t.i not in inside and t.is_alpha and t.is_lower
            and t.text not in stop_words]


def respelled_words(doc: Doc, words: List[str]) -> Doc:
    """A doc with ``words`` in place of ``doc``'s tokens (same count), its spaces, entity
    tags (missing ones stay missing), span groups and user data (relations are stored by
    token offsets). Entity kb ids are not kept: training reads none."""
    new = with_words(doc, words, entity_tags(doc))
    for key, group in doc.spans.items():
        new.spans[key] = [Span(new, s.start, s.end, label=s.label_, kb_id=s.kb_id_)
                          for s in group]
    new.user_data.update(doc.user_data)
    return new
