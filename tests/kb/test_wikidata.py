"""The streaming Wikidata dump importer, on a small hand-written dump."""

import bz2
import gzip
from pathlib import Path

import pytest

from spacy_xlie.errors import XlieDataError
from spacy_xlie.kb import LoadStats, read_wikidata_dump

DUMP = Path(__file__).parent / "fixtures" / "wikidata_small.json"


def test_names_claims_and_priors():
    stats = LoadStats()
    kb = read_wikidata_dump([DUMP], ["en", "de"], stats=stats)
    assert stats.entities == 12 and stats.skipped == 0
    assert kb.candidates("Maria Skłodowska-Curie", "en") == ["Q7186"]
    assert kb.candidates("Universität Paris", "de") == ["Q209842"]
    assert kb.candidates("Paris", "en") == ["Q90", "Q47899"]  # label + alias: ambiguous
    assert kb.candidates("İstanbul", "tr") == []  # language not asked for
    assert kb.relations("Q7186", "Q37463") == {"P26": 1.0}
    assert kb.relations("Q7186", "Q142") == {"P27": 1.0}
    assert kb.relations("Q7186", "Q40") == {}  # deprecated claim
    assert kb.prior("Q90") == 8.0 and kb.prior("Q47899") == 2.0
    assert set(kb.languages) == {"en", "de"}


def test_property_filter_and_compression(tmp_path):
    raw = DUMP.read_bytes()
    for path, opener in ((tmp_path / "d.json.gz", gzip.open), (tmp_path / "d.json.bz2", bz2.open)):
        with opener(path, "wb") as f:
            f.write(raw)
        kb = read_wikidata_dump([path], ["tr", "zh"], properties=["P17"])
        assert kb.relations("Q406", "Q43") == {"P17": 1.0}
        assert kb.relations("Q956", "Q148") == {"P17": 1.0}  # P1376 filtered out
        assert {t[1] for t in kb.iter_triples()} == {"P17"}
        assert kb.candidates("北京", "zh") == ["Q956"]


def test_bad_lines(tmp_path):
    lines = DUMP.read_text(encoding="utf8").splitlines()
    lines.insert(2, '{"id": "Q1", "labels": {"en": {"value": 5}}},')
    lines.insert(3, '{"id": "Q2", truncated')
    path = tmp_path / "bad.json"
    path.write_text("\n".join(lines), encoding="utf8")
    with pytest.raises(XlieDataError) as info:
        read_wikidata_dump([path], ["en"])
    assert info.value.line == 3 and info.value.field == "labels.en"
    stats = LoadStats()
    kb = read_wikidata_dump([path], ["en"], skip_invalid=True, stats=stats)
    assert stats.skipped == 2 and stats.entities == 12
    assert ":4: invalid JSON" in stats.errors[1]
    assert kb.candidates("Marie Curie", "en") == ["Q7186"]
