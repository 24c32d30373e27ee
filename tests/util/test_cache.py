"""What a corpus job's manifest fingerprints: a pipeline given by package name is the
installed package's files, so upgrading the package does not reuse stale shards."""

from spacy_xlie.util import cache


def test_a_package_name_is_signed_by_its_installed_files(monkeypatch, tmp_path):
    package = tmp_path / "xx_pipeline"
    package.mkdir()
    (package / "meta.json").write_text('{"version": "0.1.0"}')
    monkeypatch.setattr(cache, "is_package", lambda name: name == "xx_pipeline")
    monkeypatch.setattr(cache, "get_package_path", lambda name: package)
    before = cache.path_signature("xx_pipeline")
    (package / "meta.json").write_text('{"version": "0.2.0-upgraded"}')
    assert cache.path_signature("xx_pipeline") != before
    assert cache.path_signature("not_installed") == "not_installed"
