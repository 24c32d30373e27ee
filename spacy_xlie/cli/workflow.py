"""Workflow commands of the spaCy project: ``assets`` and ``check-package``."""

import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, Iterator, List

import srsly
import typer
from wasabi import msg

from ..assets import AssetError, fetch_assets, load_assets
from ..data import ENV_VAR, data_dir
from ._app import app, fail

#: Raw sentences the packaged pipeline must handle in a fresh environment, German and
#: French (zero-shot for an English-trained model). No entities are given: the pipeline
#: must find them itself. Their entities are ones the workflow's gazetteer knows (the KB
#: of the RELX-Distant samples' Wikidata entities); "Angela Merkel" or "Airbus" are not
#: among them.
CHECK_SAMPLES = [
    "Das Technion hat seinen Sitz in Haifa.",
    "Vodafone übernahm im Jahr 2000 Mannesmann.",
    "Le siège de Nissan se trouve au Japon.",
    "Maggi appartient à Nestlé depuis 1947.",
]

# Runs inside the fresh venv. It must never import spacy_xlie: spacy.load has to find the
# components through the package's entry points, as a user's script would.
CHECK_SCRIPT = """
import json, sys
import spacy
name, texts = sys.argv[1], json.loads(sys.argv[2])
nlp = spacy.load(name)
sources = [n for n in nlp.pipe_names if "doc.ents" in nlp.get_pipe_meta(n).assigns]
print(json.dumps({"pipeline": nlp.pipe_names, "entity_pipes": sources}))
for doc in nlp.pipe(texts):
    ents = [(e.text, e.label_, e.kb_id_) for e in doc.ents]
    rels = [(r.head.text, r.label, r.tail.text, round(r.score, 3)) for r in doc._.relations]
    print(json.dumps({"text": doc.text, "entities": ents, "relations": rels},
                     ensure_ascii=False))
"""


def check_pipeline(python: str, pipeline: str, texts: List[str]) -> List[dict]:
    """Run :data:`CHECK_SCRIPT` with ``python`` on ``pipeline`` (a name or path): the
    entities and relations ``nlp(text)`` finds in each text. Raises ``ValueError`` when
    the pipeline has no entity component or a text gets fewer than two entities."""
    out = subprocess.run([python, "-c", CHECK_SCRIPT, pipeline, json.dumps(texts)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise ValueError(f"{pipeline} failed in {python}:\n{out.stderr[-2000:]}")
    return check_results(pipeline, out.stdout)


def check_results(pipeline: str, stdout: str) -> List[dict]:
    """The per-text results in :data:`CHECK_SCRIPT`'s output, checked (see
    :func:`check_pipeline`)."""
    header, *results = (json.loads(line) for line in stdout.splitlines()
                        if line.startswith("{"))
    if not header["entity_pipes"]:
        raise ValueError(
            f"{pipeline} ({' -> '.join(header['pipeline'])}) has no component that sets "
            "doc.ents, so raw text gets no relations: package the pipeline written by "
            "`spacy-xlie kb attach MODEL KB OUTPUT` (a gazetteer over the KB's aliases)")
    missing = [r["text"] for r in results if len(r["entities"]) < 2]
    if missing:
        raise ValueError(f"fewer than two entities found by {header['entity_pipes']} in: "
                         + " | ".join(missing))
    return results


@app.command("assets")
def assets_cli(
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
        msg.fail(str(err))
        raise typer.Exit(1) from None
    if skipped:
        msg.warn(f"{len(skipped)} optional asset(s) unavailable: their languages are skipped")


def _run(cmd: List[str]) -> None:
    msg.text(" ".join(cmd))
    subprocess.run(cmd, check=True)


def find_pipeline_wheel(packages_dir: Path, name: str, version: str) -> Path:
    """The wheel ``spacy package --build wheel`` wrote for ``name`` (any language prefix)."""
    wheels = sorted(packages_dir.glob(f"*_{name}-{version}/dist/*_{name}-{version}-*.whl"))
    if not wheels:
        raise FileNotFoundError(
            f"no wheel for pipeline '{name}' {version} under {packages_dir}: run `package` first"
        )
    return wheels[-1]


@app.command("check-package")
def check_package_cli(
    packages_dir: Path = typer.Argument(..., exists=True, help="Output folder of `spacy package`"),
    name: str = typer.Option(..., "--name", help="Pipeline name given to `spacy package`"),
    version: str = typer.Option(..., "--version", help="Pipeline version"),
    plugin_wheels: Path = typer.Option(
        ..., "--plugin-wheels", exists=True, help="Folder holding the spacy-xlie wheel"
    ),
    venv_dir: Path = typer.Option(Path("packages/check-venv"), "--venv"),
    torch_spec: str = typer.Option("torch==2.13.0", "--torch", help="torch requirement first"),
) -> None:
    """Install a pipeline wheel in a fresh venv and extract relations from raw German and
    French sentences, entities found by the pipeline itself, without the plugin import.

    The spacy-xlie wheel comes from ``--plugin-wheels`` (the pipeline's requirements name
    it); everything else from the package index.
    """
    wheel = find_pipeline_wheel(packages_dir, name, version)
    package_name = wheel.name.split("-")[0]
    if venv_dir.exists():
        shutil.rmtree(venv_dir)
    venv.create(venv_dir, with_pip=True)
    python = str(venv_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The CPU torch pin first: otherwise the plugin's `torch` requirement pulls a CUDA build.
    _run(pip + [torch_spec])
    _run(pip + ["--find-links", str(plugin_wheels), str(wheel)])
    try:
        results = check_pipeline(python, package_name, CHECK_SAMPLES)
    except ValueError as err:
        fail(str(err))
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    n_rel = sum(len(r["relations"]) for r in results)
    msg.good(f"{package_name} loads by name in a fresh venv ({sys.platform}) and finds its "
             f"own entities: {n_rel} relations in {len(results)} raw sentences")


@app.command("prepare")
def prepare_cli(
    assets_dir: Path = typer.Argument(Path("assets"), help="Folder written by `assets`"),
    corpus_dir: Path = typer.Argument(Path("corpus"), help="Output folder for .spacy files"),
    relx_langs: str = typer.Option("en,de,fr,es,tr", help="RELX languages to convert"),
) -> None:
    """Convert KBP37 (train/dev/test) and every RELX language present into DocBins.

    Writes ``kbp37_{train,dev}.spacy`` and, under ``eval/``, ``kbp37_test.spacy`` and
    ``relx_{lang}.spacy``: the evaluation sets, one table row each. A RELX language whose
    file is absent (optional asset) is skipped with a warning. The RELX-Distant sentences
    go, stripped of their annotations, to ``relx_distant_raw.jsonl`` for distant labeling.
    """
    from ..corpora.marked import read_marked
    from ..util.io import write_docbin, write_jsonl

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
    distant = sorted((assets_dir / "relx-distant").glob("RELX_distant_*.json"))
    raw = corpus_dir / "relx_distant_raw.jsonl"
    n = write_jsonl(_raw_sentences(distant), raw)
    msg.good(f"{raw}: {n} raw sentences from {len(distant)} RELX-Distant file(s)")


def _raw_sentences(paths: List[Path]) -> Iterator[dict]:
    """RELX-Distant sentences without their annotations: the input of distant labeling."""
    from ..kb.relx_distant import lang_of, read_relx_distant

    for path in paths:
        lang = lang_of(path)
        for i, rec in enumerate(read_relx_distant(path)):
            yield {"id": f"{path.stem}:{i}", "lang": lang, "text": rec["sentence"]}


@app.command("show-metrics")
def show_metrics_cli(
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
            data = srsly.read_json(path)
            headline = {k: v for k, v in data.items() if isinstance(v, (int, float, str))}
            print(f"{path}: " + ", ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in headline.items()
            ))


README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"
#: Opens one pipeline's section inside the results block.
SECTION_MARK = "<!-- results:pipeline {name} -->"
SECTION_RE = re.compile(r"^<!-- results:pipeline (\S+) -->$", re.MULTILINE)
HEADING_RE = re.compile(r"^(#+) ", re.MULTILINE)


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


@app.command("update-readme")
def update_readme_cli(
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
    from ..util.io import write_text

    text = readme.read_text(encoding="utf8")
    if README_START not in text or README_END not in text:
        fail(f"{readme}: no {README_START} ... {README_END} block")
    head, rest = text.split(README_START, 1)
    block, tail = rest.split(README_END, 1)
    sections = {} if drop_others else readme_sections(block)
    for path in tables:
        sections[path.stem] = pipeline_section(path.stem, path.read_text(encoding="utf8"))
    body = "\n\n".join(sections.values())
    write_text(f"{head}{README_START}\n{body}\n{README_END}{tail}", readme)
    msg.good(f"{readme}: results block updated from {', '.join(map(str, tables))}")
