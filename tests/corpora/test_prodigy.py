"""Prodigy ``rel`` JSONL: tokens kept, inclusive token_end, rejected answers, errors."""

import json

import pytest

from spacy_xlie.corpora import ConvertStats, read_prodigy

from .util import FIXTURES, ents, expect_error, rels, write


def test_accepted_tasks_with_labels_and_direction():
    stats = ConvertStats()
    docs = list(read_prodigy(FIXTURES / "prodigy_rel.jsonl", stats=stats))
    assert len(docs) == 2 and stats.rejected == 1 and stats.skipped == 0
    gates, ada = docs
    assert ents(gates) == [("Bill Gates", "PERSON", ""), ("Microsoft", "ORG", "")]
    assert rels(gates) == [("Microsoft", "Bill Gates", "founded_by")]
    # Without head_span/child_span, head/child name the last token of a span.
    assert rels(ada) == [("Ada", "London", "lives_in")]
    assert [d._.xlie_id for d in docs] == ["prodigy_rel:0", "prodigy_rel:2"]
    assert stats.labels == {"founded_by": 1, "lives_in": 1}


def test_text_only_task_is_tokenised_and_split():
    record = {"text": "Apples Chef", "spans": [{"start": 0, "end": 5, "label": "ORG"},
                                                 {"start": 7, "end": 11, "label": "PER"}],
              "relations": [{"head_span": {"start": 7, "end": 11},
                             "child_span": {"start": 0, "end": 5}, "label": "works_for"}]}
    (doc,) = read_prodigy(write_task(record))
    assert [t.text for t in doc] == ["Apple", "s", "Chef"]
    assert rels(doc) == [("Chef", "Apple", "works_for")]
    # Prodigy token indices mean nothing once the text is re-tokenised.
    record["relations"] = [{"head": 2, "child": 0, "label": "works_for"}]
    expect_error(read_prodigy, write_task(record), 1, "relations[0].head_span", "needs the")


_tmp = {}


@pytest.fixture(autouse=True)
def _tmp_dir(tmp_path):
    _tmp["dir"] = tmp_path


def write_task(*records) -> "object":
    return write(_tmp["dir"], "tasks.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")


GOOD = json.loads((FIXTURES / "prodigy_rel.jsonl").read_text().splitlines()[0])


def changed(path, value):
    record = json.loads(json.dumps(GOOD))
    target = record
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return record


@pytest.mark.parametrize(
    "record,field,match",
    [
        (changed(["tokens", 0, "text"], None), "tokens[0].text", "missing field"),
        (changed(["tokens", 0, "text"], "Bull"), "tokens", "do not spell"),
        (changed(["spans", 0, "token_end"], 9), "spans[0].token_end", "out of range"),
        (changed(["relations", 0, "label"], None), "relations[0].label", "missing field"),
        (changed(["relations"], [{"child": 1, "label": "r"}]), "relations[0].head",
         "missing field"),
        (changed(["relations"], [{"head": 2, "child": 1, "label": "r"}]), "relations[0].head",
         "ends no span"),
        (changed(["relations"], "x"), "relations", "expected a list"),
        (changed(["spans", 1, "token_start"], 1), "spans", "overlap"),
        (changed(["tokens"], []), "tokens", "no tokens"),
        ({"spans": []}, "text", "empty sentence"),
        ([1, 2], "record", "expected a JSON object"),
    ],
)
def test_bad_tasks(record, field, match):
    expect_error(read_prodigy, write_task(GOOD, record), 2, field, match)


def test_invalid_json_line_is_skippable():
    path = write(_tmp["dir"], "t.jsonl", json.dumps(GOOD) + "\n{oops\n")
    expect_error(read_prodigy, path, 2, "json", "invalid JSON")
    stats = ConvertStats()
    assert len(list(read_prodigy(path, skip_invalid=True, stats=stats))) == 1
    assert stats.skipped == 1
