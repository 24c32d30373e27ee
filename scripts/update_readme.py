"""Workflow step ``update-readme``: write the pipelines' results tables into README.md's
results block (never by hand), one section per pipeline.

    python scripts/update_readme.py README.md metrics/cpu.md [metrics/e5small.md ...]
        [--drop-others]
"""

import re
from pathlib import Path
from typing import Dict, List

import typer
from wasabi import msg

from spacy_xlie.util.io import write_text

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"
#: Opens one pipeline's section inside the results block.
SECTION_MARK = "<!-- results:pipeline {name} -->"
SECTION_RE = re.compile(r"^<!-- results:pipeline (\S+) -->$", re.MULTILINE)
HEADING_RE = re.compile(r"^(#+) ", re.MULTILINE)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def readme_sections(block: str) -> Dict[str, str]:
    """The pipeline sections of a results block, by name, in order (text before the first
    section, e.g. a block from before sections existed, is dropped: it was generated)."""
    marks = list(SECTION_RE.finditer(block))
    ends = [m.start() for m in marks[1:]] + [len(block)]
    return {m.group(1): block[m.start():end].strip() for m, end in zip(marks, ends)}


def pipeline_section(name: str, table: str, level: int = 3) -> str:
    """One pipeline's section: its mark, a heading, and the table with its headings moved
    below that heading."""
    levels = [len(m.group(1)) for m in HEADING_RE.finditer(table)]
    shift = level + 1 - min(levels) if levels else 0
    body = HEADING_RE.sub(lambda m: "#" * (len(m.group(1)) + shift) + " ", table.strip())
    return f"{SECTION_MARK.format(name=name)}\n{'#' * level} Pipeline `{name}`\n\n{body}"


@app.command()
def main(
    readme: Path = typer.Argument(..., exists=True, help="README.md with the results markers"),
    tables: List[Path] = typer.Argument(
        ..., exists=True,
        help="Markdown files to embed, one per pipeline, named after it (metrics/cpu.md)",
    ),
    drop_others: bool = typer.Option(
        False, "--drop-others", help="Remove the sections of pipelines not given here"
    ),
) -> None:
    """Write the pipelines' results tables into the README's results block (never by hand).

    Each table becomes one section, named after its file (``metrics/cpu.md``: ``cpu``),
    replacing that pipeline's section; other pipelines' sections are kept (unless
    ``--drop-others``), so each pipeline's workflow can update its own.
    """
    text = readme.read_text(encoding="utf8")
    if README_START not in text or README_END not in text:
        msg.fail(f"{readme}: no {README_START} ... {README_END} block", exits=1)
    head, rest = text.split(README_START, 1)
    block, tail = rest.split(README_END, 1)
    sections = {} if drop_others else readme_sections(block)
    for path in tables:
        sections[path.stem] = pipeline_section(path.stem, path.read_text(encoding="utf8"))
    body = "\n\n".join(sections.values())
    write_text(f"{head}{README_START}\n{body}\n{README_END}{tail}", readme)
    msg.good(f"{readme}: results block updated from {', '.join(map(str, tables))}")


if __name__ == "__main__":
    app()
