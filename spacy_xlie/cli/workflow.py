"""Workflow commands of the spaCy project: ``assets`` and ``check-package``."""

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..assets import AssetError, fetch_assets, load_assets
from ..data import ENV_VAR, data_dir
from ._app import app

#: Sentences (with their entities as character offsets) the packaged pipeline must
#: handle in a fresh environment: German and French, zero-shot for an English-trained model.
CHECK_SAMPLES = [
    ("Angela Merkel ist die Vorsitzende der CDU in Berlin.", [(0, 13), (38, 41)]),
    ("Le siège de Airbus se trouve à Toulouse, en France.", [(12, 18), (31, 39)]),
]

# Runs inside the fresh venv. It must never import spacy_xlie: spacy.load has to find the
# components through the package's entry points, as a user's script would.
CHECK_SCRIPT = """
import json, sys
import spacy
name, samples = sys.argv[1], json.loads(sys.argv[2])
nlp = spacy.load(name)
for text, offsets in samples:
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(s, e, label="ENT") for s, e in offsets]
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    rels = [(r.head.text, r.label, r.tail.text, round(r.score, 3)) for r in doc._.relations]
    print(json.dumps({"text": text, "relations": rels}, ensure_ascii=False))
"""


@app.command("assets")
def assets_cli(
    project_yml: Path = typer.Argument(Path("project.yml"), help="spaCy project file"),
    mirror: Optional[Path] = typer.Option(
        None, "--mirror", envvar=ENV_VAR,
        help=f"Local mirror folder (default: ${ENV_VAR}, else ../shared/data if present)",
    ),
) -> None:
    """Fetch the project's assets from a local mirror or their URLs, checked by sha256."""
    mirror = mirror if mirror and str(mirror) else data_dir()
    msg.info(f"Mirror: {mirror}" if mirror else "No local mirror: downloading")
    try:
        skipped = fetch_assets(load_assets(project_yml), mirror)
    except AssetError as err:
        msg.fail(str(err))
        raise typer.Exit(1) from None
    if skipped:
        msg.warn(f"{len(skipped)} optional asset(s) unavailable: their languages are skipped")


def _run(cmd: List[str]) -> None:
    msg.text(" ".join(cmd))
    subprocess.run(cmd, check=True)


@app.command("check-package")
def check_package_cli(
    pipeline_wheel: Path = typer.Argument(..., exists=True, help="Wheel from `spacy package`"),
    package_name: str = typer.Argument(..., help="Pipeline package name, e.g. xx_xlie_cpu"),
    plugin_wheels: Path = typer.Option(
        ..., "--plugin-wheels", exists=True, help="Folder holding the spacy-xlie wheel"
    ),
    venv_dir: Path = typer.Option(Path("packages/check-venv"), "--venv"),
    torch_spec: str = typer.Option("torch==2.13.0", "--torch", help="torch requirement first"),
) -> None:
    """Install a pipeline wheel in a fresh venv and extract relations without the plugin import."""
    if venv_dir.exists():
        shutil.rmtree(venv_dir)
    venv.create(venv_dir, with_pip=True)
    python = str(venv_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The CPU torch pin first: otherwise the plugin's `torch` requirement pulls a CUDA build.
    _run(pip + [torch_spec])
    _run(pip + ["--find-links", str(plugin_wheels), str(pipeline_wheel)])
    out = subprocess.run(
        [python, "-c", CHECK_SCRIPT, package_name, json.dumps(CHECK_SAMPLES)],
        check=True, capture_output=True, text=True,
    )
    print(out.stdout, end="")
    msg.good(f"{package_name} loads by name in a fresh venv ({sys.platform})")


@app.command("prepare")
def prepare_cli(
    assets_dir: Path = typer.Argument(Path("assets"), help="Folder written by `assets`"),
    corpus_dir: Path = typer.Argument(Path("corpus"), help="Output folder for .spacy files"),
    relx_langs: str = typer.Option("en,de,fr,es,tr", help="RELX languages to convert"),
) -> None:
    """Convert KBP37 (train/dev/test) and every RELX language present into DocBins.

    Writes ``kbp37_{train,dev}.spacy`` and, under ``eval/``, ``kbp37_test.spacy`` and
    ``relx_{lang}.spacy``: the evaluation sets, one table row each. A RELX language whose
    file is absent (optional asset) is skipped with a warning.
    """
    from ..corpora.marked import read_marked
    from ..util.io import write_docbin

    jobs = [
        (assets_dir / "kbp37" / f"{split}.txt", "en", True, corpus_dir / f"kbp37_{split}.spacy")
        for split in ("train", "dev")
    ]
    jobs.append(
        (assets_dir / "kbp37" / "test.txt", "en", True, corpus_dir / "eval" / "kbp37_test.spacy")
    )
    for lang in relx_langs.split(","):
        src = assets_dir / "relx" / f"RELX_{lang}.txt"
        if not src.is_file():
            msg.warn(f"RELX {lang}: {src} not found (optional asset): skipped")
            continue
        jobs.append((src, lang, False, corpus_dir / "eval" / f"relx_{lang}.spacy"))
    for src, lang, pretokenized, out in jobs:
        n = write_docbin(read_marked(src, lang, pretokenized=pretokenized), out)
        msg.good(f"{out}: {n} docs")
