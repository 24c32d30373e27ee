"""``spacy_xlie.evaluation``: predicted docs that never see the gold relations, language
means, the Markdown report and data-set names (the command is tested in
tests/cli/test_evaluate.py)."""

from pathlib import Path

import pytest
import spacy
from spacy.language import Language

from spacy_xlie import add_relation
from spacy_xlie.evaluation import (
    dataset_names,
    evaluate_relations,
    language_means,
    load_examples,
    predict,
    report_markdown,
)
from spacy_xlie.unrepresentable import add_unrepresentable
from spacy_xlie.util.io import write_docbin
from tests.pipeline.test_relation_extractor import cpu_nlp, train
from tests.rel_examples import make_doc, make_examples


def lost_relation_doc(vocab):
    """An empty-marker record: one entity, its gold relation kept aside (no span)."""
    doc = make_doc(vocab, "en", "The deal with Apple fell through .", ["Apple"], [])
    add_unrepresentable(doc, "org:founded_by", head="Apple", tail="", reason="empty marker")
    return doc


def silence(nlp):
    """Make the relation extractor predict nothing: every pair scores no_relation."""
    output = nlp.get_pipe("xlie_relation_extractor").model.get_ref("output_layer")
    output.set_param("W", output.ops.alloc2f(*output.get_param("W").shape))
    bias = output.ops.alloc1f(output.get_param("b").shape[0])
    bias[0] = 100.0
    output.set_param("b", bias)
    return nlp


def build_model_and_data(tmp: Path) -> Path:
    """A model overfit on the examples (and a silenced copy that predicts nothing) under
    ``tmp``; ``eval/`` holds two English sets (one with a relation that has no span) and a
    German one, and a French file without ``xlie_lang`` lies outside it."""
    nlp = cpu_nlp()
    examples = make_examples(nlp.vocab)
    train(nlp, examples, 40)
    nlp.to_disk(tmp / "model")
    silence(nlp).to_disk(tmp / "silent")
    refs = [eg.reference for eg in examples]
    english = [d for d in refs if d._.xlie_lang == "en"]
    write_docbin(english + [lost_relation_doc(nlp.vocab)], tmp / "eval" / "relx_en.spacy")
    write_docbin(english[:1], tmp / "eval" / "kbp37_test.spacy")
    write_docbin([d for d in refs if d._.xlie_lang == "de"], tmp / "eval" / "relx_de.spacy")
    unlabelled = [d.copy() for d in refs if d._.xlie_lang == "fr"]
    for doc in unlabelled:
        doc._.xlie_lang = None
    write_docbin(unlabelled, tmp / "RELX_fr.spacy")
    # gold relations marked like predictions (data exported from a model): they must still
    # never count as predictions
    gold = make_doc(nlp.vocab, "en", "Apple was founded by Steve Jobs in Cupertino .",
                    ["Apple", "Steve Jobs", "Cupertino"], [])
    add_relation(gold, gold.ents[0], gold.ents[1], "org:founded_by", source="predicted")
    write_docbin([gold], tmp / "predicted_gold" / "relx_en.spacy")
    return tmp


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    return build_model_and_data(tmp_path_factory.mktemp("evaluate"))


@pytest.mark.parametrize("model", ["model", "silent"])
def test_gold_relations_never_reach_the_predicted_docs(model_and_data, model):
    tmp = model_and_data
    nlp = spacy.load(tmp / model)
    for path in [tmp / "eval" / "relx_en.spacy", tmp / "predicted_gold" / "relx_en.spacy"]:
        examples = load_examples(nlp, path, gold_ents=True)
        assert any(eg.reference._.relations for eg in examples)
        for eg in examples:
            assert eg.predicted._.relations == [] and eg.predicted._.xlie_unrepresentable is None
        scored = predict(nlp, examples, gold_ents=True)
        relations = [rel for eg in scored for rel in eg.predicted._.relations]
        assert {rel.source for rel in relations} <= {"predicted"}
        if model == "silent":
            assert relations == []


def test_batch_size_zero_is_refused_not_an_empty_score(model_and_data):
    """A trained pipe's pipe() yields no doc at batch size 0 (spaCy's minibatch): the data
    set would be scored on no docs at all."""
    nlp = spacy.load(model_and_data / "model")
    with pytest.raises(ValueError, match="batch_size: expected 1 or more, got 0"):
        evaluate_relations(nlp, [model_and_data / "eval" / "relx_en.spacy"], batch_size=0)


def scores(lang, p, r, f, macro, per_type):
    return {"lang": lang, "rel_micro_p": p, "rel_micro_r": r, "rel_micro_f": f,
            "rel_macro_f": macro, "rel_f_per_type": {t: {"f": v} for t, v in per_type.items()}}


DATASETS = {
    "kbp37_test": scores("en", 0.9, 0.9, 0.9, 0.9, {"a": 0.9, "b": 0.9}),
    "relx_de": scores("de", 0.4, 0.2, 0.3, 0.1, {"a": 0.2, "b": 0.0}),
    "relx_en": scores("en", 0.8, 0.6, 0.7, 0.5, {"a": 0.6, "b": 0.4}),
    "relx_fr": scores("fr", 0.6, 0.4, 0.5, 0.3, {"a": 0.4}),
    "relx_es": scores(None, 0.0, 0.0, 0.0, 0.0, {}),
    "wiki_en": scores("en", 0.0, 0.0, 0.0, 0.0, {}),
}


def test_language_means_hand_computed():
    means = language_means(DATASETS, "en")
    assert list(means) == ["relx mean", "relx mean, cross-lingual"]
    mean, xling = means["relx mean"], means["relx mean, cross-lingual"]
    assert mean["datasets"] == ["relx_de", "relx_en", "relx_fr"] and mean["lang"] == "de, en, fr"
    assert [mean[k] for k in ("rel_micro_p", "rel_micro_r", "rel_micro_f", "rel_macro_f")] == (
        pytest.approx([0.6, 0.4, 0.5, 0.3]))
    # a type missing from a data set counts 0 there: b = (0 + 0.4 + 0) / 3
    per_type = {t: s["f"] for t, s in mean["rel_f_per_type"].items()}
    assert per_type == pytest.approx({"a": 0.4, "b": 0.4 / 3})
    assert xling["datasets"] == ["relx_de", "relx_fr"] and xling["lang"] == "de, fr"
    assert [xling[k] for k in ("rel_micro_p", "rel_micro_r", "rel_micro_f", "rel_macro_f")] == (
        pytest.approx([0.5, 0.3, 0.4, 0.2]))
    # another training language; one outside the family gives no second row
    assert language_means(DATASETS, "de")["relx mean, cross-lingual"]["lang"] == "en, fr"
    assert list(language_means(DATASETS, "xx")) == ["relx mean"]
    assert language_means({"kbp37_test": DATASETS["kbp37_test"]}, "en") == {}


def test_markdown_rows_and_notes():
    datasets = {
        name: {**s, "docs": 10, "gold": 7, "gold_unrepresentable": 2, "gold_not_candidates": 1}
        for name, s in DATASETS.items() if name.startswith("relx_") and s["lang"]
    }
    report = {"gold_ents": True, "train_lang": "en", "datasets": datasets,
              "means": language_means(datasets, "en")}
    md = report_markdown(report)
    assert "| relx_de | de | 10 | 7 | 3 | 40.0 | 20.0 | 30.0 | 10.0 |" in md
    assert "| **relx mean** | de, en, fr | - | - | - | 60.0 | 40.0 | 50.0 | 30.0 |" in md
    assert "| **relx mean, cross-lingual** | de, fr | - | - | - | 50.0 | 30.0 | 40.0 | 20.0 |" in md
    assert "leaves out the training language (en)" in md
    assert "| label | relx_de | relx_en | relx_fr | relx mean | relx mean, cross-lingual |" in md
    assert "| b | 0.0 | 40.0 | - | 13.3 | 0.0 |" in md
    assert "Gold relations per label" not in md  # a report from before the counts


def test_markdown_gold_relations_per_label():
    datasets = {name: {**DATASETS[name], "docs": 10, "gold": 7, "gold_unrepresentable": 0,
                       "gold_not_candidates": 0} for name in ("relx_de", "relx_fr")}
    datasets["relx_de"]["rel_gold_per_type"] = {"a": 5, "b": 2}
    datasets["relx_fr"]["rel_gold_per_type"] = {"a": 7}
    md = report_markdown({"gold_ents": True, "datasets": datasets, "means": {}})
    gold_table = md.split("### Gold relations per label")[1]
    assert "| label | relx_de | relx_fr |" in gold_table
    assert "| a | 5 | 7 |" in gold_table and "| b | 2 | 0 |" in gold_table


def test_dataset_names_disambiguate_same_stem():
    files = [Path("a/relx_en.spacy"), Path("b/relx_en.spacy"), Path("b/relx_de.spacy")]
    assert dataset_names(files) == ["a/relx_en", "b/relx_en", "relx_de"]


def test_markdown_names_the_encoder_of_an_xlie_transformer_pipeline(model_and_data):
    report = {"gold_ents": True, "train_lang": "en", "datasets": {}, "means": {},
              "model": "m", "encoder": "int8"}
    assert "Model: `m`. Encoder: int8 (`xlie_transformer` quantize)." in report_markdown(report)
    nlp = spacy.load(model_and_data / "model")  # a CNN pipeline: no encoder to name
    from spacy_xlie.evaluation import evaluate_relations

    scored = evaluate_relations(nlp, [model_and_data / "eval" / "kbp37_test.spacy"])
    assert scored["encoder"] is None
    assert "Encoder" not in report_markdown({**scored, "model": "m"})


def test_scored_docs_let_go_of_the_encoder_output(tiny_xlmr):
    """The docs a data set holds until it is scored keep no vector per wordpiece."""
    from spacy_xlie.evaluation import predict
    from tests.pipeline.test_transformer import build

    nlp = build(tiny_xlmr, quantize="off")
    examples = make_examples(nlp.vocab)
    scored = predict(nlp, examples, gold_ents=True)
    assert len(scored) == len(examples)
    assert all(eg.predicted._.trf_data is None for eg in scored)


@Language.component("xlie_test_clear_ents", assigns=["doc.ents"])
def clear_ents(doc):
    """An entity component that finds nothing (it clears ``doc.ents``)."""
    doc.ents = []
    return doc


def test_gold_entities_are_kept_from_the_pipelines_entity_components(model_and_data):
    nlp = spacy.load(model_and_data / "model")
    nlp.add_pipe("xlie_test_clear_ents", first=True)
    examples = load_examples(nlp, model_and_data / "eval" / "relx_en.spacy", gold_ents=True)
    gold = [[(e.start, e.end, e.label_) for e in eg.reference.ents] for eg in examples]
    assert any(gold)
    kept = predict(nlp, examples, gold_ents=True)
    assert [[(e.start, e.end, e.label_) for e in eg.predicted.ents] for eg in kept] == gold
    cleared = predict(nlp, load_examples(nlp, model_and_data / "eval" / "relx_en.spacy",
                                         gold_ents=True), gold_ents=False)
    assert all(not eg.predicted.ents for eg in cleared)
