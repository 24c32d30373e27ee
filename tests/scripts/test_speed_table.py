"""``python scripts/speed_table.py README.md --bench DIR``: the README's speed and
workflow-memory tables from the benchmark reports."""

import json

from . import failure, run

RELATION_EXTRACTOR = {
    "date": "2026-11-23T10:00:00", "words_per_second": {"cpu": 20518.8},
    "peak_rss_mb": {"cpu": 563.9}, "speed_kept": {"date": "2026-11-20T10:00:00"},
    "e5small": {"words_per_second": 2573.2, "peak_rss_mb": 2868.6,
                "date": "2026-12-03T18:44:18"},
    "e5small_int8": {"words_per_second": 2824.3, "peak_rss_mb": 2868.7,
                     "date": "2026-12-03T18:45:07"},
    "int8_speedup": 1.0976,
}
WORKFLOW = {"steps": [{"step": "prepare", "seconds": 26.5, "peak_rss_mb": 668.1},
                      {"step": "train-e5", "seconds": 3226.9, "peak_rss_mb": 3754.6}]}


def reports(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "relation_extractor.json").write_text(json.dumps(RELATION_EXTRACTOR))
    (bench / "workflow_memory.json").write_text(json.dumps(WORKFLOW))
    return bench


def test_tables_go_between_their_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- speed:start -->\nold\n<!-- speed:end -->\nb\n"
                      "<!-- workflow-memory:start --><!-- workflow-memory:end -->\nc\n")
    run("speed_table", readme, "--bench", reports(tmp_path))
    assert readme.read_text() == (
        "a\n<!-- speed:start -->\n"
        "| pipeline | words/s | peak RSS (MB) | measured |\n|---|---:|---:|---|\n"
        "| `cpu` (CNN tok2vec) | 20,519 | 564 | 2026-11-20 |\n"
        "| `e5small`, `quantize = \"off\"` (fp32) | 2,573 | 2,869 | 2026-12-03 |\n"
        "| `e5small` int8 (shipped: `quantize = \"auto\"`) | 2,824 | 2,869 | 2026-12-03 |\n\n"
        "int8 / fp32 words/s in one run: 1.10x.\n<!-- speed:end -->\nb\n"
        "<!-- workflow-memory:start -->\n"
        "| step | wall (min) | peak RSS (MB) |\n|---|---:|---:|\n"
        "| prepare | 0.4 | 668 |\n| train-e5 | 53.8 | 3,755 |\n"
        "<!-- workflow-memory:end -->\nc\n")


def test_missing_markers_fail_with_a_message(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- speed:start --><!-- speed:end -->\n")
    message = failure("speed_table", readme, "--bench", reports(tmp_path))
    assert "no <!-- workflow-memory:start --> ... <!-- workflow-memory:end --> block" in message
    assert readme.read_text() == "<!-- speed:start --><!-- speed:end -->\n"  # untouched
