"""``spacy-xlie kb attach``, and the workflow's check-package test (scripts/check_package.py)
of the pipeline it writes on raw text."""

import sys

import spacy
from typer.testing import CliRunner

from spacy_xlie.cli import app
from tests.scripts import load_script

GERMAN = "Angela Merkel arbeitet für die CDU in Berlin ."
FRENCH = "Le siège de Airbus se trouve à Toulouse ."


def test_attach_then_raw_text_gets_relations(rel_model, tmp_path):
    out = tmp_path / "with_entities"
    out.mkdir()
    (out / "stale.txt").write_text("replaced")
    result = CliRunner().invoke(app, ["kb", "attach", str(rel_model / "model"),
                                      str(rel_model / "kb"), str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists()
    assert (out / "xlie_entities" / "kb" / "kb.msgpack").is_file()
    nlp = spacy.load(out)
    assert nlp.pipe_names == ["tok2vec", "xlie_entities", "xlie_relation_extractor"]
    # What scripts/check_package.py runs in its fresh venv, here with this interpreter.
    check_pipeline = load_script("check_package").check_pipeline
    results = check_pipeline(sys.executable, str(out), [GERMAN, FRENCH])
    assert [[e[0] for e in r["entities"]] for r in results] == [
        ["Angela Merkel", "CDU", "Berlin"], ["Airbus", "Toulouse"]]
    assert [[(h, lab, t) for h, lab, t, _ in r["relations"]] for r in results] == [
        [("Angela Merkel", "per:employee_of", "CDU")],
        [("Airbus", "org:city_of_headquarters", "Toulouse")]]
    result = CliRunner().invoke(app, ["kb", "attach", str(out), str(rel_model / "kb"),
                                      str(tmp_path / "twice")])
    assert result.exit_code == 1 and "already has a pipe 'xlie_entities'" in result.output

