"""bench/long_doc.py: pairs counted in one joined doc and in separate docs, one table row
per candidates version."""

from types import SimpleNamespace

import spacy
from spacy.util import registry

import spacy_xlie  # noqa: F401  (doc._.relations)
from tests.bench import load_bench

long_doc = load_bench("long_doc")


def ruler_pipeline():
    """Sentences and an entity on every capitalised word, no extractor."""
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "X", "pattern": [{"IS_TITLE": True}]}])
    return nlp


def test_pairs_of_one_doc_and_of_separate_docs():
    texts = ["Ann met Bob in Rome .", "Cid saw Dee ."]
    # one doc: v1 keeps the doc's 2 nearest pairs, v2 two of the first sentence and Cid-Dee
    for version, one_doc in (("v1", 2), ("v2", 3)):
        candidates = registry.misc.get(f"spacy_xlie.candidate_pairs.{version}")(
            same_sentence=True, max_candidates=2)
        counts = long_doc.counts(ruler_pipeline(), SimpleNamespace(candidates=candidates),
                                 texts)
        # separate docs: 2 of Ann/Bob/Rome's 3 pairs, and Cid-Dee
        assert counts["separate_docs"] == {"relations": 0, "pairs": 3}
        assert counts["one_doc"] == {"relations": 0, "pairs": one_doc}


def test_one_row_per_version():
    row = {"one_doc": {"relations": 5, "pairs": 1000},
           "separate_docs": {"relations": 40, "pairs": 7000}}
    report = {"command": "python bench/long_doc.py", "date": "2026-12-07", "machine": "x",
              "model": "m", "sentences": 400, "rows": {"v1": row, "v2": row},
              "settings": {"same_sentence": True, "max_candidates": 1000}}
    lines = long_doc.markdown(report).splitlines()
    assert "| `spacy_xlie.candidate_pairs.v1` | 1,000 | 7,000 | 5 | 40 |" in lines
    assert "`same_sentence = True`, `max_candidates = 1000`" in lines[2]
