"""The one reader of the corpus commands' inputs (``predict``, ``label``, ``project``):
plain text, JSONL or a DocBin, the whole file or one shard, streamed record by record.

Each record says where it is (``FILE:LINE``; in a DocBin, the doc's number) and what it
holds: the line's text, the JSON object of a JSONL line, or the doc. A line that is not
UTF-8 or not a JSON object comes as its :class:`XlieDataError` in place of the record,
and reading goes on, so each command may stop there or skip it (``--skip-invalid``).
What a record must contain (a text, an id, a language) is for the command to check:
they differ.

A shard (:mod:`spacy_xlie.corpora.shards`) of a line file is a byte range starting on a
line boundary; of a DocBin, its own file written by the client (or, in one process, a
slice of the whole DocBin).
"""

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import XlieDataError
from .base import input_kind, load_docbin, parse_json_line, read_lines
from .shards import Shard, docbin_extension, shard_docbin

#: The longest text a blank pipeline takes: ``Language.max_length``'s default, read from
#: spaCy. ``label`` and ``project`` tokenize their records with blank pipelines.
BLANK_MAX_LENGTH: int = inspect.signature(Language.__init__).parameters["max_length"].default


@dataclass(frozen=True)
class InputRecord:
    """One input record and where it is: ``line`` is the line number (text, JSONL) or the
    doc's number (DocBin, from 1), ``offset`` the line's first byte or the doc's position."""

    path: Path
    kind: str
    line: int
    offset: int
    #: The line (plain text).
    text: Optional[str] = None
    #: The JSON object (JSONL).
    fields: Optional[Dict[str, Any]] = None
    #: The doc (DocBin read with a vocab).
    doc: Optional[Doc] = None
    #: ``doc._.xlie_id`` (DocBin read without a vocab: no doc is built).
    doc_id: Optional[str] = None


def read_records(path: Path, shard: Optional[Shard] = None, *, vocab: Optional[Vocab] = None,
                 blank_lines: bool = False, role: str = "input"
                 ) -> Iterator[Union[InputRecord, XlieDataError]]:
    """The records of ``path`` (the whole file, or ``shard``), or the error of a bad line
    in its place. A DocBin's docs are built in ``vocab``; without one only their ids are
    read. ``blank_lines``: a blank line of a plain-text file is a record (see
    :func:`~spacy_xlie.corpora.base.read_lines`). ``role``: which of the shard's own
    DocBin files holds its docs (:meth:`Shard.part`)."""
    path = Path(path)
    kind = input_kind(path)
    if kind == "spacy":
        yield from _docbin_records(path, shard, vocab, role)
        return
    span = (0, None, 1) if shard is None else (shard.start, shard.stop, shard.first_line)
    for line_no, offset, text in read_lines(path, *span,
                                               blank_lines=blank_lines and kind == "text"):
        if isinstance(text, XlieDataError):
            yield text
        elif kind == "text":
            yield InputRecord(path, kind, line_no, offset, text=text)
        else:
            try:
                fields = parse_json_line(text, path, line_no)
            except XlieDataError as err:
                yield err
                continue
            yield InputRecord(path, kind, line_no, offset, fields=fields)


def _docbin_records(path: Path, shard: Optional[Shard], vocab: Optional[Vocab],
                    role: str) -> Iterator[InputRecord]:
    if shard is None:
        docbin, first = load_docbin(path), 0
    else:
        docbin, first = shard_docbin(shard, role), shard.start
    if vocab is not None:
        for i, doc in enumerate(docbin.get_docs(vocab), start=first):
            yield InputRecord(path, "spacy", i + 1, i, doc=doc)
        return
    for i in range(len(docbin)):
        yield InputRecord(path, "spacy", first + i + 1, first + i,
                          doc_id=docbin_extension(docbin, i, "xlie_id"))


def within_max_length(text: str, max_length: int, path: Path, line: int) -> str:
    """``text``, or the :class:`XlieDataError` of a record longer than the pipeline that
    reads it takes (its ``max_length``): spaCy raises on such a text mid-run, with a
    traceback, or with a message that names neither the file nor the line."""
    if len(text) > max_length:
        raise XlieDataError(f"{len(text):,} characters, over the pipeline's max_length "
                            f"({max_length:,}): split the record", path, line, "text")
    return text
