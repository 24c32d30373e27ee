"""bench/marker_probe.py: where the markers go, which pieces each feature pools, and one
short run of every variant on a tiny encoder."""

import json
from pathlib import Path

import pytest
import spacy
import torch
from spacy.tokens import DocBin

from spacy_xlie.relations import add_relation, span_from_tokens
from tests.bench import load_bench

marker_probe = load_bench("marker_probe")

WORDS = "a b c d e f".split()


@pytest.mark.parametrize("head, tail, words, new_head, new_tail", [
    # the head ends where the tail starts: its closing marker comes first
    ((1, 2), (2, 4), ["a", "@", "b", "@", "#", "c", "d", "#", "e", "f"], (2, 3), (5, 7)),
    # the tail ends where the head starts
    ((2, 4), (1, 2), ["a", "#", "b", "#", "@", "c", "d", "@", "e", "f"], (5, 7), (2, 3)),
    # spans at both ends of the sentence
    ((4, 6), (0, 1), ["#", "a", "#", "b", "c", "d", "@", "e", "f", "@"], (7, 9), (1, 2)),
])
def test_markers_wrap_each_argument(head, tail, words, new_head, new_tail):
    assert marker_probe.marked(WORDS, head, tail) == (words, new_head, new_tail)


def test_piece_ranges_cover_every_piece_of_a_word_and_clamp_truncated_words():
    assert marker_probe.piece_ranges([None, 0, 1, 1, 2, None], 3) == [(1, 2), (2, 4), (4, 5)]
    assert marker_probe.piece_ranges([None, 0, 1, None], 3) == [(1, 2), (2, 3), (2, 3)]


def one_hot_pieces(n: int):
    """Piece i's vector is the i-th unit vector: a pooled vector names its pieces."""
    return torch.eye(n), [(i, i + 1) for i in range(n)]


def test_marked_between_context_leaves_out_the_inner_markers():
    # a @ b @ x y # c #: head b (2, 3), tail c (7, 8), opening markers at 1 and 6
    states, ranges = one_hot_pieces(9)
    features = marker_probe.pair_vector("markers", states, ranges, (2, 3), (7, 8), 1, 6)
    between_mean = features[4 * 9:5 * 9]
    assert between_mean.tolist() == [0, 0, 0, 0, 0.5, 0.5, 0, 0, 0]
    assert features[0:9].tolist() == torch.eye(9)[2].tolist()  # head mean: b only
    assert features[2 * 9:3 * 9].tolist() == torch.eye(9)[7].tolist()  # tail mean: c only


def test_unmarked_between_context_is_the_words_between_the_spans():
    # a b x y c: head b (1, 2), tail c (4, 5)
    states, ranges = one_hot_pieces(5)
    features = marker_probe.pair_vector("none", states, ranges, (4, 5), (1, 2), None, None)
    assert features[4 * 5:5 * 5].tolist() == [0, 0, 0.5, 0.5, 0]
    assert features[0:5].tolist() == torch.eye(5)[4].tolist()  # the head comes first


def test_marker_start_features_are_the_two_opening_markers():
    states, ranges = one_hot_pieces(9)
    features = marker_probe.pair_vector("markers_start", states, ranges, (2, 3), (7, 8), 1, 6)
    assert features.tolist() == torch.eye(9)[1].tolist() + torch.eye(9)[6].tolist()


def write_corpus(path: Path) -> None:
    """Four two-entity sentences, three of them with a relation (both directions), and one
    sentence with a single entity, which the probe leaves out."""
    nlp = spacy.blank("en")
    docs = []
    for i, (text, label, forward) in enumerate([
        ("Anna Berg works for Acme Corp .", "per:employee_of", True),
        ("Acme Corp hired Anna Berg .", "per:employee_of", False),
        ("Bob met Acme Corp in Paris .", None, True),
        ("Carl Dahl founded Beta Inc .", "org:founded_by", False),
    ]):
        doc = nlp(text)
        first = span_from_tokens(doc, 0, 2 if i != 2 else 1, "ENT")
        second = span_from_tokens(doc, 3 if i != 2 else 2, 5 if i != 2 else 4, "ENT")
        doc.ents = [first, second]
        if label:
            head, tail = (first, second) if forward else (second, first)
            add_relation(doc, head, tail, label)
        docs.append(doc)
    doc = nlp("Dora slept .")
    doc.ents = [span_from_tokens(doc, 0, 1, "ENT")]
    docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)


def test_left_out_relations_count_as_misses_in_the_all_gold_scores():
    """per:title 2 found, 1 false alarm; org:founded_by 1 found, 1 missed. A left-out
    per:title and a left-out per:spouse are misses: per:title P 2/3, R 2/3; per:spouse
    R 0 (a type the probe never predicted); micro P 3/4, R 3/6; the counts passed in stay."""
    from spacy.scorer import PRFScore

    from spacy_xlie.scorers import prf_report

    per_type = {"per:title": PRFScore(tp=2, fp=1), "org:founded_by": PRFScore(tp=1, fn=1)}
    counted = prf_report(marker_probe.with_misses(per_type, ["per:title", "per:spouse"]))
    title = counted["rel_f_per_type"]["per:title"]
    assert (title["p"], title["r"]) == pytest.approx((2 / 3, 2 / 3))
    assert counted["rel_f_per_type"]["per:spouse"]["r"] == 0.0
    assert (counted["rel_micro_p"], counted["rel_micro_r"]) == pytest.approx((3 / 4, 3 / 6))
    assert counted["rel_macro_f"] == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)
    assert per_type["per:title"].fn == 0


def test_every_variant_trains_and_is_scored(tiny_xlmr, tmp_path):
    write_corpus(tmp_path / "train.spacy")
    argv = ["--encoder", str(tiny_xlmr), "--out", str(tmp_path / "out"),
            "--train", str(tmp_path / "train.spacy"), "--dev", str(tmp_path / "train.spacy"),
            "--steps", "2", "--warmup", "1", "--batch-size", "2", "--layers", "2",
            "--frozen-layers", "1"]
    assert marker_probe.main(argv) == 0
    report = json.loads((tmp_path / "out" / "marker_probe.json").read_text())
    assert [row["variant"] for row in report["variants"]] == list(marker_probe.VARIANTS)
    assert report["train_sentences"] == report["dev_sentences"] == 4
    assert report["dev_left_out"] == {"docs": 1, "gold_relations": 0}
    assert all(0.0 <= row["dev_macro_f"] <= 1.0 for row in report["variants"])
    # the left-out doc holds no gold relation: both ways of scoring agree
    assert all(row["dev_macro_f_all_gold"] == row["dev_macro_f"]
               and row["dev_micro_f_all_gold"] == row["dev_micro_f"]
               for row in report["variants"])
    assert "| markers_start |" in (tmp_path / "out" / "marker_probe.md").read_text()
