"""RelationKB: building, look-ups, serialisation, the JSONL/TSV formats, label maps."""

import pytest
import srsly

from spacy_xlie.errors import XlieDataError
from spacy_xlie.kb import LoadStats, RelationKB, create_kb_loader, load_label_map
from spacy_xlie.kb.labels import WIKIDATA_TO_KBP37


@pytest.fixture
def kb():
    kb = RelationKB()
    kb.add_entity("Q1", type="PERSON", prior=3,
                  aliases={"en": ["Marie  Curie"], "de": ["Marie Curie"]})
    kb.add_entity("Q2", aliases={"en": ["Paris"]})
    kb.add_entity("Q3", prior=1, aliases={"en": ["Paris", "Paris Hilton"]})
    kb.add_triple("Q1", "P108", "Q2", 0.5)
    kb.add_triple("Q1", "P27", "Q2")
    return kb


def test_lookups(kb):
    assert len(kb) == 3 and kb.n_aliases == 4 and kb.n_triples == 2
    assert kb.languages == ["de", "en"]
    assert kb.candidates("Marie Curie", "en") == ["Q1"]  # whitespace collapsed
    assert kb.candidates("Paris", "en") == ["Q2", "Q3"]
    assert kb.candidates("Paris", "de") == []
    assert kb.relations("Q1", "Q2") == {"P108": 0.5, "P27": 1.0}
    assert kb.relations("Q2", "Q1") == {}
    assert kb.entity_type("Q1") == "PERSON" and kb.prior("Q3") == 1.0
    assert sorted(kb.aliases_of("Q3")) == ["Paris", "Paris Hilton"]


def test_triple_with_unknown_ids_creates_entities(kb):
    kb.add_triple("Q9", "P1", "Q8")
    assert "Q9" in kb and kb.relations("Q9", "Q8") == {"P1": 1.0}
    with pytest.raises(ValueError):
        kb.add_triple("Q9", "P1", "Q9")


def test_bytes_and_disk_round_trip(kb, tmp_path):
    for other in (RelationKB.from_bytes(kb.to_bytes()), None):
        if other is None:
            kb.to_disk(tmp_path / "kb")
            other = create_kb_loader(str(tmp_path / "kb"))()
        assert other.to_bytes() == kb.to_bytes()
        assert other.candidates("Paris", "en") == ["Q2", "Q3"]
        assert sorted(other.iter_triples()) == sorted(kb.iter_triples())
        assert other.entity_type("Q1") == "PERSON" and other.prior("Q1") == 3.0
    with pytest.raises(FileNotFoundError, match="kb.msgpack"):
        RelationKB.from_disk(tmp_path / "missing")


def test_from_files_jsonl_and_tsv(tmp_path):
    ents = tmp_path / "entities.jsonl"
    srsly.write_jsonl(ents, [
        {"id": "Q1", "type": "PERSON", "aliases": {"en": ["Ada Lovelace"]}},
        {"id": "Q2", "prior": 2, "aliases": {"en": ["London"]}},
    ])
    tsv = tmp_path / "triples.tsv"
    tsv.write_text("# head rel tail weight\nQ1\tP19\tQ2\t0.8\n\nQ2\tP17\tQ3\n", encoding="utf8")
    kb = RelationKB.from_files(ents, tsv)
    assert kb.relations("Q1", "Q2") == {"P19": 0.8}
    assert kb.relations("Q2", "Q3") == {"P17": 1.0}
    jsonl = tmp_path / "triples.jsonl"
    srsly.write_jsonl(jsonl, [{"head": "Q1", "relation": "P19", "tail": "Q2"}])
    assert RelationKB.from_files(ents, jsonl).relations("Q1", "Q2") == {"P19": 1.0}


@pytest.mark.parametrize("name,content,line,field", [
    ("e.jsonl", '{"id": "Q1"}\n{"id": 5}\n', 2, "id"),
    ("e.jsonl", '{"id": "Q1", "aliases": {"en": "Ada"}}\n', 1, "aliases.en"),
    ("e.jsonl", '{"id": "Q1"}\nnot json\n', 2, "json"),
    ("t.tsv", "Q1\tP1\tQ2\nQ1\tP1\n", 2, None),
    ("t.tsv", "Q1\tP1\tQ2\tx\n", 1, "weight"),
    ("t.jsonl", '{"head": "Q1", "relation": "", "tail": "Q2"}\n', 1, "relation"),
])
def test_bad_lines_name_file_line_field(tmp_path, name, content, line, field):
    path = tmp_path / name
    path.write_text(content, encoding="utf8")
    args = (path, None) if name.startswith("e") else (None, path)
    with pytest.raises(XlieDataError) as info:
        RelationKB.from_files(*args)
    assert info.value.line == line and info.value.field == field
    assert str(info.value).startswith(f"{path}:{line}: ")
    stats = LoadStats()
    RelationKB.from_files(*args, skip_invalid=True, stats=stats)
    assert stats.skipped == 1 and len(stats.errors) == 1


def test_label_maps(tmp_path):
    assert load_label_map("wikidata-kbp37")["P108"] == "per:employee_of"
    assert set(WIKIDATA_TO_KBP37.values()) <= {
        "per:spouse", "per:origin", "per:employee_of", "org:founded_by",
        "org:city_of_headquarters", "org:top_members/employees", "org:subsidiaries"}
    tsv = tmp_path / "map.tsv"
    tsv.write_text("P108\tper:employee_of\n# comment\nP26\tper:spouse\n", encoding="utf8")
    assert load_label_map(tsv) == {"P108": "per:employee_of", "P26": "per:spouse"}
    js = tmp_path / "map.json"
    srsly.write_json(js, {"P26": "per:spouse"})
    assert load_label_map(js) == {"P26": "per:spouse"}
    tsv.write_text("P108 per:employee_of\n", encoding="utf8")
    with pytest.raises(XlieDataError, match=r"map.tsv:1"):
        load_label_map(tsv)
