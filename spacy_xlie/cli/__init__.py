"""Command-line interface: ``spacy-xlie COMMAND`` or ``python -m spacy_xlie COMMAND``."""

import sys

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
from ._app import app, print_error


def main() -> None:
    """Console-script entry point. A file-system error no command turned into its own
    message (a folder where an output file goes, no permission, a full disk) still ends as
    one line naming the path, not a traceback."""
    try:
        app()
    except OSError as err:
        print_error(f"{err.filename}: {err.strerror}" if err.filename else str(err))
        sys.exit(1)
