"""Relation scores of a pipeline per data set, as a report and its Markdown (what
``spacy-xlie evaluate MODEL DATA...`` prints and writes).

``DATA`` is any mix of ``.spacy`` files and folders (every ``*.spacy`` inside, sorted). Each
file is one data set and one table row, keyed by its stem (``kbp37_test``, ``relx_de``):
KBP37 test and RELX EN are both English but distinct data sets, so they are never merged.
A row gives the language (``doc._.xlie_lang``), the doc count, the gold relations and how
many of them no prediction can reach (they count as missed), micro P/R/F and the official
KBP37/RELX macro-F1 (:mod:`spacy_xlie.scorers`).

Docs are never pooled across data sets: RELX EN is 502 sentences of KBP37 test and RELX
DE/FR are their translations, so a pooled row would count the same sentences several
times. Instead, data sets named ``FAMILY_LANG`` (``relx_de``, ``relx_en``, ``relx_fr``)
get a mean row: the unweighted mean of their scores, and, leaving out the training
language (``train_lang``), the cross-lingual mean: the zero-shot headline figure.

``gold_ents`` classifies relations between the gold entities (as RELX reports it): the
predicted docs get the reference entities and any component that would overwrite
``doc.ents`` is disabled. Only relations of ``source`` (the relation extractor's
``predicted``) are scored.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from .corpora.reader import RelationCorpus
from .entities import entity_components
from .errors import XlieDataError
from .pipeline.relation_extractor import RelationExtractor
from .pipeline.transformer import encoder_precision
from .scorers import PREDICTED, example_language, score_relations, unrepresentable_labels


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
        elif path.suffix.lower() != ".spacy":
            raise XlieDataError("expected a .spacy file (spacy-xlie convert makes one)", path,
                                field="suffix")
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
    """Run the pipeline on the predicted docs (keeping gold entities with ``gold_ents``).
    Each doc lets go of the encoder's output (``doc._.trf_data``, a vector per wordpiece)
    once the pipeline has run: scoring reads entities and relations only, and a data set's
    docs are all held until it is scored."""
    if batch_size < 1:
        # spacy.util.minibatch yields nothing at size 0: a trained pipe would drop every doc
        raise ValueError(f"batch_size: expected 1 or more, got {batch_size}")
    disable = entity_components(nlp) if gold_ents else []
    with nlp.select_pipes(disable=disable):
        docs = nlp.pipe((eg.predicted for eg in examples), batch_size=batch_size)
        return [Example(without_encoder_output(doc), eg.reference)
                for doc, eg in zip(docs, examples)]


def without_encoder_output(doc: Doc) -> Doc:
    """``doc`` with ``doc._.trf_data`` (spacy-transformers' output) dropped, if it has one."""
    if doc.has_extension("trf_data"):
        doc._.trf_data = None
    return doc


def gold_counts(pipe: RelationExtractor, examples: Sequence[Example]) -> Dict[str, int]:
    """Gold relations of a data set and those no prediction can match: unrepresentable
    ones (no span) and those whose pair is not one of ``pipe``'s candidates."""
    not_candidates, with_span = pipe.unreachable_gold(examples)
    unrepresentable = sum(len(unrepresentable_labels(eg.reference)) for eg in examples)
    return {
        "gold": with_span + unrepresentable,
        "gold_unrepresentable": unrepresentable,
        "gold_not_candidates": not_candidates,
    }


def evaluate_relations(
    nlp: Language,
    paths: Sequence[Path],
    *,
    gold_ents: bool = True,
    batch_size: int = 64,
    source: Optional[str] = PREDICTED,
    train_lang: Optional[str] = "en",
) -> Dict[str, Any]:
    """Score ``nlp`` on DocBins (files or folders): per data set, and means over languages.

    Returns the JSON report: ``datasets[name] = {path, lang, docs, gold,
    gold_unrepresentable, gold_not_candidates, rel_micro_p/r/f, rel_macro_f,
    rel_f_per_type, rel_gold_per_type, ...}`` in file order, and ``means`` (see
    :func:`language_means`).
    """
    pipe = relation_pipe(nlp)
    if pipe is None:
        raise ValueError(f"The pipeline has no relation extractor: {nlp.pipe_names}")
    settings = scoring_settings(pipe, source)
    files = data_files(paths)
    datasets: Dict[str, Any] = {}
    for name, path in zip(dataset_names(files), files):
        examples = load_examples(nlp, path, gold_ents=gold_ents)
        scored = predict(nlp, examples, gold_ents=gold_ents, batch_size=batch_size)
        datasets[name] = {"path": str(path), "lang": languages(scored), "docs": len(scored),
                          **gold_counts(pipe, scored), **score_relations(scored, **settings)}
    return {
        "gold_ents": gold_ents,
        "source": source,
        "train_lang": train_lang,
        "files": [str(f) for f in files],
        "labels": list(pipe.labels),
        "mode": pipe.mode,
        "datasets": datasets,
        "means": language_means(datasets, train_lang),
        "encoder": encoder_precision(nlp),
    }


def scoring_settings(pipe: RelationExtractor, source: Optional[str] = PREDICTED
                     ) -> Dict[str, Any]:
    """The keyword arguments of :func:`spacy_xlie.scorers.score_relations` that score
    ``pipe``'s predictions as the pipe itself would (its labels, mode and threshold)."""
    return {"labels": pipe.labels, "mode": pipe.mode, "threshold": pipe.cfg["threshold"],
            "source": source}


MEAN_KEYS = ("rel_micro_p", "rel_micro_r", "rel_micro_f", "rel_macro_f")


def language_families(datasets: Dict[str, Any]) -> Dict[str, List[str]]:
    """Data sets named ``FAMILY_LANG`` whose docs are all in ``LANG``, by family, for
    families with two languages or more: ``{"relx": ["relx_de", "relx_en", "relx_fr"]}``."""
    families: Dict[str, List[str]] = {}
    for name, scores in datasets.items():
        family, _, suffix = name.rpartition("_")
        if family and suffix == scores["lang"]:
            families.setdefault(family, []).append(name)
    return {family: names for family, names in families.items() if len(names) > 1}


def mean_scores(datasets: Dict[str, Any], names: Sequence[str]) -> Dict[str, Any]:
    """The unweighted mean of the named data sets' scores (and of their per-type F)."""
    rows = [datasets[name] for name in names]
    types = sorted({t for row in rows for t in row["rel_f_per_type"]})
    return {
        "datasets": list(names),
        "lang": ", ".join(row["lang"] for row in rows),
        **{key: sum(row[key] for row in rows) / len(rows) for key in MEAN_KEYS},
        "rel_f_per_type": {
            t: {"f": sum(row["rel_f_per_type"].get(t, {}).get("f", 0.0) for row in rows)
                / len(rows)}
            for t in types
        },
    }


def language_means(datasets: Dict[str, Any], train_lang: Optional[str]) -> Dict[str, Any]:
    """For each family of ``FAMILY_LANG`` data sets, ``"FAMILY mean"`` over its languages
    and ``"FAMILY mean, cross-lingual"`` over those other than ``train_lang`` (when that
    leaves two or more, and differs from the first)."""
    means: Dict[str, Any] = {}
    for family, names in language_families(datasets).items():
        means[f"{family} mean"] = mean_scores(datasets, names)
        other = [name for name in names if datasets[name]["lang"] != train_lang]
        if 1 < len(other) < len(names):
            means[f"{family} mean, cross-lingual"] = mean_scores(datasets, other)
    return means


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def report_markdown(report: Dict[str, Any], title: str = "Relation extraction") -> str:
    """The per-data-set table (with the language means) and F per label, as Markdown."""
    mode = "gold entities" if report["gold_ents"] else "predicted entities"
    datasets, means = report["datasets"], report.get("means", {})
    lines = [f"## {title} ({mode})", ""]
    if report.get("model"):
        encoder = (f" Encoder: {report['encoder']} (`xlie_transformer` quantize)."
                   if report.get("encoder") else "")
        lines += [f"Model: `{report['model']}`.{encoder} Scores in %.", ""]
    lines += [
        "| data set | language | docs | gold relations | unreachable | micro P | micro R "
        "| micro F | macro F (official) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in datasets.items():
        unreachable = s["gold_unrepresentable"] + s["gold_not_candidates"]
        lines.append(
            f"| {name} | {s['lang'] or '-'} | {s['docs']} | {s['gold']} | {unreachable} "
            f"| {_pct(s['rel_micro_p'])} | {_pct(s['rel_micro_r'])} | {_pct(s['rel_micro_f'])} "
            f"| {_pct(s['rel_macro_f'])} |"
        )
    for name, s in means.items():
        lines.append(
            f"| **{name}** | {s['lang']} | - | - | - | {_pct(s['rel_micro_p'])} "
            f"| {_pct(s['rel_micro_r'])} | {_pct(s['rel_micro_f'])} | {_pct(s['rel_macro_f'])} |"
        )
    lines += ["", NOTES]
    if means:
        train_lang = report.get("train_lang") or "-"
        lines += ["", MEAN_NOTES.format(train_lang=train_lang)]
    columns = list(datasets) + list(means)
    lines += [
        "",
        "### F per label",
        "",
        "| label | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    labels = sorted({t for s in datasets.values() for t in s["rel_f_per_type"]})
    for label in labels:
        cells = [
            _pct({**datasets, **means}[name]["rel_f_per_type"].get(label, {}).get("f"))
            for name in columns
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines + gold_per_label_lines(datasets, labels)) + "\n"


def gold_per_label_lines(datasets: Dict[str, Any], labels: Sequence[str]) -> List[str]:
    """Each label's gold relations per data set, as Markdown (none for reports from before
    the scorer counted them): what each F of the table above rests on."""
    names = [name for name, s in datasets.items() if "rel_gold_per_type" in s]
    if not names:
        return []
    lines = ["", "### Gold relations per label", "",
             "| label | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label in labels:
        cells = [str(datasets[name]["rel_gold_per_type"].get(label, 0)) for name in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


NOTES = (
    "Gold relations include those no prediction can match (unreachable: an empty entity "
    "marker in the source data, or a pair that is not a candidate of the relation "
    "extractor); they count as missed. \"macro F (official)\" averages the per-type F over "
    "the gold, predicted and model relation types."
)
MEAN_NOTES = (
    "Mean rows are unweighted means of the per-language rows they name, not pooled docs "
    "(RELX DE/FR translate RELX EN, itself 502 sentences of KBP37 test); \"cross-lingual\" "
    "leaves out the training language ({train_lang}): the zero-shot figure."
)
