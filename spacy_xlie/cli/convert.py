"""``spacy-xlie convert FORMAT INPUT OUTPUT``: corpora into DocBins, DocBins into JSONL."""

from enum import Enum
from pathlib import Path
from typing import Iterable, Iterator, Optional

import spacy
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from spacy.tokens import Doc

from ..corpora import READERS, ConvertStats, docs_to_records, get_reader
from ..corpora.base import DEFAULT_ENT_LABEL
from ..errors import XlieDataError
from ..util.io import write_docbin, write_jsonl
from ._app import app, fail

InputFormat = Enum("InputFormat", {name: name for name in READERS}, type=str)


class OutputFormat(str, Enum):
    spacy = "spacy"
    jsonl = "jsonl"


def output_format(output: Path, to: Optional[OutputFormat]) -> OutputFormat:
    """``--to`` when given, else the output file's suffix (``.spacy`` or ``.jsonl``)."""
    if to is not None:
        return to
    suffix = output.suffix.lower().lstrip(".")
    if suffix in OutputFormat.__members__:
        return OutputFormat(suffix)
    raise typer.BadParameter(
        f"can't tell the output format from '{output.name}': name it .spacy or .jsonl, or "
        "pass --to", param_hint="OUTPUT"
    )


def _with_progress(docs: Iterable[Doc], console: Console) -> Iterator[Doc]:
    """Count docs on a live line (stderr; silent when it is not a terminal)."""
    columns = (SpinnerColumn(), TextColumn("{task.completed} docs"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("convert", total=None)
        for doc in docs:
            progress.advance(task)
            yield doc


def summary(stats: ConvertStats, output: Path) -> str:
    """The lines printed after a conversion."""
    lines = [
        f"wrote {stats.docs} docs to {output}",
        f"skipped (invalid): {stats.skipped}",
        f"empty entities (doc kept with the other entity): {stats.empty_entities}",
        f"unrepresentable gold relations (no span; kept aside, scored as missed): "
        f"{stats.unrepresentable}",
    ]
    if stats.rejected:
        lines.append(f"rejected (answer != accept): {stats.rejected}")
    lines.append("labels:")
    lines += [f"  {label}\t{count}" for label, count in sorted(stats.labels.items())]
    if stats.errors:
        lines.append("first skipped records:")
        lines += [f"  {error}" for error in stats.errors[:5]]
    return "\n".join(lines)


@app.command("convert")
def convert_cli(
    fmt: InputFormat = typer.Argument(..., metavar="FORMAT", help="Input format."),
    input_path: Path = typer.Argument(
        ..., metavar="INPUT", exists=True, dir_okay=False, help="Input file."
    ),
    output_path: Path = typer.Argument(
        ..., metavar="OUTPUT", dir_okay=False, help="Output file (.spacy or .jsonl)."
    ),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of the text (spacy.blank)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip and count malformed records instead of failing."
    ),
    ent_label: str = typer.Option(
        DEFAULT_ENT_LABEL, "--ent-label", help="Label for entities the input leaves untyped."
    ),
    to: Optional[OutputFormat] = typer.Option(
        None, "--to", help="Output format; default: from OUTPUT's suffix."
    ),
) -> None:
    """Convert a relation corpus into a DocBin (.spacy), or docs into JSONL.

    FORMAT "spacy" reads a DocBin, so `convert spacy preds.spacy preds.jsonl` exports
    predictions. A malformed record stops the run with `error: FILE:LINE: field: what` on
    stderr and exit code 1; no output file is written and an existing one is left as it
    was. With --skip-invalid such records are skipped and counted instead.
    """
    target = output_format(output_path, to)
    try:
        nlp = spacy.blank(lang)
    except ImportError as err:
        fail(f"--lang {lang}: {err}")
    stats = ConvertStats()
    reader = get_reader(fmt.value)
    docs = reader(input_path, lang, nlp=nlp, ent_label=ent_label, skip_invalid=skip_invalid,
                  stats=stats)
    docs = _with_progress(docs, Console(stderr=True))
    try:
        if target == OutputFormat.spacy:
            write_docbin(docs, output_path)
        else:
            write_jsonl(docs_to_records(docs), output_path)
    except XlieDataError as err:
        fail(str(err))
    except UnicodeDecodeError as err:
        fail(f"{input_path}: encoding: not UTF-8 text ({err.reason})")
    typer.echo(summary(stats, output_path))
