"""``python scripts/show_metrics.py FILE ...``: the workflow's results printed."""

import json

from . import failure, run


def test_show_metrics_prints_tables_and_headlines(tmp_path):
    (tmp_path / "m.md").write_text("| language | F |\n|---|---|\n| de | 50.0 |\n")
    (tmp_path / "p.json").write_text(json.dumps({"lang": "de", "exact_span_accuracy": 0.9,
                                                 "by_label": {}}))
    out = run("show_metrics", tmp_path / "m.md", tmp_path / "p.json", tmp_path / "none.md")
    assert "| de | 50.0 |" in out
    assert str(tmp_path / "m.md") in out  # each table under its file's name (one per pipeline)
    assert "exact_span_accuracy=0.900" in out and "by_label" not in out
    assert "not found" in " ".join(out.split())  # the message may wrap at the terminal width


def test_show_metrics_bad_json_fails_in_one_line(tmp_path):
    (tmp_path / "p.json").write_text("{not json")
    out = failure("show_metrics", tmp_path / "p.json")
    assert f"{tmp_path / 'p.json'}: not a JSON report" in out
