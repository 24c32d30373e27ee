"""The xlie_projection_aligner component: config, nlp.pipe, pickling, trf-less fallback."""

import pickle
import warnings

import spacy
from spacy.tokens import Span

from spacy_xlie import add_entities, add_relation
from spacy_xlie.alignment.hybrid import HybridAligner
from spacy_xlie.alignment.lexical import LexicalAligner
from spacy_xlie.pipeline.projection_aligner import attach_source


def source(text, ents, rel):
    doc = spacy.blank("en")(text)
    spans = add_entities(doc, [Span(doc, s, e, label=label) for s, e, label in ents])
    add_relation(doc, spans[0], spans[1], rel)
    return doc


def targets(nlp):
    pairs = [
        (source("Apple was founded in Cupertino .", [(0, 1, "ORG"), (4, 5, "LOC")], "based_in"),
         "Apple wurde in Cupertino gegründet ."),
        (source("Siemens is based in Munich .", [(0, 1, "ORG"), (4, 5, "LOC")], "based_in"),
         "Siemens hat seinen Sitz in München ."),
    ]
    docs = []
    for src, text in pairs:
        docs.append(attach_source(nlp.make_doc(text), src))
    docs.append(nlp.make_doc("Ein Satz ohne Quelle ."))
    return docs


def test_default_is_hybrid_and_lexical_config_works():
    nlp = spacy.blank("de")
    assert isinstance(nlp.add_pipe("xlie_projection_aligner").aligner, HybridAligner)
    nlp = spacy.blank("de")
    pipe = nlp.add_pipe(
        "xlie_projection_aligner",
        config={"aligner": {"@misc": "spacy_xlie.lexical_aligner.v1"}, "min_score": 0.6},
    )
    assert isinstance(pipe.aligner, LexicalAligner) and pipe.min_score == 0.6


def test_pipe_projects_batches_and_passes_docs_without_source():
    nlp = spacy.blank("de")
    nlp.add_pipe("xlie_projection_aligner",
                 config={"aligner": {"@misc": "spacy_xlie.lexical_aligner.v1"}})
    docs = list(nlp.pipe(targets(nlp), batch_size=2))
    assert [[e.text for e in d.ents] for d in docs] == [
        ["Apple", "Cupertino"], ["Siemens", "München"], []]
    assert docs[1]._.relations[0].label == "based_in"
    assert docs[1]._.relations[0].source == "projected"
    assert docs[0]._.xlie_source is None  # dropped after projection (keep_source=False)
    assert docs[2]._.xlie_projection is None
    assert pickle.loads(pickle.dumps(docs[0]))._.relations[0].tail.text == "Cupertino"


def test_docs_with_source_pickle_for_multiprocessing():
    nlp = spacy.blank("de")
    doc = pickle.loads(pickle.dumps(targets(nlp)[0]))
    nlp.add_pipe("xlie_projection_aligner",
                 config={"aligner": {"@misc": "spacy_xlie.lexical_aligner.v1"}})
    assert [e.text for e in nlp(doc).ents] == ["Apple", "Cupertino"]


def test_hybrid_without_encoder_warns_and_projects_lexically():
    nlp = spacy.blank("de")
    nlp.add_pipe("xlie_projection_aligner")
    src = source("Apple hired him in Cupertino .", [(0, 1, "ORG"), (2, 3, "PER")], "employs")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = nlp(attach_source(nlp.make_doc("Apple stellte ihn in Cupertino ein ."), src))
    assert any("no encoder" in str(w.message) for w in caught)
    assert [e.text for e in doc.ents] == ["Apple"]
    assert doc._.xlie_projection["entities"][1]["reason"] == "not_found"
