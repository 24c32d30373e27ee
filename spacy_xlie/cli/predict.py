"""``spacy-xlie predict MODEL INPUT OUTPUT``: relations for raw text, JSONL or DocBins
(options and messages; the work is :mod:`spacy_xlie.predict`)."""

from pathlib import Path
from typing import Optional

import spacy
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..corpora.base import input_kind
from ..distributed import ShardError
from ..distributed.predict_job import predict_distributed
from ..entities import entity_components
from ..errors import XlieDataError
from ..predict import (
    OUTPUT_SUFFIXES,
    PIPELINE,
    count_records,
    load_pipeline,
    predict_shard,
)
from ._app import app, exit_on, exit_on_failures, fail


@app.command("predict")
def predict_command(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    input_path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                      help=".txt (one doc a line), .jsonl or .spacy"),
    output_path: Path = typer.Argument(
        ..., help=".spacy or .jsonl; with --workers/--scheduler a directory of shards"),
    entities: str = typer.Option(
        PIPELINE, "--entities", "-e",
        help="Entity source: pipeline (its own NER/ruler/gazetteer), given (the input's "
             "entities only), kb:PATH (gazetteer over a KB's aliases) or patterns:PATH "
             "(entity_ruler JSONL)",
    ),
    lang: Optional[str] = typer.Option(None, "--lang", "-l",
                                       help="Language of records without 'lang'"),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Docs per nlp.pipe batch"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Skip and count bad input records"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    workers: int = typer.Option(1, "--workers", "-w", min=1,
                                help="Local worker processes (a Dask LocalCluster when > 1)"),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://HOST:PORT); "
        "its workers must see the same paths"),
    shard_size: int = typer.Option(10_000, "--shard-size", min=1,
                                   help="Records per shard (with --workers/--scheduler)"),
    shard_format: str = typer.Option("spacy", "--shard-format",
                                     help="spacy or jsonl (with --workers/--scheduler)"),
) -> None:
    """Extract relations from raw text, JSONL or a DocBin into JSONL or a DocBin."""
    if workers > 1 or scheduler:
        if gpu_id >= 0:
            fail("--gpu-id: runs in this process only, not with --workers/--scheduler")
        with exit_on(XlieDataError, ShardError, ValueError, OSError):
            report = predict_distributed(
                model, input_path, output_path, entities=entities, lang=lang,
                batch_size=batch_size, skip_invalid=skip_invalid, workers=workers,
                scheduler=scheduler, shard_size=shard_size, shard_format=shard_format)
        run = report["run"]
        typer.echo(f"{output_path}: {report['docs']} docs in {run['shards']} shard(s) "
                   f"({run['reused']} reused), {report['entities']} entities, "
                   f"{sum(report['relations'].values())} relations "
                   f"({report['skipped']} records skipped)")
        exit_on_failures(run["failures"])
        return
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        fail(f"{output_path}: the output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    with exit_on(ValueError, OSError):
        kind = input_kind(input_path)
        total = count_records(input_path)
        nlp = load_pipeline(model, entities)
    if not entity_components(nlp) and kind == "text":
        fail(f"{model}: the pipeline sets no entities and plain text has none: pass "
             "--entities kb:PATH or --entities patterns:PATH")
    columns = (TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress, exit_on(XlieDataError):
        task = progress.add_task("predict", total=total)
        report = predict_shard(nlp, input_path, output_path, lang=lang, batch_size=batch_size,
                               skip_invalid=skip_invalid,
                               on_doc=lambda: progress.advance(task))
    n_rel = sum(report.relations.values())
    typer.echo(f"{output_path}: {report.docs} docs, {report.entities} entities, {n_rel} "
               f"relations ({report.skipped} records skipped)")
    for err in report.errors:
        typer.echo(f"skipped: {err}", err=True)
