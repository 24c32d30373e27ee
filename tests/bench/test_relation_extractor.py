"""bench/relation_extractor.py: the ablation reports copied into its own with nothing
measured again, a keyed pipeline scored fp32, and what #24's speed-up bar leaves the int8
transformer."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # relation_extractor imports its neighbours as the bench does
SPEC = importlib.util.spec_from_file_location("relation_extractor",
                                              BENCH / "relation_extractor.py")
relation_extractor = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(relation_extractor)


def ablation(dev: float) -> dict:
    return {"command": "python bench/e5small_runs.py", "date": "2026-12-04", "base": "b",
            "tests": [], "runs": [
                {"name": "b", "note": "", "kbp37_dev": {"macro_f": 0.6, "micro_f": 0.0},
                 "test": {}},
                {"name": "x", "note": "", "kbp37_dev": {"macro_f": dev, "micro_f": 0.0},
                 "test": {}}]}


def test_refresh_copies_the_ablations_drops_retired_ones_and_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(relation_extractor, "markdown", lambda report, _: json.dumps(
        sorted(report)))
    (tmp_path / "relation_extractor.json").write_text(json.dumps(
        {"words_per_second": 1000.0, "ablation": ablation(0.1), "retired": ablation(0.2)}))
    (tmp_path / "e5small_ablation.json").write_text(json.dumps(ablation(0.61)))
    (tmp_path / "e5small_short_ablation.json").write_text(json.dumps(ablation(0.59)))
    relation_extractor.refresh_ablations(tmp_path)
    report = json.loads((tmp_path / "relation_extractor.json").read_text())
    assert report["words_per_second"] == 1000.0
    assert report["ablation"]["runs"][1]["kbp37_dev"]["macro_f"] == 0.61
    assert report["short_ablation"]["runs"][1]["kbp37_dev"]["macro_f"] == 0.59
    assert "retired" not in report  # a section no longer in ABLATIONS leaves with it


def test_each_ablation_gets_its_section():
    lines = relation_extractor.ablation_section(
        ablation(0.59), *relation_extractor.ABLATIONS["short_ablation"])
    assert "## Levers on a shorter schedule (1,000 steps)" in lines
    assert any("bench/results/e5small_short_ablation.md" in line for line in lines)
    assert any("-1.0" in line for line in lines)


def _model_with_transformer(path: Path, factory: str) -> Path:
    path.mkdir()
    (path / "config.cfg").write_text(
        f"[components]\n\n[components.transformer]\nfactory = \"{factory}\"\n")
    return path


def test_keyed_xlie_pipeline_is_scored_fp32(tmp_path):
    # an xlie_transformer loads int8 on CPU unless told otherwise: a seed's row must be fp32,
    # as the e5small row it is tabled beside
    xlie = _model_with_transformer(tmp_path / "xlie", "xlie_transformer")
    plain = _model_with_transformer(tmp_path / "plain", "transformer")
    fp32 = {"components": {"transformer": {"quantize": "off"}}}
    int8 = {"components": {"transformer": {"quantize": "int8"}}}
    assert relation_extractor.keyed_variants("seed1", None, xlie) == {"seed1": fp32}
    assert relation_extractor.keyed_variants("cnn", None, plain) == {"cnn": None}
    assert relation_extractor.keyed_variants("e5", "e5_int8", xlie) == {"e5": fp32,
                                                                        "e5_int8": int8}


def timed(transformer: float, ner: float, rel: float) -> dict:
    return {"seconds": transformer + ner + rel, "component_seconds": {
        "transformer": transformer, "ner": ner, "xlie_relation_extractor": rel}}


def test_budget_is_the_target_time_less_the_other_components():
    fp32 = [timed(3.5, 1.0, 0.5), timed(2.5, 1.0, 0.5)]  # 5.0 and 4.0 s: mean 4.5
    int8 = [timed(2.0, 0.8, 0.2), timed(1.2, 0.6, 0.2)]  # others: mean 0.7 + 0.2
    budget = relation_extractor.int8_budget(fp32, int8, target=2.5)
    assert budget["fp32_seconds"] == pytest.approx(4.5)
    assert budget["int8_other_seconds"] == pytest.approx(0.9)
    assert budget["transformer_allowed_seconds"] == pytest.approx(4.5 / 2.5 - 0.9)
    assert budget["ceiling"] == pytest.approx(5.0)
    assert budget["int8_components"]["transformer"] == pytest.approx(1.6)
    assert budget["fp32_components"]["ner"] == pytest.approx(1.0)


def test_budget_renders_every_component():
    budget = relation_extractor.int8_budget([timed(3.0, 1.0, 0.5)], [timed(2.0, 1.0, 0.5)])
    text = "\n".join(relation_extractor.budget_markdown(budget))
    assert "| ner | 1.000 | 1.000 |" in text
    assert "| xlie_relation_extractor | 0.500 | 0.500 |" in text
    assert "leaves the transformer 0.30 s" in text  # 4.5 / 2.5 - 1.5


def test_budget_splits_the_transformer_at_its_encoder_calls():
    fp32 = {**timed(3.0, 1.0, 0.5), "encoder_call_seconds": 2.0}
    int8 = {**timed(0.5, 1.0, 0.5), "encoder_call_seconds": 0.25}
    budget = relation_extractor.int8_budget([fp32], [int8])
    text = "\n".join(relation_extractor.budget_markdown(budget))
    assert "| (transformer: its encoder calls) | 2.000 | 0.250 |" in text
    assert "alignment) | 1.000 | 0.250 |" in text
    assert "leaves the calls themselves 0.05 s" in text  # 4.5 / 2.5 - 1.5 - 0.25


def test_encoder_calls_are_timed_beneath_the_module():
    import time

    import torch

    class Slow(torch.nn.Module):
        def forward(self, x):
            time.sleep(0.05)
            return x

    class Pipe:
        class model:
            transformer = Slow()

    seconds = relation_extractor.time_encoder_calls(Pipe)
    Pipe.model.transformer(torch.zeros(1))
    Pipe.model.transformer(torch.zeros(1))
    assert len(seconds) == 2
    assert all(s >= 0.05 for s in seconds)
