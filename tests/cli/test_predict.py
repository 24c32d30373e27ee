"""``spacy-xlie predict``: raw text / JSONL / DocBin in, relations out, entity sources."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.errors import XlieDataError
from spacy_xlie.predict import count_records, load_pipeline, predict_shard
from spacy_xlie.util.io import write_docbin
from tests.rel_examples import make_examples

GERMAN = "Angela Merkel arbeitet für die CDU in Berlin ."
FRENCH = "Le siège de Airbus se trouve à Toulouse ."


@pytest.fixture
def model(rel_model) -> Path:
    return rel_model


def invoke(*args):
    return CliRunner().invoke(app, ["predict", *map(str, args)])


def relations(record):
    ents = record["entities"]
    return [(ents[r["head"]]["text"], r["label"], ents[r["tail"]]["text"])
            for r in record["relations"]]


def test_text_with_kb_entities_to_jsonl(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(f"{GERMAN}\n\n{FRENCH}\n", encoding="utf8")
    out = tmp_path / "out" / "rel.jsonl"
    result = invoke(model / "model", src, out, "--entities", f"kb:{model / 'kb'}")
    assert result.exit_code == 0, result.output
    assert "2 docs, 5 entities" in result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    assert [r["id"] for r in records] == ["in.txt:1", "in.txt:3"]
    assert [e["kb_id"] for e in records[0]["entities"]] == ["Q567", "Q49762", "Q64"]
    assert relations(records[0]) == [("Angela Merkel", "per:employee_of", "CDU")]
    assert relations(records[1]) == [("Airbus", "org:city_of_headquarters", "Toulouse")]
    assert all(r["source"] == "predicted" for rec in records for r in rec["relations"])


def test_text_without_entity_source_fails(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(GERMAN + "\n", encoding="utf8")
    result = invoke(model / "model", src, tmp_path / "rel.jsonl")
    assert result.exit_code == 1
    assert "--entities kb:PATH" in result.output
    assert not (tmp_path / "rel.jsonl").exists()


def test_jsonl_with_given_entities_to_docbin(model, tmp_path):
    src = tmp_path / "in.jsonl"
    start = FRENCH.index("Airbus")
    src.write_text(json.dumps({
        "id": 7, "lang": "fr", "text": FRENCH,
        "entities": [{"start": start, "end": start + 6, "label": "ORG"},
                     {"start": FRENCH.index("Toulouse"), "end": FRENCH.index("Toulouse") + 8,
                      "label": "LOC"}],
    }) + "\n", encoding="utf8")
    out = tmp_path / "rel.spacy"
    # The KB would add nothing here; "given" disables entity components altogether.
    result = invoke(model / "model", src, out, "--entities", "given")
    assert result.exit_code == 0, result.output
    (doc,) = DocBin().from_disk(out).get_docs(spacy.blank("xx").vocab)
    assert (doc._.xlie_id, doc._.xlie_lang) == ("7", "fr")
    assert [(e.text, e.label_) for e in doc.ents] == [("Airbus", "ORG"), ("Toulouse", "LOC")]
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [
        ("Airbus", "org:city_of_headquarters", "Toulouse")]


@pytest.mark.parametrize("line, where", [
    ('{"text": ""}', "2: text: "),
    ('{"text": "Airbus .", "id": true}', "2: id: "),
    ('{"text": "Airbus .", "entities": [{"start": 0, "end": 99}]}', "2: entities[0].end: "),
    ("not json", "2: json: "),
])
def test_bad_jsonl_names_file_line_field_and_writes_nothing(model, tmp_path, line, where):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": GERMAN}) + "\n" + line + "\n", encoding="utf8")
    out = tmp_path / "rel.jsonl"
    out.write_text("earlier results\n")
    result = invoke(model / "model", src, out, "--entities", f"kb:{model / 'kb'}")
    assert result.exit_code == 1
    assert f"error: {src}:{where}" in result.output
    assert out.read_text() == "earlier results\n"
    result = invoke(model / "model", src, out, "--entities", f"kb:{model / 'kb'}",
                    "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "(1 records skipped)" in result.output
    assert len(out.read_text().splitlines()) == 1


@pytest.mark.parametrize("suffix,good", [(".txt", GERMAN),
                                         (".jsonl", json.dumps({"text": GERMAN}))])
def test_undecodable_line_is_named_and_can_be_skipped(model, tmp_path, suffix, good):
    src = tmp_path / f"in{suffix}"
    src.write_bytes(f"{good}\n".encode() + b"caf\xe9 latin-1\n" + f"{good}\n".encode())
    out = tmp_path / "rel.jsonl"
    args = (model / "model", src, out, "--entities", f"kb:{model / 'kb'}")
    result = invoke(*args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    assert f"error: {src}:2: encoding: not UTF-8" in result.output
    assert not out.exists()
    result = invoke(*args, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "2 docs" in result.output and "(1 records skipped)" in result.output


def test_unreadable_or_unknown_input_is_a_one_line_error(model, tmp_path):
    corrupt = tmp_path / "corrupt.spacy"
    corrupt.write_bytes(b"not a DocBin")
    table = tmp_path / "data.csv"
    table.write_text("text,id\nAngela Merkel,1\n", encoding="utf8")
    for src, message in [(corrupt, f"{corrupt}: docbin: not a readable DocBin"),
                         (table, f"{table}: suffix: unknown input type '.csv': expected .txt")]:
        result = invoke(model / "model", src, tmp_path / "rel.jsonl")
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert f"error: {message}" in result.output, result.output
        assert not (tmp_path / "rel.jsonl").exists()


def test_a_record_over_max_length_is_a_data_error(model, tmp_path):
    """spaCy raises mid-run on a text over ``nlp.max_length`` (a traceback in predict)."""
    nlp = load_pipeline(str(model / "model"), f"kb:{model / 'kb'}")
    nlp.max_length = 100
    src = tmp_path / "in.txt"
    src.write_text(f"{GERMAN}\n{'Berlin ' * 20}\n", encoding="utf8")
    with pytest.raises(XlieDataError, match=r"in\.txt:2: text: 140 characters, over"):
        predict_shard(nlp, src, tmp_path / "out.jsonl")
    report = predict_shard(nlp, src, tmp_path / "out.jsonl", skip_invalid=True)
    assert (report.docs, report.skipped) == (1, 1)


def test_bad_options(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(GERMAN + "\n", encoding="utf8")
    result = invoke(model / "model", src, tmp_path / "rel.csv")
    assert result.exit_code == 1 and "must end in .spacy or .jsonl" in result.output
    result = invoke(model / "model", src, tmp_path / "rel.jsonl", "--entities", "ner")
    assert result.exit_code == 1 and "expected kb:PATH or patterns:PATH" in result.output
    (tmp_path / "rel.jsonl").write_text("kept\n", encoding="utf8")
    for option in ("--batch-size", "--workers", "--shard-size"):
        result = invoke(model / "model", src, tmp_path / "rel.jsonl", option, "0")
        assert result.exit_code == 2 and option in result.output, result.output
    assert (tmp_path / "rel.jsonl").read_text(encoding="utf8") == "kept\n"


def test_batch_size_zero_is_refused_not_an_empty_output(model, tmp_path):
    """spaCy's trained pipes batch with ``minibatch``, which yields nothing at size 0: every
    doc would be dropped and an empty file written over the old output."""
    nlp = load_pipeline(str(model / "model"), f"kb:{model / 'kb'}")
    src = tmp_path / "in.txt"
    src.write_text(GERMAN + "\n", encoding="utf8")
    with pytest.raises(ValueError, match="batch_size: expected 1 or more, got 0"):
        predict_shard(nlp, src, tmp_path / "out.jsonl", batch_size=0)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_folder_as_output_is_a_one_line_error(model, tmp_path):
    """The console script itself (not CliRunner): its entry point turns the file-system
    error into one line."""
    src = tmp_path / "in.txt"
    src.write_text(GERMAN + "\n", encoding="utf8")
    (tmp_path / "out.jsonl").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "spacy_xlie", "predict", str(model / "model"), str(src),
         str(tmp_path / "out.jsonl"), "--entities", f"kb:{model / 'kb'}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'out.jsonl'}: a folder is in the way of the output file")


def test_shard_of_a_docbin_keeps_gold_and_adds_predictions(model, tmp_path):
    """One shard = records [start, stop) of one file: what a distributed run calls."""
    nlp = load_pipeline(str(model / "model"))
    refs = [eg.reference for eg in make_examples(nlp.vocab)]
    write_docbin(refs, tmp_path / "gold.spacy")
    assert count_records(tmp_path / "gold.spacy") == len(refs)
    report = predict_shard(nlp, tmp_path / "gold.spacy", tmp_path / "shard.spacy",
                           start=2, stop=4)
    assert report.docs == 2
    docs = list(DocBin().from_disk(tmp_path / "shard.spacy").get_docs(nlp.vocab))
    assert [d.text for d in docs] == [refs[2].text, refs[3].text]
    assert [(r.label, r.source) for r in docs[0]._.relations] == [
        ("per:employee_of", None), ("per:employee_of", "predicted")]


def test_shard_stops_on_bad_record_and_reports_it(model, tmp_path):
    nlp = load_pipeline(str(model / "model"), "given")
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "a"}\n{"txt": "b"}\n', encoding="utf8")
    with pytest.raises(XlieDataError, match=r"in\.jsonl:2: text: missing field"):
        predict_shard(nlp, src, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_patterns_source(model, tmp_path):
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text('{"label": "ENT", "pattern": "Airbus"}\n'
                        '{"label": "ENT", "pattern": "Toulouse"}\n')
    nlp = load_pipeline(str(model / "model"), f"patterns:{patterns}")
    assert nlp.pipe_names == ["tok2vec", "xlie_entities", "xlie_relation_extractor"]
    doc = nlp(FRENCH)
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [
        ("Airbus", "org:city_of_headquarters", "Toulouse")]
