"""``spacy_xlie.alignment.corpus``: the one reader of projection targets."""

import pytest
import spacy

from spacy_xlie.alignment.corpus import read_target_records, read_targets
from spacy_xlie.corpora.shards import Shard
from spacy_xlie.errors import XlieDataError


@pytest.mark.parametrize("suffix,lines", [
    (".txt", [b"Erster Satz.", b"\xff\xfe kaputt", b"Dritter Satz."]),
    (".jsonl", [b'{"text": "Erster Satz.", "id": 1}', b'{"text": "\xff kaputt"}',
                b'{"text": "Dritter Satz.", "id": "3"}']),
])
def test_an_undecodable_line_is_a_data_error_or_skipped(tmp_path, suffix, lines):
    path = tmp_path / f"targets{suffix}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    nlp = spacy.blank("de")
    with pytest.raises(XlieDataError, match=r"targets\S*:2.*not UTF-8"):
        read_targets(path, nlp)
    skipped: list = []
    docs = read_targets(path, nlp, skip_invalid=True, skipped=skipped)
    assert [d.text for d in docs] == ["Erster Satz.", "Dritter Satz."]
    assert len(skipped) == 1 and ":2" in skipped[0]


def test_a_byte_range_reads_the_records_that_start_in_it(tmp_path):
    """Shards split a file by byte ranges: each record is read by the one shard it
    starts in, with its own line number; a blank line inside the file is an error."""
    path = tmp_path / "targets.txt"
    path.write_text("eins\n\nzwei\ndrei\n\n", encoding="utf8")
    records = list(read_target_records(path))
    assert [r[2] if not isinstance(r, XlieDataError) else "error" for r in records] == [
        "eins", "error", "zwei", "drei"]
    offset_zwei = records[2][1]
    rest = Shard(1, str(path), offset_zwei, path.stat().st_size, 3, 2)
    second = list(read_target_records(path, rest))
    assert [(r[0], r[2]) for r in second] == [(3, "zwei"), (4, "drei")]
