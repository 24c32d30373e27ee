"""Command-line interface: ``spacy-xlie COMMAND`` or ``python -m spacy_xlie COMMAND``."""

from . import convert, evaluate, label, project  # noqa: F401  (commands register on import)
from ._app import app


def main() -> None:
    """Console-script entry point."""
    app()
