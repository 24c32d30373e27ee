"""The real-data check: the labeler recovers RELX-Distant's gold triples from raw text."""

import pytest

from spacy_xlie.errors import XlieDataError
from spacy_xlie.kb.relx_distant import evaluate_relx_distant, kb_from_relx_distant, lang_of

LANGS = ("en", "de", "fr")


@pytest.fixture(scope="module")
def files(shared_data):
    paths = [shared_data / "relx-distant" / f"RELX_distant_{lang}.json" for lang in LANGS]
    return [p for p in paths if p.exists()] or pytest.skip("no RELX-Distant files")


@pytest.mark.data
def test_recall_per_language(files):
    kb = kb_from_relx_distant(files)
    assert set(kb.languages) == {lang_of(p) for p in files}
    results = evaluate_relx_distant(files, kb=kb)
    for lang, res in results.items():
        assert res["records"] == 120
        assert res["recall"] >= 0.95, (lang, res["misses"])
        for miss in res["misses"]:
            assert miss["reason"]  # every miss is explained


def test_bad_record_is_located(tmp_path):
    path = tmp_path / "RELX_distant_xx.json"
    path.write_text('[{"sentence": "A B", "entity1": "Q1", "entity2": "Q2", "relation": "P1",'
                    ' "entity1_indices": [0, 1], "entity2_indices": [2, 9]}]', encoding="utf8")
    with pytest.raises(XlieDataError, match=r"RELX_distant_xx.json:1: entity2_indices"):
        kb_from_relx_distant([path])
