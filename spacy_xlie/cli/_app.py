"""The ``spacy-xlie`` typer app; each command module registers itself on it."""

from contextlib import contextmanager
from typing import Dict, Iterator, List, NoReturn, Type

import typer

from ..errors import XlieDataError

app = typer.Typer(
    name="spacy-xlie",
    help="Cross-lingual relation extraction for spaCy: convert, label, project, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Keep the app a command group even while it has a single command."""


def print_error(message: str) -> None:
    """One ``error: ...`` line on stderr."""
    typer.echo(f"error: {message}", err=True)


def fail(message: str) -> NoReturn:
    """Report bad input the way every command does: one line on stderr, exit code 1."""
    print_error(message)
    raise typer.Exit(1)


@contextmanager
def exit_on(*errors: Type[Exception]) -> Iterator[None]:
    """Turn ``errors`` (default: :class:`XlieDataError`) into :func:`fail`."""
    caught = errors or (XlieDataError,)
    try:
        yield
    except caught as err:
        fail(str(err))


def exit_on_failures(failures: List[Dict[str, str]]) -> None:
    """Name each shard a corpus job could not finish, and exit 1 if there was one."""
    for failure in failures:
        typer.echo(f"failed: {failure['shard']}: {failure['error']}", err=True)
    if failures:
        raise typer.Exit(1)
