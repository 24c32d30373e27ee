"""Prodigy ``rel`` JSONL, the format of spaCy's relation-extraction tutorial.

One task per line::

    {"text": "...", "tokens": [{"text", "start", "end", "id", "ws"}, ...],
     "spans": [{"start", "end", "token_start", "token_end", "label"}, ...],
     "relations": [{"head", "child", "head_span", "child_span", "label"}, ...],
     "answer": "accept"}

Prodigy's ``token_end`` is inclusive, and ``head``/``child`` are the index of the *last*
token of a span. The doc keeps Prodigy's tokens (so token offsets agree with the
annotation). Without ``tokens`` the text is tokenised with ``spacy.blank(lang)`` and split
at the span offsets, and relations must give ``head_span``/``child_span``. Tasks whose
``answer`` is not ``"accept"`` are left out and counted as rejected (a task without
``answer`` counts as accepted). Relation arguments that are not among ``spans`` are added
as entities from ``head_span``/``child_span``.
"""

from typing import Any, Dict, Iterator, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..errors import XlieDataError
from ..relations import add_entities, add_relation
from .base import (
    DEFAULT_ENT_LABEL,
    ConvertStats,
    PathLike,
    data_errors,
    doc_split_at,
    read_records,
    require,
    require_offsets,
    trim_offsets,
)

SOURCE = "gold"


def _doc_from_tokens(nlp: Language, record: dict, text: Optional[str], path: str,
                     line: int) -> Doc:
    tokens = require(record, "tokens", list, path, line)
    words: List[str] = []
    spaces: List[bool] = []
    for i, token in enumerate(tokens):
        where = f"tokens[{i}]."
        word = require(token, "text", str, path, line, where)
        if not word:
            raise XlieDataError("empty token", path, line, f"{where}text")
        words.append(word)
        spaces.append(bool(token.get("ws", True)))
    if not words:
        raise XlieDataError("no tokens", path, line, "tokens")
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    if text is not None and doc.text.rstrip() != text.rstrip():
        raise XlieDataError("tokens and their 'ws' flags do not spell 'text'", path, line,
                            "tokens")
    return doc


def _span(doc: Doc, raw: Any, ent_label: str, path: str, line: int, where: str,
          by_token: bool) -> Span:
    """A span from Prodigy token offsets (``token_end`` inclusive; only when the doc has
    Prodigy's tokens) or else from character offsets."""
    label = raw.get("label") if isinstance(raw, dict) else None
    label = label if isinstance(label, str) and label else ent_label
    if by_token and isinstance(raw, dict) and "token_start" in raw and "token_end" in raw:
        ts = require(raw, "token_start", int, path, line, where)
        te = require(raw, "token_end", int, path, line, where)
        start, end = require_offsets([ts, te + 1], len(doc), path, line, f"{where}token_end",
                                     unit="token")
        return Span(doc, start, end, label=label)
    start = require(raw, "start", int, path, line, where)
    end = require(raw, "end", int, path, line, where)
    start, end = require_offsets([start, end], len(doc.text), path, line, f"{where}end")
    start, end = trim_offsets(doc.text, start, end)
    span = doc.char_span(start, end, label=label, alignment_mode="strict") if start < end else None
    if span is None:
        raise XlieDataError(f"characters [{start}, {end}] do not fall on token boundaries",
                            path, line, f"{where}start")
    return span


def record_to_doc(nlp: Language, record: dict, *, path: str, line: int,
                  ent_label: str) -> Optional[Doc]:
    """One Prodigy ``rel`` task -> a Doc with its spans as entities and relations, or None
    when the task was not accepted."""
    if record.get("answer", "accept") != "accept":
        return None
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        raise XlieDataError(f"expected a string, found {type(text).__name__}", path, line,
                            "text")
    raw_spans = record.get("spans", [])
    if not isinstance(raw_spans, list):
        raise XlieDataError("expected a list", path, line, "spans")
    if "tokens" in record:
        doc = _doc_from_tokens(nlp, record, text, path, line)
    else:
        if text is None or not text.strip():
            raise XlieDataError("empty sentence", path, line, "text")
        cuts = [s[k] for s in raw_spans if isinstance(s, dict) for k in ("start", "end")
                if type(s.get(k)) is int]
        doc = doc_split_at(nlp, text, cuts)
    by_token = "tokens" in record
    spans = [_span(doc, raw, ent_label, path, line, f"spans[{i}].", by_token)
             for i, raw in enumerate(raw_spans)]
    relations = record.get("relations", [])
    if not isinstance(relations, list):
        raise XlieDataError("expected a list", path, line, "relations")
    by_end: Dict[int, Span] = {span.end - 1: span for span in spans}
    pairs: List[Tuple[Span, Span, str]] = []
    for i, rel in enumerate(relations):
        where = f"relations[{i}]."
        label = require(rel, "label", str, path, line, where)
        args = []
        for role, span_key in (("head", "head_span"), ("child", "child_span")):
            if isinstance(rel.get(span_key), dict):
                args.append(_span(doc, rel[span_key], ent_label, path, line,
                                  f"{where}{span_key}.", by_token))
                continue
            if not by_token:
                raise XlieDataError("a task without 'tokens' needs the argument span, "
                                    f"not a token index in '{role}'", path, line,
                                    f"{where}{span_key}")
            end = require(rel, role, int, path, line, where)
            if end not in by_end:
                raise XlieDataError(f"token {end} ends no span", path, line, f"{where}{role}")
            args.append(by_end[end])
        pairs.append((args[0], args[1], label))
    unique: Dict[Tuple[int, int], Span] = {}
    for span in spans + [arg for head, tail, _ in pairs for arg in (head, tail)]:
        unique.setdefault((span.start, span.end), span)
    with data_errors(path, line, "spans"):
        add_entities(doc, unique.values())
    seen = set()
    for i, (head, tail, label) in enumerate(pairs):
        key = (head.start, head.end, tail.start, tail.end, label)
        if key in seen:
            continue
        seen.add(key)
        with data_errors(path, line, f"relations[{i}]"):
            add_relation(doc, doc[head.start:head.end], doc[tail.start:tail.end], label,
                         source=SOURCE)
    return doc


def read_prodigy(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """Docs from the accepted tasks of a Prodigy ``rel`` JSONL file."""
    return read_records(path, lang, record_to_doc, nlp=nlp, skip_invalid=skip_invalid,
                        stats=stats, ent_label=ent_label)
