"""Atomic outputs: the permissions a plain ``open`` would give them, and a folder replaced
only once its new contents are written."""

import os
import stat

import pytest

from spacy_xlie.util.io import atomic_directory, write_json, write_jsonl


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json({"a": 1}, tmp_path / "out.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp file left


def test_atomic_directory_replaces_a_folder_only_on_success(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("failed half-way")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    with atomic_directory(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # nothing left beside it


def test_atomic_directory_puts_the_old_folder_back_when_the_rename_fails(tmp_path, monkeypatch):
    out = tmp_path / "model"
    out.mkdir()
    (out / "old.txt").write_text("old")
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(src).endswith(".tmp"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        with atomic_directory(out) as tmp:
            (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_folder_in_the_way_of_an_output_file_is_refused_before_writing(tmp_path):
    out = tmp_path / "out.jsonl"
    out.mkdir()
    (out / "kept.txt").write_text("kept")
    consumed = []

    def records():
        consumed.append(1)
        yield {"a": 1}

    with pytest.raises(IsADirectoryError, match="a folder is in the way"):
        write_jsonl(records(), out)
    assert consumed == []  # refused before any record was made
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temp file left
    assert [p.name for p in out.iterdir()] == ["kept.txt"]
