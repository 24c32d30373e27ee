"""spacy_xlie.JointCorpus.v1/v2/v3: relation docs and entity docs in one training stream, each
missing (not negative) for the other task."""

import spacy
from spacy.tokens import Doc, Span

from spacy_xlie import add_entities, add_relation, span_from_tokens
from spacy_xlie.corpora.joint import create_joint_corpus
from spacy_xlie.relations import GOLD_ARGUMENTS_KEY
from spacy_xlie.util.io import write_docbin
from tests.rel_examples import make_examples


def test_relation_and_entity_docs(tmp_path):
    nlp = spacy.blank("xx")
    relation_docs = [eg.reference for eg in make_examples(nlp.vocab)]
    write_docbin(relation_docs, tmp_path / "rel.spacy")
    entity_doc = Doc(nlp.vocab, words=["Angela", "Merkel", "in", "Paris"])
    entity_doc.ents = [Span(entity_doc, 0, 2, label="PER"), Span(entity_doc, 3, 4, label="LOC")]
    write_docbin([entity_doc], tmp_path / "ner.spacy")

    examples = list(create_joint_corpus(tmp_path / "rel.spacy", tmp_path / "ner.spacy")(nlp))
    assert len(examples) == len(relation_docs) + 1
    assert all(not eg.predicted.ents for eg in examples)  # nothing preset for the recognizer
    first = examples[0].reference  # "Apple was founded by Steve Jobs in Cupertino ."
    assert [s.text for s in first.spans[GOLD_ARGUMENTS_KEY]] == ["Apple", "Steve Jobs",
                                                                  "Cupertino"]
    # org:founded_by's tail may be PER or ORG: untyped; the rest is fixed by the relations
    assert [(e.text, e.label_) for e in first.ents] == [("Apple", "ORG"), ("Cupertino", "LOC")]
    assert {r.label for r in first._.relations} == {"org:founded_by",
                                                    "org:city_of_headquarters"}
    no_relation = examples[1].reference  # "Marie Curie met Pierre in Paris ."
    assert not no_relation.ents and len(no_relation.spans[GOLD_ARGUMENTS_KEY]) == 3
    last = examples[-1].reference
    assert [(e.text, e.label_) for e in last.ents] == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert GOLD_ARGUMENTS_KEY not in last.spans

    untyped = list(create_joint_corpus(tmp_path / "rel.spacy", None, argument_types=None)(nlp))
    assert len(untyped) == len(relation_docs) and not any(eg.reference.ents for eg in untyped)


def test_v2_stop_words_outside_names_are_outside(tmp_path):
    nlp = spacy.blank("en")
    words = ["Obama", ",", "president", "of", "the", "Bank", "of", "America", ",", "met",
             "Merkel", "in", "the", "city", "."]
    doc = Doc(nlp.vocab, words=words)
    head, tail = add_entities(doc, [span_from_tokens(doc, 0, 1, "ENT"),
                                    span_from_tokens(doc, 10, 11, "ENT")])
    add_relation(doc, head, tail, "per:spouse")
    write_docbin([doc], tmp_path / "rel.spacy")

    reader = spacy.registry.resolve(
        {"r": {"@readers": "spacy_xlie.JointCorpus.v2", "relations": str(tmp_path / "rel.spacy")}}
    )["r"]
    ref = next(iter(reader(nlp))).reference
    iob = {t.text + str(t.i): t.ent_iob_ for t in ref}
    # "of the" after a lower-case word and "in the" are no name's part: outside
    assert iob["of3"] == iob["the4"] == iob["in11"] == iob["the12"] == "O"
    # "of" between "Bank" and "America" may be inside a name; content words stay missing
    assert iob["of6"] == iob["met9"] == iob["city13"] == ""
    assert iob["Obama0"] == iob["Merkel10"] == "B"  # per:spouse types both arguments

    v1 = next(iter(create_joint_corpus(tmp_path / "rel.spacy")(nlp))).reference
    assert v1[3].ent_iob_ == "" and v1[1].ent_iob_ == "O"  # v1: punctuation only


def test_v3_trains_on_the_pipeline_tokens(tmp_path):
    """The corpora keep "Jean-Pierre" one token; the pipeline's tokenizer splits it, and
    v3 trains the recognizer and the extractor on those pieces."""
    nlp = spacy.blank("xx")
    doc = Doc(nlp.vocab, words=["Jean-Pierre", "lives", "in", "Baden-Baden", "."])
    head, tail = add_entities(doc, [span_from_tokens(doc, 0, 1, "ENT"),
                                    span_from_tokens(doc, 3, 4, "ENT")])
    add_relation(doc, head, tail, "per:stateorprovinces_of_residence")
    write_docbin([doc], tmp_path / "rel.spacy")
    entity_doc = Doc(nlp.vocab, words=["Mercedes-Benz", "in", "Stuttgart"])
    entity_doc.ents = [Span(entity_doc, 0, 1, label="ORG"), Span(entity_doc, 2, 3, label="LOC")]
    write_docbin([entity_doc], tmp_path / "ner.spacy")

    def read(version: str):
        reader = spacy.registry.resolve({"r": {
            "@readers": f"spacy_xlie.JointCorpus.{version}",
            "relations": str(tmp_path / "rel.spacy"), "entities": str(tmp_path / "ner.spacy")}})
        return list(reader["r"](nlp))

    relation_eg, entity_eg = read("v3")
    assert [t.text for t in relation_eg.predicted] == ["Jean", "-", "Pierre", "lives", "in",
                                                       "Baden", "-", "Baden", "."]
    assert relation_eg.get_aligned_ner()[:3] == ["B-PER", "I-PER", "L-PER"]
    assert entity_eg.get_aligned_ner() == ["B-ORG", "I-ORG", "L-ORG", "O", "U-LOC"]
    # the extractor's gold arguments cover the pieces
    extractor = nlp.add_pipe("xlie_relation_extractor")
    pairs = extractor.training_pairs(relation_eg)
    assert [(a.text, b.text) for a, b in pairs] == [("Jean-Pierre", "Baden-Baden")]

    assert [t.text for t in read("v2")[0].predicted][:1] == ["Jean-Pierre"]  # corpus tokens
