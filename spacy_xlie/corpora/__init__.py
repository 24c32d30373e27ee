"""Corpus converters: every supported format read into Docs with entities and relations.

Each reader has one signature, ``reader(path, lang, *, nlp=None, ent_label="ENT",
skip_invalid=False, stats=None) -> Iterator[Doc]``: malformed records raise
:class:`spacy_xlie.errors.XlieDataError` (``FILE:LINE: field: what``), or with
``skip_invalid`` are skipped and counted in ``stats``.
"""

from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc

from .base import DEFAULT_ENT_LABEL, ConvertStats
from .jsonl import doc_to_record, docs_to_records, read_docbin, read_jsonl
from .marked import read_marked
from .opennre import read_opennre
from .prodigy import read_prodigy
from .relx_distant import read_relx_distant
from .wikiann import read_wikiann

PathLike = Union[str, Path]
Reader = Callable[..., Iterator[Doc]]


def read_kbp37(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """KBP37 ``.txt``: marked sentences, already tokenised with spaces."""
    return read_marked(path, lang, pretokenized=True, nlp=nlp, ent_label=ent_label,
                       skip_invalid=skip_invalid, stats=stats)


def read_relx(
    path: PathLike,
    lang: str = "en",
    *,
    nlp: Optional[Language] = None,
    ent_label: str = DEFAULT_ENT_LABEL,
    skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> Iterator[Doc]:
    """RELX ``.txt``: marked sentences, tokenised with ``spacy.blank(lang)``."""
    return read_marked(path, lang, pretokenized=False, nlp=nlp, ent_label=ent_label,
                       skip_invalid=skip_invalid, stats=stats)


#: Input formats by name (the ``convert`` command's FORMAT); "spacy" reads a DocBin.
READERS: Dict[str, Reader] = {
    "kbp37": read_kbp37,
    "relx": read_relx,
    "relx-distant": read_relx_distant,
    "prodigy": read_prodigy,
    "opennre": read_opennre,
    "jsonl": read_jsonl,
    "wikiann": read_wikiann,
    "spacy": read_docbin,
}


def get_reader(name: str) -> Reader:
    """The reader for a format name, with the known names in the error."""
    try:
        return READERS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(READERS)}") from None


__all__ = [
    "READERS",
    "ConvertStats",
    "DEFAULT_ENT_LABEL",
    "doc_to_record",
    "docs_to_records",
    "get_reader",
    "read_docbin",
    "read_jsonl",
    "read_kbp37",
    "read_marked",
    "read_opennre",
    "read_prodigy",
    "read_relx",
    "read_relx_distant",
    "read_wikiann",
]
