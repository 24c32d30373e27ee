"""``spacy-xlie convert``: outputs, summary, exit codes, and no half-written files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_xlie.cli import app

FIXTURES = Path(__file__).parent.parent / "corpora" / "fixtures"
BAD_BLOCK = '9\t"<e1> A </e1> and <e2> B </e2>"\nrel(e3,e1)\n\n'


@pytest.fixture
def runner():
    return CliRunner()


def convert(runner, *args):
    return runner.invoke(app, ["convert", *map(str, args)])


def test_kbp37_to_docbin_with_summary(runner, tmp_path):
    out = tmp_path / "out.spacy"
    result = convert(runner, "kbp37", FIXTURES / "kbp37_sample.txt", out)
    assert result.exit_code == 0, result.output
    assert "wrote 4 docs" in result.output
    assert "empty entities (doc kept with the other entity): 1" in result.output
    assert "unrepresentable gold relations (no span; kept aside, scored as missed): 1" in (
        result.output)
    assert "org:founded_by(e2,e1)\t1" in result.output
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))
    assert [d._.xlie_id for d in docs] == ["1", "2", "3", "4"]
    assert len(docs[0]._.relations) == 1
    # The empty-marker record's relation survives the DocBin, aside from doc._.relations.
    assert docs[3]._.relations == []
    assert [r["label"] for r in docs[3]._.xlie_unrepresentable] == ["org:subsidiaries"]


def test_lang_and_export_round_trip(runner, tmp_path):
    out = tmp_path / "de.spacy"
    assert convert(runner, "relx", FIXTURES / "relx_de.txt", out, "--lang", "de").exit_code == 0
    exported = tmp_path / "de.jsonl"
    result = convert(runner, "spacy", out, exported)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [r["lang"] for r in records] == ["de", "de"]
    assert records[1]["relations"][0]["label"] == "org:founded_by"
    back = tmp_path / "back.bin"
    result = convert(runner, "jsonl", exported, back, "--to", "spacy")
    assert result.exit_code == 0 and "wrote 2 docs" in result.output


def test_ent_label_option(runner, tmp_path):
    out = tmp_path / "o.jsonl"
    convert(runner, "opennre", FIXTURES / "opennre_text.jsonl", out, "--ent-label", "E")
    assert {e["label"] for line in out.read_text().splitlines()
            for e in json.loads(line)["entities"]} == {"E"}


def test_bad_input_fails_cleanly_and_keeps_old_output(runner, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text((FIXTURES / "kbp37_sample.txt").read_text() + BAD_BLOCK, encoding="utf8")
    out = tmp_path / "out.spacy"
    result = convert(runner, "kbp37", bad, out)
    assert result.exit_code == 1
    assert f"error: {bad}:14: label: unknown label or direction" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]  # no temp files left
    out.write_bytes(b"old")
    assert convert(runner, "kbp37", bad, out).exit_code == 1
    assert out.read_bytes() == b"old"
    result = convert(runner, "kbp37", bad, out, "--skip-invalid")
    assert result.exit_code == 0 and "skipped (invalid): 1" in result.output
    assert "wrote 4 docs" in result.output


def test_usage_errors(runner, tmp_path):
    assert convert(runner, "nope", FIXTURES / "xlie.jsonl", tmp_path / "x.spacy").exit_code == 2
    assert convert(runner, "jsonl", tmp_path / "missing", tmp_path / "x.spacy").exit_code == 2
    result = convert(runner, "jsonl", FIXTURES / "xlie.jsonl", tmp_path / "x.out")
    assert result.exit_code == 2 and "--to" in result.output


def test_python_dash_m_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"sentence": "x"}]', encoding="utf8")
    proc = subprocess.run(
        [sys.executable, "-m", "spacy_xlie", "convert", "relx-distant", str(bad),
         str(tmp_path / "o.spacy")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: {bad}:1: entity1: missing field"]
    assert not (tmp_path / "o.spacy").exists()
