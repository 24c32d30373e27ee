"""``spacy-xlie evaluate``: per-data-set Markdown table and JSON report, options and
one-line errors (the library, ``spacy_xlie.evaluation``, is tested in
tests/test_evaluation.py)."""

import json

import pytest
import spacy
from typer.testing import CliRunner

from spacy_xlie.cli import app
from tests.test_evaluation import build_model_and_data


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    return build_model_and_data(tmp_path_factory.mktemp("evaluate"))


def evaluate(*args):
    return CliRunner().invoke(app, ["evaluate", *map(str, args)])


def test_evaluate_cli(model_and_data):
    tmp = model_and_data
    result = evaluate(tmp / "model", tmp / "eval", tmp / "RELX_fr.spacy",
                      "--output", tmp / "out" / "report.json", "--markdown", tmp / "report.md")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "out" / "report.json").read_text())
    # One row per file (folder expanded, sorted); same-language sets stay apart.
    assert list(report["datasets"]) == ["kbp37_test", "relx_de", "relx_en", "RELX_fr"]
    sets = report["datasets"]
    assert sets["kbp37_test"]["lang"] == "en" and sets["kbp37_test"]["docs"] == 1
    assert sets["relx_en"]["lang"] == "en" and sets["relx_en"]["docs"] == 3
    assert sets["relx_de"]["lang"] == "de"
    assert sets["RELX_fr"]["lang"] is None
    assert sets["relx_en"]["path"].endswith("relx_en.spacy")
    # relx_en: 2 relations the overfit model finds, 1 without a span: counted and missed
    en = sets["relx_en"]
    assert (en["gold"], en["gold_unrepresentable"], en["gold_not_candidates"]) == (3, 1, 0)
    assert en["rel_micro_p"] == 1.0 and en["rel_micro_r"] == pytest.approx(2 / 3)
    assert sets["kbp37_test"]["rel_micro_f"] == 1.0
    # no pooled row; relx_de and relx_en make a family (RELX_fr has no language)
    assert "overall" not in report
    assert list(report["means"]) == ["relx mean"]
    assert report["means"]["relx mean"]["datasets"] == ["relx_de", "relx_en"]
    assert report["gold_ents"] is True and report["source"] == "predicted"
    md = (tmp / "report.md").read_text()
    assert ("| data set | language | docs | gold relations | unreachable | micro P | micro R "
            "| micro F | macro F (official) |") in md
    assert "| kbp37_test | en | 1 | 2 | 0 | 100.0 |" in md
    assert "| relx_en | en | 3 | 3 | 1 | 100.0 | 66.7 |" in md
    assert "| RELX_fr | - |" in md and "| **relx mean** | de, en |" in md
    assert "| all |" not in md
    assert f"Model: `{tmp / 'model'}`" in md
    assert "per:employee_of" in md
    assert md.strip() in result.output


def test_a_file_that_is_not_a_docbin_is_refused(model_and_data):
    """A .csv or .jsonl given as data once scored zero docs and exited 0."""
    tmp = model_and_data
    table = tmp / "data.csv"
    table.write_text("text,id\nAngela Merkel,1\n", encoding="utf8")
    result = evaluate(tmp / "model", table)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"{table}: suffix: expected a .spacy file" in result.output


def test_model_that_predicts_nothing_scores_zero(model_and_data):
    """Even where the gold relations look like predictions (source "predicted")."""
    tmp = model_and_data
    result = evaluate(tmp / "silent", tmp / "eval", tmp / "predicted_gold",
                      "--output", tmp / "silent.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "silent.json").read_text())
    assert len(report["datasets"]) == 4
    for name, scores in report["datasets"].items():
        assert scores["gold"] > 0, name
        assert scores["rel_micro_p"] == scores["rel_micro_r"] == 0.0, name
        assert scores["rel_macro_f"] == 0.0, name


def test_source_option(model_and_data):
    """--source any scores every relation on the predicted docs (here: the pipe's)."""
    tmp = model_and_data
    result = evaluate(tmp / "model", tmp / "eval" / "kbp37_test.spacy", "--source", "any",
                      "--output", tmp / "any.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "any.json").read_text())
    assert report["source"] is None and report["datasets"]["kbp37_test"]["rel_micro_f"] == 1.0


def test_evaluate_empty_folder(tmp_path, model_and_data):
    (tmp_path / "empty").mkdir()
    result = evaluate(model_and_data / "model", tmp_path / "empty")
    assert result.exit_code == 1
    assert "No .spacy files" in result.output


def test_evaluate_needs_relation_extractor(tmp_path, model_and_data):
    spacy.blank("en").to_disk(tmp_path / "blank")
    result = evaluate(tmp_path / "blank", model_and_data / "eval")
    assert result.exit_code == 1
    assert "no relation extractor" in result.output


def test_quantize_option(model_and_data):
    """A pipeline without an xlie_transformer is scored as it is; a bad value is one line."""
    tmp = model_and_data
    result = evaluate(tmp / "model", tmp / "eval" / "kbp37_test.spacy", "--quantize", "off",
                      "--output", tmp / "off.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp / "off.json").read_text())["quantize"] == "off"
    result = evaluate(tmp / "model", tmp / "eval" / "kbp37_test.spacy", "--quantize", "fp16")
    assert result.exit_code == 1 and "quantize must be one of" in result.output
