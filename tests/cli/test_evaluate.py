"""``spacy-xlie evaluate``: per-language Markdown table and JSON report."""

import json

import pytest
import spacy
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.util.io import write_docbin
from tests.pipeline.test_relation_extractor import cpu_nlp, train
from tests.rel_examples import make_examples


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    nlp = cpu_nlp()
    examples = make_examples(nlp.vocab)
    train(nlp, examples, 40)
    nlp.to_disk(tmp / "model")
    refs = [eg.reference for eg in examples]
    write_docbin([d for d in refs if d._.xlie_lang in ("en", "de")], tmp / "mixed.spacy")
    unlabelled = [d.copy() for d in refs if d._.xlie_lang == "fr"]
    for doc in unlabelled:
        doc._.xlie_lang = None
    write_docbin(unlabelled, tmp / "RELX_fr.spacy")
    return tmp


def test_evaluate_cli(model_and_data):
    tmp = model_and_data
    result = CliRunner().invoke(app, [
        "evaluate", str(tmp / "model"), str(tmp / "mixed.spacy"), str(tmp / "RELX_fr.spacy"),
        "--output", str(tmp / "out" / "report.json"), "--markdown", str(tmp / "report.md"),
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "out" / "report.json").read_text())
    assert list(report["languages"]) == ["RELX_fr", "de", "en"]  # file name as fallback
    assert report["languages"]["en"]["docs"] == 2
    assert report["overall"]["docs"] == 4
    assert report["overall"]["rel_micro_f"] == 1.0
    assert report["gold_ents"] is True
    md = (tmp / "report.md").read_text()
    assert "| language | docs | micro P | micro R | micro F | macro F (official) |" in md
    assert "| en | 2 |" in md and "per:employee_of" in md
    assert md.strip() in result.output


def test_evaluate_needs_relation_extractor(tmp_path, model_and_data):
    spacy.blank("en").to_disk(tmp_path / "blank")
    result = CliRunner().invoke(
        app, ["evaluate", str(tmp_path / "blank"), str(model_and_data / "mixed.spacy")]
    )
    assert result.exit_code == 1
    assert "no relation extractor" in result.output
