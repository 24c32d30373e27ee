"""Shard plans: by record count, blank lines not counted, byte ranges without gaps, and
DocBin slices that build only their own docs, and DocBin inputs cut into one file per
shard."""

from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_xlie.corpora.base import read_lines
from spacy_xlie.corpora.shards import (
    PARTS_DIR,
    docbin_extension,
    plan_shards,
    select_docbin,
    shard_docbin,
    slice_docbin,
    split_docbin_input,
)
from spacy_xlie.util.io import write_docbin


def shard_lines(shard):
    """``(line, text)`` of a line shard's records, as the corpus commands read them."""
    return [(line, text) for line, _offset, text in
            read_lines(Path(shard.path), shard.start, shard.stop, shard.first_line)]

# Line numbers: 1 a, 2 (blank), 3 b, 4 c, 5 (spaces), 6 d, 7 é, then no final newline.
TEXT = "a\n\nb\r\nc\n  \nd\né"


def test_line_shards_by_record_count(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(TEXT.encode("utf8"))
    shards = plan_shards(path, 2)
    # Byte offsets: "a\n" 0-2, "\n" 2-3, "b\r\n" 3-6, "c\n" 6-8, "  \n" 8-11, "d\n" 11-13,
    # "é" 13-15.
    assert [(s.start, s.stop, s.first_line, s.records) for s in shards] == [
        (0, 6, 1, 2), (6, 13, 4, 2), (13, 15, 7, 1)]
    assert [list(shard_lines(s)) for s in shards] == [
        [(1, "a"), (3, "b")], [(4, "c"), (6, "d")], [(7, "é")]]
    assert [s.name(".spacy") for s in shards] == [
        "shard-00000.spacy", "shard-00001.spacy", "shard-00002.spacy"]


def test_one_shard_and_bad_size(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(TEXT.encode("utf8"))
    (shard,) = plan_shards(path, 100)
    assert [line for line, _ in shard_lines(shard)] == [1, 3, 4, 6, 7]
    with pytest.raises(ValueError, match="at least 1"):
        plan_shards(path, 0)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"ok\n\xff\xfe\n")
    (shard,) = plan_shards(path, 10)
    (first, ok), (second, error) = shard_lines(shard)
    assert (first, ok) == (1, "ok") and second == 2
    assert str(error).startswith(f"{path}:2: encoding: not UTF-8")  # given, not raised


def test_docbin_shards_and_slices(tmp_path):
    nlp = spacy.blank("en")
    docs = []
    for i in range(5):
        doc = nlp(f"doc number {i}")
        doc._.xlie_id = f"id{i}"
        docs.append(doc)
    path = tmp_path / "in.spacy"
    write_docbin(docs, path)
    shards = plan_shards(path, 2)
    assert [(s.start, s.stop, s.first_line, s.records) for s in shards] == [
        (0, 2, 1, 2), (2, 4, 3, 2), (4, 5, 5, 1)]
    docbin = DocBin().from_disk(path)
    part = slice_docbin(docbin, 2, 4).get_docs(nlp.vocab)
    assert [(d.text, d._.xlie_id) for d in part] == [("doc number 2", "id2"),
                                                      ("doc number 3", "id3")]
    picked = select_docbin(docbin, [4, 0]).get_docs(nlp.vocab)
    assert [d.text for d in picked] == ["doc number 4", "doc number 0"]
    assert docbin_extension(docbin, 3, "xlie_id") == "id3"
    assert docbin_extension(docbin, 3, "xlie_lang") is None


def test_docbin_input_cut_into_one_file_per_shard(tmp_path):
    nlp = spacy.blank("en")
    path = tmp_path / "in.spacy"
    write_docbin((nlp(f"doc number {i}") for i in range(5)), path)
    out = tmp_path / "out"
    shards = split_docbin_input(plan_shards(path, 2), out)
    assert [s.part("input") for s in shards] == [
        str((out / PARTS_DIR / f"input-0000{i}.spacy").resolve()) for i in range(3)]
    assert [(s.start, s.stop, s.first_line) for s in shards] == [(0, 2, 1), (2, 4, 3), (4, 5, 5)]
    path.write_bytes(b"gone")  # a worker reads its shard's file, never the input
    assert [[d.text for d in shard_docbin(s).get_docs(nlp.vocab)] for s in shards] == [
        ["doc number 0", "doc number 1"], ["doc number 2", "doc number 3"], ["doc number 4"]]


def test_line_inputs_are_not_cut(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(TEXT.encode("utf8"))
    shards = plan_shards(path, 2)
    assert split_docbin_input(shards, tmp_path / "out") == shards
    assert not (tmp_path / "out").exists()
