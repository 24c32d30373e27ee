"""``spacy-xlie label KB INPUT OUTPUT``: distant-supervision labelling of a corpus
(options and messages; the work is :mod:`spacy_xlie.distributed.label_job`)."""

from pathlib import Path
from typing import Optional

import typer

from ..distributed import ShardError
from ..distributed.label_job import label_corpus
from ..errors import XlieDataError
from ..kb.labels import load_label_map
from ..util.io import write_json
from ._app import app, exit_on_failures, fail


@app.command("label")
def label_command(
    kb_path: Path = typer.Argument(..., help="KB directory (RelationKB.to_disk / `kb build`)",
                                   exists=True),
    input_path: Path = typer.Argument(..., help=".txt (one doc a line), .jsonl or .spacy",
                                      exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Directory for the DocBin shards"),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of records without 'lang'"),
    workers: int = typer.Option(1, "--workers", "-w", min=1,
                                help="Local worker processes (a Dask LocalCluster when > 1)"),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://HOST:PORT); "
        "its workers must see the same paths"),
    n_process: int = typer.Option(1, "--n-process", min=-1,
                                  help="nlp.pipe processes inside one process (-1: one a "
                                       "core; not with --workers or --scheduler)"),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Docs per batch"),
    shard_size: int = typer.Option(10_000, "--shard-size", min=1, help="Records per shard"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Skip and count bad input records"),
    report_path: Optional[Path] = typer.Option(None, "--report",
                                               help="Summary JSON (default OUTPUT/report.json)"),
    mode: str = typer.Option("match", "--mode", help="match (find aliases) or ents (link)"),
    ambiguity: str = typer.Option("skip", "--ambiguity", help="skip, all or prior"),
    label_map: Optional[str] = typer.Option(None, "--label-map",
                                            help="JSON/TSV file, or 'wikidata-kbp37'"),
    drop_unmapped: bool = typer.Option(False, "--drop-unmapped",
                                       help="Drop KB relations the label map lacks"),
    negative_ratio: float = typer.Option(1.0, "--negative-ratio",
                                         help="Negatives kept per positive (-1: all)"),
    max_distance: int = typer.Option(50, "--max-distance", min=0,
                                    help="Tokens between mentions"),
) -> None:
    """Label a corpus with the relations of a knowledge base (distant supervision)."""
    if n_process == 0:
        fail("--n-process: expected 1 or more, or -1 (one process a core)")
    if n_process != 1 and (workers > 1 or scheduler):
        fail("--n-process: use it alone, or --workers/--scheduler alone")
    try:
        config = {"mode": mode, "ambiguity": ambiguity, "keep_unmapped": not drop_unmapped,
                  "negative_ratio": negative_ratio, "max_distance": max_distance}
        if label_map:
            config["label_map"] = load_label_map(label_map)
        report = label_corpus(kb_path, input_path, output_dir, lang=lang, config=config,
                              n_process=n_process, batch_size=batch_size,
                              shard_size=shard_size, skip_invalid=skip_invalid,
                              workers=workers, scheduler=scheduler)
    except (XlieDataError, ShardError, ValueError, ImportError, FileNotFoundError) as err:
        fail(str(err))
    write_json(report, report_path or output_dir / "report.json")
    run = report["run"]
    typer.echo(f"Labelled {report['docs']} docs ({report['skipped']} skipped) into "
               f"{run['shards']} shard(s) in {output_dir} ({run['reused']} reused): "
               f"{sum(report['relations'].values())} relations, "
               f"{report['pairs']['negatives']} negatives")
    exit_on_failures(run["failures"])
