"""``xlie_sentencizer``: spaCy's rule-based sentencizer, minus three kinds of split it gets
wrong in any language with a period.

The relation extractor pairs entities inside one sentence on raw text, so a false split
costs a relation. spaCy's ``sentencizer`` starts a sentence after any sentence-final
punctuation (every script's, which is why it suits a multilingual pipeline) followed by a
word, and so splits after abbreviations and ordinal numbers: "TSB Group Plc. und Lloyds",
"Am 28. Februar 2012". Its trained alternative (``senter``) needs per-language training
data. This subclass keeps its rule and drops a start when

* the next word begins with a lower-case letter (an abbreviation inside a sentence; a
  script without case never matches), or
* the boundary is a single period after a one- or two-digit number (an ordinal or a day
  of the month: German, Scandinavian, Slavic, Hungarian, Turkish dates), or
* the boundary is a single period glued to a short title-case word, at most
  ``abbreviation_length`` letters, the first upper-case and any others lower-case: a title
  or an initial before a name ("Dr. Angela Merkel", "St. Louis", "M. Macron",
  "J. K. Rowling", "Nr. 5"), after "vs." the commonest split inside KBP37 dev's
  one-sentence docs (``bench/results/sentencizer.md``). Longer words are left alone
  because capitalised three-letter words end sentences in German and Dutch (nouns:
  "Zug.", "Tag.") and in names anywhere ("Bob."); lower-case ones because "it.", "me.",
  "us." do in English. 0 turns the rule off.

A year before a period ("... in 2001. The ...") still ends a sentence, and so does an
acronym ("... the UN. The ...").
"""

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import srsly
from spacy.language import Language
from spacy.pipeline import Sentencizer as SpacySentencizer
from spacy.pipeline.sentencizer import senter_score
from spacy.tokens import Doc


@Language.factory(
    "xlie_sentencizer",
    assigns=["token.is_sent_start", "doc.sents"],
    default_config={"punct_chars": None, "overwrite": False, "abbreviation_length": 2,
                    "scorer": {"@scorers": "spacy.senter_scorer.v1"}},
    default_score_weights={"sents_f": 1.0, "sents_p": 0.0, "sents_r": 0.0},
)
def make_sentencizer(nlp: Language, name: str, punct_chars: Optional[List[str]],
                     overwrite: bool, abbreviation_length: int,
                     scorer: Optional[Callable]) -> "Sentencizer":
    """Create an ``xlie_sentencizer`` (see the module docstring)."""
    return Sentencizer(name, punct_chars=punct_chars, overwrite=overwrite,
                       abbreviation_length=abbreviation_length, scorer=scorer)


class Sentencizer(SpacySentencizer):
    """spaCy's ``Sentencizer`` with the exceptions of the module docstring."""

    def __init__(self, name: str = "xlie_sentencizer", *,
                 punct_chars: Optional[List[str]] = None, overwrite: bool = False,
                 abbreviation_length: int = 2,
                 scorer: Optional[Callable] = senter_score) -> None:
        super().__init__(name, punct_chars=punct_chars, overwrite=overwrite, scorer=scorer)
        if abbreviation_length < 0:
            raise ValueError(f"abbreviation_length must be 0 or more, got {abbreviation_length}")
        self.abbreviation_length = abbreviation_length

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """spaCy's ``to_bytes`` with the punctuation in a fixed order (see :meth:`to_disk`)."""
        return srsly.msgpack_dumps(self._settings())

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """spaCy's ``to_disk`` with the punctuation sorted: spaCy writes its set in hash
        order, which changes from one Python process to the next, so the same pipeline
        saved twice differed in this file alone and no checksum could tell two trainings'
        outputs apart from the same model."""
        srsly.write_json(Path(path).with_suffix(".json"), self._settings())

    def _settings(self) -> Dict[str, Any]:
        """What spaCy's sentencizer saves, its punctuation in code-point order."""
        return {"punct_chars": sorted(self.punct_chars), "overwrite": self.overwrite}

    def predict(self, docs: List[Doc]) -> List[List[bool]]:
        guesses = super().predict(docs)
        for doc, starts in zip(docs, guesses):
            for i in range(1, len(starts)):
                if starts[i] and not is_sentence_start(doc, i, self.abbreviation_length):
                    starts[i] = False
        return guesses


def is_sentence_start(doc: Doc, i: int, abbreviation_length: int = 0) -> bool:
    """Whether token ``i``, after sentence-final punctuation, really starts a sentence
    (``abbreviation_length``: see the module docstring)."""
    if doc[i].text[:1].islower():
        return False
    if doc[i - 1].text != "." or i < 2:
        return True
    word = doc[i - 2]
    if word.is_digit and len(word) <= 2:
        return False
    return not (is_abbreviation(word.text, abbreviation_length) and not word.whitespace_)


def is_abbreviation(text: str, max_length: int) -> bool:
    """Whether ``text`` reads as a title or an initial: letters only, at most
    ``max_length`` of them, the first upper-case and any others lower-case."""
    return (0 < len(text) <= max_length and text.isalpha() and text[0].isupper()
            and (len(text) == 1 or text[1:].islower()))
