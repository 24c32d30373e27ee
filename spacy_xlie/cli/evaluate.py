"""``spacy-xlie evaluate MODEL DATA...``: relation scores per data set, as Markdown and JSON
(the scoring itself is :mod:`spacy_xlie.evaluation`)."""

from pathlib import Path
from typing import List, Optional

import spacy
import typer

from ..evaluation import evaluate_relations, report_markdown
from ..pipeline.transformer import set_quantize
from ..scorers import PREDICTED
from ..util.io import write_json, write_text
from ._app import app, exit_on


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data: List[Path] = typer.Argument(
        ..., help=".spacy files or folders of them; one data set (table row) per file",
        exists=True,
    ),
    gold_ents: bool = typer.Option(
        True, "--gold-ents/--no-gold-ents",
        help="Classify gold entity pairs (RELX setting) or use the pipeline's entities",
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON report"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Markdown report"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    source: str = typer.Option(
        PREDICTED, "--source",
        help="Score only relations of this source (the relation extractor writes "
             f"'{PREDICTED}'; 'any' scores every relation on the predicted docs)",
    ),
    train_lang: str = typer.Option(
        "en", "--train-lang",
        help="Language the model was trained on: left out of the cross-lingual mean rows",
    ),
    quantize: Optional[str] = typer.Option(
        None, "--quantize",
        help="auto, int8 or off: the encoder of an xlie_transformer pipeline (default: "
             "its own setting; off scores the fp32 encoder)",
    ),
) -> None:
    """Score a relation extraction pipeline per data set (file), with its language."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    with exit_on(ValueError):
        if quantize is not None:
            set_quantize(nlp, quantize)
        report = evaluate_relations(
            nlp, data, gold_ents=gold_ents, batch_size=batch_size,
            source=None if source == "any" else source, train_lang=train_lang,
        )
    report["model"] = model
    report["quantize"] = quantize
    text = report_markdown(report)
    typer.echo(text)
    if output is not None:
        write_json(report, output)
    if markdown is not None:
        write_text(text, markdown)
