"""The ``spacy-xlie`` typer app; each command module registers itself on it."""

import typer

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
