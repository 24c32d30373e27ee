"""bench/ensemble_dev.py: one table row per member and the ensemble; fewer than two
members are refused."""

import sys

import pytest

from tests.bench import load_bench

ensemble_dev = load_bench("ensemble_dev")


def test_one_row_per_member_and_the_ensemble():
    report = {"command": "python bench/ensemble_dev.py", "date": "2026-12-07", "machine": "x",
              "corpus": "corpus/kbp37_dev.spacy",
              "rows": {"a": {"model": "training/a", "macro_f": 0.652, "micro_f": 0.668},
                       "ensemble": {"macro_f": 0.665, "micro_f": 0.677}}}
    lines = ensemble_dev.markdown(report).splitlines()
    assert "| a | `training/a` | 65.2 | 66.8 |" in lines
    assert "| ensemble | `-` | 66.5 | 67.7 |" in lines


def test_one_member_is_refused(monkeypatch, tmp_path):
    corpus = tmp_path / "dev.spacy"
    corpus.write_bytes(b"")
    monkeypatch.setattr(sys, "argv", ["ensemble_dev.py", "a=training/a", "--out",
                                      str(tmp_path), "--corpus", str(corpus)])
    with pytest.raises(SystemExit, match="two or more"):
        ensemble_dev.main()
