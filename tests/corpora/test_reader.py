"""spacy_xlie.RelationCorpus.v1: Examples with gold entities on the predicted side."""

import spacy
from spacy.tokens import DocBin

from spacy_xlie.corpora import read_kbp37, read_relx_distant
from spacy_xlie.corpora.reader import create_relation_corpus

from .util import FIXTURES


def make_corpus(tmp_path):
    (tmp_path / "sub").mkdir()
    DocBin(store_user_data=True, docs=read_kbp37(FIXTURES / "kbp37_sample.txt")).to_disk(
        tmp_path / "a.spacy")
    DocBin(store_user_data=True,
           docs=read_relx_distant(FIXTURES / "relx_distant_de.json", "de")).to_disk(
        tmp_path / "sub" / "b.spacy")
    return tmp_path


def test_registered_and_reads_a_folder(tmp_path):
    reader = spacy.registry.readers.get("spacy_xlie.RelationCorpus.v1")
    corpus = reader(make_corpus(tmp_path))
    nlp = spacy.blank("en")
    examples = list(corpus(nlp))
    assert len(examples) == 6
    eg = examples[4]  # "Apples" split into "Apple" + "s": predicted keeps that tokenisation
    assert [t.text for t in eg.predicted] == [t.text for t in eg.reference]
    assert [(e.text, e.kb_id_) for e in eg.predicted.ents] == [("Apple", "Q312"),
                                                               ("WebKit", "Q35773")]
    assert eg.predicted._.relations == [] and len(eg.reference._.relations) == 1
    assert (eg.predicted._.xlie_id, eg.predicted._.xlie_lang) == ("relx_distant_de:0", "de")


def test_without_gold_ents_limit_and_max_length(tmp_path):
    path = make_corpus(tmp_path)
    nlp = spacy.blank("en")
    examples = list(create_relation_corpus(path, gold_ents=False)(nlp))
    assert all(len(eg.predicted.ents) == 0 for eg in examples)
    assert len(list(create_relation_corpus(path, limit=3)(nlp))) == 3
    short = list(create_relation_corpus(path, max_length=7)(nlp))
    assert short and all(len(eg.reference) <= 7 for eg in short)


def test_shuffle_keeps_the_examples(tmp_path):
    path = make_corpus(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path)
    nlp = spacy.blank("en")
    ids = sorted(eg.reference._.xlie_id for eg in create_relation_corpus(path, shuffle=True)(nlp))
    assert ids == sorted(eg.reference._.xlie_id for eg in create_relation_corpus(path)(nlp))


def test_span_groups_copied(tmp_path):
    nlp = spacy.blank("en")
    doc = nlp("Alpha beta gamma")
    doc.spans["cands"] = [doc[0:2], doc[1:3]]
    DocBin(store_user_data=True, docs=[doc]).to_disk(tmp_path / "c.spacy")
    (eg,) = create_relation_corpus(tmp_path / "c.spacy")(nlp)
    assert [s.text for s in eg.predicted.spans["cands"]] == ["Alpha beta", "beta gamma"]
