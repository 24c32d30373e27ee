"""Workflow step ``project``: annotation projection of a parallel marked corpus (RELX
EN -> DE/FR), scored against the target's gold markers.

    python scripts/project_relx.py SRC TGT OUTPUT --tgt-lang de [--method lexical]
        [--report metrics/projection_de.json]
"""

from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from spacy_xlie.alignment import METHODS, build_aligner
from spacy_xlie.alignment.corpus import failure_line, projection_report
from spacy_xlie.alignment.evaluation import load_parallel, project_pairs, score_projection
from spacy_xlie.errors import XlieDataError
from spacy_xlie.util.io import write_docbin, write_json

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    src: Path = typer.Argument(..., exists=True, dir_okay=False, help="Marked source (RELX_en)."),
    tgt: Path = typer.Argument(..., exists=True, dir_okay=False, help="Marked target (RELX_de)."),
    output: Path = typer.Argument(..., dir_okay=False, help="Output .spacy (projected docs)."),
    tgt_lang: str = typer.Option(..., "--tgt-lang", help="Target language."),
    src_lang: str = typer.Option("en", "--src-lang", help="Source language."),
    method: str = typer.Option("hybrid", "--method", help=f"One of {', '.join(METHODS)}."),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder name or path."),
    min_score: float = typer.Option(0.5, "--min-score", help="Lowest confidence projected."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a JSON report here."),
) -> None:
    """Project a parallel marked corpus (RELX) and score it against the target's gold markers.

    The target docs keep their gold tokens with their annotations removed; the projected
    docs (training data in the target language) are written to OUTPUT, and exact-match
    span accuracy, relation-preserved accuracy and token F1 are printed and reported.
    """
    if method not in METHODS:
        msg.fail(f"--method must be one of {', '.join(METHODS)}, not {method!r}", exits=1)
    try:
        pairs = load_parallel(src, tgt, src_lang, tgt_lang)
    except XlieDataError as err:
        msg.fail(str(err), exits=1)
    results = project_pairs(pairs, build_aligner(method, model=model), min_score=min_score)
    for result in results:
        result.doc._.xlie_lang = tgt_lang
    write_docbin((r.doc for r in results), output)
    scores = score_projection(pairs, results)
    summary = {"lang": tgt_lang, "method": method, **scores,
               **projection_report(results, method, "id", tgt_lang)}
    if report is not None:
        write_json(summary, report)
    typer.echo(
        f"{tgt_lang} ({method}): {scores['pairs']} pairs, exact span accuracy "
        f"{scores['exact_span_accuracy']:.3f}, relation preserved "
        f"{scores['relation_preserved']:.3f}, token F1 {scores['token_f1']:.3f}; wrote {output}"
    )
    typer.echo(failure_line(summary))


if __name__ == "__main__":
    app()
