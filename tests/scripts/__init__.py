"""Tests of the spaCy project's workflow steps in ``scripts/`` (not part of the package)."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from typer.testing import CliRunner, Result

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str) -> ModuleType:
    """``scripts/NAME.py`` as a module (``scripts/`` is no package: loaded by path)."""
    module_name = f"xlie_scripts.{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
    return sys.modules[module_name]


def invoke(name: str, *args) -> Result:
    """Run ``python scripts/NAME.py ARGS`` in this process."""
    return CliRunner().invoke(load_script(name).app, [str(a) for a in args])


def run(name: str, *args) -> str:
    """:func:`invoke`, which must succeed; its output."""
    result = invoke(name, *args)
    assert result.exit_code == 0, result.output
    return result.output


def failure(name: str, *args) -> str:
    """:func:`invoke`, which must fail with exit code 1 and a message, not a traceback; the
    message, whitespace normalized."""
    result = invoke(name, *args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return flat(result.output)


def flat(text: str) -> str:
    """``text`` with its whitespace normalized: wasabi wraps messages at 80 columns."""
    return " ".join(text.split())
