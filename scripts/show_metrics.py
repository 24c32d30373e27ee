"""Workflow step ``show-results``: print the workflow's results, Markdown tables as they
are (one block per file) and JSON reports' headline figures.

    python scripts/show_metrics.py FILE [FILE ...]
"""

from pathlib import Path
from typing import List

import srsly
import typer
from wasabi import msg

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    files: List[Path] = typer.Argument(..., help="Markdown tables and JSON reports to print"),
) -> None:
    """Print the workflow's results: Markdown files as they are (one block per file, e.g.
    per pipeline: metrics/cpu.md metrics/e5small.md), JSON reports' headline figures."""
    for path in files:
        if not path.is_file():
            msg.warn(f"{path}: not found (its step was skipped)")
        elif path.suffix == ".md":
            msg.divider(str(path))
            print(path.read_text(encoding="utf8"))
        else:
            try:
                data = srsly.read_json(path)
            except ValueError as err:
                msg.fail(f"{path}: not a JSON report ({err})", exits=1)
            headline = {k: v for k, v in data.items() if isinstance(v, (int, float, str))}
            print(f"{path}: " + ", ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in headline.items()
            ))


if __name__ == "__main__":
    app()
