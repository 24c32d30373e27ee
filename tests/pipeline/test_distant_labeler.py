"""xlie_distant_labeler: mention finding, linking, pair labelling, negatives, languages."""

import pickle
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Span

from spacy_xlie.kb import read_wikidata_dump

DUMP = Path(__file__).parent.parent / "kb" / "fixtures" / "wikidata_small.json"


@pytest.fixture(scope="module")
def kb():
    return read_wikidata_dump([DUMP], ["en", "de", "fr", "tr", "zh"])


def labeler(lang, kb, **config):
    nlp = spacy.blank(lang)
    nlp.add_pipe("xlie_distant_labeler", config=config).set_kb(kb)
    return nlp


def triples(doc):
    return {(r.head.text, r.label, r.tail.text) for r in doc._.relations}


def test_match_links_and_labels(kb):
    doc = labeler("en", kb)("Marie Curie married Pierre Curie and taught at the Sorbonne.")
    assert [(e.text, e.kb_id_, e.label_) for e in doc.ents] == [
        ("Marie Curie", "Q7186", "ENT"), ("Pierre Curie", "Q37463", "ENT"),
        ("Sorbonne", "Q209842", "ENT")]
    assert triples(doc) == {
        ("Marie Curie", "P26", "Pierre Curie"), ("Pierre Curie", "P26", "Marie Curie"),
        ("Marie Curie", "P108", "Sorbonne"), ("Pierre Curie", "P108", "Sorbonne")}
    assert {r.source for r in doc._.relations} == {"distant"}
    assert doc._.xlie_negatives is None
    assert doc._.xlie_distant["positive_pairs"] == 4


def test_label_map_keep_or_drop(kb):
    text = "Marie Curie married Pierre Curie in France."
    doc = labeler("en", kb, label_map={"P26": "per:spouse"})(text)
    assert ("Marie Curie", "per:spouse", "Pierre Curie") in triples(doc)
    assert ("Marie Curie", "P27", "France") in triples(doc)
    doc = labeler("en", kb, label_map={"P26": "per:spouse"}, keep_unmapped=False)(text)
    assert {t[1] for t in triples(doc)} == {"per:spouse"}
    # Marie Curie - France has an (unmapped) triple: neither positive nor negative.
    negatives = {(n["head_id"], n["tail_id"]) for n in doc._.xlie_negatives or []}
    assert ("Q7186", "Q142") not in negatives


def test_ambiguity_policies(kb):
    text = "Paris Hilton left Paris for the United States."
    # "Paris" (second mention) is ambiguous: the city Q90 or Paris Hilton Q47899.
    skip = labeler("en", kb, ambiguity="skip")(text)
    assert [e.text for e in skip.ents] == ["Paris Hilton", "United States"]
    assert skip._.xlie_distant["ambiguous"] == 1 and skip._.xlie_distant["unresolved"] == 1
    prior = labeler("en", kb, ambiguity="prior")(text)
    assert [(e.text, e.kb_id_) for e in prior.ents][1] == ("Paris", "Q90")
    everything = labeler("en", kb, ambiguity="all")("Paris is in France.")
    assert triples(everything) == {("Paris", "P17", "France"), ("Paris", "P1376", "France"),
                                   ("France", "P36", "Paris")}
    assert everything.ents[0].kb_id_ == "Q90"  # the candidate that took part


def test_multilabel_or_priority(kb):
    text = "Paris is in France."
    doc = labeler("en", kb, ambiguity="prior", multilabel=False, priority=["P1376"])(text)
    assert triples(doc) == {("Paris", "P1376", "France"), ("France", "P36", "Paris")}
    doc = labeler("en", kb, ambiguity="prior", multilabel=False)(text)
    assert ("Paris", "P1376", "France") in triples(doc)  # alphabetical: "P1376" < "P17"


def test_existing_ents_kept_and_span_group(kb):
    nlp = labeler("en", kb)
    doc = nlp.make_doc("Dr. Marie Curie of Poland married Pierre Curie.")
    doc.ents = [Span(doc, 0, 3, label="PERSON"), Span(doc, 4, 5, label="GPE")]
    doc = nlp(doc)
    assert [(e.text, e.label_, e.kb_id_) for e in doc.ents] == [
        ("Dr. Marie Curie", "PERSON", ""), ("Poland", "GPE", ""), ("Pierre Curie", "ENT", "Q37463")]
    doc = nlp.make_doc("Marie Curie married Pierre Curie.")
    doc.ents = [Span(doc, 3, 5, label="PERSON")]
    doc = labeler("en", kb, spans_key="kb")(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Pierre Curie", "PERSON")]
    assert [(s.text, s.kb_id_) for s in doc.spans["kb"]] == [
        ("Marie Curie", "Q7186"), ("Pierre Curie", "Q37463")]
    assert {r.spans_key for r in doc._.relations} == {"kb"}


def test_ents_mode_links_existing_entities(kb):
    nlp = labeler("en", kb, mode="ents")
    doc = nlp.make_doc("marie curie married Pierre Curie in Warsaw.")
    doc.ents = [Span(doc, 0, 2, label="PERSON"), Span(doc, 3, 5, label="PERSON"),
                Span(doc, 6, 7, label="GPE")]
    doc = nlp(doc)
    assert [(e.label_, e.kb_id_) for e in doc.ents] == [
        ("PERSON", "Q7186"), ("PERSON", "Q37463"), ("GPE", "")]
    assert ("marie curie", "P26", "Pierre Curie") in triples(doc)
    assert doc._.xlie_distant["mentions"] == 3 and doc._.xlie_distant["linked"] == 2


def test_german_inflection_and_compounds(kb):
    doc = labeler("de", kb)("Frankreichs Hauptstadt ist Paris; die Sorbonne-Bibliothek auch.")
    assert [(e.text, e.kb_id_) for e in doc.ents] == [
        ("Frankreichs", "Q142"), ("Sorbonne-Bibliothek", "Q209842")]
    assert doc._.xlie_distant["partial"] == 2
    strict = labeler("de", kb, subtokens=False, suffixes=[])(doc.text)
    assert not strict.ents


def test_names_inside_links_and_addresses_are_not_mentions(kb):
    text = ("Siehe https://fr.wikipedia.org/wiki/Sorbonne oder sorbonne-info@example.fr; "
            "die Sorbonne-Bibliothek auch.")
    doc = labeler("de", kb)(text)
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("Sorbonne-Bibliothek", "Q209842")]


def test_turkish_case_and_chinese(kb):
    doc = labeler("tr", kb)("ISTANBUL ve istanbul'da, TÜRKIYE; ankara Türkiye'nin başkenti.")
    linked = [(e.text, e.kb_id_) for e in doc.ents]
    assert ("istanbul'da", "Q406") in linked and ("ankara", "Q3640") in linked
    assert ("ISTANBUL", "Q406") not in linked  # Turkish: I lower-cases to ı, not i
    assert ("ankara", "P1376", "Türkiye'nin") in triples(doc)
    doc = labeler("zh", kb)("北京是中国的首都。")
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("北京", "Q956"), ("中国", "Q148")]
    assert triples(doc) == {("北京", "P17", "中国"), ("北京", "P1376", "中国"),
                            ("中国", "P36", "北京")}


def test_diacritic_folding(kb):
    text = "Universite de Paris"
    assert [e.text for e in labeler("fr", kb)(text).ents] == ["Paris"]
    doc = labeler("fr", kb, fold_diacritics=True)(text)
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("Universite de Paris", "Q209842")]


def test_sentences_distance_and_negatives(kb):
    text = "Marie Curie met Beijing. Pierre Curie met Ankara and Beijing."
    nlp = labeler("en", kb, negative_ratio=-1)
    doc = nlp(text)
    assert ("Marie Curie", "P26", "Pierre Curie") in triples(doc)  # one sentence
    negatives = {(n["head_id"], n["tail_id"]) for n in doc._.xlie_negatives}
    assert ("Q7186", "Q956") in negatives and ("Q37463", "Q7186") not in negatives
    nlp.add_pipe("sentencizer", first=True)
    doc = nlp(text)
    assert ("Marie Curie", "P26", "Pierre Curie") not in triples(doc)
    assert not labeler("en", kb, max_distance=2)(text)._.relations
    sampled = [labeler("en", kb, negative_ratio=1.0, seed=s)(text)._.xlie_negatives
               for s in (1, 1, 2)]
    assert len(sampled[0]) == 2 and sampled[0] == sampled[1]  # ceil(1 * 2 positives)


def test_no_kb_is_a_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("xlie_distant_labeler")
    with pytest.raises(ValueError, match="no knowledge base"):
        nlp("Paris")
    with pytest.raises(ValueError, match="ambiguity"):
        spacy.blank("en").add_pipe("xlie_distant_labeler", config={"ambiguity": "any"})


def test_serialisation_carries_the_kb(kb, tmp_path):
    nlp = labeler("en", kb, label_map={"P26": "per:spouse"})
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    doc = loaded("Marie Curie married Pierre Curie.")
    assert ("Marie Curie", "per:spouse", "Pierre Curie") in triples(doc)
    again = spacy.blank("en")
    pipe = again.add_pipe("xlie_distant_labeler", config={"label_map": {"P26": "per:spouse"}})
    pipe.from_bytes(nlp.get_pipe("xlie_distant_labeler").to_bytes())  # settings: config
    assert triples(again(doc.text)) == triples(doc)
    assert triples(pickle.loads(pickle.dumps(nlp))(doc.text)) == triples(doc)


def test_initialize_with_kb_loader(kb, tmp_path):
    kb.to_disk(tmp_path / "kb")
    nlp = spacy.blank("en")
    nlp.add_pipe("xlie_distant_labeler")
    nlp.config["initialize"]["components"]["xlie_distant_labeler"] = {
        "kb_loader": {"@misc": "spacy_xlie.load_relation_kb.v1", "path": str(tmp_path / "kb")}}
    nlp.initialize()
    assert triples(nlp("Paris Hilton, United States")) == {
        ("Paris Hilton", "P27", "United States")}


def test_n_process_2_matches_single_process(kb):
    texts = ["Marie Curie married Pierre Curie.", "北京", "Paris is in France."] * 4
    nlp = labeler("en", kb, ambiguity="prior", negative_ratio=-1)
    single = [(triples(d), d._.xlie_negatives) for d in nlp.pipe(texts)]
    multi = [(triples(d), d._.xlie_negatives) for d in nlp.pipe(texts, n_process=2, batch_size=3)]
    assert single == multi
