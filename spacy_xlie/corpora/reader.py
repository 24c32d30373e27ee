"""``spacy_xlie.RelationCorpus.v1``: training examples from converted DocBins.

Like ``spacy.Corpus.v1``, but the reference docs keep their user data (relations, ids) and
the predicted docs start with the reference tokenisation and, with ``gold_ents``, the
gold entities: the relation extractor classifies gold pairs and must not depend on an NER
component or on re-tokenising text whose entity offsets were split to fit (``Apple|s``).
"""

import random
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.training.corpus import walk_corpus

from .base import load_docbin

FILE_TYPE = ".spacy"


@spacy.registry.readers("spacy_xlie.RelationCorpus.v1")
def create_relation_corpus(
    path: Union[str, Path],
    gold_ents: bool = True,
    limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
) -> Callable[[Language], Iterable[Example]]:
    """Reader for ``[corpora]``: ``path`` is a ``.spacy`` file or a folder of them."""
    if path is None:
        raise ValueError("spacy_xlie.RelationCorpus.v1 needs a path to .spacy files")
    return RelationCorpus(path, gold_ents=gold_ents, limit=limit, shuffle=shuffle,
                          max_length=max_length)


class RelationCorpus:
    """Iterate ``Example(predicted, reference)`` from DocBins holding relations.

    path: a ``.spacy`` file or a folder searched recursively for them.
    gold_ents: copy the reference entities (``doc.ents`` and span groups) to the
        predicted doc, so a relation extractor sees the gold candidate arguments.
    limit: stop after this many examples (0: no limit).
    shuffle: shuffle the examples on every pass (for training).
    max_length: skip docs longer than this many tokens (0: no limit). Docs are not split
        into sentences, since a relation may cross a sentence boundary.
    gold_preproc: the predicted docs keep the reference's tokens (as spaCy's setting of
        that name); otherwise the pipeline's tokenizer splits the text, as it will at
        prediction time (``Example`` aligns the annotation to those tokens). With
        ``gold_ents`` the reference's tokens are kept: preset entities need them.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        gold_ents: bool = True,
        limit: int = 0,
        shuffle: bool = False,
        max_length: int = 0,
        gold_preproc: bool = True,
    ) -> None:
        self.path = Path(path)
        self.gold_ents = gold_ents
        self.limit = limit
        self.shuffle = shuffle
        self.max_length = max_length
        self.gold_preproc = gold_preproc or gold_ents

    def __call__(self, nlp: Language) -> Iterator[Example]:
        docs: Iterable[Doc] = self.read_docs(nlp)
        if self.shuffle:
            docs = list(docs)
            random.shuffle(docs)
        for doc in docs:
            yield Example(self.make_predicted(nlp, doc), doc)

    def read_docs(self, nlp: Language) -> Iterator[Doc]:
        """Reference docs in file order, empty and over-long ones left out, up to ``limit``."""
        count = 0
        for loc in self.locations():
            for doc in load_docbin(loc).get_docs(nlp.vocab):
                if len(doc) == 0 or (self.max_length and len(doc) > self.max_length):
                    continue
                yield doc
                count += 1
                if self.limit and count >= self.limit:
                    return

    def locations(self) -> List[Path]:
        if not self.path.exists():
            raise ValueError(f"RelationCorpus path does not exist: {self.path}")
        return walk_corpus(self.path, FILE_TYPE)

    def make_predicted(self, nlp: Language, reference: Doc) -> Doc:
        """The reference's text as tokens (its own or the pipeline tokenizer's, see
        ``gold_preproc``), its ids and (with ``gold_ents``) entities."""
        if self.gold_preproc:
            predicted = Doc(
                nlp.vocab,
                words=[token.text for token in reference],
                spaces=[bool(token.whitespace_) for token in reference],
            )
        else:
            predicted = nlp.make_doc(reference.text)
        for name in ("xlie_id", "xlie_lang"):
            predicted._.set(name, reference._.get(name))
        if self.gold_ents:
            predicted.ents = [_copy_span(predicted, span) for span in reference.ents]
            for key, group in reference.spans.items():
                predicted.spans[key] = [_copy_span(predicted, span) for span in group]
        return predicted


def _copy_span(doc: Doc, span: Span) -> Span:
    return Span(doc, span.start, span.end, label=span.label, kb_id=span.kb_id)
