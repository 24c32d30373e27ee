"""``spacy-xlie kb ...``: build a RelationKB directory for ``spacy-xlie label``.

* ``kb build ENTITIES TRIPLES OUT``: from the JSONL/TSV formats of
  :mod:`spacy_xlie.kb.relation_kb`;
* ``kb from-wikidata DUMP... OUT --lang en --lang de --property P108``: streamed from
  Wikidata JSON dumps (``.json``, ``.json.gz``, ``.json.bz2``);
* ``kb from-relx-distant FILE... OUT``: the RELX-Distant check KB (aliases = surface
  strings, triples = records).
"""

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import XlieDataError
from ..kb.relation_kb import LoadStats, RelationKB
from ..kb.relx_distant import kb_from_relx_distant
from ..kb.wikidata import read_wikidata_dump
from ._app import app, exit_on

kb_app = typer.Typer(help="Build knowledge bases for distant supervision.",
                     no_args_is_help=True)
app.add_typer(kb_app, name="kb")


def _finish(kb: RelationKB, out: Path, stats: Optional[LoadStats] = None) -> None:
    kb.to_disk(out)
    skipped = f", {stats.skipped} bad lines skipped" if stats and stats.skipped else ""
    typer.echo(f"Wrote {out}: {len(kb)} entities, {kb.n_aliases} aliases "
               f"({', '.join(kb.languages) or 'no language'}), {kb.n_triples} triples{skipped}")


@kb_app.command("build")
def build_command(
    entities: Path = typer.Argument(..., help="Entities JSONL", exists=True, dir_okay=False),
    triples: Path = typer.Argument(..., help="Triples .jsonl or .tsv", exists=True,
                                   dir_okay=False),
    out: Path = typer.Argument(..., help="Output KB directory"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count bad lines"),
) -> None:
    """Build a KB from entity and triple files."""
    stats = LoadStats()
    with exit_on():
        kb = RelationKB.from_files(entities, triples, skip_invalid=skip_invalid, stats=stats)
    _finish(kb, out, stats)


@kb_app.command("from-wikidata")
def from_wikidata_command(
    dumps: List[Path] = typer.Argument(..., help="Wikidata JSON dump(s)", exists=True),
    out: Path = typer.Option(..., "--out", "-o", help="Output KB directory"),
    langs: List[str] = typer.Option(["en"], "--lang", "-l", help="Alias languages"),
    properties: List[str] = typer.Option([], "--property", "-p",
                                         help="Properties kept as triples (default: all)"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count bad lines"),
) -> None:
    """Build a KB from a Wikidata JSON dump: names in LANGS, item-valued claims."""
    stats = LoadStats()
    with exit_on():
        kb = read_wikidata_dump(dumps, langs, properties=properties or None,
                                skip_invalid=skip_invalid, stats=stats)
    _finish(kb, out, stats)


@kb_app.command("from-relx-distant")
def from_relx_distant_command(
    files: List[Path] = typer.Argument(..., help="RELX_distant_LANG.json files", exists=True),
    out: Path = typer.Option(..., "--out", "-o", help="Output KB directory"),
) -> None:
    """Build the RELX-Distant check KB from its sample files."""
    with exit_on(XlieDataError, ValueError):
        kb = kb_from_relx_distant(files)
    _finish(kb, out)
