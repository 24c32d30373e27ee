"""``python scripts/update_readme.py README.md TABLE ...``: the README's results block."""

from . import failure, run


def test_update_readme_replaces_only_the_results_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\noutro\n")
    table = tmp_path / "cpu.md"
    table.write_text("## Relation extraction\n\n| new |\n\n### F per label\n")
    run("update_readme", readme, table)
    assert readme.read_text() == (
        "intro\n<!-- results:start -->\n<!-- results:pipeline cpu -->\n### Pipeline `cpu`\n\n"
        "#### Relation extraction\n\n| new |\n\n##### F per label\n<!-- results:end -->\n"
        "outro\n"
    )


def test_update_readme_one_section_per_pipeline(tmp_path):
    """Each pipeline's run rewrites its own section and keeps the others."""
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\n<!-- results:end -->\noutro\n")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    for name in ("cpu", "e5small"):
        (metrics / f"{name}.md").write_text(f"## Results\n\n| {name} v1 |\n")
    run("update_readme", readme, metrics / "cpu.md", metrics / "e5small.md")
    (metrics / "cpu.md").write_text("## Results\n\n| cpu v2 |\n")
    run("update_readme", readme, metrics / "cpu.md")
    text = readme.read_text()
    assert text.startswith("intro\n<!-- results:start -->\n") and text.endswith(
        "<!-- results:end -->\noutro\n")
    assert "| cpu v2 |" in text and "| cpu v1 |" not in text and "| e5small v1 |" in text
    assert text.index("### Pipeline `cpu`") < text.index("### Pipeline `e5small`")
    assert text.count("<!-- results:pipeline ") == 2
    run("update_readme", readme, metrics / "e5small.md", "--drop-others")
    assert "| cpu v2 |" not in readme.read_text() and "| e5small v1 |" in readme.read_text()


def test_update_readme_without_markers_fails(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    (tmp_path / "cpu.md").write_text("| x |\n")
    out = failure("update_readme", readme, tmp_path / "cpu.md")
    assert "results:start" in out
    assert readme.read_text() == "no markers\n"
