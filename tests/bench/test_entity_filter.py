"""bench/entity_filter.py: the filter found by its factory, whatever its name, and one
table row per value of the setting."""

import pytest
import spacy

from tests.bench import load_bench

entity_filter = load_bench("entity_filter")


def test_the_filter_is_found_by_its_factory():
    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("xlie_entity_filter", name="cleaner")
    assert entity_filter.filter_pipe(nlp) is nlp.get_pipe("cleaner")
    with pytest.raises(SystemExit, match="no xlie_entity_filter"):
        entity_filter.filter_pipe(spacy.blank("xx"))


def test_one_row_per_value():
    pair = {"pair_found": 0.5, "micro_f": 0.25, "macro_f": 0.2}
    row = {"wikiann_en_dev": {"p": 0.8, "r": 0.7, "f": 0.75},
           "kbp37_dev": {"exact": pair, "overlap": {**pair, "micro_f": 0.3}}}
    report = {"setting": "trim_separators", "command": "python bench/entity_filter.py",
              "date": "2026-12-07", "machine": "x86_64", "model": "m", "dev_sentences": 1000,
              "rows": {"false": row, "true": {**row, "wikiann_en_dev": {
                  "p": 0.81, "r": 0.7, "f": 0.751}}}}
    lines = entity_filter.markdown(report).splitlines()
    kbp37 = "50.0 | 25.0 | 20.0 | 50.0 | 30.0 | 20.0 |"
    assert f"| trim_separators = false | 80.0 | 70.0 | 75.0 | {kbp37}" in lines
    assert f"| trim_separators = true | 81.0 | 70.0 | 75.1 | {kbp37}" in lines
