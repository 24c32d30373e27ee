"""Assets come from a local mirror (verified by sha256) or a clear error says where from."""

import hashlib
from pathlib import Path

import pytest
import srsly

from spacy_xlie.assets import AssetError, fetch_assets, load_assets

REPO = Path(__file__).resolve().parent.parent


def _project(tmp_path: Path, content: bytes, *, optional: bool = False) -> Path:
    srsly.write_yaml(
        tmp_path / "project.yml",
        {
            "title": "t",
            "assets": [
                {
                    "dest": "assets/kbp37/train.txt",
                    "url": "https://example.invalid/train.txt",
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "mirror": "kbp37/train.txt",
                    "optional": optional,
                }
            ],
        },
    )
    return tmp_path / "project.yml"


def test_fetch_from_mirror_verifies_checksum(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "kbp37").mkdir(parents=True)
    (mirror / "kbp37" / "train.txt").write_bytes(b"data")
    project = _project(tmp_path, b"data")
    assert fetch_assets(load_assets(project), mirror, log=lambda _: None) == []
    assert (tmp_path / "assets" / "kbp37" / "train.txt").read_bytes() == b"data"


def test_checksum_mismatch_leaves_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "kbp37").mkdir(parents=True)
    (mirror / "kbp37" / "train.txt").write_bytes(b"tampered")
    project = _project(tmp_path, b"data")
    with pytest.raises(AssetError, match="checksum mismatch"):
        fetch_assets(load_assets(project), mirror, log=lambda _: None)
    assert not (tmp_path / "assets" / "kbp37" / "train.txt").exists()


def test_missing_required_file_names_its_source(tmp_path):
    project = _project(tmp_path, b"data")
    with pytest.raises(AssetError, match="https://example.invalid/train.txt"):
        fetch_assets(load_assets(project), tmp_path / "empty-mirror", log=lambda _: None)


def test_missing_optional_file_is_skipped(tmp_path):
    project = _project(tmp_path, b"data", optional=True)
    skipped = fetch_assets(load_assets(project), tmp_path / "empty-mirror", log=lambda _: None)
    assert [a.dest.name for a in skipped] == ["train.txt"]


def test_project_assets_match_the_mirror(shared_data):
    """Every asset in project.yml that the mirror holds has the checksum project.yml says."""
    assets = load_assets(REPO / "project.yml")
    present = [a for a in assets if (shared_data / a.mirror).is_file()]
    assert len(present) >= 10
    for asset in present:
        assert hashlib.sha256((shared_data / asset.mirror).read_bytes()).hexdigest() == asset.sha256
    assert all(a.optional for a in assets if a not in present)
