"""Write README.md's speed and memory tables from the benchmark reports (never by hand).

    python scripts/speed_table.py README.md --bench bench/results

The prediction table (words/s and peak RSS of the CPU pipeline, the e5small pipeline and
its int8 encoder) comes from ``relation_extractor.json``, each row with the date of the
run that measured it; the table of the main job's steps from ``workflow_memory.json``.
Each goes between its ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers.
"""

import json
from pathlib import Path
from typing import Dict, List

import typer
from wasabi import msg

from spacy_xlie.util.io import write_text

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def prediction_rows(report: dict) -> List[str]:
    """One row per pipeline: words/s, peak RSS (MB), the date of its speed run."""
    cpu_date = report.get("speed_kept", {}).get("date", report["date"])
    rows = [("`cpu` (CNN tok2vec)", report["words_per_second"]["cpu"],
             report["peak_rss_mb"]["cpu"], cpu_date)]
    for key, name in (("e5small", "`e5small`, `quantize = \"off\"` (fp32)"),
                      ("e5small_int8", "`e5small` int8 (shipped: `quantize = \"auto\"`)")):
        if key in report:
            entry = report[key]
            rows.append((name, entry["words_per_second"], entry["peak_rss_mb"], entry["date"]))
    return [f"| {name} | {wps:,.0f} | {rss:,.0f} | {date[:10]} |"
            for name, wps, rss, date in rows]


def prediction_table(report: dict) -> str:
    lines = ["| pipeline | words/s | peak RSS (MB) | measured |", "|---|---:|---:|---|",
             *prediction_rows(report)]
    if "int8_speedup" in report:
        lines += ["", f"int8 / fp32 words/s in one run: {report['int8_speedup']:.2f}x."]
    return "\n".join(lines)


def workflow_table(report: dict) -> str:
    lines = ["| step | wall (min) | peak RSS (MB) |", "|---|---:|---:|"]
    for row in report["steps"]:
        lines.append(f"| {row['step']} | {row['seconds'] / 60:,.1f} | {row['peak_rss_mb']:,.0f} |")
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


@app.command()
def main(
    readme: Path = typer.Argument(..., exists=True, help="README.md with the markers"),
    bench: Path = typer.Option(Path("bench/results"), "--bench", exists=True,
                               help="Folder of the benchmark reports"),
) -> None:
    """Write the prediction speed table and the workflow memory table into ``readme``."""
    tables: Dict[str, str] = {
        "speed": prediction_table(json.loads((bench / "relation_extractor.json").read_text())),
        "workflow-memory": workflow_table(
            json.loads((bench / "workflow_memory.json").read_text())),
    }
    text = readme.read_text(encoding="utf8")
    try:
        for name, body in tables.items():
            text = replace_block(text, name, body)
    except ValueError as err:
        msg.fail(f"{readme}: {err}", exits=1)
    write_text(text, readme)
    msg.good(f"{readme}: {', '.join(tables)} tables written from {bench}")


if __name__ == "__main__":
    app()
