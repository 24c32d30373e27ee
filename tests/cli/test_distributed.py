"""``label``, ``project`` and ``predict`` on a Dask scheduler (``--scheduler``): the
merged shards equal the single-process output, and bad input fails with FILE:LINE."""

import json

import pytest
import spacy
import srsly
from spacy.tokens import DocBin, Span
from typer.testing import CliRunner

from spacy_xlie import add_entities, add_relation
from spacy_xlie.cli import app
from spacy_xlie.util.io import write_docbin

from .test_predict import FRENCH, GERMAN

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [*map(str, args)])
    return result.exit_code, result.output


def merged_docs(out, lang="de"):
    """All docs of a directory's shards, in order, as one DocBin's bytes."""
    vocab = spacy.blank(lang).vocab
    docs = [d for p in sorted(out.glob("shard-*.spacy")) for d in DocBin().from_disk(p)
            .get_docs(vocab)]
    return DocBin(store_user_data=True, docs=docs).to_bytes()


def single_docs(path, lang="de"):
    docs = DocBin().from_disk(path).get_docs(spacy.blank(lang).vocab)
    return DocBin(store_user_data=True, docs=docs).to_bytes()


def test_label(tmp_path, dask_scheduler):
    from .test_label import CORPUS, DUMP

    kb = tmp_path / "kb"
    assert invoke("kb", "from-wikidata", DUMP, "--out", kb, "--lang", "en", "--lang", "de")[0] == 0
    corpus = tmp_path / "corpus.jsonl"
    srsly.write_jsonl(corpus, [r for r in CORPUS if r.get("lang", "en") in ("en", "de")] * 3)
    code, output = invoke("label", kb, corpus, tmp_path / "one", "--shard-size", "4")
    assert code == 0, output
    code, output = invoke("label", kb, corpus, tmp_path / "many", "--shard-size", "4",
                          "--scheduler", dask_scheduler)
    assert code == 0, output
    assert "Labelled 12 docs (0 skipped) into 3 shard(s)" in output
    for name in ("shard-00000.spacy", "shard-00001.spacy", "shard-00002.spacy"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()
    one, many = (srsly.read_json(tmp_path / d / "report.json") for d in ("one", "many"))
    assert one["relations"] == many["relations"] and many["languages"]["de"]["docs"] == 3
    code, output = invoke("label", kb, corpus, tmp_path / "many", "--shard-size", "4",
                          "--scheduler", dask_scheduler)
    assert code == 0 and "(3 reused)" in output


@pytest.fixture
def parallel(tmp_path):
    """A source DocBin of 8 docs, targets as JSONL in reverse order (paired by id)."""
    pairs = [("Apple was founded in Cupertino .", "Apple wurde in Cupertino gegründet ."),
             ("Siemens is based in Munich .", "Siemens hat seinen Sitz in München .")] * 4
    nlp = spacy.blank("en")
    docs = []
    for i, (text, _) in enumerate(pairs):
        doc = nlp(text)
        head, tail = add_entities(doc, [Span(doc, 0, 1, "ORG"), Span(doc, 4, 5, "LOC")])
        add_relation(doc, head, tail, "based_in")
        doc._.xlie_id = f"s{i}"
        docs.append(doc)
    write_docbin(docs, tmp_path / "src.spacy")
    tgt = tmp_path / "tgt.jsonl"
    tgt.write_text("".join(json.dumps({"id": f"s{i}", "text": t}) + "\n"
                           for i, (_, t) in reversed(list(enumerate(pairs)))), encoding="utf8")
    return tmp_path / "src.spacy", tgt


def test_project(parallel, tmp_path, dask_scheduler):
    src, tgt = parallel
    args = ["project", src, tgt]
    common = ["--tgt-lang", "de", "--method", "lexical"]
    code, output = invoke(*args, tmp_path / "one.spacy", *common, "--report", tmp_path / "r1")
    assert code == 0, output
    code, output = invoke(*args, tmp_path / "many", *common, "--shard-size", "3",
                          "--scheduler", dask_scheduler, "--report", tmp_path / "r2")
    assert code == 0, output
    assert "wrote 8 docs to 3 shard(s)" in output and "entities projected: 16/16" in output
    assert merged_docs(tmp_path / "many") == single_docs(tmp_path / "one.spacy")
    one, many = srsly.read_json(tmp_path / "r1"), srsly.read_json(tmp_path / "r2")
    assert many["entities"] == one["entities"] and many["relations"] == one["relations"]
    assert many["pairing"] == "id"
    # --no-quantize is part of the job: the shards are not reused, the manifest says so
    code, output = invoke(*args, tmp_path / "many", *common, "--shard-size", "3",
                          "--no-quantize", "--scheduler", dask_scheduler)
    assert code == 0 and "(0 reused;" in output, output
    assert srsly.read_json(tmp_path / "many" / "manifest.json")["settings"]["quantize"] is False


def test_project_failures_keyed_by_target_language(parallel, tmp_path, dask_scheduler):
    src, tgt = parallel
    lines = tgt.read_text(encoding="utf8").splitlines()
    lines[0] = json.dumps({"id": "s7", "text": "Siemens ist ein Unternehmen ."})
    tgt.write_text("\n".join(lines) + "\n", encoding="utf8")
    code, output = invoke("project", src, tgt, tmp_path / "many", "--tgt-lang", "de",
                          "--method", "lexical", "--shard-size", "3",
                          "--scheduler", dask_scheduler, "--report", tmp_path / "r")
    assert code == 0, output
    failures = srsly.read_json(tmp_path / "r")["failures"]
    assert failures["de"]["entities"] == {"not_found": 1} and "xx" not in failures


def test_project_bad_target_line(parallel, tmp_path, dask_scheduler):
    src, tgt = parallel
    lines = tgt.read_text(encoding="utf8").splitlines()
    lines[5] = json.dumps({"id": "s2", "text": ""})
    tgt.write_text("\n".join(lines) + "\n", encoding="utf8")
    code, output = invoke("project", src, tgt, tmp_path / "out", "--tgt-lang", "de",
                          "--method", "lexical", "--scheduler", dask_scheduler)
    assert code == 1 and f"error: {tgt}:6: text: missing or empty text" in output
    assert not (tmp_path / "out").exists()  # pairing is checked before any shard runs


def test_predict(rel_model, tmp_path, dask_scheduler):
    src = tmp_path / "in.txt"
    src.write_text(f"{GERMAN}\n\n{FRENCH}\n{FRENCH}\n{GERMAN}\n", encoding="utf8")
    model, kb = rel_model / "model", f"kb:{rel_model / 'kb'}"
    code, output = invoke("predict", model, src, tmp_path / "one.jsonl", "--entities", kb)
    assert code == 0, output
    code, output = invoke("predict", model, src, tmp_path / "many", "--entities", kb,
                          "--shard-size", "2", "--shard-format", "jsonl",
                          "--scheduler", dask_scheduler)
    assert code == 0, output
    assert "4 docs in 2 shard(s)" in output
    shards = sorted((tmp_path / "many").glob("shard-*.jsonl"))
    merged = "".join(p.read_text(encoding="utf8") for p in shards)
    assert merged == (tmp_path / "one.jsonl").read_text(encoding="utf8")
    assert json.loads(merged.splitlines()[3])["id"] == "in.txt:5"


def test_predict_bad_record(rel_model, tmp_path, dask_scheduler):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": GERMAN}) + "\n" + json.dumps({"text": GERMAN}) + "\n"
                   + "not json\n", encoding="utf8")
    model, kb = rel_model / "model", f"kb:{rel_model / 'kb'}"
    args = ["predict", model, src, tmp_path / "out", "--entities", kb, "--shard-size", "2",
            "--scheduler", dask_scheduler]
    code, output = invoke(*args)
    assert code == 1 and f"error: {src}:3: json: " in output
    assert "shard-00001.spacy" not in srsly.read_json(tmp_path / "out" / "manifest.json")[
        "entries"]
    code, output = invoke(*args, "--skip-invalid")
    assert code == 0 and "2 docs in 2 shard(s)" in output and "(1 records skipped)" in output
