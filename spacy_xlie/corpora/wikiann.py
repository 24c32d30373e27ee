"""WikiANN (PAN-X) named entities: one token a line, ``INDEX<TAB>TOKEN<TAB>TAG``.

Tags are IOB (``B-PER``, ``I-ORG``, ``O``; ``PER``/``ORG``/``LOC`` in the XTREME splits);
a blank line ends a sentence. The files are called ``.conllu`` upstream but are not
CoNLL-U. Sentences are pre-tokenised, so each line is one token (joined with spaces).
Each sentence becomes a Doc with ``doc.ents`` and no relations: the training data of the
entity recognizer, and its zero-shot test data in other languages.

spaCy's own ``conll_ner_to_docs`` converter guesses the column layout and raises on the
first bad line without naming it; this reader checks each line and reports
``FILE:LINE: field: what`` (or skips the sentence with ``skip_invalid``).
"""

from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import biluo_tags_to_spans, iob_to_biluo

from ..errors import XlieDataError
from .base import ConvertStats, guarded

#: A sentence: its (token, tag) rows.
Sentence = List[Tuple[str, str]]


def read_sentences(path: Union[str, Path]) -> Iterator[Union[Sentence, XlieDataError]]:
    """Yield each sentence's rows, or the error that spoils it, and read on."""
    rows: Sentence = []
    error: Optional[XlieDataError] = None
    with open(path, encoding="utf8") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                if error is not None or rows:
                    yield error if error is not None else rows
                rows, error = [], None
                continue
            fields = line.split("\t")
            if len(fields) != 3 or not fields[1].strip():
                error = error or XlieDataError(
                    f"expected INDEX<TAB>TOKEN<TAB>TAG, got {line[:60]!r}", path, number, "line")
                continue
            tag = fields[2].strip()
            if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
                error = error or XlieDataError(
                    f"expected an IOB tag (O, B-TYPE, I-TYPE), got {tag!r}", path, number, "tag")
                continue
            rows.append((fields[1].strip(), tag))
    if error is not None or rows:
        yield error if error is not None else rows


def sentence_to_doc(nlp: Language, sentence: Sentence, *, path: str, lang: str,
                    index: int) -> Doc:
    """One sentence -> a Doc with its entities, ``xlie_id`` ``STEM:INDEX`` and language."""
    words = [token.replace(" ", "_") for token, _ in sentence]
    doc = Doc(nlp.vocab, words=words, spaces=[True] * (len(words) - 1) + [False])
    # iob_to_biluo reads an I- tag that starts an entity as B- (IOB1 files), so every
    # sequence of checked tags converts.
    doc.ents = biluo_tags_to_spans(doc, iob_to_biluo([tag for _, tag in sentence]))
    doc._.xlie_id = f"{Path(path).stem}:{index}"
    doc._.xlie_lang = lang
    return doc


def read_wikiann(
    path: Union[str, Path],
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = "ENT",
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """Docs with entities from a WikiANN file (``ent_label`` is unused: the file types
    its entities; the argument keeps the readers' common signature)."""
    nlp = nlp or spacy.blank(lang)
    stats = stats if stats is not None else ConvertStats()
    index = 0

    def convert(item: Union[Sentence, XlieDataError]) -> Doc:
        nonlocal index
        if isinstance(item, XlieDataError):
            raise item
        doc = sentence_to_doc(nlp, item, path=str(path), lang=lang, index=index)
        index += 1
        stats.count_doc(doc, raw_label=None)
        return doc

    yield from guarded(read_sentences(path), convert, skip_invalid=skip_invalid, stats=stats)
