"""spacy_xlie.outside_case_noise.v1: words outside any name change case, names and labels
stay; spacy_xlie.JointCorpus.v4 applies it to the entity docs only."""

import random

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_xlie import add_entities, add_relation, span_from_tokens
from spacy_xlie.util.io import write_docbin

WORDS = ["the", "mayor", "of", "Paris", "met", "Angela", "Merkel", "in", "straße", "."]
# outside, outside, outside, LOC, missing, PER, PER, outside, outside, outside
TAGS = ["O", "O", "O", "B-LOC", None, "B-PER", "I-PER", "O", "O", "O"]


def entity_example(nlp):
    reference = Doc(nlp.vocab, words=WORDS, ents=TAGS)
    return Example(nlp.make_doc(reference.text), reference)


def augmenter(**settings):
    return spacy.registry.resolve(
        {"a": {"@augmenters": "spacy_xlie.outside_case_noise.v1", **settings}})["a"]


def every_outside_word_recased(upper_share):
    nlp = spacy.blank("xx")
    random.seed(0)
    recase = augmenter(level=1.0, word_rate=1.0, upper_share=upper_share)
    return next(recase(nlp, entity_example(nlp)))


def test_every_outside_word_recased_names_and_labels_kept():
    out = every_outside_word_recased(upper_share=0.0)
    assert [t.text for t in out.reference] == ["The", "Mayor", "Of", "Paris", "met", "Angela",
                                               "Merkel", "In", "Straße", "."]
    assert out.predicted.text == out.reference.text
    assert [(e.text, e.label_) for e in out.reference.ents] == [("Paris", "LOC"),
                                                                ("Angela Merkel", "PER")]
    assert [t.ent_iob_ for t in out.reference] == ["O", "O", "O", "B", "", "B", "I", "O", "O",
                                                   "O"]
    assert out.get_aligned_ner() == ["O", "O", "O", "U-LOC", None, "B-PER", "L-PER", "O", "O",
                                     "O"]


def test_capitals_keep_offsets():
    out = every_outside_word_recased(upper_share=1.0)
    # "straße" would grow to "STRASSE" and shift every offset after it: left as it is
    assert [t.text for t in out.reference] == ["THE", "MAYOR", "OF", "Paris", "met", "Angela",
                                               "Merkel", "IN", "straße", "."]
    assert [(t.idx, len(t)) for t in out.predicted] == [(t.idx, len(t)) for t in out.reference]


def test_level_zero_passes_examples_through():
    nlp = spacy.blank("xx")
    example = entity_example(nlp)
    assert next(augmenter(level=0.0)(nlp, example)) is example


def test_rates_outside_zero_one_are_refused():
    with pytest.raises(ValueError, match="word_rate"):
        augmenter(word_rate=1.5)


def test_joint_corpus_v4_augments_entity_docs_only(tmp_path):
    nlp = spacy.blank("en")
    relation_doc = Doc(nlp.vocab, words=["Obama", "married", "the", "lawyer", "Michelle",
                                         "."])
    head, tail = add_entities(relation_doc, [span_from_tokens(relation_doc, 0, 1, "ENT"),
                                             span_from_tokens(relation_doc, 4, 5, "ENT")])
    add_relation(relation_doc, head, tail, "per:spouse")
    write_docbin([relation_doc], tmp_path / "rel.spacy")
    write_docbin([Doc(nlp.vocab, words=WORDS, ents=TAGS)], tmp_path / "ner.spacy")

    reader = spacy.registry.resolve({"r": {
        "@readers": "spacy_xlie.JointCorpus.v4", "relations": str(tmp_path / "rel.spacy"),
        "entities": str(tmp_path / "ner.spacy"),
        "augmenter": {"@augmenters": "spacy_xlie.outside_case_noise.v1", "level": 1.0,
                      "word_rate": 1.0, "upper_share": 0.0}}})["r"]
    relation, entity = list(reader(nlp))
    assert relation.reference.text.strip() == "Obama married the lawyer Michelle ."
    assert entity.reference.text.startswith("The Mayor Of Paris met")
