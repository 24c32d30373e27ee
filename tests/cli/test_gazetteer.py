"""``spacy-xlie kb attach`` and the check-package test of a pipeline on raw text."""

import sys

import pytest
import spacy
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.cli.workflow import check_pipeline, check_results

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
    # What check-package runs in its fresh venv, here with this interpreter.
    results = check_pipeline(sys.executable, str(out), [GERMAN, FRENCH])
    assert [[e[0] for e in r["entities"]] for r in results] == [
        ["Angela Merkel", "CDU", "Berlin"], ["Airbus", "Toulouse"]]
    assert [[(h, lab, t) for h, lab, t, _ in r["relations"]] for r in results] == [
        [("Angela Merkel", "per:employee_of", "CDU")],
        [("Airbus", "org:city_of_headquarters", "Toulouse")]]
    result = CliRunner().invoke(app, ["kb", "attach", str(out), str(rel_model / "kb"),
                                      str(tmp_path / "twice")])
    assert result.exit_code == 1 and "already has a pipe 'xlie_entities'" in result.output


def test_check_results_need_an_entity_source_and_two_entities():
    header = '{"pipeline": ["tok2vec", "xlie_relation_extractor"], "entity_pipes": []}\n'
    with pytest.raises(ValueError, match="no component that sets doc.ents.*kb attach"):
        check_results("xx_xlie_cpu", header)
    header = '{"pipeline": ["xlie_entities"], "entity_pipes": ["xlie_entities"]}\n'
    found = '{"text": "A B", "entities": [["A", "ENT", ""], ["B", "ENT", ""]], "relations": []}\n'
    alone = '{"text": "Nichts hier", "entities": [["A", "ENT", ""]], "relations": []}\n'
    assert len(check_results("p", "some warning\n" + header + found)) == 1
    with pytest.raises(ValueError, match=r"fewer than two entities .* in: Nichts hier$"):
        check_results("p", header + found + alone)
