"""Workflow step ``assets``: fetch the project's data sets from a local mirror or their
pinned URLs, each checked by sha256 (``spacy project assets`` only downloads and checks
MD5). Optional assets that are unavailable are skipped with a warning.

    python scripts/assets.py [project.yml] [--mirror DIR]
"""

from pathlib import Path

import typer
from wasabi import msg

from spacy_xlie.assets import AssetError, fetch_assets, load_assets
from spacy_xlie.data import ENV_VAR, data_dir

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    project_yml: Path = typer.Argument(Path("project.yml"), help="spaCy project file"),
    mirror_dir: str = typer.Option(
        "", "--mirror", envvar=ENV_VAR,
        help=f"Local mirror folder (default: ${ENV_VAR}, else ../shared/data if present)",
    ),
) -> None:
    """Fetch the project's assets from a local mirror or their URLs, checked by sha256."""
    mirror = Path(mirror_dir) if mirror_dir else data_dir()
    msg.info(f"Mirror: {mirror}" if mirror else "No local mirror: downloading")
    try:
        skipped = fetch_assets(load_assets(project_yml), mirror)
    except AssetError as err:
        msg.fail(str(err), exits=1)
    if skipped:
        msg.warn(f"{len(skipped)} optional asset(s) unavailable: their languages are skipped")


if __name__ == "__main__":
    app()
