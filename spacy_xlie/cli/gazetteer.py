"""``spacy-xlie kb attach MODEL KB OUTPUT``: a pipeline that finds its own entities.

Adds a gazetteer over the KB's multilingual aliases (``xlie_distant_labeler`` with
``mode = "gazetteer"``, see :mod:`spacy_xlie.entities`) before the relation extractor and
saves the pipeline, KB included, so ``spacy package`` ships it and ``nlp(text)`` works on
raw text. The output folder is replaced only once the new pipeline is written.
"""

from pathlib import Path

import spacy
import typer
from wasabi import msg

from ..entities import ENTITY_PIPE, add_entity_source, entity_components
from ..util.io import atomic_directory
from ._app import exit_on, fail
from .kb import kb_app


@kb_app.command("attach")
def attach_command(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    kb_path: Path = typer.Argument(..., exists=True, file_okay=False,
                                   help="KB directory (`kb build`, `kb from-wikidata`, ...)"),
    output: Path = typer.Argument(..., help="Folder for the pipeline with the gazetteer"),
    name: str = typer.Option(ENTITY_PIPE, "--name", help="Name of the gazetteer pipe"),
) -> None:
    """Add a gazetteer over a KB's aliases to a pipeline, so it finds entities in raw text."""
    with exit_on(ValueError, OSError):
        nlp = spacy.load(model)
        if name in nlp.pipe_names:
            fail(f"{model} already has a pipe '{name}': pass --name")
        add_entity_source(nlp, f"kb:{kb_path}", name=name)
    with atomic_directory(output) as tmp:
        nlp.to_disk(tmp)
    kb = nlp.get_pipe(name).kb
    msg.good(f"{output}: {' -> '.join(nlp.pipe_names)}; entities from {len(kb)} KB entities "
             f"({kb.n_aliases} aliases in {', '.join(kb.languages)}); entity pipes: "
             f"{', '.join(entity_components(nlp))}")
