"""``spacy_xlie.JointCorpus.v1`` (v2 … v5): one training stream for an entity recognizer and a
relation extractor that share an encoder (multi-task ``spacy train``).

Two kinds of data, each *missing* (not negative) for the other task:

* relation docs (KBP37: two marked entities a sentence, one relation or none). Their
  arguments move to the span group :data:`~spacy_xlie.relations.GOLD_ARGUMENTS_KEY`,
  which the relation extractor reads as its gold candidates in training; ``doc.ents``
  keeps only the arguments whose type the relation fixes (``per:title`` → a ``TITLE``
  tail, see :data:`spacy_xlie.entities.ARGUMENT_TYPES`) and every other token is
  *missing* for the recognizer, since KBP37 does not annotate the other names in a
  sentence, except punctuation, which is outside any entity in every language (without
  that, positive-only relation docs taught the recognizer to tag "," and "."), and, in
  ``v2``, the relation docs' lower-case stop words outside capitalised names ("of" in
  "Bank of America" stays missing): without them the recognizer learnt "O" only from
  WikiANN's title-like fragments and tagged function words of running text ("die",
  "nachdem", "er") in other languages as names;
* entity docs (WikiANN): fully annotated ``doc.ents`` and no relation annotation, so the
  relation extractor takes no loss from them (they have no gold arguments and, in
  training, no predicted entities).

The predicted docs carry tokens and ids only: entities preset on them would constrain
spaCy's ``ner`` (it respects existing entities) and hide the oracle's signal.
"""

import random
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.training import Example
from spacy.training.augment import dont_augment
from spacy.util import get_lang_class

from ..entities import ARGUMENT_TYPES
from ..relations import DATA_ATTR, GOLD_ARGUMENTS_KEY, NO_RELATION
from .augment import Augmenter
from .code_switch import DocsTransform
from .reader import RelationCorpus

#: Argument types of each relation label: (head types, tail types).
ArgumentTypes = Dict[str, Tuple[FrozenSet[str], FrozenSet[str]]]


@spacy.registry.readers("spacy_xlie.JointCorpus.v1")
def create_joint_corpus(
    relations: Union[str, Path],
    entities: Optional[Union[str, Path]] = None,
    argument_types: Optional[str] = "kbp37",
    relations_limit: int = 0,
    entities_limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
) -> Callable[[Language], Iterable[Example]]:
    """Reader for ``[corpora]``: relation DocBins (``relations``) and entity DocBins
    (``entities``, optional), as examples for a pipeline with a recognizer and a relation
    extractor on one encoder; in relation docs only punctuation is outside any entity.

    argument_types: the relation scheme of :data:`spacy_xlie.entities.ARGUMENT_TYPES`
        whose fixed argument types label the relation arguments for the recognizer
        (``null``: relation docs teach the recognizer nothing).
    relations_limit, entities_limit: the first N docs of each (0: all).
    shuffle: shuffle both kinds together on every pass (for training).
    max_length: skip docs longer than this many tokens (0: no limit).
    """
    return create_joint_corpus_v2(
        relations, entities, argument_types, outside_stop_words=None,
        relations_limit=relations_limit, entities_limit=entities_limit, shuffle=shuffle,
        max_length=max_length)


@spacy.registry.readers("spacy_xlie.JointCorpus.v2")
def create_joint_corpus_v2(
    relations: Union[str, Path],
    entities: Optional[Union[str, Path]] = None,
    argument_types: Optional[str] = "kbp37",
    outside_stop_words: Optional[str] = "en",
    relations_limit: int = 0,
    entities_limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
) -> Callable[[Language], Iterable[Example]]:
    """``spacy_xlie.JointCorpus.v1`` with more of the relation docs' tokens known to be
    outside any entity.

    outside_stop_words: the language of the relation docs: its spaCy stop words, when
        lower-case and not inside a capitalised name, are outside any entity, as
        punctuation is (``null``: punctuation only, as v1).
    """
    return create_joint_corpus_v3(
        relations, entities, argument_types, outside_stop_words,
        relations_limit=relations_limit, entities_limit=entities_limit, shuffle=shuffle,
        max_length=max_length, gold_preproc=True)


@spacy.registry.readers("spacy_xlie.JointCorpus.v3")
def create_joint_corpus_v3(
    relations: Union[str, Path],
    entities: Optional[Union[str, Path]] = None,
    argument_types: Optional[str] = "kbp37",
    outside_stop_words: Optional[str] = "en",
    relations_limit: int = 0,
    entities_limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
    gold_preproc: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """``spacy_xlie.JointCorpus.v2`` that, by default, trains on the pipeline's own
    tokens, as spaCy's ``Corpus`` does.

    gold_preproc: keep the corpora's tokens (v2). The corpora split on whitespace only
        ("Baden-Württemberg" one token), the pipeline's tokenizer also splits hyphens and
        other infixes; a recognizer that never saw those splits in training tagged each
        piece of a hyphenated name as a name of its own.
    """
    return create_joint_corpus_v4(
        relations, entities, argument_types, outside_stop_words,
        relations_limit=relations_limit, entities_limit=entities_limit, shuffle=shuffle,
        max_length=max_length, gold_preproc=gold_preproc, augmenter=None)


@spacy.registry.readers("spacy_xlie.JointCorpus.v4")
def create_joint_corpus_v4(
    relations: Union[str, Path],
    entities: Optional[Union[str, Path]] = None,
    argument_types: Optional[str] = "kbp37",
    outside_stop_words: Optional[str] = "en",
    relations_limit: int = 0,
    entities_limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
    gold_preproc: bool = False,
    augmenter: Optional[Augmenter] = None,
) -> Callable[[Language], Iterable[Example]]:
    """``spacy_xlie.JointCorpus.v3`` with an augmenter for the entity docs.

    augmenter: applied to each entity doc's example, as spaCy's ``Corpus`` applies its
        own (``spacy_xlie.outside_case_noise.v1``: their words outside any name change
        case); the relation docs, whose labels a change of words could alter, stay as
        read (``null``: no augmentation, as v3).
    """
    return create_joint_corpus_v5(
        relations, entities, argument_types, outside_stop_words,
        relations_limit=relations_limit, entities_limit=entities_limit, shuffle=shuffle,
        max_length=max_length, gold_preproc=gold_preproc, augmenter=augmenter,
        code_switch=None)


@spacy.registry.readers("spacy_xlie.JointCorpus.v5")
def create_joint_corpus_v5(
    relations: Union[str, Path],
    entities: Optional[Union[str, Path]] = None,
    argument_types: Optional[str] = "kbp37",
    outside_stop_words: Optional[str] = "en",
    relations_limit: int = 0,
    entities_limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
    gold_preproc: bool = False,
    augmenter: Optional[Augmenter] = None,
    code_switch: Optional[DocsTransform] = None,
) -> Callable[[Language], Iterable[Example]]:
    """``spacy_xlie.JointCorpus.v4`` with a transform of both kinds of docs as read.

    code_switch: applied on each pass to the relation docs and the entity docs before
        their examples are made (``spacy_xlie.code_switch.v1``: some words outside any
        entity replaced by a word of another language); it keeps every token's labels, so
        unlike ``augmenter`` it may change relation docs (``null``: none, as v4).
    """
    return create_joint_corpus_v6(
        relations, entities, argument_types, outside_stop_words,
        relations_limit=relations_limit, entities_limit=entities_limit, shuffle=shuffle,
        max_length=max_length, gold_preproc=gold_preproc, augmenter=augmenter,
        code_switch=code_switch, code_switch_relations=True)


@spacy.registry.readers("spacy_xlie.JointCorpus.v6")
def create_joint_corpus_v6(
    relations: Union[str, Path],
    entities: Optional[Union[str, Path]] = None,
    argument_types: Optional[str] = "kbp37",
    outside_stop_words: Optional[str] = "en",
    relations_limit: int = 0,
    entities_limit: int = 0,
    shuffle: bool = False,
    max_length: int = 0,
    gold_preproc: bool = False,
    augmenter: Optional[Augmenter] = None,
    code_switch: Optional[DocsTransform] = None,
    code_switch_relations: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """``spacy_xlie.JointCorpus.v5`` whose code-switching may leave the relation docs as
    read.

    code_switch_relations: code-switch the relation docs too (v5), not only the entity
        docs. A switched word keeps its entity tags, but its relation may not survive the
        switch: a neighbour that stays English can change the meaning ("brother" ->
        "sister"), and with both kinds of docs switched KBP37 dev macro-F fell 65.8 -> 64.8
        (bench/results/e5small_code_switch.md). Off, only the recognizer's docs change.
    """
    types = None if argument_types is None else ARGUMENT_TYPES[argument_types]
    stop_words = (frozenset() if outside_stop_words is None
                  else frozenset(get_lang_class(outside_stop_words).Defaults.stop_words))
    return JointCorpus(
        RelationCorpus(relations, gold_ents=False, limit=relations_limit,
                       max_length=max_length, gold_preproc=gold_preproc),
        None if entities is None else RelationCorpus(entities, gold_ents=False,
                                                    limit=entities_limit,
                                                    max_length=max_length,
                                                    gold_preproc=gold_preproc),
        argument_types=types,
        stop_words=stop_words,
        shuffle=shuffle,
        augmenter=augmenter,
        code_switch=code_switch,
        code_switch_relations=code_switch_relations,
    )


class JointCorpus:
    """Examples of relation docs (arguments as gold candidates, typed arguments as
    partial entity annotation) and entity docs, optionally shuffled together."""

    def __init__(
        self,
        relations: RelationCorpus,
        entities: Optional[RelationCorpus],
        *,
        argument_types: Optional[ArgumentTypes],
        stop_words: FrozenSet[str] = frozenset(),
        shuffle: bool = False,
        augmenter: Optional[Augmenter] = None,
        code_switch: Optional[DocsTransform] = None,
        code_switch_relations: bool = False,
    ) -> None:
        self.relations = relations
        self.entities = entities
        self.argument_types = argument_types
        self.stop_words = stop_words
        self.shuffle = shuffle
        self.augmenter = augmenter or dont_augment
        self.code_switch = code_switch
        self.code_switch_relations = code_switch_relations

    def __call__(self, nlp: Language) -> Iterator[Example]:
        examples = list(self.relation_examples(nlp))
        if self.entities is not None:
            for doc in self.read(self.entities, nlp):
                example = Example(self.entities.make_predicted(nlp, doc), doc)
                examples.extend(self.augmenter(nlp, example))
        if self.shuffle:
            random.shuffle(examples)
        yield from examples

    def read(self, corpus: RelationCorpus, nlp: Language) -> Iterable[Doc]:
        """``corpus``'s reference docs, through ``code_switch`` if there is one (for the
        relation docs, only with ``code_switch_relations``)."""
        docs = corpus.read_docs(nlp)
        switch = self.code_switch is not None and (
            corpus is self.entities or self.code_switch_relations)
        return self.code_switch(nlp, list(docs)) if switch else docs

    def relation_examples(self, nlp: Language) -> Iterator[Example]:
        for doc in self.read(self.relations, nlp):
            predicted = self.relations.make_predicted(nlp, doc)
            yield Example(predicted, relation_reference(doc, self.argument_types,
                                                        self.stop_words))


def relation_reference(doc: Doc, argument_types: Optional[ArgumentTypes],
                       stop_words: FrozenSet[str] = frozenset()) -> Doc:
    """``doc`` (changed in place) with its entities moved to the gold-argument span group
    and, in ``doc.ents``, only the arguments a relation types; outside the arguments,
    punctuation and lower-case ``stop_words`` outside capitalised names are outside any
    entity, other tokens missing."""
    arguments = list(doc.ents)
    records = [dict(rec, spans_key=GOLD_ARGUMENTS_KEY) if rec.get("spans_key") is None
               else rec for rec in (doc._.get(DATA_ATTR) or [])]
    typed = argument_labels(doc, argument_types) if argument_types else {}
    doc.spans[GOLD_ARGUMENTS_KEY] = arguments
    doc._.set(DATA_ATTR, records or None)
    ents = [Span(doc, start, end, label=label) for (start, end), label in sorted(typed.items())]
    inside = {i for span in arguments for i in range(span.start, span.end)}
    outside = [doc[t.i:t.i + 1] for t in doc if t.i not in inside
               and (t.is_punct or is_outside_stop_word(t, stop_words))]
    doc.set_ents(ents, outside=outside, default="missing")
    return doc


def is_outside_stop_word(token: Token, stop_words: FrozenSet[str]) -> bool:
    """Whether ``token`` is a lower-case stop word that no name around it can contain:
    the run of lower-case stop words it is in does not sit between two capitalised words
    ("of" in "Bank of America", "of the" in "University of the West Indies" may be part
    of a name; "of the" in "president of the US" is not)."""
    if not (token.is_lower and token.lower_ in stop_words):
        return False
    doc = token.doc

    def capitalised_beyond(i: int, step: int) -> bool:
        while 0 <= i < len(doc) and doc[i].is_lower and doc[i].lower_ in stop_words:
            i += step
        return 0 <= i < len(doc) and doc[i].text[:1].isupper()

    return not (capitalised_beyond(token.i - 1, -1) and capitalised_beyond(token.i + 1, 1))


def argument_labels(doc: Doc, argument_types: ArgumentTypes) -> Dict[Tuple[int, int], str]:
    """Token offsets -> entity type of every relation argument whose type the relation
    fixes (a single type); arguments with two possible types, or two relations that
    disagree, are left out."""
    labels: Dict[Tuple[int, int], List[str]] = {}
    for rel in doc._.relations:
        if rel.label == NO_RELATION or rel.label not in argument_types:
            continue
        for span, types in zip((rel.head, rel.tail), argument_types[rel.label]):
            labels.setdefault((span.start, span.end), []).append(
                next(iter(types)) if len(types) == 1 else "")
    return {offsets: found[0] for offsets, found in labels.items()
            if found[0] and len(set(found)) == 1}
