"""The trained extractor inside a pipeline with its own tok2vec and an NER trained here."""

import numpy
import pytest
import spacy
from spacy.tokens import Span
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_xlie.compose import add_relation_extractor, configure_candidates
from tests.pipeline.test_relation_extractor import cpu_nlp, train, xlmr_nlp
from tests.rel_examples import make_examples

GERMAN = "Angela Merkel arbeitet für die CDU in Berlin ."
# (text, entities as (text, label)) for the user's NER (CoNLL labels)
NER_DATA = [
    (GERMAN, [("Angela Merkel", "PER"), ("CDU", "ORG"), ("Berlin", "LOC")]),
    ("Le siège de Airbus se trouve à Toulouse .", [("Airbus", "ORG"), ("Toulouse", "LOC")]),
    ("Apple was founded by Steve Jobs in Cupertino .",
     [("Apple", "ORG"), ("Steve Jobs", "PER"), ("Cupertino", "LOC")]),
]
LISTENING_NER = {
    "model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner",
        "extra_state_tokens": False, "hidden_width": 32, "maxout_pieces": 2, "use_upper": True,
        "tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 96,
                    "upstream": "tok2vec"},
    }
}


@pytest.fixture(scope="module")
def trained_bytes() -> bytes:
    nlp = cpu_nlp()
    train(nlp, make_examples(nlp.vocab), 40)
    return nlp.to_bytes()


@pytest.fixture
def trained_rel(trained_bytes):
    """A fresh copy each test: add_relation_extractor changes its source pipeline."""
    return cpu_nlp().from_bytes(trained_bytes)


def user_pipeline():
    """A user's pipeline: its own tok2vec, and an NER listening to it, trained here."""
    fix_random_seed(0)
    nlp = spacy.blank("xx")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("ner", config=LISTENING_NER)
    examples = []
    for text, ents in NER_DATA:
        doc = nlp.make_doc(text)
        spans = [doc.char_span(text.index(t), text.index(t) + len(t), label=lab)
                 for t, lab in ents]
        examples.append(Example.from_dict(doc, {"entities": [
            (s.start_char, s.end_char, s.label_) for s in spans]}))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    return nlp


def relations(doc):
    return [(r.head.text, r.label, r.tail.text, round(r.score, 4)) for r in doc._.relations]


def test_extractor_behind_a_trained_ner(trained_rel, tmp_path):
    nlp = user_pipeline()
    assert [(e.text, e.label_) for e in nlp(GERMAN).ents] == list(NER_DATA[0][1])
    # What the trained pipeline predicts for the same entities (untyped, as trained).
    doc = trained_rel.make_doc(GERMAN)
    doc.ents = [Span(doc, 0, 2, "ENT"), Span(doc, 5, 6, "ENT"), Span(doc, 7, 8, "ENT")]
    expected = relations(trained_rel(doc))
    assert [r[:3] for r in expected] == [("Angela Merkel", "per:employee_of", "CDU")]

    add_relation_extractor(nlp, trained_rel, label_scheme="conll")
    assert nlp.pipe_names == ["tok2vec", "ner", "xlie_relation_extractor"]
    assert relations(nlp(GERMAN)) == expected
    nlp.to_disk(tmp_path / "composed")
    loaded = spacy.load(tmp_path / "composed")
    assert relations(loaded(GERMAN)) == expected
    pairs = loaded.get_pipe("xlie_relation_extractor").candidates.allowed_label_pairs
    assert ("ORG", "PER") in pairs and ("LOC", "LOC") not in pairs


def test_configure_candidates_changes_pipe_and_config():
    nlp = spacy.blank("en")
    nlp.add_pipe("xlie_relation_extractor")
    configure_candidates(nlp, allowed_label_pairs=[["PER", "ORG"]], same_sentence=True)
    pipe = nlp.get_pipe("xlie_relation_extractor")
    doc = nlp.make_doc("Ann met Bob at Acme")
    doc.ents = [Span(doc, 0, 1, label="PER"), Span(doc, 2, 3, label="PER"),
                Span(doc, 4, 5, label="ORG")]
    assert [(a.text, b.text) for a, b in pipe.candidates(doc)] == [("Ann", "Acme"),
                                                                   ("Bob", "Acme")]
    block = nlp.config["components"]["xlie_relation_extractor"]["candidates"]
    assert block["allowed_label_pairs"] == [["PER", "ORG"]] and block["same_sentence"] is True


def test_transformer_extractor_gets_its_own_transformer(tiny_xlmr):
    """A transformer pipeline (listener on `transformer`) composes the same way."""
    fix_random_seed(0)
    source = xlmr_nlp(tiny_xlmr)
    source.initialize(lambda: make_examples(source.vocab))

    def probabilities(nlp):
        doc = nlp.make_doc(GERMAN)
        doc.ents = [Span(doc, 0, 2, "ENT"), Span(doc, 5, 6, "ENT"), Span(doc, 7, 8, "ENT")]
        for name, proc in nlp.pipeline:
            if name != "xlie_relation_extractor":
                doc = proc(doc)
        return nlp.get_pipe("xlie_relation_extractor").predict([doc])[1]

    expected = probabilities(source)
    nlp = spacy.blank("xx")
    add_relation_extractor(nlp, source)
    assert nlp.pipe_names == ["xlie_relation_extractor"]
    assert numpy.allclose(probabilities(nlp), expected, atol=1e-5)


@pytest.mark.parametrize("version,per_sentence", [("v1", False), ("v2", True)])
def test_configure_candidates_keeps_the_version(version, per_sentence):
    nlp = spacy.blank("en")
    nlp.add_pipe("xlie_relation_extractor", config={
        "candidates": {"@misc": f"spacy_xlie.candidate_pairs.{version}"}})
    configure_candidates(nlp, same_sentence=True)
    candidates = nlp.get_pipe("xlie_relation_extractor").candidates
    assert candidates.same_sentence and candidates.cap_per_sentence is per_sentence
    block = nlp.config["components"]["xlie_relation_extractor"]["candidates"]
    assert block["@misc"] == f"spacy_xlie.candidate_pairs.{version}"
