"""Each workflow step runs as ``python scripts/NAME.py`` (what project.yml calls), from any
working directory, and is no ``spacy-xlie`` command."""

import os
import subprocess
import sys

import pytest

from . import SCRIPTS

STEPS = ["assets", "prepare", "project_relx", "check_package", "show_metrics", "update_readme",
         "set_settings", "speed_table"]


def test_every_script_is_tested_here():
    assert sorted(p.stem for p in SCRIPTS.glob("*.py")) == sorted(STEPS)


@pytest.mark.parametrize("name", STEPS)
def test_script_help(name, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), "--help"], capture_output=True,
        text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120", "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and f"{name}.py" in proc.stdout


def test_script_error_is_a_message_and_exit_1(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    table = tmp_path / "cpu.md"
    table.write_text("| x |\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "update_readme.py"), str(readme), str(table)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 1
    assert "no <!-- results:start --> ... <!-- results:end --> block" in (
        " ".join(proc.stdout.split()))
