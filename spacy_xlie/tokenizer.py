"""``spacy_xlie.Tokenizer.v1``: spaCy's rule-based tokenizer plus the word boundaries an
entity needs in any language.

An entity found by a recognizer, a gazetteer or a projection is a span of tokens, so it can
only start and end where a token does. spaCy's multi-language tokenizer (``xx``) splits at
spaces and punctuation, and three kinds of boundary are missing from it:

- **Elisions** (French, Italian, Catalan): an elided article or preposition is glued to the
  name after it (``l'Université``, ``d'Orléans``, ``dell'Università``), so the name alone
  can never be an entity. The elided word is split off when it is one of a closed list
  (:data:`ELIDED`), in either case (``L'Oréal`` at a sentence start).
- **Apostrophe suffixes** (Turkish, Azerbaijani): ``Ankara'da``, ``Microsoft'un``.
- **Scripts written without spaces** (Chinese, Japanese kana): one token a character,
  as spaCy's Chinese ``char`` segmenter does.

The last two are the rules projection targets are split by
(:func:`spacy_xlie.alignment.boundaries.target_pieces`).

Why a wrapper and not spaCy's prefix and infix rules: spaCy's French infix splits after
any apostrophe between letters (``O'Brien``, ``rock'n'roll`` too), and rules kept in the
tokenizer's serialised patterns would not reach a pipeline saved with spaCy's own
tokenizer. The wrapper saves and loads exactly as spaCy's tokenizer does, so a trained
pipeline switches to it by its config alone.
"""

import re
from typing import Any, Callable, Iterable, Iterator, List

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import registry

from .alignment.boundaries import split_tokens, target_pieces

#: Elided words that precede the word they are glued to (French, Italian, Catalan).
ELIDED = (
    "c d j l m n s t v qu jusqu lorsqu puisqu quoiqu presqu quelqu "
    "dell dall nell sull coll pell all quell quest bell sant un nessun buon tutt anch "
    "senz degl dagl negl sugl gl"
).split()
#: An elided word, its apostrophe, then a word of two letters or more (not English "n't")
_ELIDED = "|".join(ELIDED)
_ELISION = re.compile(rf"^((?:{_ELIDED})['’ʼ])(?=[^\W\d_]{{2}})", re.IGNORECASE)


def word_pieces(text: str) -> List[str]:
    """How a token is split into words (a single piece: not at all)."""
    match = _ELISION.match(text)
    if match:
        elided = match.group(1)
        return [elided, *word_pieces(text[len(elided):])]
    return target_pieces(text)


class WordBoundaryTokenizer:
    """spaCy's tokenizer, then its tokens split at the boundaries above."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab = tokenizer.vocab

    def __call__(self, text: str) -> Doc:
        return split_tokens(self.tokenizer(text), word_pieces)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """As spaCy's ``Tokenizer.pipe`` (which ``__getattr__`` would reach unsplit)."""
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:
        # spaCy's tokenizer settings (rules, prefix_search, explain...) stay readable;
        # "tokenizer" itself is absent only while unpickling, before __init__ state is set
        if name == "tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    def to_disk(self, path, **kwargs) -> None:
        self.tokenizer.to_disk(path, **kwargs)

    def from_disk(self, path, **kwargs) -> "WordBoundaryTokenizer":
        self.tokenizer.from_disk(path, **kwargs)
        return self

    def to_bytes(self, **kwargs) -> bytes:
        return self.tokenizer.to_bytes(**kwargs)

    def from_bytes(self, data: bytes, **kwargs) -> "WordBoundaryTokenizer":
        self.tokenizer.from_bytes(data, **kwargs)
        return self


@registry.tokenizers("spacy_xlie.Tokenizer.v1")
def create_tokenizer() -> Callable[[Language], WordBoundaryTokenizer]:
    """spaCy's rule-based tokenizer for the pipeline's language, with elisions,
    apostrophe suffixes and characters of unspaced scripts split off."""
    spacy_tokenizer = registry.tokenizers.get("spacy.Tokenizer.v1")()

    def make_tokenizer(nlp: Language) -> WordBoundaryTokenizer:
        return WordBoundaryTokenizer(spacy_tokenizer(nlp))

    return make_tokenizer
