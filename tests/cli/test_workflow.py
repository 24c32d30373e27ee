"""Workflow commands of the spaCy project: prepare, show-metrics, update-readme."""

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_xlie.cli import app
from spacy_xlie.cli.workflow import find_pipeline_wheel

MARKED = (
    '1\t"<e1> Apple </e1> was founded by <e2> Steve Jobs </e2> ."\n'
    "org:founded_by(e1,e2)\n\n"
    '2\t"<e1> Siemens </e1> is in <e2> Munich </e2> ."\n'
    "no_relation\n"
)


def run(*args) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def assets(tmp_path) -> Path:
    root = tmp_path / "assets"
    (root / "kbp37").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (root / "kbp37" / f"{split}.txt").write_text(MARKED, encoding="utf8")
    (root / "relx").mkdir()
    (root / "relx" / "RELX_de.txt").write_text(
        MARKED.replace("was founded by", "wurde gegründet von"), encoding="utf8"
    )
    (root / "relx-distant").mkdir()
    record = {"sentence": "Maggi gehört zu Nestlé.", "entity1": "Q1", "entity2": "Q2",
              "entity1_indices": [0, 5], "entity2_indices": [16, 22], "relation": "P127"}
    (root / "relx-distant" / "RELX_distant_de.json").write_text(json.dumps([record]))
    return root


def test_prepare_converts_present_languages_and_skips_missing(tmp_path, assets):
    corpus = tmp_path / "corpus"
    out = run("prepare", assets, corpus, "--relx-langs", "de,tr")
    assert "RELX tr" in out
    names = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.*"))
    assert names == ["eval/kbp37_test.spacy", "eval/relx_de.spacy", "kbp37_dev.spacy",
                     "kbp37_train.spacy", "relx_distant_raw.jsonl"]
    docs = list(DocBin().from_disk(corpus / "eval" / "relx_de.spacy").get_docs(
        spacy.blank("de").vocab))
    assert [d._.xlie_lang for d in docs] == ["de", "de"]
    assert [len(d._.relations) for d in docs] == [1, 0]
    raw = [json.loads(line) for line in (corpus / "relx_distant_raw.jsonl").open()]
    assert raw == [{"id": "RELX_distant_de:0", "lang": "de", "text": "Maggi gehört zu Nestlé."}]


def test_show_metrics_prints_tables_and_headlines(tmp_path):
    (tmp_path / "m.md").write_text("| language | F |\n|---|---|\n| de | 50.0 |\n")
    (tmp_path / "p.json").write_text(json.dumps({"lang": "de", "exact_span_accuracy": 0.9,
                                                 "by_label": {}}))
    out = run("show-metrics", tmp_path / "m.md", tmp_path / "p.json", tmp_path / "none.md")
    assert "| de | 50.0 |" in out
    assert str(tmp_path / "m.md") in out  # each table under its file's name (one per pipeline)
    assert "exact_span_accuracy=0.900" in out and "by_label" not in out
    assert "not found" in out


def test_update_readme_replaces_only_the_results_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\noutro\n")
    table = tmp_path / "cpu.md"
    table.write_text("## Relation extraction\n\n| new |\n\n### F per label\n")
    run("update-readme", readme, table)
    assert readme.read_text() == (
        "intro\n<!-- results:start -->\n<!-- results:pipeline cpu -->\n### Pipeline `cpu`\n\n"
        "#### Relation extraction\n\n| new |\n\n##### F per label\n<!-- results:end -->\n"
        "outro\n"
    )


def test_update_readme_one_section_per_pipeline(tmp_path):
    """Each pipeline's run rewrites its own section and keeps the others."""
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\n<!-- results:end -->\noutro\n")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    for name in ("cpu", "e5small"):
        (metrics / f"{name}.md").write_text(f"## Results\n\n| {name} v1 |\n")
    run("update-readme", readme, metrics / "cpu.md", metrics / "e5small.md")
    (metrics / "cpu.md").write_text("## Results\n\n| cpu v2 |\n")
    run("update-readme", readme, metrics / "cpu.md")
    text = readme.read_text()
    assert text.startswith("intro\n<!-- results:start -->\n") and text.endswith(
        "<!-- results:end -->\noutro\n")
    assert "| cpu v2 |" in text and "| cpu v1 |" not in text and "| e5small v1 |" in text
    assert text.index("### Pipeline `cpu`") < text.index("### Pipeline `e5small`")
    assert text.count("<!-- results:pipeline ") == 2
    run("update-readme", readme, metrics / "e5small.md", "--drop-others")
    assert "| cpu v2 |" not in readme.read_text() and "| e5small v1 |" in readme.read_text()


def test_update_readme_without_markers_fails(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    (tmp_path / "cpu.md").write_text("| x |\n")
    result = CliRunner().invoke(app, ["update-readme", str(readme), str(tmp_path / "cpu.md")])
    assert result.exit_code == 1 and "results:start" in result.output
    assert readme.read_text() == "no markers\n"


def test_find_pipeline_wheel(tmp_path):
    dist = tmp_path / "en_xlie_cpu-0.1.0" / "dist"
    dist.mkdir(parents=True)
    (dist / "en_xlie_cpu-0.1.0-py3-none-any.whl").write_bytes(b"")
    assert find_pipeline_wheel(tmp_path, "xlie_cpu", "0.1.0").name.startswith("en_xlie_cpu")
    with pytest.raises(FileNotFoundError, match="run `package` first"):
        find_pipeline_wheel(tmp_path, "xlie_cpu", "9.9.9")
