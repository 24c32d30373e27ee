"""bench/relation_errors.py: the runs-side-by-side totals of earlier reports."""

import json

import pytest

from tests.bench import load_bench

relation_errors = load_bench("relation_errors")

TALLIES = {
    "gold_types": {
        "per:spouse": {"support": 4, "found": 2, "wrong direction": 2},
        "org:members": {"support": 5, "found": 1, "missed": 3, "other type": 1},
    },
    "taken_for": {"org:members": {"org:subsidiaries": 1}},
    "false_alarms": {"per:employee_of": 6, "org:founded": 1},
}


def test_totals_sum_every_gold_type_and_the_false_alarms():
    assert relation_errors.totals(TALLIES) == {
        "support": 9, "found": 3, "missed": 3, "wrong direction": 2, "other type": 1,
        "false alarms": 7}


def test_compare_reads_each_named_report(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"tallies": TALLIES}))
    runs = relation_errors.compare([f"shipped={tmp_path / 'a.json'}"])
    assert runs["shipped"]["totals"]["missed"] == 3
    text = relation_errors.compare_markdown({"command": "c", "date": "d", "runs": runs})
    assert f"| shipped | `{tmp_path / 'a.json'}` | 9 | 3 | 3 | 2 | 1 | 7 |" in text


@pytest.mark.parametrize("spec,message", [
    ("no-equals-sign", "expected NAME=PATH"),
    ("x=missing.json", "no report at missing.json"),
])
def test_compare_refuses_a_bad_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        relation_errors.compare([spec])


@pytest.mark.parametrize("content", ["{not json", '{"runs": []}', "[1, 2]"])
def test_compare_refuses_a_file_that_is_not_an_errors_report(tmp_path, content):
    (tmp_path / "other.json").write_text(content)
    with pytest.raises(ValueError, match="is not a relation_errors.json report"):
        relation_errors.compare([f"x={tmp_path / 'other.json'}"])
