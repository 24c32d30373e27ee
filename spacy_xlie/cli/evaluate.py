"""``spacy-xlie evaluate MODEL DATA.spacy...``: relation scores per language, as Markdown and JSON.

Each language row gives the doc count, micro P/R/F and the official KBP37/RELX macro-F1
(:mod:`spacy_xlie.scorers`). ``--gold-ents`` classifies relations between the gold
entities (as RELX reports it): the predicted docs get the reference entities and any
component that would overwrite ``doc.ents`` is disabled.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import spacy
import typer
from spacy.language import Language
from spacy.training import Example

from ..corpora.reader import RelationCorpus
from ..pipeline.relation_extractor import RelationExtractor
from ..scorers import example_language, score_relations, score_relations_by_language
from ..util.io import write_json, write_text
from ._app import app


def relation_pipe(nlp: Language) -> Optional[RelationExtractor]:
    """The pipeline's first relation extractor, if any."""
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, RelationExtractor):
            return pipe
    return None


def load_examples(nlp: Language, path: Path, *, gold_ents: bool) -> List[Example]:
    """Examples of one ``.spacy`` file; docs without ``xlie_lang`` get the file's stem."""
    examples = list(RelationCorpus(path, gold_ents=gold_ents)(nlp))
    for eg in examples:
        if example_language(eg, "") == "":
            eg.reference._.xlie_lang = path.stem
    return examples


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
    """Score ``nlp`` on DocBins: overall and per language (the report written to JSON)."""
    pipe = relation_pipe(nlp)
    if pipe is None:
        raise ValueError(f"The pipeline has no relation extractor: {nlp.pipe_names}")
    settings = {"labels": pipe.labels, "mode": pipe.mode, "threshold": pipe.cfg["threshold"]}
    examples: List[Example] = []
    for path in paths:
        examples.extend(load_examples(nlp, Path(path), gold_ents=gold_ents))
    scored = predict(nlp, examples, gold_ents=gold_ents, batch_size=batch_size)
    return {
        "gold_ents": gold_ents,
        "files": [str(p) for p in paths],
        "labels": list(pipe.labels),
        "mode": pipe.mode,
        "overall": {"docs": len(scored), **score_relations(scored, **settings)},
        "languages": score_relations_by_language(scored, **settings),
    }


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def report_markdown(report: Dict[str, Any], title: str = "Relation extraction") -> str:
    """The per-language table and the per-label table (overall) as Markdown."""
    mode = "gold entities" if report["gold_ents"] else "predicted entities"
    lines = [
        f"## {title} ({mode})",
        "",
        "| language | docs | micro P | micro R | micro F | macro F (official) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = list(report["languages"].items()) + [("all", report["overall"])]
    for lang, s in rows:
        lines.append(
            f"| {lang} | {s['docs']} | {_pct(s['rel_micro_p'])} | {_pct(s['rel_micro_r'])} "
            f"| {_pct(s['rel_micro_f'])} | {_pct(s['rel_macro_f'])} |"
        )
    langs = list(report["languages"])
    lines += [
        "",
        "### Per label (all languages: P / R / F; then F per language)",
        "",
        "| label | P | R | F | " + " | ".join(langs) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(langs),
    ]
    for label, s in report["overall"]["rel_f_per_type"].items():
        per_lang = [
            _pct(report["languages"][lang]["rel_f_per_type"].get(label, {}).get("f"))
            for lang in langs
        ]
        lines.append(
            f"| {label} | {_pct(s['p'])} | {_pct(s['r'])} | {_pct(s['f'])} | "
            + " | ".join(per_lang) + " |"
        )
    return "\n".join(lines) + "\n"


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data: List[Path] = typer.Argument(..., help="One or more .spacy files", exists=True),
    gold_ents: bool = typer.Option(
        True, "--gold-ents/--no-gold-ents",
        help="Classify gold entity pairs (RELX setting) or use the pipeline's entities",
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON report"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Markdown report"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Score a relation extraction pipeline per language (doc._.xlie_lang or file name)."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    try:
        report = evaluate_relations(nlp, data, gold_ents=gold_ents, batch_size=batch_size)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    report["model"] = model
    text = report_markdown(report)
    typer.echo(text)
    if output is not None:
        write_json(report, output)
    if markdown is not None:
        write_text(text, markdown)
