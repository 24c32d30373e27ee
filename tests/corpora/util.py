"""Helpers shared by the converter tests."""

from pathlib import Path
from typing import List, Tuple

import pytest
from spacy.tokens import Doc

from spacy_xlie.errors import XlieDataError

FIXTURES = Path(__file__).parent / "fixtures"


def rels(doc: Doc) -> List[Tuple[str, str, str]]:
    """(head text, tail text, label) of each relation."""
    return [(r.head.text, r.tail.text, r.label) for r in doc._.relations]


def ents(doc: Doc) -> List[Tuple[str, str, str]]:
    """(text, label, kb_id) of each entity."""
    return [(e.text, e.label_, e.kb_id_) for e in doc.ents]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf8")
    return path


def expect_error(read, path: Path, line: int, field: str, match: str, **kwargs) -> XlieDataError:
    """Reading ``path`` raises an XlieDataError naming file:line and the field."""
    with pytest.raises(XlieDataError, match=match) as info:
        list(read(path, **kwargs))
    err = info.value
    assert str(err).startswith(f"{path}:{line}: {field}: "), str(err)
    assert (err.line, err.field) == (line, field)
    return err
