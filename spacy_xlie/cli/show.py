"""``spacy-xlie show`` (a page for DocBins) and ``spacy-xlie serve`` (a local page to try a
pipeline on a sentence); both draw with :func:`spacy_xlie.displacy.render`, and the page
is :func:`spacy_xlie.displacy.make_server`'s."""

import itertools
from pathlib import Path
from typing import List, Optional

import spacy
import typer
from wasabi import msg

from ..corpora.jsonl import read_doc_files
from ..displacy import LOCALHOST, make_server, render
from ..errors import XlieDataError
from ..predict import PIPELINE, load_pipeline
from ..util.io import write_text
from ._app import app, exit_on, fail


@app.command("show")
def show_command(
    paths: List[Path] = typer.Argument(..., exists=True, dir_okay=False,
                                       help=".spacy DocBins or spacy-xlie .jsonl files"),
    out: Path = typer.Option(Path("relations.html"), "--out", "-o", help="HTML page to write"),
    limit: int = typer.Option(200, "--limit", min=0, help="Docs on the page at most (0: all)"),
    sources: Optional[str] = typer.Option(
        None, "--sources", help="Comma-separated relation sources to draw, e.g. gold,predicted"),
    min_score: float = typer.Option(0.0, "--min-score", help="Hide relations scoring less"),
    width: int = typer.Option(920, "--width", min=1, help="Row width in pixels before wrapping"),
    scores: bool = typer.Option(False, "--scores", help="Print scores after the labels"),
) -> None:
    """Write an HTML page with the entities and relations of DocBins (gold, predicted,
    distant or projected relations, coloured by source)."""
    nlp = spacy.blank("xx")
    options = {"min_score": min_score, "width": width, "show_scores": scores,
               "sources": sources.split(",") if sources else None}
    with exit_on(XlieDataError, ValueError):
        docs = list(itertools.islice(read_doc_files(paths, nlp), limit or None))
        if not docs:
            fail(f"no docs in {', '.join(map(str, paths))}")
        page = render(docs, page=True, jupyter=False, options=options)
    write_text(page, out)
    n_rel = sum(len(doc._.relations) for doc in docs)
    msg.good(f"{out}: {len(docs)} docs, {n_rel} relations")


@app.command("serve")
def serve_command(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    entities: str = typer.Option(PIPELINE, "--entities", "-e",
                                 help="pipeline, kb:PATH or patterns:PATH (as in predict)"),
    host: str = typer.Option(LOCALHOST, "--host", help="Address to bind (default: this "
                             "machine only)"),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    max_chars: int = typer.Option(2000, "--max-chars", min=1, help="Longest text accepted"),
) -> None:
    """Open a local page to paste a sentence and see its entities and relations."""
    with exit_on(ValueError, OSError):
        nlp = load_pipeline(model, entities)
    if host != LOCALHOST:
        msg.warn(f"Binding to {host}: anyone who can reach this machine can use the page")
    try:
        server = make_server(nlp, host=host, port=port, max_chars=max_chars, label=model,
                             entities=entities)
    except OSError as err:  # the port taken, or an address this machine does not have
        fail(f"{host}:{port}: {err.strerror or err}")
    msg.good(f"Serving {model} on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
