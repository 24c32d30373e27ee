"""``spacy-xlie evaluate``: per-data-set Markdown table and JSON report."""

import json
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.cli.evaluate import dataset_names
from spacy_xlie.util.io import write_docbin
from tests.pipeline.test_relation_extractor import cpu_nlp, train
from tests.rel_examples import make_examples


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    """A trained model; ``eval/`` holds two English sets and a German one, and a French
    file without ``xlie_lang`` lies outside it."""
    tmp = tmp_path_factory.mktemp("evaluate")
    nlp = cpu_nlp()
    examples = make_examples(nlp.vocab)
    train(nlp, examples, 40)
    nlp.to_disk(tmp / "model")
    refs = [eg.reference for eg in examples]
    english = [d for d in refs if d._.xlie_lang == "en"]
    write_docbin(english, tmp / "eval" / "relx_en.spacy")
    write_docbin(english[:1], tmp / "eval" / "kbp37_test.spacy")
    write_docbin([d for d in refs if d._.xlie_lang == "de"], tmp / "eval" / "relx_de.spacy")
    unlabelled = [d.copy() for d in refs if d._.xlie_lang == "fr"]
    for doc in unlabelled:
        doc._.xlie_lang = None
    write_docbin(unlabelled, tmp / "RELX_fr.spacy")
    return tmp


def test_evaluate_cli(model_and_data):
    tmp = model_and_data
    result = CliRunner().invoke(app, [
        "evaluate", str(tmp / "model"), str(tmp / "eval"), str(tmp / "RELX_fr.spacy"),
        "--output", str(tmp / "out" / "report.json"), "--markdown", str(tmp / "report.md"),
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "out" / "report.json").read_text())
    # One row per file (folder expanded, sorted); same-language sets stay apart.
    assert list(report["datasets"]) == ["kbp37_test", "relx_de", "relx_en", "RELX_fr"]
    sets = report["datasets"]
    assert sets["kbp37_test"]["lang"] == "en" and sets["kbp37_test"]["docs"] == 1
    assert sets["relx_en"]["lang"] == "en" and sets["relx_en"]["docs"] == 2
    assert sets["relx_de"]["lang"] == "de"
    assert sets["RELX_fr"]["lang"] is None
    assert sets["relx_en"]["path"].endswith("relx_en.spacy")
    assert report["overall"]["docs"] == sum(s["docs"] for s in sets.values())
    assert report["overall"]["rel_micro_f"] == 1.0
    assert sets["relx_en"]["rel_micro_f"] == 1.0
    assert report["gold_ents"] is True
    md = (tmp / "report.md").read_text()
    assert ("| data set | language | docs | micro P | micro R | micro F | macro F (official) |"
            in md)
    assert "| kbp37_test | en | 1 |" in md and "| relx_en | en | 2 |" in md
    assert "| RELX_fr | - |" in md and "| all | - |" in md
    assert "per:employee_of" in md
    assert md.strip() in result.output


def test_evaluate_empty_folder(tmp_path, model_and_data):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        app, ["evaluate", str(model_and_data / "model"), str(tmp_path / "empty")]
    )
    assert result.exit_code == 1
    assert "No .spacy files" in result.output


def test_dataset_names_disambiguate_same_stem():
    files = [Path("a/relx_en.spacy"), Path("b/relx_en.spacy"), Path("b/relx_de.spacy")]
    assert dataset_names(files) == ["a/relx_en", "b/relx_en", "relx_de"]


def test_evaluate_needs_relation_extractor(tmp_path, model_and_data):
    spacy.blank("en").to_disk(tmp_path / "blank")
    result = CliRunner().invoke(
        app, ["evaluate", str(tmp_path / "blank"), str(model_and_data / "eval")]
    )
    assert result.exit_code == 1
    assert "no relation extractor" in result.output
