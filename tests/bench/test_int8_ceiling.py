"""bench/int8_ceiling.py: ONNX Runtime's profile summed per node type, the products split
from the rest, and the ceiling and the speed the bar asks of the int8 products."""

import json

import pytest

from tests.bench import load_bench

int8_ceiling = load_bench("int8_ceiling")


def test_kernel_times_are_summed_per_node_type(tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps([
        {"cat": "Session", "name": "model_run", "dur": 9_000_000},
        {"cat": "Node", "name": "qkv_kernel_time", "dur": 1_500_000,
         "args": {"op_name": "DynamicQuantizeMatMul"}},
        {"cat": "Node", "name": "qkv_fence_before", "dur": 7,
         "args": {"op_name": "DynamicQuantizeMatMul"}},
        {"cat": "Node", "name": "out_kernel_time", "dur": 500_000,
         "args": {"op_name": "DynamicQuantizeMatMul"}},
        {"cat": "Node", "name": "ln_kernel_time", "dur": 250_000,
         "args": {"op_name": "LayerNormalization"}},
    ]))
    assert int8_ceiling.node_seconds(profile) == pytest.approx(
        {"DynamicQuantizeMatMul": 2.0, "LayerNormalization": 0.25})


def test_the_ceiling_takes_every_product_away_and_nothing_else():
    fp32 = {"seconds": 8.0, "thinc_product_seconds": 0.6}
    int8 = {"seconds": 5.0, "thinc_product_seconds": 0.5}
    int8_profiled = {"onnx_node_seconds": {"DynamicQuantizeMatMul": 1.5, "Mul": 0.2,
                                           "MatMul": 0.3, "Gelu": 0.4, "Transpose": 0.1}}
    fp32_profiled = {"torch_gemm_seconds": 4.4}
    c = int8_ceiling.ceiling(fp32, int8, int8_profiled, fp32_profiled)
    # products: 1.5 + 0.2 + 0.3 in the graph, 0.5 in thinc; Gelu and Transpose stay
    assert c["onnx_product_seconds"] == pytest.approx(2.0)
    assert c["onnx_other_node_seconds"] == pytest.approx(0.5)
    assert c["int8_seconds_without_products"] == pytest.approx(2.5)
    assert c["ceiling_ratio"] == pytest.approx(3.2)
    assert c["measured_ratio"] == pytest.approx(1.6)
    # 2.5x leaves 8.0 / 2.5 - 2.5 = 0.7 s to products the fp32 pipeline ran in 4.4 + 0.6
    assert c["product_seconds_allowed"] == pytest.approx(0.7)
    assert c["speedup_over_fp32_products_needed"] == pytest.approx(7.14, abs=0.01)
    # at VNNI's 4x the 5.0 s of fp32 products take 1.25 s: 8.0 / (2.5 + 1.25)
    assert c["ratio_at_vnni_peak"] == pytest.approx(2.133, abs=0.001)
    # the int8 pass's 2.5 s outside its 2.5 s of products taken from both: 5.5 / 2.5
    assert c["ratio_without_rest"] == pytest.approx(2.2)


def test_free_products_that_still_miss_the_bar_need_no_speed():
    fp32 = {"seconds": 5.0, "thinc_product_seconds": 0.5}
    int8 = {"seconds": 4.0, "thinc_product_seconds": 0.5}
    c = int8_ceiling.ceiling(fp32, int8, {"onnx_node_seconds": {"MatMul": 1.0}},
                             {"torch_gemm_seconds": 2.0})
    assert c["speedup_over_fp32_products_needed"] is None
    assert int8_ceiling.needed(None) == "-"


def test_the_int8_units_are_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16\n"
                       "processor\t: 1\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16\n")
    flags = int8_ceiling.cpu_flags(cpuinfo)
    assert flags == {"avx512_vnni": True, "amx_int8": False}
    assert "no AMX" in int8_ceiling.int8_units(flags)
    assert "AMX int8" in int8_ceiling.int8_units({"avx512_vnni": True, "amx_int8": True})
    assert int8_ceiling.cpu_flags(tmp_path / "absent") == {"avx512_vnni": False,
                                                           "amx_int8": False}


def test_the_medians_count_a_bar_out_of_reach_as_infinitely_far():
    def round_(ratio, needed):
        return {"ceiling": {"measured_ratio": ratio, "ceiling_ratio": 2 * ratio,
                            "speedup_over_fp32_products_needed": needed,
                            "ratio_at_vnni_peak": ratio + 0.5, "ratio_without_rest": 1.0}}
    rounds = [round_(1.5, 8.0), round_(1.7, None), round_(1.6, 5.0)]
    assert int8_ceiling.medians(rounds) == {
        "median_measured_ratio": 1.6, "median_ceiling_ratio": 3.2,
        # 5.0, 8.0 and infinity: the middle one
        "median_speedup_needed": 8.0,
        "median_ratio_at_vnni_peak": 2.1, "median_ratio_without_rest": 1.0}
