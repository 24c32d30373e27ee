"""Annotation projection over a corpus: target docs read from text, JSONL or a DocBin,
paired with their annotated sources (by id, else by order), projected, and summarised.

Any pairing problem stops the run before anything is written; the output DocBin (and the
report) are written atomically. :mod:`spacy_xlie.distributed.project_job` runs the same
projection by shards; ``spacy-xlie project`` is the command line over both.
"""

from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..corpora.base import iter_lines, load_docbin, parse_json_line
from ..errors import XlieDataError
from ..util.io import write_docbin, write_json
from . import build_aligner, project_batch
from .projection import ProjectionResult


def _read_lines(path: Path) -> List[Tuple[int, dict]]:
    records = []
    with open(path, encoding="utf8") as f:
        for line_no, line in enumerate(f, start=1):
            records.append((line_no, {"text": line.rstrip("\n").rstrip("\r")}))
    while records and not records[-1][1]["text"].strip():
        records.pop()  # a trailing blank line is not a sentence
    return records


def _read_jsonl(path: Path) -> List[Tuple[int, dict]]:
    return [(line, parse_json_line(raw, path, line)) for line, raw in iter_lines(path)]


def read_targets(
    path: Path, nlp: Language, *, skip_invalid: bool = False, skipped: Optional[list] = None
) -> List[Doc]:
    """Target docs from ``.spacy``, ``.jsonl`` or plain text (anything else)."""
    if path.suffix == ".spacy":
        return list(load_docbin(path).get_docs(nlp.vocab))
    records = _read_jsonl(path) if path.suffix == ".jsonl" else _read_lines(path)
    docs = []
    for line_no, record in records:
        text = record.get("text")
        sent_id = record.get("id")
        try:
            if not isinstance(text, str) or not text.strip():
                raise XlieDataError("missing or empty text", path, line_no, "text")
            if sent_id is not None and not isinstance(sent_id, (str, int)):
                raise XlieDataError("id must be a string or an integer", path, line_no, "id")
        except XlieDataError as err:
            if not skip_invalid:
                raise
            if skipped is not None:
                skipped.append(str(err))
            continue
        doc = nlp(text.strip())
        doc._.xlie_id = str(sent_id) if sent_id is not None else None
        docs.append(doc)
    return docs


def pair_docs(
    sources: Sequence[Doc], targets: Sequence[Doc], src_path: Path, tgt_path: Path
) -> Tuple[List[Tuple[Doc, Doc]], str]:
    """Pairs by id when all docs have ids, else by order; ``(pairs, "id"|"order")``."""
    if sources and targets and all(d._.xlie_id is not None for d in [*sources, *targets]):
        by_id: Dict[str, Doc] = {}
        for doc in sources:
            if doc._.xlie_id in by_id:
                raise XlieDataError(f"duplicate id {doc._.xlie_id!r}", src_path, field="id")
            by_id[doc._.xlie_id] = doc
        missing = [d._.xlie_id for d in targets if d._.xlie_id not in by_id]
        if missing:
            raise XlieDataError(
                f"{len(missing)} target id(s) not in {src_path}, e.g. {missing[:3]}",
                tgt_path, field="id",
            )
        return [(by_id[d._.xlie_id], d) for d in targets], "id"
    if len(sources) != len(targets):
        raise XlieDataError(
            f"{len(targets)} target docs but {len(sources)} source docs in {src_path}: "
            "without ids on both sides they are paired by order, so the counts must match",
            tgt_path,
        )
    for src, tgt in zip(sources, targets):
        if tgt._.xlie_id is None:
            tgt._.xlie_id = src._.xlie_id
    return list(zip(sources, targets)), "order"


def _rates(total: Counter, done: Counter) -> Dict[str, dict]:
    return {
        label: {"total": total[label], "projected": done[label],
                "rate": done[label] / total[label] if total[label] else 0.0}
        for label in sorted(total)
    }


def projection_report(
    results: Sequence[ProjectionResult], method: str, pairing: str, lang: str = "xx"
) -> dict:
    """Projection rate per entity label and per relation label, match types, and why
    entities and relations were not projected (``failures[lang]``: not found,
    ambiguous, role conflict, crosses a token boundary, ...)."""
    ents, ents_done, rels, rels_done = Counter(), Counter(), Counter(), Counter()
    reasons, matches, rel_reasons = Counter(), Counter(), Counter()
    for result in results:
        for ent in result.entities:
            ents[ent.label] += 1
            if ent.target is not None:
                ents_done[ent.label] += 1
                matches[ent.method] += 1
            else:
                reasons[ent.reason] += 1
        for rel in result.relations:
            rels[rel.label] += 1
            rels_done[rel.label] += rel.projected
            if not rel.projected:
                rel_reasons[rel.reason] += 1
    return {
        "method": method,
        "pairing": pairing,
        "docs": len(results),
        "entities": {"total": sum(ents.values()), "projected": sum(ents_done.values()),
                     "rate": sum(ents_done.values()) / max(sum(ents.values()), 1),
                     "by_label": _rates(ents, ents_done)},
        "relations": {"total": sum(rels.values()), "projected": sum(rels_done.values()),
                      "rate": sum(rels_done.values()) / max(sum(rels.values()), 1),
                      "by_label": _rates(rels, rels_done)},
        "unprojected_entity_reasons": dict(reasons),
        "entity_match_types": dict(matches),
        "failures": {lang: {"entities": dict(sorted(reasons.items())),
                            "relations": dict(sorted(rel_reasons.items()))}},
    }


def failure_line(summary: dict) -> str:
    """One line per language: how many entities were lost, and why."""
    lines = []
    for lang, failures in summary["failures"].items():
        reasons = failures["entities"]
        detail = ", ".join(f"{reason} {count}" for reason, count in reasons.items())
        lines.append(f"{lang}: entities not projected: {sum(reasons.values())}"
                     + (f" ({detail})" if detail else ""))
    return "\n".join(lines)


def blank_pipelines(*langs: str) -> List[Language]:
    """``spacy.blank`` of each language, or a ``ValueError`` naming the unknown one."""
    try:
        return [spacy.blank(lang) for lang in langs]
    except ImportError as err:
        raise ValueError(f"language: {err}") from None


def project_corpus(
    src: Path,
    tgt: Path,
    output: Path,
    *,
    tgt_lang: str,
    src_lang: str = "en",
    method: str = "hybrid",
    model: Optional[str] = None,
    layer: int = 8,
    quantize: bool = True,
    min_score: float = 0.5,
    batch_size: int = 32,
    skip_invalid: bool = False,
    report_path: Optional[Path] = None,
) -> dict:
    """Project ``src``'s entities and relations onto the translations in ``tgt`` and write
    the target docs to ``output``; returns the summary (see :func:`projection_report`).
    Raises :class:`XlieDataError` on bad input, before anything is written."""
    tgt_nlp, src_nlp = blank_pipelines(tgt_lang, src_lang)
    skipped: list = []
    try:
        sources = list(load_docbin(src).get_docs(src_nlp.vocab))
        targets = read_targets(tgt, tgt_nlp, skip_invalid=skip_invalid, skipped=skipped)
    except UnicodeDecodeError as err:
        raise XlieDataError(f"not UTF-8 text ({err.reason})", tgt, field="encoding") from None
    pairs, pairing = pair_docs(sources, targets, src, tgt)
    if skipped and pairing == "order":
        raise XlieDataError(
            f"{len(skipped)} invalid line(s) skipped: pairing by order would shift "
            "every later sentence; give ids or fix the lines", tgt,
        )
    aligner = build_aligner(method, model=model, layer=layer, quantize=quantize)
    results: List[ProjectionResult] = []
    for start in range(0, len(pairs), batch_size):
        results += project_batch(pairs[start : start + batch_size], aligner, min_score=min_score)
    for result in results:
        result.doc._.xlie_lang = tgt_lang
    write_docbin((r.doc for r in results), output)
    summary = projection_report(results, method, pairing, tgt_lang)
    summary["skipped_invalid"] = len(skipped)
    if report_path is not None:
        write_json(summary, report_path)
    return summary
