"""WikiANN (PAN-X) files: IOB tags to entities, ids, and one-line errors."""

import pytest

from spacy_xlie.corpora import ConvertStats, get_reader, read_wikiann
from spacy_xlie.errors import XlieDataError

from .util import ents, write

GOOD = (
    "0\tR.H.\tB-ORG\n1\tSaunders\tI-ORG\n2\t(\tO\n3\tSt.\tB-LOC\n4\tLawrence\tI-LOC\n5\t)\tO\n"
    "\n"
    "0\tKarl\tB-PER\n1\tOve\tI-PER\n2\tKnausgård\tI-PER\n3\tborn\tO\n4\t1968\tO\n"
    "\n\n"
    "0\tnothing\tO\n"
)


def test_iob_tags_become_entities(tmp_path):
    stats = ConvertStats()
    docs = list(read_wikiann(write(tmp_path, "test.conllu", GOOD), "de", stats=stats))
    assert [d.text for d in docs] == ["R.H. Saunders ( St. Lawrence )",
                                      "Karl Ove Knausgård born 1968", "nothing"]
    assert ents(docs[0]) == [("R.H. Saunders", "ORG", ""), ("St. Lawrence", "LOC", "")]
    assert ents(docs[1]) == [("Karl Ove Knausgård", "PER", "")]
    assert ents(docs[2]) == []
    assert [d._.xlie_id for d in docs] == ["test:0", "test:1", "test:2"]
    assert {d._.xlie_lang for d in docs} == {"de"} and stats.docs == 3
    assert get_reader("wikiann") is read_wikiann


@pytest.mark.parametrize("line,field,bad", [
    (2, "tag", "1\tSaunders\tX-ORG\n"),
    (2, "line", "1\tSaunders\n"),
    (1, "tag", "0\tR.H.\tB-\n"),
])
def test_bad_lines_name_file_line_field(tmp_path, line, field, bad):
    lines = GOOD.splitlines(keepends=True)
    lines[line - 1] = bad
    path = write(tmp_path, "bad.conllu", "".join(lines))
    with pytest.raises(XlieDataError) as err:
        list(read_wikiann(path, "en"))
    assert str(err.value).startswith(f"{path}:{line}: {field}: ")
    stats = ConvertStats()
    kept = list(read_wikiann(path, "en", skip_invalid=True, stats=stats))
    assert len(kept) == 2 and stats.skipped == 1
