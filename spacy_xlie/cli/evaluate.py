"""``spacy-xlie evaluate MODEL DATA...``: relation scores per data set, as Markdown and JSON.

``DATA`` is any mix of ``.spacy`` files and folders (every ``*.spacy`` inside, sorted). Each
file is one data set and one table row, keyed by its stem (``kbp37_test``, ``relx_de``):
KBP37 test and RELX EN are both English but distinct data sets, so they are never merged.
A row gives the language (``doc._.xlie_lang``), the doc count, micro P/R/F and the official
KBP37/RELX macro-F1 (:mod:`spacy_xlie.scorers`); an ``all`` row pools every doc.
``--gold-ents`` classifies relations between the gold entities (as RELX reports it): the
predicted docs get the reference entities and any component that would overwrite
``doc.ents`` is disabled.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import spacy
import typer
from spacy.language import Language
from spacy.training import Example

from ..corpora.reader import RelationCorpus
from ..pipeline.relation_extractor import RelationExtractor
from ..scorers import example_language, score_relations
from ..util.io import write_json, write_text
from ._app import app, exit_on


def relation_pipe(nlp: Language) -> Optional[RelationExtractor]:
    """The pipeline's first relation extractor, if any."""
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, RelationExtractor):
            return pipe
    return None


def data_files(paths: Sequence[Path]) -> List[Path]:
    """The ``.spacy`` files named by ``paths``: files as given, folders expanded (sorted)."""
    files: List[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.spacy"))
            if not found:
                raise ValueError(f"No .spacy files in {path}")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise ValueError(f"No such file or folder: {path}")
    return files


def dataset_names(files: Sequence[Path]) -> List[str]:
    """One row key per file: its stem, or ``folder/stem`` where two files share a stem."""
    stems = [f.stem for f in files]
    names = [f"{f.parent.name}/{f.stem}" if stems.count(f.stem) > 1 else f.stem
             for f in files]
    if len(set(names)) < len(names):
        raise ValueError(f"Data files with the same name: {[str(f) for f in files]}")
    return names


def load_examples(nlp: Language, path: Path, *, gold_ents: bool) -> List[Example]:
    """The examples of one ``.spacy`` file."""
    return list(RelationCorpus(path, gold_ents=gold_ents)(nlp))


def languages(examples: Sequence[Example]) -> Optional[str]:
    """The data set's language(s) from ``doc._.xlie_lang``: ``"en"``, ``"de, en"`` or None."""
    langs = sorted({example_language(eg, "") for eg in examples} - {""})
    return ", ".join(langs) if langs else None


def predict(nlp: Language, examples: Sequence[Example], *, gold_ents: bool,
            batch_size: int = 64) -> List[Example]:
    """Run the pipeline on the predicted docs (keeping gold entities with ``gold_ents``)."""
    disable = []
    if gold_ents:
        disable = [name for name in nlp.pipe_names
                   if "doc.ents" in nlp.get_pipe_meta(name).assigns]
    with nlp.select_pipes(disable=disable):
        docs = nlp.pipe((eg.predicted for eg in examples), batch_size=batch_size)
        return [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]


def evaluate_relations(
    nlp: Language, paths: Sequence[Path], *, gold_ents: bool = True, batch_size: int = 64
) -> Dict[str, Any]:
    """Score ``nlp`` on DocBins (files or folders): per data set and overall.

    Returns the JSON report: ``datasets[name] = {path, lang, docs, rel_micro_p/r/f,
    rel_macro_f, rel_f_per_type, ...}`` in file order, and ``overall`` over all docs.
    """
    pipe = relation_pipe(nlp)
    if pipe is None:
        raise ValueError(f"The pipeline has no relation extractor: {nlp.pipe_names}")
    settings = {"labels": pipe.labels, "mode": pipe.mode, "threshold": pipe.cfg["threshold"]}
    files = data_files(paths)
    datasets: Dict[str, Any] = {}
    scored_all: List[Example] = []
    for name, path in zip(dataset_names(files), files):
        examples = load_examples(nlp, path, gold_ents=gold_ents)
        scored = predict(nlp, examples, gold_ents=gold_ents, batch_size=batch_size)
        scored_all.extend(scored)
        datasets[name] = {"path": str(path), "lang": languages(scored), "docs": len(scored),
                          **score_relations(scored, **settings)}
    return {
        "gold_ents": gold_ents,
        "files": [str(f) for f in files],
        "labels": list(pipe.labels),
        "mode": pipe.mode,
        "datasets": datasets,
        "overall": {"docs": len(scored_all), **score_relations(scored_all, **settings)},
    }


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def report_markdown(report: Dict[str, Any], title: str = "Relation extraction") -> str:
    """The per-data-set table and the per-label table as Markdown."""
    mode = "gold entities" if report["gold_ents"] else "predicted entities"
    lines = [
        f"## {title} ({mode})",
        "",
        "| data set | language | docs | micro P | micro R | micro F | macro F (official) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    datasets = report["datasets"]
    overall = {**report["overall"], "lang": None}
    rows = list(datasets.items())
    if len(rows) > 1:
        rows.append(("all", overall))
    for name, s in rows:
        lines.append(
            f"| {name} | {s['lang'] or '-'} | {s['docs']} | {_pct(s['rel_micro_p'])} "
            f"| {_pct(s['rel_micro_r'])} | {_pct(s['rel_micro_f'])} | {_pct(s['rel_macro_f'])} |"
        )
    names = list(datasets)
    lines += [
        "",
        "### Per label (all data sets: P / R / F; then F per data set)",
        "",
        "| label | P | R | F | " + " | ".join(names) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(names),
    ]
    for label, s in report["overall"]["rel_f_per_type"].items():
        per_set = [
            _pct(datasets[name]["rel_f_per_type"].get(label, {}).get("f")) for name in names
        ]
        lines.append(
            f"| {label} | {_pct(s['p'])} | {_pct(s['r'])} | {_pct(s['f'])} | "
            + " | ".join(per_set) + " |"
        )
    return "\n".join(lines) + "\n"


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data: List[Path] = typer.Argument(
        ..., help=".spacy files or folders of them; one data set (table row) per file",
        exists=True,
    ),
    gold_ents: bool = typer.Option(
        True, "--gold-ents/--no-gold-ents",
        help="Classify gold entity pairs (RELX setting) or use the pipeline's entities",
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON report"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Markdown report"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Score a relation extraction pipeline per data set (file), with its language."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    with exit_on(ValueError):
        report = evaluate_relations(nlp, data, gold_ents=gold_ents, batch_size=batch_size)
    report["model"] = model
    text = report_markdown(report)
    typer.echo(text)
    if output is not None:
        write_json(report, output)
    if markdown is not None:
        write_text(text, markdown)
