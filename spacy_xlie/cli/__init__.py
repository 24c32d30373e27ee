"""Command-line interface: ``spacy-xlie COMMAND`` or ``python -m spacy_xlie COMMAND``."""

from . import convert, evaluate, kb, label, project, workflow  # noqa: F401  (commands register)
from . import predict, show  # noqa: F401  (user commands: predict, show, serve)
from ._app import app


def main() -> None:
    """Console-script entry point."""
    app()
