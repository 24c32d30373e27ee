"""``python scripts/assets.py [project.yml] --mirror DIR`` (the library part, mirror and
checksums, is tested in tests/test_assets.py)."""

import hashlib

import srsly

from . import failure, flat, run


def _project(tmp_path, content: bytes, *, optional: bool = False):
    srsly.write_yaml(tmp_path / "project.yml", {"title": "t", "assets": [{
        "dest": "assets/kbp37/train.txt", "url": "https://example.invalid/train.txt",
        "sha256": hashlib.sha256(content).hexdigest(), "mirror": "kbp37/train.txt",
        "optional": optional,
    }]})
    return tmp_path / "project.yml"


def test_assets_from_the_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "kbp37").mkdir(parents=True)
    (mirror / "kbp37" / "train.txt").write_bytes(b"data")
    out = flat(run("assets", _project(tmp_path, b"data"), "--mirror", mirror))
    assert f"Mirror: {mirror}" in out
    assert (tmp_path / "assets" / "kbp37" / "train.txt").read_bytes() == b"data"


def test_assets_mirror_from_the_environment(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "kbp37").mkdir(parents=True)
    (mirror / "kbp37" / "train.txt").write_bytes(b"data")
    monkeypatch.setenv("XLIE_DATA_DIR", str(mirror))
    assert f"Mirror: {mirror}" in flat(run("assets", _project(tmp_path, b"data")))


def test_missing_asset_fails_in_one_line(tmp_path):
    out = failure("assets", _project(tmp_path, b"data"), "--mirror", tmp_path / "empty")
    assert "train.txt: not in the mirror" in out and "example.invalid/train.txt" in out


def test_missing_optional_asset_warns(tmp_path):
    out = run("assets", _project(tmp_path, b"data", optional=True), "--mirror", tmp_path / "e")
    assert "1 optional asset(s) unavailable" in flat(out)
