"""spacy-xlie's own JSONL, both ways: predictions leave spaCy and come back unchanged.

One doc per line::

    {"id": "17647", "lang": "en", "text": "Bill Gates founded Microsoft .",
     "entities": [{"start": 0, "end": 10, "label": "PER", "kb_id": "Q5284",
                   "text": "Bill Gates"}, ...],
     "relations": [{"head": 0, "tail": 1, "label": "org:founded_by", "score": 0.93,
                    "source": "predicted"}],
     "tokens": [{"text": "Bill", "ws": true}, ...],
     "unrepresentable": [{"label": "org:subsidiaries", "head": "IBM", "tail": "",
                          "reason": "empty entity marker"}]}

Entity offsets are ``[start, end)`` characters; ``head``/``tail`` index ``entities``. An
entity from a span group (not ``doc.ents``) carries ``"spans_key"``. ``tokens`` is
optional: with it the doc's tokenisation comes back exactly, without it the text is
tokenised with ``spacy.blank(lang)`` and split at the entity offsets.
``unrepresentable`` (only when there are any) lists gold relations without a span, which
the scorer counts as missed (see :mod:`spacy_xlie.unrepresentable`).
"""

from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from ..errors import XlieDataError
from ..relations import add_entities, add_relation
from ..unrepresentable import add_unrepresentable, get_unrepresentable
from .base import (
    DEFAULT_ENT_LABEL,
    ConvertStats,
    PathLike,
    data_errors,
    doc_split_at,
    load_docbin,
    read_records,
    require,
    require_offsets,
    trim_offsets,
)

# ---- export: Doc -> record ----


def _entity_record(span: Span, spans_key: Optional[str]) -> dict:
    record = {
        "start": span.start_char,
        "end": span.end_char,
        "label": span.label_,
        "kb_id": span.kb_id_,
        "text": span.text,
    }
    if spans_key is not None:
        record["spans_key"] = spans_key
    return record


def doc_to_record(doc: Doc, *, tokens: bool = True) -> dict:
    """A Doc as one JSON-ready record: text, entities (``doc.ents``, then every span
    group), relations pointing into the entity list, and optionally the tokens."""
    entities: List[dict] = []
    index: Dict[Tuple[Optional[str], int, int], int] = {}
    groups = [(None, doc.ents)] + [(key, group) for key, group in doc.spans.items()]
    for key, spans in groups:
        for span in spans:
            if (key, span.start, span.end) not in index:
                index[(key, span.start, span.end)] = len(entities)
                entities.append(_entity_record(span, key))
    relations = [
        {
            "head": index[(rel.spans_key, rel.head.start, rel.head.end)],
            "tail": index[(rel.spans_key, rel.tail.start, rel.tail.end)],
            "label": rel.label,
            "score": rel.score,
            "source": rel.source,
        }
        for rel in doc._.relations
    ]
    record = {
        "id": doc._.xlie_id,
        "lang": doc._.xlie_lang or doc.lang_,
        "text": doc.text,
        "entities": entities,
        "relations": relations,
    }
    if tokens:
        record["tokens"] = [{"text": t.text, "ws": bool(t.whitespace_)} for t in doc]
    unrepresentable = get_unrepresentable(doc)
    if unrepresentable:
        record["unrepresentable"] = unrepresentable
    return record


def docs_to_records(docs: Iterable[Doc], *, tokens: bool = True) -> Iterator[dict]:
    """Records for :func:`spacy_xlie.util.io.write_jsonl`."""
    for doc in docs:
        yield doc_to_record(doc, tokens=tokens)


def read_docbin(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """Docs of a ``.spacy`` DocBin (user data included), with the common reader signature
    so the CLI can export them; ``ent_label`` and ``skip_invalid`` do not apply."""
    nlp = nlp or spacy.blank(lang)
    stats = stats if stats is not None else ConvertStats()
    for doc in load_docbin(path).get_docs(nlp.vocab):
        stats.count_doc(doc)
        yield doc


# ---- import: record -> Doc ----


def _doc_from_tokens(nlp: Language, record: dict, text: str, path: str, line: int) -> Doc:
    tokens = require(record, "tokens", list, path, line)
    words = [require(t, "text", str, path, line, f"tokens[{i}].") for i, t in enumerate(tokens)]
    if not all(words):
        raise XlieDataError("empty token", path, line, "tokens")
    spaces = [bool(t.get("ws", False)) for t in tokens]
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    if doc.text != text:
        raise XlieDataError("tokens and their 'ws' flags do not spell 'text'", path, line,
                            "tokens")
    return doc


def _entities(doc: Doc, raw: list, ent_label: str, path: str,
              line: int) -> List[Tuple[Span, Optional[str]]]:
    spans = []
    for i, ent in enumerate(raw):
        where = f"entities[{i}]."
        start = require(ent, "start", int, path, line, where)
        end = require(ent, "end", int, path, line, where)
        start, end = require_offsets([start, end], len(doc.text), path, line, f"{where}end")
        start, end = trim_offsets(doc.text, start, end)
        label = ent.get("label") or ent_label
        kb_id = ent.get("kb_id") or ""
        key = ent.get("spans_key")
        for name, value in (("label", label), ("kb_id", kb_id)):
            if not isinstance(value, str):
                raise XlieDataError("expected a string", path, line, f"{where}{name}")
        if key is not None and not (isinstance(key, str) and key):
            raise XlieDataError("expected a non-empty string", path, line, f"{where}spans_key")
        span = doc.char_span(start, end, label=label, kb_id=kb_id, alignment_mode="strict")
        if span is None:
            raise XlieDataError(f"characters [{start}, {end}] do not fall on token boundaries",
                                path, line, f"{where}start")
        spans.append((span, key))
    return spans


def _add_relations(doc: Doc, raw: list, entities: List[Tuple[Span, Optional[str]]], path: str,
                   line: int) -> None:
    for i, rel in enumerate(raw):
        where = f"relations[{i}]."
        args = []
        for role in ("head", "tail"):
            idx = require(rel, role, int, path, line, where)
            if not 0 <= idx < len(entities):
                raise XlieDataError(f"entity index {idx} out of range ({len(entities)} "
                                    "entities)", path, line, f"{where}{role}")
            args.append(entities[idx])
        (head, head_key), (tail, tail_key) = args
        if head_key != tail_key:
            raise XlieDataError("head and tail are in different span groups", path, line,
                                f"{where}tail")
        label = require(rel, "label", str, path, line, where)
        score = rel.get("score", 1.0)
        source = rel.get("source")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise XlieDataError("expected a number", path, line, f"{where}score")
        if source is not None and not isinstance(source, str):
            raise XlieDataError("expected a string or null", path, line, f"{where}source")
        with data_errors(path, line, f"{where}label"):
            add_relation(doc, doc[head.start:head.end], doc[tail.start:tail.end], label,
                         score=float(score), source=source, spans_key=head_key)


def _add_unrepresentable(doc: Doc, raw: list, path: str, line: int) -> None:
    for i, rel in enumerate(raw):
        where = f"unrepresentable[{i}]."
        fields = {name: require(rel, name, str, path, line, where)
                  for name in ("label", "reason")}
        args = {name: rel.get(name, "") for name in ("head", "tail")}
        for name, value in args.items():
            if not isinstance(value, str):
                raise XlieDataError("expected a string", path, line, f"{where}{name}")
        add_unrepresentable(doc, fields["label"], reason=fields["reason"], **args)


def record_to_doc(nlp: Language, record: dict, *, path: str, line: int,
                  ent_label: str = DEFAULT_ENT_LABEL) -> Doc:
    """One spacy-xlie JSONL record -> a Doc with its entities, span groups, relations and,
    when the record names one, its language."""
    text = require(record, "text", str, path, line)
    if not text.strip():
        raise XlieDataError("empty sentence", path, line, "text")
    raw_ents = record.get("entities", [])
    raw_rels = record.get("relations", [])
    raw_unrep = record.get("unrepresentable", [])
    for name, value in (("entities", raw_ents), ("relations", raw_rels),
                        ("unrepresentable", raw_unrep)):
        if not isinstance(value, list):
            raise XlieDataError("expected a list", path, line, name)
    if "tokens" in record:
        doc = _doc_from_tokens(nlp, record, text, path, line)
    else:
        cuts = [e[k] for e in raw_ents if isinstance(e, dict) for k in ("start", "end")
                if type(e.get(k)) is int]
        doc = doc_split_at(nlp, text, cuts)
    entities = _entities(doc, raw_ents, ent_label, path, line)
    with data_errors(path, line, "entities"):
        add_entities(doc, [span for span, key in entities if key is None])
        for key in dict.fromkeys(key for _, key in entities if key is not None):
            add_entities(doc, [span for span, k in entities if k == key], spans_key=key)
    _add_relations(doc, raw_rels, entities, path, line)
    _add_unrepresentable(doc, raw_unrep, path, line)
    record_lang = record.get("lang")
    if isinstance(record_lang, str) and record_lang:
        doc._.xlie_lang = record_lang
    return doc


def read_jsonl(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """Docs from spacy-xlie JSONL (as written by :func:`doc_to_record`). Entities keep their
    own labels; ``ent_label`` labels those that have none."""
    return read_records(path, lang, record_to_doc, nlp=nlp, skip_invalid=skip_invalid,
                        stats=stats, ent_label=ent_label)


def read_doc_files(paths: List[Path], nlp: Language) -> Iterator[Doc]:
    """Docs of ``.spacy`` DocBins and spacy-xlie ``.jsonl`` files, in order."""
    for path in paths:
        if path.suffix.lower() == ".jsonl":
            yield from read_jsonl(path, nlp=nlp)
        else:
            yield from read_docbin(path, nlp=nlp)
