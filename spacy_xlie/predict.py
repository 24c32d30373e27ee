"""Relations for raw text, JSONL or DocBins: the library under ``spacy-xlie predict``.

INPUT is plain text (one doc a non-empty line), JSONL (``.jsonl``/``.json``: one object a
line, ``{"text", "id"?, "lang"?, "entities"?, "tokens"?}`` as :mod:`spacy_xlie.corpora.jsonl`
reads it) or a ``.spacy`` DocBin. OUTPUT is a DocBin (``.spacy``) or spacy-xlie JSONL
(``.jsonl``, :func:`spacy_xlie.corpora.jsonl.doc_to_record`), written atomically.

Entities come from the pipeline (its NER, entity ruler or gazetteer) or from ``--entities``:
``kb:PATH`` adds a gazetteer over a knowledge base's aliases, ``patterns:PATH`` an
``entity_ruler`` (see :mod:`spacy_xlie.entities`); ``given`` uses only the input's
entities and disables the pipeline's entity components. Entities given in the input are
kept in every case; the entity components only add entities that overlap none of them.

:func:`predict_shard` is one unit of work, input records ``[start, stop)`` of one file to
one output file, so a distributed engine can hand out shards and call it per shard.
"""

import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .corpora.base import input_kind, load_docbin, read_lines
from .corpora.jsonl import docs_to_records, record_to_doc
from .corpora.records import InputRecord, read_records, within_max_length
from .corpora.shards import Shard
from .entities import add_entity_source, entity_components, relation_extractors
from .errors import XlieDataError
from .util.io import write_docbin, write_jsonl

OUTPUT_SUFFIXES = (".spacy", ".jsonl")
#: ``--entities`` values besides ``kb:PATH`` / ``patterns:PATH``.
PIPELINE, GIVEN = "pipeline", "given"


@dataclass
class PredictReport:
    """What one :func:`predict_shard` call read and wrote."""

    docs: int = 0
    skipped: int = 0
    entities: int = 0
    relations: Counter = field(default_factory=Counter)
    errors: List[str] = field(default_factory=list)

    def add(self, doc: Doc) -> None:
        self.docs += 1
        self.entities += len(doc.ents)
        self.relations.update(rel.label for rel in doc._.relations if rel.source == "predicted")

    def skip(self, err: XlieDataError) -> None:
        self.skipped += 1
        if len(self.errors) < 20:
            self.errors.append(str(err))

    def to_dict(self) -> dict:
        return {"docs": self.docs, "skipped": self.skipped, "entities": self.entities,
                "relations": dict(self.relations.most_common()), "errors": self.errors}


def count_records(path: Path) -> int:
    """How many input records ``path`` holds (for the progress bar and for sharding)."""
    if input_kind(path) == "spacy":
        return len(load_docbin(path))
    return sum(1 for _ in read_lines(path))


def read_inputs(
    nlp: Language,
    path: Path,
    *,
    lang: Optional[str] = None,
    start: int = 0,
    stop: Optional[int] = None,
    shard: Optional[Shard] = None,
) -> Iterator[object]:
    """Docs of input records ``[start, stop)`` (0-based, blank lines not counted), in
    ``nlp``'s vocab and tokenised by its tokenizer, or the :class:`XlieDataError` of a bad
    record so the caller may skip it. Each doc gets ``doc._.xlie_id`` (the record's id,
    else ``FILE:LINE``) and ``doc._.xlie_lang`` (the record's, else ``lang``). A ``shard``
    (:mod:`spacy_xlie.distributed`) replaces ``start``/``stop``: it reads only its own
    bytes or docs, however far into the file it starts."""
    records = read_records(path, shard, vocab=nlp.vocab)
    if shard is None:
        records = itertools.islice(records, start, stop)
    for record in records:
        if isinstance(record, XlieDataError):
            yield record
            continue
        try:
            yield record_doc(nlp, record, lang)
        except XlieDataError as err:
            yield err


def record_doc(nlp: Language, record: InputRecord, lang: Optional[str]) -> Doc:
    """The doc of one input record, with its ``xlie_id`` and ``xlie_lang``."""
    path, line = record.path, record.line
    default_id = f"{path.name}:{line}"
    if record.kind == "spacy":
        doc = record.doc
        doc._.xlie_id = doc._.xlie_id or default_id
        doc._.xlie_lang = doc._.xlie_lang or lang
        return doc
    if record.kind == "text":
        doc = nlp.make_doc(within_max_length(record.text or "", nlp.max_length, path, line))
        doc._.xlie_id = default_id
        doc._.xlie_lang = lang
        return doc
    fields = record.fields
    rec_id = fields.get("id", "")
    if isinstance(rec_id, bool) or not isinstance(rec_id, (str, int)):
        raise XlieDataError("expected a string or integer", path, line, "id")
    if isinstance(fields.get("text"), str):
        within_max_length(fields["text"], nlp.max_length, path, line)
    doc = record_to_doc(nlp, fields, path=str(path), line=line)
    doc._.xlie_id = str(rec_id) if rec_id != "" else default_id
    doc._.xlie_lang = doc._.xlie_lang or lang
    return doc


def write_docs(docs: Iterable[Doc], path: Path) -> int:
    """Write docs to ``path`` by its suffix (``.spacy`` or ``.jsonl``), atomically."""
    if path.suffix.lower() == ".jsonl":
        return write_jsonl(docs_to_records(docs), path)
    return write_docbin(docs, path)


def predict_shard(
    nlp: Language,
    input_path: Path,
    output_path: Path,
    *,
    lang: Optional[str] = None,
    start: int = 0,
    stop: Optional[int] = None,
    batch_size: int = 64,
    skip_invalid: bool = False,
    on_doc: Optional[Callable[[], None]] = None,
    shard: Optional[Shard] = None,
) -> PredictReport:
    """Run ``nlp`` over input records ``[start, stop)`` of ``input_path`` and write them to
    ``output_path``. Nothing is written when a bad record stops the run (the
    :class:`XlieDataError` is raised), unless ``skip_invalid`` skips and counts it.
    ``on_doc`` is called once per doc written (a progress bar's ``advance``)."""
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{output_path}: the output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    if batch_size < 1:
        # A trained pipe's pipe() batches with spacy.util.minibatch, which yields nothing
        # at size 0: every doc would be dropped and an empty file written
        raise ValueError(f"batch_size: expected 1 or more, got {batch_size}")
    report = PredictReport()

    def valid() -> Iterator[Doc]:
        for item in read_inputs(nlp, input_path, lang=lang, start=start, stop=stop,
                                shard=shard):
            if isinstance(item, XlieDataError):
                if not skip_invalid:
                    raise item
                report.skip(item)
                continue
            yield item  # type: ignore[misc]

    def predicted() -> Iterator[Doc]:
        for doc in nlp.pipe(valid(), batch_size=batch_size):
            report.add(doc)
            if on_doc is not None:
                on_doc()
            yield doc

    write_docs(predicted(), output_path)
    return report


def load_pipeline(model: str, entities: str = PIPELINE) -> Language:
    """Load ``model`` with the entity source ``entities`` (``pipeline``, ``given``,
    ``kb:PATH``, ``patterns:PATH``); with ``given`` the entity components are disabled."""
    nlp = spacy.load(model)
    if not relation_extractors(nlp):
        raise ValueError(f"{model}: the pipeline has no xlie_relation_extractor")
    if entities == GIVEN:
        for name in entity_components(nlp):
            nlp.disable_pipe(name)
    elif entities != PIPELINE:
        add_entity_source(nlp, entities)
    return nlp
