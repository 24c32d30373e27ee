"""RELX-Distant JSON: char offsets inside words, whitespace runs, kb ids, errors."""

import json

import pytest

from spacy_xlie.corpora import ConvertStats, read_relx_distant

from .util import FIXTURES, ents, expect_error, rels, write

GOOD = {"sentence": "Maggi gehört zu Nestlé.", "entity1": "Q1", "entity2": "Q2",
        "entity1_indices": [0, 5], "entity2_indices": [16, 22], "relation": "P127"}


def test_offsets_inside_words_and_kb_ids():
    stats = ConvertStats()
    docs = list(read_relx_distant(FIXTURES / "relx_distant_de.json", "de", stats=stats))
    first, second = docs
    # "Apples" is split so the entity "Apple" is a whole token; the text is unchanged.
    assert first.text == "Safari verwendet Apples WebKit-Renderer."
    assert ents(first) == [("Apple", "ENT", "Q312"), ("WebKit", "ENT", "Q35773")]
    assert rels(first) == [("WebKit", "Apple", "P178")]  # entity1 -> entity2
    assert first._.relations[0].source == "distant"
    # Double spaces survive; offsets that take in a space are trimmed.
    assert second.text == "Die ARD  berichtete  über EinsPlus."
    assert rels(second) == [("EinsPlus", "ARD", "P127")]
    assert [d._.xlie_id for d in docs] == ["relx_distant_de:0", "relx_distant_de:1"]
    assert stats.docs == 2 and stats.labels == {"P178": 1, "P127": 1}


def bad(**changes):
    record = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            del record[key]
        else:
            record[key] = value
    return record


@pytest.mark.parametrize(
    "record,field,match",
    [
        (bad(sentence=None), "sentence", "missing field"),
        (bad(sentence="  "), "sentence", "empty text"),
        (bad(entity1_indices=[0, 99]), "entity1_indices", "out of range"),
        (bad(entity2_indices=[5]), "entity2_indices", "expected \\[start, end\\]"),
        (bad(entity2_indices=[3, 2]), "entity2_indices", "out of range"),
        (bad(entity2_indices=[2, 8]), "entity2_indices", "overlap"),
        (bad(entity1_indices=[5, 6]), "entity1_indices", "only whitespace"),
        (bad(entity1=7), "entity1", "expected a string"),
        (bad(relation=None), "relation", "missing field"),
    ],
)
def test_bad_records(tmp_path, record, field, match):
    text = json.dumps([GOOD, record], indent=2)
    line = text.splitlines().index("  {", 2) + 1  # the second record's opening line
    expect_error(read_relx_distant, write(tmp_path, "d.json", text), line, field, match)


@pytest.mark.parametrize(
    "text,line",
    [('[{"sentence": "x",\n "entity1": }]', 2), ("{}", 1), ("[1, 2\n3]", 2),
     ("[\n]\n]", 3)],
)
def test_invalid_json(tmp_path, text, line):
    # Fatal even with skip_invalid: nothing after broken JSON can be trusted.
    expect_error(read_relx_distant, write(tmp_path, "d.json", text), line, "json",
                 "invalid JSON|expected a JSON list", skip_invalid=True)


def test_skip_invalid(tmp_path):
    path = write(tmp_path, "d.json", json.dumps([bad(relation=None), GOOD, 5]))
    stats = ConvertStats()
    docs = list(read_relx_distant(path, skip_invalid=True, stats=stats))
    assert [d._.xlie_id for d in docs] == ["d:1"]
    assert stats.skipped == 2
