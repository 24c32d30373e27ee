"""The relation data model: helpers, errors, and every way a Doc is copied or shipped."""

import pickle

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from spacy_xlie import (
    NO_RELATION,
    Relation,
    RelationError,
    add_entities,
    add_relation,
    add_relations,
    clear_relations,
    get_relations,
    set_relations,
    span_from_chars,
    span_from_tokens,
)

TEXT = "Bill Gates founded Microsoft in Albuquerque."


@pytest.fixture
def doc(nlp_en) -> Doc:
    doc = nlp_en(TEXT)
    gates = span_from_chars(doc, 0, 10, "PER", kb_id="Q5284")
    microsoft = span_from_tokens(doc, 3, 4, "ORG", kb_id="Q2283")
    city = span_from_tokens(doc, 5, 6, "LOC")
    gates, microsoft, city = add_entities(doc, [gates, microsoft, city])
    add_relation(doc, microsoft, gates, "org:founded_by")
    add_relation(doc, microsoft, city, "org:city_of_headquarters", score=0.25,
                 source="predicted")
    doc._.xlie_id = "17647"
    doc._.xlie_lang = "en"
    return doc


def summary(doc: Doc) -> list:
    """Everything the model promises to keep, as comparable plain data."""
    return [
        (r.head.text, r.tail.text, r.label, r.score, r.source, r.head.kb_id_, r.spans_key)
        for r in doc._.relations
    ] + [doc._.xlie_id, doc._.xlie_lang]


EXPECTED = [
    ("Microsoft", "Bill Gates", "org:founded_by", 1.0, None, "Q2283", None),
    ("Microsoft", "Albuquerque", "org:city_of_headquarters", 0.25, "predicted", "Q2283", None),
    "17647",
    "en",
]


def test_add_and_get(doc):
    assert summary(doc) == EXPECTED
    rel = doc._.relations[0]
    assert rel.key == (3, 4, 0, 2, "org:founded_by")  # direction is part of the key
    assert [r.label for r in get_relations(doc, source="predicted")] == [
        "org:city_of_headquarters"
    ]
    assert len(get_relations(doc, label="org:founded_by")) == 1
    assert get_relations(doc, label="nope") == []


def test_clear_by_source_then_all(doc):
    clear_relations(doc, source="predicted")
    assert [r.label for r in doc._.relations] == ["org:founded_by"]
    clear_relations(doc)
    assert doc._.relations == []
    assert len(doc.ents) == 3  # entities stay


def test_set_relations_replaces_and_setter(doc):
    first = doc._.relations[0]
    set_relations(doc, [first])
    assert len(doc._.relations) == 1
    doc._.relations = []
    assert doc._.relations == []


def test_add_relations_is_all_or_nothing(doc):
    gates, microsoft, city = doc.ents
    added = add_relations(doc, [Relation(gates, microsoft, "per:employee_of", 0.5),
                                Relation(city, microsoft, "loc:hosts")])
    # The stored arguments are the doc's entities (their labels and kb ids)
    assert [(r.head.kb_id_, r.label) for r in added] == [("Q5284", "per:employee_of"),
                                                          ("", "loc:hosts")]
    assert len(doc._.relations) == 4
    with pytest.raises(RelationError, match="not an entity"):
        add_relations(doc, [Relation(gates, city, "per:cities_of_residence"),
                            Relation(doc[0:1], city, "rel")])
    assert len(doc._.relations) == 4


def test_set_relations_keeps_the_old_ones_on_a_bad_relation(doc):
    with pytest.raises(RelationError, match="same span"):
        set_relations(doc, [doc._.relations[0], Relation(doc.ents[0], doc.ents[0], "rel")])
    assert summary(doc) == EXPECTED


def test_token_and_char_offsets_agree(nlp_en):
    doc = nlp_en(TEXT)
    assert span_from_chars(doc, 19, 28, "ORG") == span_from_tokens(doc, 3, 4, "ORG")


@pytest.mark.parametrize(
    "start,end,message",
    [(1, 10, "token boundaries"), (0, 9, "token boundaries"), (0, 999, "out of range"),
     (5, 5, "out of range"), (-1, 3, "out of range")],
)
def test_char_offsets_errors(nlp_en, start, end, message):
    with pytest.raises(RelationError, match=message):
        span_from_chars(nlp_en(TEXT), start, end, "X")


@pytest.mark.parametrize("start,end", [(0, 0), (3, 2), (0, 99), (-1, 1)])
def test_token_offsets_errors(nlp_en, start, end):
    with pytest.raises(RelationError, match="out of range"):
        span_from_tokens(nlp_en(TEXT), start, end, "X")


def test_arguments_must_be_entities(doc):
    with pytest.raises(RelationError, match="not an entity in doc.ents"):
        add_relation(doc, doc[0:2], doc[2:3], "rel")
    with pytest.raises(RelationError, match="same span"):
        add_relation(doc, doc.ents[0], doc.ents[0], "rel")
    with pytest.raises(RelationError, match="another Doc"):
        other = doc.copy()
        add_relation(doc, other.ents[0], doc.ents[1], "rel")


@pytest.mark.parametrize("label", ["", NO_RELATION])
def test_no_relation_is_never_stored(doc, label):
    with pytest.raises(RelationError, match="Invalid relation label"):
        add_relation(doc, doc.ents[0], doc.ents[1], label)


def test_overlapping_entities_error(nlp_en):
    doc = nlp_en(TEXT)
    add_entities(doc, [span_from_tokens(doc, 0, 2, "PER")])
    with pytest.raises(RelationError, match="overlap"):
        add_entities(doc, [span_from_tokens(doc, 1, 3, "X")])
    assert add_entities(doc, [span_from_tokens(doc, 0, 2, "PER")])[0] == doc.ents[0]


def test_unlabelled_entity_error(nlp_en):
    # spaCy drops label-less spans from doc.ents; that must not pass silently.
    doc = nlp_en(TEXT)
    with pytest.raises(RelationError, match="has no label"):
        add_entities(doc, [doc[0:2]])


def test_span_group_relations(nlp_en):
    doc = nlp_en(TEXT)
    # Overlapping arguments are fine in a span group, not in doc.ents.
    a, b = add_entities(
        doc, [span_from_tokens(doc, 0, 2, "PER"), span_from_tokens(doc, 1, 4, "X")],
        spans_key="cands",
    )
    rel = add_relation(doc, a, b, "rel", spans_key="cands")
    assert rel.spans_key == "cands"
    assert doc.ents == ()
    restored = Doc(doc.vocab).from_bytes(doc.to_bytes())
    assert [(r.head.text, r.tail.text, r.spans_key) for r in restored._.relations] == [
        ("Bill Gates", "Gates founded Microsoft", "cands")
    ]
    with pytest.raises(RelationError, match="not an entity in doc.ents"):
        add_relation(doc, a, b, "rel")
    with pytest.raises(RelationError, match="no span group 'other'"):
        add_relation(doc, a, b, "rel", spans_key="other")


def test_docbin_round_trip(doc):
    data = DocBin(store_user_data=True, docs=[doc]).to_bytes()
    (restored,) = DocBin().from_bytes(data).get_docs(doc.vocab)
    assert summary(restored) == EXPECTED


def test_docbin_round_trip_into_fresh_vocab(doc):
    data = DocBin(store_user_data=True, docs=[doc]).to_bytes()
    (restored,) = DocBin().from_bytes(data).get_docs(spacy.blank("en").vocab)
    assert summary(restored) == EXPECTED


def test_to_bytes_round_trip(doc):
    restored = Doc(doc.vocab).from_bytes(doc.to_bytes())
    assert summary(restored) == EXPECTED


def test_pickle_round_trip(doc):
    assert summary(pickle.loads(pickle.dumps(doc))) == EXPECTED


def test_copy_is_independent(doc):
    copy = doc.copy()
    assert summary(copy) == EXPECTED
    clear_relations(copy)
    assert summary(doc) == EXPECTED


def test_broken_record_is_a_clear_error(doc):
    # A record whose entity was removed afterwards (e.g. doc.ents reset) must not pass
    # silently as some other span.
    doc.ents = []
    with pytest.raises(RelationError, match="not an entity"):
        doc._.relations  # noqa: B018


@Language.component("test_xlie_add_relation")
def _add_first_pair(doc: Doc) -> Doc:
    """A tiny component for multiprocessing: first two tokens -> entities + relation."""
    head, tail = add_entities(doc, [span_from_tokens(doc, 0, 1, "X"),
                                    span_from_tokens(doc, 1, 2, "X")])
    add_relation(doc, head, tail, "next_to", source="test")
    doc._.xlie_lang = "en"
    return doc


def test_relations_survive_multiprocessing():
    nlp = spacy.blank("en")
    nlp.add_pipe("test_xlie_add_relation")
    docs = list(nlp.pipe(["Alpha beta gamma.", "Delta epsilon."], n_process=2, batch_size=1))
    assert [(r.head.text, r.tail.text, r.label, r.source) for d in docs for r in d._.relations] == [
        ("Alpha", "beta", "next_to", "test"),
        ("Delta", "epsilon", "next_to", "test"),
    ]
    assert [d._.xlie_lang for d in docs] == ["en", "en"]
