"""bench/onnx_buckets.py: a pipeline without an int8 encoder is refused in one line, and
one table row per setting."""

from types import SimpleNamespace

import pytest

from tests.bench import load_bench

onnx_buckets = load_bench("onnx_buckets")


def test_a_pipeline_without_an_int8_encoder_is_refused():
    fp32 = SimpleNamespace(get_pipe=lambda name: SimpleNamespace(_int8=None))
    with pytest.raises(SystemExit, match="without an int8 encoder"):
        onnx_buckets.set_buckets(fp32, True)


def test_one_row_per_setting():
    shapes = {"separate": {"words_per_second": 3443.2}, "joined": {"words_per_second": 2676.0}}
    row = {"macro_f": 0.654, "relations_differing_docs": 25, "relations_docs": 1724,
           "wikiann_en_val_f": 0.796, "entities_differing_docs": 176, "entities_docs": 10000}
    report = {"command": "python bench/onnx_buckets.py", "date": "2026-12-07", "machine": "x",
              "model": "m", "sentences": 1724, "sentences_per_doc": 20, "rounds": 2,
              "speed": {"false": shapes}, "fidelity": {"false": row}}
    lines = onnx_buckets.markdown(report).splitlines()
    assert "| false | 3,443 | 2,676 | 65.4 | 25 of 1,724 | 79.6 | 176 of 10,000 |" in lines
