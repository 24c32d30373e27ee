"""bench/sentencizer.py: splits inside one-sentence texts and seams of joined ones are
counted against sentences known by hand."""

import pytest
import spacy

from tests.bench import load_bench

sentencizer = load_bench("sentencizer")

TEXTS = [
    "Dr. Hayhurst practiced in St. Louis .",
    "He was born in 1950.",
    "The team played the UN side.",
    "it moved to Ohio .",
]


@pytest.fixture
def nlp():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_sentencizer", name="splitter")
    return nlp


def test_the_sentencizer_is_found_by_its_factory(nlp):
    assert sentencizer.sentencizer_pipe(nlp) is nlp.get_pipe("splitter")
    with pytest.raises(SystemExit, match="no xlie_sentencizer"):
        sentencizer.sentencizer_pipe(spacy.blank("xx"))


def test_boundaries_with_the_rule_off(nlp):
    nlp.get_pipe("splitter").abbreviation_length = 0
    counts = sentencizer.boundary_counts(nlp, TEXTS)
    # "Dr." and "St." split the first text; the second seam starts lower-case ("it")
    assert counts["splits_inside"] == 2
    assert counts["words_before_splits"] == {"Dr": 1, "St": 1}
    assert (counts["seams"], counts["seams_missed"], counts["errors"]) == (2, 1, 3)


def test_boundaries_with_the_rule_on(nlp):
    counts = sentencizer.boundary_counts(nlp, TEXTS)
    assert counts["splits_inside"] == 0
    assert (counts["seams_missed"], counts["errors"]) == (1, 1)
