"""The package's layers import downwards only: ``cli`` (options, dispatch, messages) over
``distributed`` (corpus jobs by shard) over the library. A library module that imported
the CLI would drag typer into every import and tie the jobs to a command line."""

import ast
from pathlib import Path
from typing import Iterable, Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "spacy_xlie"


def imported_modules(path: Path, root: Path = ROOT) -> Iterator[Tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path`` (a module under
    ``root``); ``from . import x`` also yields ``PACKAGE.x``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *filter(None, (node.module or "").split("."))])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def offences(paths: Iterable[Path], forbidden: Tuple[str, ...]) -> List[str]:
    return [f"{path.relative_to(ROOT)}:{line}: imports {name}"
            for path in paths for line, name in imported_modules(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def modules_outside(*layers: str) -> List[Path]:
    """The package's modules outside ``layers`` and the CLI's entry point."""
    skip = [PACKAGE / layer for layer in layers]
    return [path for path in sorted(PACKAGE.rglob("*.py"))
            if path != PACKAGE / "__main__.py"
            and not any(folder in path.parents for folder in skip)]


def test_nothing_outside_the_cli_imports_it():
    scripts = sorted((ROOT / "bench").glob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    assert offences(modules_outside("cli") + scripts, ("spacy_xlie.cli",)) == []
    assert offences(modules_outside("cli"), ("typer",)) == []


def test_the_library_does_not_import_the_distributed_jobs():
    assert offences(modules_outside("cli", "distributed"), ("spacy_xlie.distributed",)) == []


@pytest.mark.parametrize("source,expected", [
    ("from ..cli._app import fail\n", "pkg.cli._app"),
    ("from .. import cli\n", "pkg.cli"),
    ("from .jobs import run\n", "pkg.sub.jobs"),
    ("import typer\n", "typer"),
])
def test_relative_imports_resolve(tmp_path, source, expected):
    module = tmp_path / "pkg" / "sub" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text(source, encoding="utf8")
    assert expected in [name for _, name in imported_modules(module, tmp_path)]


def test_util_imports_nothing_above_it():
    """``util`` is the bottom layer: helpers that change nothing outside themselves (what
    patches spaCy or srsly on import lives in ``patches``)."""
    util = sorted((PACKAGE / "util").glob("*.py"))
    above = tuple(f"spacy_xlie.{p.stem if p.is_file() else p.name}"
                  for p in PACKAGE.iterdir()
                  if p.name not in ("util", "__pycache__", "__init__.py", "about.py")
                  and (p.is_dir() or p.suffix == ".py"))
    assert offences(util, above) == []
