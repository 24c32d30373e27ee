"""The real data sets convert completely, with the published counts (needs the mirror)."""

from collections import Counter

import pytest
import spacy

from spacy_xlie.corpora import ConvertStats, read_kbp37, read_relx, read_relx_distant
from spacy_xlie.corpora.marked import parse_label, read_blocks, strip_markers

pytestmark = pytest.mark.data

KBP37 = {"train": 15917, "dev": 1724, "test": 3405}


def raw_labels(path) -> Counter:
    """Label lines of a marked file, counted straight from the text."""
    lines = [line.strip() for line in path.read_text(encoding="utf8").splitlines()]
    return Counter(line for line in lines if line and "\t" not in line)


@pytest.fixture(scope="module")
def kbp37(shared_data):
    """Each split converted once per session (train takes a few seconds)."""
    nlp = spacy.blank("en")
    out = {}
    for split in KBP37:
        stats = ConvertStats()
        docs = list(read_kbp37(shared_data / "kbp37" / f"{split}.txt", nlp=nlp, stats=stats))
        out[split] = (docs, stats)
    return out


@pytest.mark.parametrize("split", list(KBP37))
def test_kbp37_counts(kbp37, shared_data, split):
    docs, stats = kbp37[split]
    assert len(docs) == stats.docs == KBP37[split]
    assert stats.skipped == 0
    assert stats.labels == raw_labels(shared_data / "kbp37" / f"{split}.txt")


@pytest.mark.parametrize("split", list(KBP37))
def test_kbp37_relations_follow_labels_and_direction(kbp37, shared_data, split):
    docs, stats = kbp37[split]
    records = list(read_blocks(shared_data / "kbp37" / f"{split}.txt"))
    assert len(records) == len(docs)
    empty = 0
    for record, doc in zip(records, docs):
        relation, head_is_e1 = parse_label(record.label)
        if len(doc.ents) < 2:
            empty += 1
            assert doc._.relations == []
            continue
        if relation is None:
            assert doc._.relations == []
            continue
        _, e1, e2 = strip_markers(record.sentence)
        (rel,) = doc._.relations
        head, tail = (e1, e2) if head_is_e1 else (e2, e1)
        assert rel.label == relation
        assert (rel.head.start_char, rel.head.end_char) == head, record.line
        assert (rel.tail.start_char, rel.tail.end_char) == tail, record.line
    assert empty == stats.empty_entities


def test_relx_parallel(shared_data):
    ids = {}
    for lang in ("en", "de", "fr"):
        path = shared_data / "relx" / f"RELX_{lang}.txt"
        stats = ConvertStats()
        docs = list(read_relx(path, lang, stats=stats))
        assert len(docs) == 502 and stats.skipped == 0
        assert stats.labels == raw_labels(path)
        assert {d._.xlie_lang for d in docs} == {lang}
        ids[lang] = [d._.xlie_id for d in docs]
        assert len(set(ids[lang])) == 502
    assert set(ids["en"]) == set(ids["de"]) == set(ids["fr"])


@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_relx_distant_all_records(shared_data, lang):
    stats = ConvertStats()
    docs = list(read_relx_distant(shared_data / "relx-distant" / f"RELX_distant_{lang}.json",
                                  lang, stats=stats))
    assert len(docs) == 120 and stats.skipped == 0
    assert all(len(d.ents) == 2 and len(d._.relations) == 1 for d in docs)
    assert all(e.kb_id_.startswith("Q") for d in docs for e in d.ents)
