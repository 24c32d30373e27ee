"""Atomic outputs keep the permissions a plain ``open`` would give them."""

import os
import stat

import pytest

from spacy_xlie.util.io import write_json


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json({"a": 1}, tmp_path / "out.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp file left
