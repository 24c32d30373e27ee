"""spacy_xlie.sentence_spans.v1: one window per sentence, strided inside a long one, and
spacy-transformers' strided windows for a doc without sentences."""

import pickle

import pytest
import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from spacy_transformers.util import registry


def getter(window: int = 8, stride: int = 6):
    return registry.span_getters.get("spacy_xlie.sentence_spans.v1")(window=window,
                                                                      stride=stride)


def bounds(spans):
    return [(span.start, span.end) for span in spans]


@pytest.mark.parametrize("length,expected", [
    (1, [(0, 1)]), (6, [(0, 6)]), (8, [(0, 8)]), (9, [(0, 8), (6, 9)]),
    (13, [(0, 8), (6, 13)]), (20, [(0, 8), (6, 14), (12, 20)]),
    (31, [(0, 8), (6, 14), (12, 20), (18, 26), (24, 31)])])
def test_a_doc_without_sentences_gets_strided_windows(length, expected):
    # strided windows of 8 every 6 tokens, the last one running to the doc's end
    doc = Doc(Vocab(), words=[f"w{i}" for i in range(length)])
    assert bounds(getter()([doc])[0]) == expected


def test_one_window_per_sentence():
    starts = [True, False, False, True, False, True, False, False, False]
    doc = Doc(Vocab(), words=[f"w{i}" for i in range(9)], sent_starts=starts)
    assert bounds(getter()([doc])[0]) == [(0, 3), (3, 5), (5, 9)]


def test_a_long_sentence_is_cut_inside_itself():
    starts = [True, False, True] + [False] * 19
    doc = Doc(Vocab(), words=[f"w{i}" for i in range(22)], sent_starts=starts)
    # the second sentence (tokens 2-21, 20 tokens) as strided_spans cuts a 20-token doc
    assert bounds(getter()([doc])[0]) == [(0, 2), (2, 10), (8, 16), (14, 22)]


def test_the_sentencizer_sets_the_windows():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_sentencizer")
    doc = nlp("Siemens sitzt in München. Dr. Angela Merkel war dort.")
    assert [span.text for span in getter(window=128, stride=96)([doc])[0]] == [
        "Siemens sitzt in München.", "Dr. Angela Merkel war dort."]


def test_the_getter_pickles():
    doc = Doc(Vocab(), words=["a", "b"], sent_starts=[True, True])
    assert bounds(pickle.loads(pickle.dumps(getter()))([doc])[0]) == [(0, 1), (1, 2)]


@pytest.mark.parametrize("window,stride", [(8, 0), (8, 9)])
def test_a_stride_outside_the_window_is_refused(window, stride):
    with pytest.raises(ValueError, match="stride"):
        getter(window, stride)
