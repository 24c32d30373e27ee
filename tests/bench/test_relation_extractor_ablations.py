"""bench/relation_extractor.py: the ablation reports copied into its own with nothing
measured again, and a keyed pipeline scored fp32."""

import importlib.util
import json
import sys
from pathlib import Path

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


def test_refresh_copies_both_ablations_and_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(relation_extractor, "markdown", lambda report, _: json.dumps(
        sorted(report)))
    (tmp_path / "relation_extractor.json").write_text(json.dumps(
        {"words_per_second": 1000.0, "ablation": ablation(0.1)}))
    (tmp_path / "e5small_ablation.json").write_text(json.dumps(ablation(0.61)))
    (tmp_path / "e5small_short_ablation.json").write_text(json.dumps(ablation(0.59)))
    relation_extractor.refresh_ablations(tmp_path)
    report = json.loads((tmp_path / "relation_extractor.json").read_text())
    assert report["words_per_second"] == 1000.0
    assert report["ablation"]["runs"][1]["kbp37_dev"]["macro_f"] == 0.61
    assert report["short_ablation"]["runs"][1]["kbp37_dev"]["macro_f"] == 0.59


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
