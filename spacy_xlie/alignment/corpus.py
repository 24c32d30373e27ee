"""Annotation projection over a corpus: target docs read from text, JSONL or a DocBin,
paired with their annotated sources (by id, else by order), projected, and summarised.

Any pairing problem stops the run before anything is written; the output DocBin (and the
report) are written atomically. :mod:`spacy_xlie.distributed.project_job` runs the same
projection by shards; ``spacy-xlie project`` is the command line over both.
"""

from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..corpora.base import load_docbin
from ..corpora.records import BLANK_MAX_LENGTH, read_records, within_max_length
from ..corpora.shards import Shard, is_docbin
from ..errors import XlieDataError
from ..util.io import write_docbin, write_json
from . import build_aligner, project_batch
from .projection import ProjectionResult

#: A target record: (line or doc number, byte offset or doc position, text, id).
Target = Tuple[int, int, Optional[str], Optional[str]]


def _check_target(text: Any, rec_id: Any, path: Path, line: int) -> None:
    """The checks of one target record (a blank pipeline tokenizes it)."""
    if not isinstance(text, str) or not text.strip():
        raise XlieDataError("missing or empty text", path, line, "text")
    within_max_length(text, BLANK_MAX_LENGTH, path, line)
    if rec_id is not None and not isinstance(rec_id, (str, int)):
        raise XlieDataError("id must be a string or an integer", path, line, "id")


def read_target_records(path: Path, shard: Optional[Shard] = None) -> Iterator[object]:
    """Target records (:data:`Target`), or the :class:`XlieDataError` of a bad one, of
    the whole file or one ``shard`` (:func:`spacy_xlie.corpora.records.read_records`; a
    blank line inside a plain-text file is an empty target, so pairing by order stays
    aligned; a DocBin's docs are not built: ids only). The one reader of projection
    targets: :func:`read_targets` (one process) and the shards of
    :mod:`spacy_xlie.distributed.project_job` both read through it."""
    for record in read_records(path, shard, blank_lines=True, role="targets"):
        if isinstance(record, XlieDataError):
            yield record
        elif record.kind == "spacy":
            yield record.line, record.offset, None, record.doc_id
        else:
            fields = record.fields or {}
            text, rec_id = (record.text, None) if record.kind == "text" else (
                fields.get("text"), fields.get("id"))
            try:
                _check_target(text, rec_id, path, record.line)
            except XlieDataError as err:
                yield err
                continue
            yield (record.line, record.offset, text.strip(),
                   str(rec_id) if rec_id is not None else None)


def read_targets(
    path: Path, nlp: Language, *, skip_invalid: bool = False, skipped: Optional[list] = None
) -> List[Doc]:
    """Target docs from ``.spacy``, ``.jsonl`` or plain text (:func:`read_target_records`);
    a bad record raises its :class:`XlieDataError`, or is skipped (and its error appended
    to ``skipped``) with ``skip_invalid``."""
    if is_docbin(path):
        return [record.doc for record in read_records(path, vocab=nlp.vocab)]
    docs = []
    for item in read_target_records(path):
        if isinstance(item, XlieDataError):
            if not skip_invalid:
                raise item
            if skipped is not None:
                skipped.append(str(item))
            continue
        _line, _offset, text, rec_id = item  # type: ignore[misc]
        doc = nlp(text)
        doc._.xlie_id = rec_id
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
