"""Entity sources for raw text (gazetteer, entity ruler) and the NER label-pair filter."""

import json

import pytest
import spacy
from spacy.tokens import Span

from spacy_xlie import add_entities, add_relation
from spacy_xlie.entities import (
    add_entity_source,
    entity_components,
    ner_label_pairs,
    parse_entity_source,
    read_patterns,
)
from spacy_xlie.errors import XlieDataError
from spacy_xlie.kb.relation_kb import RelationKB


def small_kb() -> RelationKB:
    kb = RelationKB()
    kb.add_entity("Q567", type="PER", aliases={"de": ["Angela Merkel"], "en": ["Angela Merkel"]})
    kb.add_entity("Q49762", aliases={"de": ["CDU"], "fr": ["CDU"]})
    kb.add_entity("Q64", aliases={"fr": ["Berlin"]})
    kb.add_entity("Q2", aliases={"de": ["Die"]})  # a band: must not match the article
    kb.add_triple("Q567", "P102", "Q49762")
    return kb


@pytest.fixture
def kb_dir(tmp_path):
    small_kb().to_disk(tmp_path / "kb")
    return tmp_path / "kb"


def test_gazetteer_mode_only_sets_entities():
    nlp = spacy.blank("de")
    config = {"mode": "gazetteer", "attr": "ORTH"}
    nlp.add_pipe("xlie_distant_labeler", config=config).set_kb(small_kb())
    doc = nlp.make_doc("Angela Merkel ist die Vorsitzende der CDU in Berlin.")
    doc.ents = [Span(doc, 8, 9, label="LOC")]  # Berlin, from an NER before it
    doc = nlp(doc)
    assert [(e.text, e.label_, e.kb_id_) for e in doc.ents] == [
        ("Angela Merkel", "PER", "Q567"), ("CDU", "ENT", "Q49762"), ("Berlin", "LOC", "")]
    # A triple links Merkel and the CDU, but a gazetteer labels no relation.
    assert doc._.relations == []
    assert doc._.xlie_negatives is None


def test_gazetteer_keeps_relations_of_every_source():
    nlp = spacy.blank("de")
    nlp.add_pipe("xlie_distant_labeler", config={"mode": "gazetteer"}).set_kb(small_kb())
    doc = nlp.make_doc("Angela Merkel und die CDU.")
    head, tail = add_entities(doc, [Span(doc, 0, 2, label="PER"), Span(doc, 4, 5, label="ORG")])
    add_relation(doc, head, tail, "per:employee_of", source="distant")
    doc = nlp(doc)
    assert [(r.head.text, r.label, r.source) for r in doc._.relations] == [
        ("Angela Merkel", "per:employee_of", "distant")]


def test_add_entity_source_kb_in_a_multilingual_pipeline(kb_dir):
    nlp = spacy.blank("xx")
    assert entity_components(nlp) == []
    name = add_entity_source(nlp, f"kb:{kb_dir}")
    assert entity_components(nlp) == [name] == nlp.pipe_names
    # xx has no aliases of its own: every KB language is used, case-sensitively.
    doc = nlp("In Berlin sprach die CDU mit Angela Merkel.")
    assert [e.text for e in doc.ents] == ["Berlin", "CDU", "Angela Merkel"]


def test_add_entity_source_goes_before_the_extractor_and_survives_to_disk(kb_dir, tmp_path):
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_relation_extractor")
    add_entity_source(nlp, f"kb:{kb_dir}")
    assert nlp.pipe_names == ["xlie_entities", "xlie_relation_extractor"]
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline", exclude=["xlie_relation_extractor"])
    assert [e.text for e in loaded("Merkel und die CDU").ents] == ["CDU"]


def test_add_entity_source_patterns(tmp_path):
    path = tmp_path / "patterns.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in [
        {"label": "ORG", "pattern": "Airbus"},
        {"label": "LOC", "pattern": [{"LOWER": "toulouse"}]},
    ]))
    nlp = spacy.blank("fr")
    add_entity_source(nlp, f"patterns:{path}")
    doc = nlp("Le siège de Airbus se trouve à Toulouse.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Airbus", "ORG"), ("Toulouse", "LOC")]


@pytest.mark.parametrize("line, field", [
    ('{"pattern": "Airbus"}', "label"),
    ('{"label": "ORG", "pattern": ""}', "pattern"),
    ('{"label": "ORG", "pattern": [1]}', "pattern"),
    ("[1]", "record"),
])
def test_bad_patterns_name_file_line_field(tmp_path, line, field):
    path = tmp_path / "p.jsonl"
    path.write_text('{"label": "ORG", "pattern": "Airbus"}\n\n' + line + "\n")
    with pytest.raises(XlieDataError, match=rf"p\.jsonl:3: {field}: "):
        read_patterns(path)


@pytest.mark.parametrize("spec", ["kb", "ner:x", "kb:", "patterns:/no/such/file"])
def test_bad_entity_source_spec(spec):
    with pytest.raises(ValueError, match="entity source"):
        parse_entity_source(spec)


def test_ner_label_pairs_conll():
    pairs = ner_label_pairs("conll")
    for ok in (["ORG", "PER"], ["LOC", "PER"], ["LOC", "ORG"], ["PER", "PER"], ["ORG", "ORG"],
               ["MISC", "PER"], ["ENT", "LOC"], ["ENT", "ENT"]):
        assert ok in pairs
    # No KBP37 relation links two places or two MISC entities.
    assert ["LOC", "LOC"] not in pairs and ["MISC", "MISC"] not in pairs
    assert ["LOC", "MISC"] not in pairs


def test_ner_label_pairs_ontonotes_restricted():
    pairs = ner_label_pairs("ontonotes", relation_labels=["org:founded", "per:employee_of"])
    assert ["DATE", "ORG"] in pairs and ["ORG", "PERSON"] in pairs and ["GPE", "PERSON"] in pairs
    assert ["DATE", "PERSON"] not in pairs and ["ORG", "ORG"] not in pairs
    with pytest.raises(ValueError, match="per:unknown"):
        ner_label_pairs("conll", relation_labels=["per:unknown"])



def test_ner_label_pairs_in_a_config():
    """The candidate filter is set from the config, as a user would in their pipeline."""
    config = spacy.util.load_config_from_str("""
[nlp]
lang = "xx"
pipeline = ["xlie_relation_extractor"]

[components]

[components.xlie_relation_extractor]
factory = "xlie_relation_extractor"

[components.xlie_relation_extractor.candidates]
@misc = "spacy_xlie.candidate_pairs.v1"

[components.xlie_relation_extractor.candidates.allowed_label_pairs]
@misc = "spacy_xlie.ner_label_pairs.v1"
scheme = "ontonotes"
relation_labels = ["per:employee_of"]
""")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    allowed = nlp.get_pipe("xlie_relation_extractor").candidates.allowed_label_pairs
    assert ("ORG", "PERSON") in allowed and ("GPE", "PERSON") in allowed
    assert ("ORG", "ORG") not in allowed


def test_argument_type_filter():
    from spacy_xlie.entities import argument_type_filter

    allowed = argument_type_filter("kbp37", "tac")
    assert allowed("per:employee_of", "PER", "ORG")
    assert not allowed("per:employee_of", "ORG", "PER")
    assert allowed("per:title", "PERSON", "TITLE") and not allowed("per:title", "PER", "LOC")
    # untyped entities, labels the scheme does not know and unknown relation types fit
    assert allowed("per:employee_of", "ENT", "ORG") and allowed("per:spouse", "PER", "WHAT")
    assert allowed("made:up", "ORG", "ORG")
    conll = argument_type_filter("kbp37", "conll")
    assert not conll("org:founded", "ORG", "LOC") and conll("org:founded", "ORG", "MISC") is False


def test_argument_type_filter_v2_checks_the_head_alone():
    from spacy_xlie.entities import argument_type_filter_v2

    heads = argument_type_filter_v2("kbp37", "tac", arguments="head")
    assert heads("per:title", "PER", "LOC") and heads("org:founded", "ORG", "PER")
    assert not heads("per:title", "ORG", "TITLE") and not heads("per:employee_of", "LOC", "ORG")
    both = argument_type_filter_v2("kbp37", "tac", arguments="both")
    assert both("per:title", "PER", "TITLE") and not both("per:title", "PER", "LOC")


def test_argument_type_filter_v2_names_a_bad_setting():
    from spacy_xlie.entities import argument_type_filter_v2

    with pytest.raises(ValueError, match="arguments: expected 'both' or 'head', got 'tail'"):
        argument_type_filter_v2(arguments="tail")
