"""``spacy_xlie.outside_case_noise.v1``: training examples whose words outside any entity
are title-cased or upper-cased, still labelled outside.

Why: English capitalises little besides names, so a recognizer trained on English learns
that a capitalised word is a name, or belongs to the one next to it. Text in other
languages capitalises more: German capitalises every noun ("Papst Franziskus", "die
Stadt Köln"), and headings, markup and wiki boilerplate write whole words in capitals.
Applied zero-shot, the recognizer pulls those words into the names beside them. English
sentences whose other words change case teach it to read the word rather than its case.
spaCy's own augmenters lower-case whole texts (``spacy.lower_case.v1``) or swap
orthographic variants from a table (``spacy.orth_variants.v1``); neither touches only the
words that are outside a name, which is what keeps the labels true here.
"""

import random
from functools import partial
from typing import Callable, Iterator, List, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

Augmenter = Callable[[Language, Example], Iterator[Example]]


@spacy.registry.augmenters("spacy_xlie.outside_case_noise.v1")
def create_outside_case_noise(level: float = 0.5, word_rate: float = 0.3,
                              upper_share: float = 0.3) -> Augmenter:
    """Augmenter for a corpus's ``augmenter`` setting (entity docs of
    ``spacy_xlie.JointCorpus.v4``).

    level: the share of examples replaced by a recased variant.
    word_rate: in a recased example, the chance of each alphabetic word outside any entity
        (labelled ``O``, not missing) to change case.
    upper_share: of the words that change, the share written in capitals; the others are
        title-cased.
    """
    for name, value in (("level", level), ("word_rate", word_rate),
                        ("upper_share", upper_share)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"outside_case_noise: {name} must be between 0 and 1, got {value}")
    return partial(outside_case_noise, level=level, word_rate=word_rate,
                   upper_share=upper_share)


def outside_case_noise(nlp: Language, example: Example, *, level: float, word_rate: float,
                       upper_share: float) -> Iterator[Example]:
    if random.random() >= level:
        yield example
    else:
        yield recase_outside(example, word_rate, upper_share)


def recase_outside(example: Example, word_rate: float, upper_share: float) -> Example:
    """``example`` with some of its reference's outside words recased, in both docs. Only
    case changes that keep a word's length are made ("ß" stays), so every character offset,
    and with it both tokenizations and their alignment, stays as it was."""
    text = list(example.reference.text)
    for token in example.reference:
        if token.ent_iob_ != "O" or not token.is_alpha or random.random() >= word_rate:
            continue
        recased = token.text.upper() if random.random() < upper_share else token.text.title()
        if len(recased) == len(token.text):
            text[token.idx:token.idx + len(token.text)] = recased
    new_text = "".join(text)
    return Example(respelled(example.predicted, new_text),
                   respelled(example.reference, new_text, ents=entity_tags(example.reference)))


def respelled(doc: Doc, text: str, ents: Optional[List[Optional[str]]] = None) -> Doc:
    """A doc with ``doc``'s tokens and spaces over ``text`` (same length as ``doc.text``)
    and the token-level entity tags ``ents`` (``None``: none; a ``None`` tag: missing)."""
    return with_words(doc, [text[t.idx:t.idx + len(t.text)] for t in doc], ents)


def with_words(doc: Doc, words: List[str], ents: Optional[List[Optional[str]]] = None) -> Doc:
    """A doc of ``words`` (as many as ``doc`` has tokens) with ``doc``'s spaces and the
    token-level entity tags ``ents`` (``None``: none; a ``None`` tag: missing)."""
    return Doc(doc.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc], ents=ents)


def entity_tags(doc: Doc) -> List[Optional[str]]:
    """``doc``'s entity annotation as token tags for ``Doc(ents=...)``: ``B-``/``I-`` with
    the type, ``O``, and ``None`` where it is missing."""
    return [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else (t.ent_iob_ or None)
            for t in doc]
