"""``spacy-xlie --help`` lists the user-facing verbs only; the steps that only this repo's
workflow needs live in scripts/ of the spaCy project."""

import os
import re
import subprocess
import sys

import typer

from spacy_xlie.cli import app

USER_VERBS = {"convert", "kb", "label", "project", "predict", "evaluate", "show", "serve",
              "encoder"}
WORKFLOW_STEPS = ["assets", "prepare", "project-relx", "check-package", "show-metrics",
                  "update-readme"]


def test_app_has_exactly_the_user_verbs():
    assert set(typer.main.get_command(app).commands) == USER_VERBS


def test_help_lists_exactly_the_user_verbs():
    proc = subprocess.run(
        [sys.executable, "-m", "spacy_xlie", "--help"], capture_output=True, text=True,
        timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200",
                          "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert proc.returncode == 0, proc.stderr
    commands = proc.stdout.split("Commands", 1)[1]
    # one command a row: "│ NAME   help text │" (rich) or "  NAME  help text" (plain click)
    listed = set(re.findall(r"^[│|\s]\s*([a-z][a-z-]*)\s{2,}\S", commands, re.MULTILINE))
    assert listed == USER_VERBS, proc.stdout
    for step in WORKFLOW_STEPS:
        assert not re.search(rf"(?<![\w-]){re.escape(step)}(?![\w-])", commands), step
