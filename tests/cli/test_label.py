"""`spacy-xlie kb ...` and `spacy-xlie label`: KB building, corpus labelling, reports,
bad input, atomic shards, and the end-to-end path to training the relation extractor."""

import json
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.kb import RelationKB

DUMP = Path(__file__).parent.parent / "kb" / "fixtures" / "wikidata_small.json"
ROOT = Path(__file__).parent.parent.parent
CORPUS = [
    {"text": "Marie Curie married Pierre Curie.", "id": "a"},
    {"text": "Pierre Curie worked at the Sorbonne in Paris, France.", "id": "b"},
    {"text": "Marie Curie heiratete Pierre Curie in Frankreich.", "lang": "de"},
    {"text": "北京是中国的首都。", "lang": "zh"},
    {"text": "Ankara, Türkiye'nin başkentidir; İstanbul değil.", "lang": "tr"},
    {"text": "Nothing to see here.", "id": "e"},
]
runner = CliRunner()


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("kb") / "kb"
    args = ["kb", "from-wikidata", str(DUMP), "--out", str(out)]
    for lang in ("en", "de", "zh", "tr"):
        args += ["--lang", lang]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "12 entities" in result.output
    return out


def read_shards(out):
    nlp = spacy.blank("en")
    docs = []
    for path in sorted(out.glob("shard-*.spacy")):
        docs.extend(DocBin().from_disk(path).get_docs(nlp.vocab))
    return docs


def test_kb_build_from_files(tmp_path):
    ents, trips = tmp_path / "e.jsonl", tmp_path / "t.tsv"
    srsly.write_jsonl(ents, [{"id": "Q1", "aliases": {"en": ["Ada"]}}, {"id": "Q2"}])
    trips.write_text("Q1\tP19\tQ2\nbroken line\n", encoding="utf8")
    result = runner.invoke(app, ["kb", "build", str(ents), str(trips), str(tmp_path / "kb")])
    assert result.exit_code == 1 and "t.tsv:2" in result.output
    result = runner.invoke(app, ["kb", "build", str(ents), str(trips), str(tmp_path / "kb"),
                                 "--skip-invalid"])
    assert result.exit_code == 0 and "1 bad lines skipped" in result.output
    assert RelationKB.from_disk(tmp_path / "kb").relations("Q1", "Q2") == {"P19": 1.0}


def test_label_jsonl_multilingual(kb_dir, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    srsly.write_jsonl(corpus, CORPUS)
    out = tmp_path / "out"
    result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out), "--shard-size",
                                 "4", "--label-map", "wikidata-kbp37", "--ambiguity", "prior"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "report.json", "shard-00000.spacy", "shard-00001.spacy"]
    assert not list(out.glob(".*"))  # no temporary files left behind
    docs = read_shards(out)
    assert [d._.xlie_lang for d in docs] == ["en", "en", "de", "zh", "tr", "en"]
    assert [d._.xlie_id for d in docs][:3] == ["a", "b", "corpus.jsonl:3"]
    assert ("Marie Curie", "per:spouse", "Pierre Curie") in {
        (r.head.text, r.label, r.tail.text) for r in docs[0]._.relations}
    report = srsly.read_json(out / "report.json")
    assert report["docs"] == 6 and report["skipped"] == 0
    assert report["relations"]["per:spouse"] == 4
    assert report["languages"]["en"]["docs"] == 3
    assert report["languages"]["en"]["coverage"] == pytest.approx(2 / 3)
    assert report["languages"]["zh"]["coverage"] == 1.0
    assert report["mentions"]["linked"] >= 10 and report["pairs"]["labelled"] >= 8


def test_label_text_and_spacy_inputs(kb_dir, tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("Marie Curie married Pierre Curie.\n\nParis is in France.\n", encoding="utf8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["label", str(kb_dir), str(text), str(out), "--report",
                                 str(tmp_path / "r.json"), "--n-process", "2"])
    assert result.exit_code == 0, result.output
    docs = read_shards(out)
    assert [d._.xlie_id for d in docs] == ["corpus.txt:1", "corpus.txt:3"]
    assert srsly.read_json(tmp_path / "r.json")["mentions"]["ambiguous"] == 1
    again = tmp_path / "again"
    result = runner.invoke(app, ["label", str(kb_dir), str(out / "shard-00000.spacy"),
                                 str(again)])
    assert result.exit_code == 0, result.output
    assert [len(d._.relations) for d in read_shards(again)] == [len(d._.relations) for d in docs]


def test_bad_records_fail_or_are_skipped(kb_dir, tmp_path):
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"text": "Marie Curie"}\n{"txt": "x"}\nnot json\n{"text": "Paris", '
                      '"lang": 3}\n', encoding="utf8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out)])
    assert result.exit_code == 1 and "bad.jsonl:2: text:" in result.output
    assert not list(out.glob("*.spacy"))
    result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    report = srsly.read_json(out / "report.json")
    assert report["docs"] == 1 and report["skipped"] == 3
    assert any("bad.jsonl:3" in e for e in report["errors"])


def test_undecodable_line_is_skipped(kb_dir, tmp_path):
    corpus = tmp_path / "in.txt"
    corpus.write_bytes(b"Marie Curie married Pierre Curie.\ncaf\xe9\nParis is in France.\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out)])
    assert result.exit_code == 1 and f"{corpus}:2: encoding: not UTF-8" in result.output
    result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    report = srsly.read_json(out / "report.json")
    assert report["docs"] == 2 and report["skipped"] == 1


def test_unknown_input_type_is_refused(kb_dir, tmp_path):
    table = tmp_path / "data.csv"
    table.write_text("text,id\nMarie Curie,1\n", encoding="utf8")
    result = runner.invoke(app, ["label", str(kb_dir), str(table), str(tmp_path / "out")])
    assert result.exit_code == 1 and "unknown input type '.csv'" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option,exit_code", [("--n-process", 1), ("--batch-size", 2),
                                              ("--shard-size", 2), ("--workers", 2)])
def test_a_count_of_zero_is_refused(kb_dir, tmp_path, option, exit_code):
    """--n-process 0 (spaCy: no process to pipe through; the command's own check, exit 1)
    and sizes of 0 (typer's range, exit 2) stop before any work."""
    src = tmp_path / "in.txt"
    src.write_text("Marie Curie\n", encoding="utf8")
    result = runner.invoke(app, ["label", str(kb_dir), str(src), str(tmp_path / "out"),
                                 option, "0"])
    assert result.exit_code == exit_code and option in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_end_to_end_train_relation_extractor(kb_dir, tmp_path):
    """Dump -> KB -> labelled multilingual corpus -> a few training steps (configs/cpu.cfg)."""
    from spacy.cli.train import train

    corpus = tmp_path / "corpus.jsonl"
    srsly.write_jsonl(corpus, CORPUS * 3)
    out = tmp_path / "silver"
    result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out)])
    assert result.exit_code == 0, result.output
    overrides = {"paths.train": str(out), "paths.dev": str(out), "training.max_steps": 4,
                 "training.eval_frequency": 2, "training.max_epochs": 0}
    train(ROOT / "configs" / "cpu.cfg", tmp_path / "model", overrides=overrides)
    nlp = spacy.load(tmp_path / "model" / "model-last")
    assert "xlie_relation_extractor" in nlp.pipe_names
    assert "P26" in nlp.get_pipe("xlie_relation_extractor").labels


def test_a_line_over_max_length_names_its_file_and_line(kb_dir, tmp_path):
    """spaCy's blank pipeline raises E088 on it, naming neither the file nor the line."""
    long_line = "Paris " * (spacy.blank("en").max_length // 6 + 1)
    out = tmp_path / "out"
    short_line = "Marie Curie married Pierre Curie."
    for corpus, lines in ((tmp_path / "in.txt", [short_line, long_line]),
                          (tmp_path / "in.jsonl", [json.dumps({"text": short_line}),
                                                   json.dumps({"text": long_line})])):
        corpus.write_text("\n".join(lines) + "\n", encoding="utf8")
        result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out)])
        assert result.exit_code == 1
        assert f"{corpus}:2: text: {len(long_line):,} characters, over" in result.output
        assert "E088" not in result.output and not list(out.glob("*.spacy"))
        result = runner.invoke(app, ["label", str(kb_dir), str(corpus), str(out),
                                     "--skip-invalid"])
        assert result.exit_code == 0, result.output
        report = srsly.read_json(out / "report.json")
        assert (report["docs"], report["skipped"]) == (1, 1)
