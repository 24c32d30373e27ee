"""``xlie_sentencizer``: spaCy's rule-based sentencizer, minus two splits it gets wrong in
any language with a period.

The relation extractor pairs entities inside one sentence on raw text, so a false split
costs a relation. spaCy's ``sentencizer`` starts a sentence after any sentence-final
punctuation (every script's, which is why it suits a multilingual pipeline) followed by a
word, and so splits after abbreviations and ordinal numbers: "TSB Group Plc. und Lloyds",
"Am 28. Februar 2012". Its trained alternative (``senter``) needs per-language training
data. This subclass keeps its rule and drops a start when

* the next word begins with a lower-case letter (an abbreviation inside a sentence; a
  script without case never matches), or
* the boundary is a single period after a one- or two-digit number (an ordinal or a day
  of the month: German, Scandinavian, Slavic, Hungarian, Turkish dates).

A year before a period ("... in 2001. The ...") still ends a sentence.
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
    default_config={"punct_chars": None, "overwrite": False,
                    "scorer": {"@scorers": "spacy.senter_scorer.v1"}},
    default_score_weights={"sents_f": 1.0, "sents_p": 0.0, "sents_r": 0.0},
)
def make_sentencizer(nlp: Language, name: str, punct_chars: Optional[List[str]],
                     overwrite: bool, scorer: Optional[Callable]) -> "Sentencizer":
    """Create an ``xlie_sentencizer`` (see the module docstring)."""
    return Sentencizer(name, punct_chars=punct_chars, overwrite=overwrite, scorer=scorer)


class Sentencizer(SpacySentencizer):
    """spaCy's ``Sentencizer`` with the two exceptions of the module docstring."""

    def __init__(self, name: str = "xlie_sentencizer", *,
                 punct_chars: Optional[List[str]] = None, overwrite: bool = False,
                 scorer: Optional[Callable] = senter_score) -> None:
        super().__init__(name, punct_chars=punct_chars, overwrite=overwrite, scorer=scorer)

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
                if starts[i] and not is_sentence_start(doc, i):
                    starts[i] = False
        return guesses


def is_sentence_start(doc: Doc, i: int) -> bool:
    """Whether token ``i``, after sentence-final punctuation, really starts a sentence."""
    if doc[i].text[:1].islower():
        return False
    before = doc[i - 1]
    return not (before.text == "." and i >= 2 and doc[i - 2].is_digit
                and len(doc[i - 2]) <= 2)
