"""``spacy-xlie show`` (a page for DocBins) and ``spacy-xlie serve`` (a local page to try a
pipeline on a sentence); both draw with :func:`spacy_xlie.displacy.render`."""

import html
import itertools
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator, List, Optional
from urllib.parse import parse_qs

import spacy
import typer
from spacy.language import Language
from spacy.tokens import Doc
from wasabi import msg

from ..corpora.jsonl import read_docbin, read_jsonl
from ..displacy import PAGE, STYLE, render
from ..errors import XlieDataError
from ..util.io import write_text
from ._app import app, exit_on, fail
from .predict import PIPELINE, load_pipeline

LOCALHOST = "127.0.0.1"
#: Bytes of form encoding per character at most (UTF-8, percent-encoded).
_BYTES_PER_CHAR = 9


def read_docs(paths: List[Path], nlp: Language) -> Iterator[Doc]:
    """Docs of ``.spacy`` DocBins and spacy-xlie ``.jsonl`` files, in order."""
    for path in paths:
        if path.suffix.lower() == ".jsonl":
            yield from read_jsonl(path, nlp=nlp)
        else:
            yield from read_docbin(path, nlp=nlp)


@app.command("show")
def show_command(
    paths: List[Path] = typer.Argument(..., exists=True, dir_okay=False,
                                       help=".spacy DocBins or spacy-xlie .jsonl files"),
    out: Path = typer.Option(Path("relations.html"), "--out", "-o", help="HTML page to write"),
    limit: int = typer.Option(200, "--limit", help="Docs on the page at most (0: all)"),
    sources: Optional[str] = typer.Option(
        None, "--sources", help="Comma-separated relation sources to draw, e.g. gold,predicted"),
    min_score: float = typer.Option(0.0, "--min-score", help="Hide relations scoring less"),
    width: int = typer.Option(920, "--width", help="Row width in pixels before wrapping"),
    scores: bool = typer.Option(False, "--scores", help="Print scores after the labels"),
) -> None:
    """Write an HTML page with the entities and relations of DocBins (gold, predicted,
    distant or projected relations, coloured by source)."""
    nlp = spacy.blank("xx")
    options = {"min_score": min_score, "width": width, "show_scores": scores,
               "sources": sources.split(",") if sources else None}
    with exit_on(XlieDataError, ValueError):
        docs = list(itertools.islice(read_docs(paths, nlp), limit or None))
        if not docs:
            fail(f"no docs in {', '.join(map(str, paths))}")
        page = render(docs, page=True, jupyter=False, options=options)
    write_text(page, out)
    n_rel = sum(len(doc._.relations) for doc in docs)
    msg.good(f"{out}: {len(docs)} docs, {n_rel} relations")


FORM = """<form method="post" action="/">
<textarea name="text" rows="4" cols="90" maxlength="{max_chars}" dir="auto"
 placeholder="Angela Merkel ist die Vorsitzende der CDU.">{text}</textarea><br>
<button type="submit">Extract relations</button>
<span style="color:#666;font-size:12px">{model}; entities: {entities}; at most {max_chars}
characters</span></form>{result}"""


def make_server(
    nlp: Language,
    *,
    host: str = LOCALHOST,
    port: int = 8000,
    max_chars: int = 2000,
    label: str = "",
    entities: str = PIPELINE,
) -> HTTPServer:
    """An HTTP server with one page: a form to paste text, and the pipeline's relations.

    Requests over ``max_chars`` characters (or their bytes) are refused with 413 before
    they reach the pipeline. Every text is HTML-escaped, and the page's Content Security
    Policy allows no script at all, so even a missed escape could not run one.
    """
    def page(text: str = "", result: str = "") -> bytes:
        body = FORM.format(max_chars=max_chars, text=html.escape(text), result=result,
                           model=html.escape(label), entities=html.escape(entities))
        return PAGE.format(title="spacy-xlie", style=STYLE, body=body).encode("utf8")

    class Handler(BaseHTTPRequestHandler):
        server_version = "spacy-xlie"

        def _send(self, status: HTTPStatus, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            if self.path.split("?")[0] != "/":
                self._send(HTTPStatus.NOT_FOUND, b"not found")
                return
            self._send(HTTPStatus.OK, page())

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            too_long = f"at most {max_chars} characters".encode()
            if length > max_chars * _BYTES_PER_CHAR + 64:
                self.close_connection = True  # the body is never read
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_long)
                return
            form = parse_qs(self.rfile.read(length).decode("utf8", "replace"))
            text = (form.get("text") or [""])[0]
            if len(text) > max_chars:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_long)
                return
            result = ""
            if text.strip():
                doc = nlp(text)
                result = render(doc, jupyter=False)
                if not doc.ents:
                    result = ("<p>No entities found: the entity source knows none of these "
                              "words.</p>" + result)
            self._send(HTTPStatus.OK, page(text, result))

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            msg.text(f"{self.address_string()} {format % args}")

    return HTTPServer((host, port), Handler)


@app.command("serve")
def serve_command(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    entities: str = typer.Option(PIPELINE, "--entities", "-e",
                                 help="pipeline, kb:PATH or patterns:PATH (as in predict)"),
    host: str = typer.Option(LOCALHOST, "--host", help="Address to bind (default: this "
                             "machine only)"),
    port: int = typer.Option(8000, "--port"),
    max_chars: int = typer.Option(2000, "--max-chars", help="Longest text accepted"),
) -> None:
    """Open a local page to paste a sentence and see its entities and relations."""
    with exit_on(ValueError, OSError):
        nlp = load_pipeline(model, entities)
    if host != LOCALHOST:
        msg.warn(f"Binding to {host}: anyone who can reach this machine can use the page")
    server = make_server(nlp, host=host, port=port, max_chars=max_chars, label=model,
                         entities=entities)
    msg.good(f"Serving {model} on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
