"""Command-line interface: ``spacy-xlie COMMAND`` or ``python -m spacy_xlie COMMAND``."""

from . import (  # noqa: F401  (commands register)
    convert,
    encoder,
    evaluate,
    gazetteer,
    kb,
    label,
    predict,
    project,
    show,
)
from ._app import app


def main() -> None:
    """Console-script entry point."""
    app()
