"""``spacy-xlie project``: pairing by id and by order, input formats, errors, report."""

import json

import pytest
import spacy
from spacy.tokens import DocBin, Span
from typer.testing import CliRunner

from spacy_xlie import add_entities, add_relation
from spacy_xlie.cli import app
from spacy_xlie.util.io import write_docbin

SOURCES = [
    ("s1", "Apple was founded in Cupertino .", "Apple wurde in Cupertino gegründet ."),
    ("s2", "Siemens is based in Munich .", "Siemens hat seinen Sitz in München ."),
]


@pytest.fixture
def src_path(tmp_path):
    nlp = spacy.blank("en")
    docs = []
    for sent_id, text, _ in SOURCES:
        doc = nlp(text)
        a, b = add_entities(doc, [Span(doc, 0, 1, "ORG"), Span(doc, 4, 5, "LOC")])
        add_relation(doc, a, b, "based_in")
        doc._.xlie_id = sent_id
        docs.append(doc)
    path = tmp_path / "src.spacy"
    write_docbin(docs, path)
    return path


def run(*args):
    result = CliRunner().invoke(app, ["project", *map(str, args)])
    return result.exit_code, result.output


def read(path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("de").vocab))


def test_jsonl_paired_by_id_in_any_order(tmp_path, src_path):
    tgt = tmp_path / "tgt.jsonl"
    tgt.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                           for i, _, t in reversed(SOURCES)), encoding="utf8")
    out, report = tmp_path / "out.spacy", tmp_path / "report.json"
    code, output = run(src_path, tgt, out, "--tgt-lang", "de", "--method", "lexical",
                       "--report", report)
    assert code == 0, output
    docs = read(out)
    assert [d._.xlie_id for d in docs] == ["s2", "s1"]
    assert [e.text for e in docs[0].ents] == ["Siemens", "München"]
    assert docs[0]._.relations[0].label == "based_in"
    assert docs[0]._.xlie_lang == "de"
    data = json.loads(report.read_text())
    assert data["pairing"] == "id" and data["method"] == "lexical"
    assert data["entities"]["by_label"]["LOC"] == {"total": 2, "projected": 2, "rate": 1.0}
    assert data["relations"]["by_label"]["based_in"]["rate"] == 1.0


def test_plain_text_paired_by_order(tmp_path, src_path):
    tgt = tmp_path / "tgt.txt"
    tgt.write_text("".join(t + "\n" for _, _, t in SOURCES), encoding="utf8")
    out = tmp_path / "out.spacy"
    code, output = run(src_path, tgt, out, "--tgt-lang", "de")  # hybrid: lexical fallback
    assert code == 0, output
    assert "paired by order" in output
    assert [d._.xlie_id for d in read(out)] == ["s1", "s2"]


def test_spacy_target(tmp_path, src_path):
    nlp = spacy.blank("de")
    tgt = tmp_path / "tgt.spacy"
    write_docbin([nlp(t) for _, _, t in SOURCES], tgt)
    out = tmp_path / "out.spacy"
    assert run(src_path, tgt, out, "--tgt-lang", "de", "--method", "lexical")[0] == 0
    assert [e.text for e in read(out)[0].ents] == ["Apple", "Cupertino"]


def test_mismatched_counts_fail_and_write_nothing(tmp_path, src_path):
    tgt = tmp_path / "tgt.txt"
    tgt.write_text(SOURCES[0][2] + "\n", encoding="utf8")
    out = tmp_path / "out.spacy"
    code, output = run(src_path, tgt, out, "--tgt-lang", "de", "--report", tmp_path / "r.json")
    assert code == 1
    assert "1 target docs but 2 source docs" in output
    assert not out.exists() and not (tmp_path / "r.json").exists()


def test_bad_jsonl_names_file_line_and_field(tmp_path, src_path):
    tgt = tmp_path / "tgt.jsonl"
    tgt.write_text('{"id": "s1", "text": "Apple ."}\n{"id": "s2"}\n', encoding="utf8")
    code, output = run(src_path, tgt, tmp_path / "out.spacy", "--tgt-lang", "de")
    assert code == 1
    assert f"{tgt}:2: text: missing or empty text" in output
    code, output = run(src_path, tgt, tmp_path / "out.spacy", "--tgt-lang", "de",
                       "--method", "lexical", "--skip-invalid")
    assert code == 0, output
    assert len(read(tmp_path / "out.spacy")) == 1


def test_unknown_target_id_fails(tmp_path, src_path):
    tgt = tmp_path / "tgt.jsonl"
    tgt.write_text('{"id": "zz", "text": "Apple ."}\n', encoding="utf8")
    code, output = run(src_path, tgt, tmp_path / "out.spacy", "--tgt-lang", "de")
    assert code == 1 and "not in" in output


def test_failure_reasons_are_reported_per_language(tmp_path, src_path):
    tgt = tmp_path / "tgt.jsonl"
    # the cities are missing from both translations
    tgt.write_text(json.dumps({"id": "s1", "text": "Apple wurde gegründet ."}) + "\n"
                   + json.dumps({"id": "s2", "text": "Siemens ist ein Unternehmen ."})
                   + "\n", encoding="utf8")
    out, report = tmp_path / "out.spacy", tmp_path / "report.json"
    code, output = run(src_path, tgt, out, "--tgt-lang", "de", "--method", "lexical",
                       "--report", report)
    assert code == 0, output
    assert "de: entities not projected: 2 (not_found 2)" in output
    data = json.loads(report.read_text())
    assert data["failures"]["de"]["entities"] == {"not_found": 2}
    assert data["failures"]["de"]["relations"] == {"argument_not_projected: tail": 2}


def test_a_target_over_max_length_names_its_file_and_line(tmp_path, src_path):
    """spaCy's blank pipeline raises E088 on it, naming neither the file nor the line."""
    long_text = "Apple " * (spacy.blank("de").max_length // 6 + 1)
    tgt = tmp_path / "tgt.jsonl"
    tgt.write_text(json.dumps({"id": "s1", "text": "Apple ."}) + "\n"
                   + json.dumps({"id": "s2", "text": long_text}) + "\n", encoding="utf8")
    out = tmp_path / "out.spacy"
    code, output = run(src_path, tgt, out, "--tgt-lang", "de", "--method", "lexical")
    assert code == 1
    assert f"{tgt}:2: text: {len(long_text):,} characters, over" in output
    assert "E088" not in output and not out.exists()
    code, output = run(src_path, tgt, out, "--tgt-lang", "de", "--method", "lexical",
                       "--skip-invalid")
    assert code == 0, output
    assert len(read(out)) == 1
