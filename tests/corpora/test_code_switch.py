"""spacy_xlie.code_switch.v1: lower-case words outside names replaced by their nearest
embedding pieces, labels kept; spacy_xlie.JointCorpus.v5 applies it to both kinds of docs."""

import random

import numpy
import pytest
import spacy
from spacy.tokens import Doc, Span

from spacy_xlie import add_entities, add_relation, span_from_tokens
from spacy_xlie.corpora.code_switch import (
    CodeSwitch,
    EmbeddingNeighbours,
    create_code_switch,
    is_replacement_piece,
    same_word,
)
from spacy_xlie.corpora.joint import (
    create_joint_corpus_v4,
    create_joint_corpus_v5,
    create_joint_corpus_v6,
)
from spacy_xlie.util.io import write_docbin

# Unit vectors in a plane: the cosine of "born" with each piece is written beside it.
PIECES = {
    "▁born": 0.0,
    "▁Born": 0.99,    # a capital: reads as a name, never a replacement
    "▁borne": 0.97,   # the same word with an ending
    "▁geboren": 0.9,
    "▁роден": 0.8,
    "▁né": 0.3,       # below min_similarity
    "▁apple": -0.5,
    "x": 0.95,        # not a whole word
    "▁1990": 0.95,    # not letters
}


def planted_neighbours(top_k=10, min_similarity=0.4):
    vectors = []
    for piece, cosine in PIECES.items():
        angle = 0.0 if piece == "▁born" else numpy.arccos(cosine)
        vectors.append([numpy.cos(angle), numpy.sin(angle)])
    return EmbeddingNeighbours(list(PIECES), numpy.array(vectors) * 3.0, top_k=top_k,
                               min_similarity=min_similarity)


def test_neighbours_are_other_words_nearest_first():
    assert planted_neighbours()(["born", "unknown"]) == {"born": ["geboren", "роден"]}
    assert planted_neighbours(top_k=1)(["born"]) == {"born": ["geboren"]}
    assert planted_neighbours(min_similarity=0.2)(["born"]) == {"born": ["geboren", "роден",
                                                                        "né"]}


@pytest.mark.parametrize("piece,expected", [
    ("▁geboren", True), ("▁जन्म", True), ("▁Chief", False), ("▁a", False), ("born", False),
    ("▁1990", False), ("▁co-op", False), ("", False),
])
def test_replacement_pieces(piece, expected):
    assert is_replacement_piece(piece) is expected


def relation_doc(nlp):
    doc = Doc(nlp.vocab, words=["Angela", "Merkel", "was", "born", "in", "Hamburg", "and",
                                "born", "again", "."], spaces=[True] * 8 + [False, False])
    head = span_from_tokens(doc, 0, 2, "PER")
    tail = span_from_tokens(doc, 5, 6, "LOC")
    add_entities(doc, [head, tail])
    add_relation(doc, head, tail, "per:city_of_birth")
    return doc


def switch(level=1.0, word_rate=1.0):
    return CodeSwitch(planted_neighbours(top_k=1), level=level, word_rate=word_rate,
                      stop_words=frozenset({"was", "in", "and", "again"}))


def test_words_outside_names_switched_labels_kept():
    nlp = spacy.blank("xx")
    doc = relation_doc(nlp)
    [out] = switch()(nlp, [doc])
    assert [t.text for t in out] == ["Angela", "Merkel", "was", "geboren", "in", "Hamburg",
                                     "and", "geboren", "again", "."]
    assert out.text == "Angela Merkel was geboren in Hamburg and geboren again."
    assert [(e.text, e.label_) for e in out.ents] == [("Angela Merkel", "PER"),
                                                      ("Hamburg", "LOC")]
    assert [(r.head.text, r.tail.text, r.label) for r in out._.relations] == [
        ("Angela Merkel", "Hamburg", "per:city_of_birth")]
    assert [t.text for t in doc][3] == "born"  # the read doc is left as it was


def test_missing_tags_and_span_groups_kept():
    nlp = spacy.blank("xx")
    doc = Doc(nlp.vocab, words=["born", "born", "born", "Paris"],
              ents=["O", None, "O", "B-LOC"])
    doc.spans["arguments"] = [Span(doc, 2, 3, label="ARG")]
    [out] = switch()(nlp, [doc])
    # the word in a span group (a relation argument in training docs) keeps its text
    assert [t.text for t in out] == ["geboren", "geboren", "born", "Paris"]
    assert [t.ent_iob_ for t in out] == ["O", "", "O", "B"]
    assert [(s.text, s.label_) for s in out.spans["arguments"]] == [("born", "ARG")]


def test_level_and_word_rate():
    nlp = spacy.blank("xx")
    docs = [relation_doc(nlp) for _ in range(3)]
    assert switch(level=0.0)(nlp, docs) == docs
    random.seed(0)
    assert all(out.text == doc.text for out, doc in zip(switch(word_rate=0.0)(nlp, docs), docs))
    random.seed(0)
    switched = switch(level=0.5)(nlp, [relation_doc(nlp) for _ in range(200)])
    changed = sum("geboren" in doc.text for doc in switched)
    assert 70 < changed < 130


def test_settings_checked():
    with pytest.raises(ValueError, match="word_rate must be between 0 and 1"):
        create_code_switch("unused", word_rate=1.5)
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        create_code_switch("unused", top_k=0)


def test_from_encoder_reads_the_word_embeddings(tiny_xlmr, tmp_path):
    """The loader takes pieces from the tokenizer and vectors from the embedding matrix:
    a row made parallel to another's is that word's nearest neighbour."""
    import shutil

    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    encoder = tmp_path / "encoder"
    shutil.copytree(tiny_xlmr, encoder)
    vocab = AutoTokenizer.from_pretrained(str(encoder)).get_vocab()
    candidates = sorted(piece for piece in vocab if is_replacement_piece(piece))
    a = candidates[0]
    b = next(piece for piece in candidates[1:] if not same_word(a[1:], piece[1:]))
    tensors = load_file(str(encoder / "model.safetensors"))
    embeddings = tensors["embeddings.word_embeddings.weight"]
    embeddings[vocab[b]] = embeddings[vocab[a]] * 2.0
    save_file(tensors, str(encoder / "model.safetensors"))

    neighbours = EmbeddingNeighbours.from_encoder(encoder, top_k=1, min_similarity=0.0)
    assert neighbours([a[1:]]) == {a[1:]: [b[1:]]}


def joint_corpus_files(nlp, folder):
    """A relation DocBin (``relation_doc``) and an entity DocBin ("born in Paris") in
    ``folder``: the two files a JointCorpus reads."""
    relations, entities = folder / "rel.spacy", folder / "ner.spacy"
    write_docbin([relation_doc(nlp)], relations)
    write_docbin([Doc(nlp.vocab, words=["born", "in", "Paris"], spaces=[True, True, False],
                      ents=["O", "O", "B-LOC"])], entities)
    return relations, entities


def test_joint_corpus_v5_switches_both_kinds(tmp_path):
    nlp = spacy.blank("xx")
    relations, entities = joint_corpus_files(nlp, tmp_path)
    switched = list(create_joint_corpus_v5(relations, entities, code_switch=switch())(nlp))
    assert [eg.reference.text for eg in switched] == [
        "Angela Merkel was geboren in Hamburg and geboren again.", "geboren in Paris"]
    assert [eg.predicted.text for eg in switched] == [eg.reference.text for eg in switched]
    assert [r.label for r in switched[0].reference._.relations] == ["per:city_of_birth"]
    assert [(e.text, e.label_) for e in switched[1].reference.ents] == [("Paris", "LOC")]
    plain = list(create_joint_corpus_v4(relations, entities)(nlp))
    assert "born" in plain[0].reference.text and plain[1].reference.text == "born in Paris"


def test_joint_corpus_v6_switches_only_the_entity_docs_by_default(tmp_path):
    nlp = spacy.blank("xx")
    relations, entities = joint_corpus_files(nlp, tmp_path)
    read = create_joint_corpus_v6(relations, entities, code_switch=switch())
    assert [eg.reference.text for eg in read(nlp)] == [
        "Angela Merkel was born in Hamburg and born again.", "geboren in Paris"]
    both = create_joint_corpus_v6(relations, entities,
                                  code_switch=switch(), code_switch_relations=True)
    assert [eg.reference.text for eg in both(nlp)][0] == (
        "Angela Merkel was geboren in Hamburg and geboren again.")
