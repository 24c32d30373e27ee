"""bench/e5small_runs.py's ablation table: each run against the base run."""

import json

import pytest

from tests.bench import load_bench

e5small_runs = load_bench("e5small_runs")


def run(name: str, dev: float, relx_de: float) -> dict:
    return {"name": name, "note": "", "kbp37_dev": {"macro_f": dev, "micro_f": 0.0},
            "test": {"relx_de": {"macro_f": relx_de, "micro_f": 0.0}}}


REPORT = {"runs": [run("base", 0.60, 0.50), {**run("change", 0.625, 0.49), "train_minutes": 31.5}],
          "tests": ["relx_de"], "base": "base"}


def test_ablation_rows_are_differences_from_the_base():
    base, change = e5small_runs.ablation_rows(REPORT)
    assert base["effect"] == {}
    assert change["scores"] == {"KBP37 dev": 0.625, "relx_de": 0.49}
    assert round(change["effect"]["KBP37 dev"], 6) == 0.025
    assert round(change["effect"]["relx_de"], 6) == -0.01


def test_ablation_markdown_shows_scores_and_signed_differences():
    lines = e5small_runs.ablation_markdown(REPORT)
    assert "| base | 60.0 | 50.0 |  |  |" in lines
    assert "| change | 62.5 (+2.5) | 49.0 (-1.0) | 31.5 |  |" in lines


def test_without_a_base_no_differences():
    lines = e5small_runs.ablation_markdown({**REPORT, "base": None})
    assert "| change | 62.5 | 49.0 | 31.5 |  |" in lines


def test_without_test_files_the_text_names_kbp37_dev_alone():
    """A report scored on KBP37 dev only (a run whose rule left RELX unscored) says so."""
    lines = e5small_runs.ablation_markdown({**REPORT, "tests": []})
    assert lines[0].startswith("Relation macro-F with the gold entities (official scorer, %) "
                               "on KBP37 dev; in brackets")
    assert "| change | 62.5 (+2.5) | 31.5 |  |" in lines
    assert "test files" in e5small_runs.ablation_markdown(REPORT)[0]


def test_train_minutes_from_the_time_file_beside_the_run(tmp_path):
    (tmp_path / "run-time.txt").write_text(
        '\tCommand being timed: "spacy train"\n'
        "\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:26:30\n")
    (tmp_path / "short-time.txt").write_text(
        "\tElapsed (wall clock) time (h:mm:ss or m:ss): 37:52.62\n")
    assert e5small_runs.train_minutes(tmp_path / "run") == 86.5
    assert round(e5small_runs.train_minutes(tmp_path / "short"), 3) == 37.877
    assert e5small_runs.train_minutes(tmp_path / "none") is None


def test_settings_read_from_the_runs_config_sections(tmp_path):
    """Each column's key is found in its own section, or in the listener's embed/encode
    subsections; a setting the config lacks is None."""
    (tmp_path / "config.cfg").write_text(
        "[training]\nmax_steps = 3000\ndropout = 0.0\n\n"
        "[training.optimizer]\nhead_learn_rate_scale = 5.0\n\n"
        "[training.optimizer.learn_rate]\ninitial_rate = 0.0003\n\n"
        "[components]\n\n[components.ner]\n\n[components.ner.model]\n\n"
        "[components.ner.model.tok2vec]\n\n[components.ner.model.tok2vec.embed]\n"
        "grad_factor = 0.01\n\n[components.ner.model.tok2vec.encode]\ndepth = 2\n")
    found = e5small_runs.settings(tmp_path)
    assert found["peak learning rate"] == 0.0003
    assert found["head learning-rate scale"] == 5.0
    assert found["steps"] == 3000
    assert found["training dropout"] == 0.0
    assert (found["NER grad_factor"], found["NER own layers"]) == (0.01, 2)
    assert found["class weight power"] is None


def test_settings_cells_as_the_config_spells_them():
    assert e5small_runs.setting_cell(0.00030000000000000003) == "0.0003"
    assert e5small_runs.setting_cell(1.0) == "1.0"
    assert e5small_runs.setting_cell(None) == "None"
    assert e5small_runs.setting_cell("spacy.batch_by_padded.v1") == "spacy.batch_by_padded.v1"


def test_peak_rss_from_the_time_file_beside_the_run(tmp_path):
    (tmp_path / "run-time.txt").write_text(
        "\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:17:07\n"
        "\tMaximum resident set size (kbytes): 5083648\n"
        "\tAverage resident set size (kbytes): 0\n")
    assert e5small_runs.peak_rss_mb(tmp_path / "run") == 4964.5
    assert e5small_runs.peak_rss_mb(tmp_path / "none") is None


def test_reused_run_is_the_earlier_reports_row(tmp_path):
    (tmp_path / "earlier.json").write_text(json.dumps(REPORT))
    row = e5small_runs.reused_run(tmp_path, "earlier:change", ["relx_de"])
    assert row["kbp37_dev"] == {"macro_f": 0.625, "micro_f": 0.0}
    assert row["train_minutes"] == 31.5
    assert row["note"] == " (as measured in earlier.json)"


@pytest.mark.parametrize("spec,tests,message", [
    ("missing:base", ["relx_de"], "no report"),
    ("earlier:other", ["relx_de"], "has no run 'other'"),
    ("earlier:base", ["relx_de", "relx_fr"], "did not score it on relx_fr"),
])
def test_reused_run_refuses_what_the_report_lacks(tmp_path, spec, tests, message):
    (tmp_path / "earlier.json").write_text(json.dumps(REPORT))
    with pytest.raises(ValueError, match=message):
        e5small_runs.reused_run(tmp_path, spec, tests)
