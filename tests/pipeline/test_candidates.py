"""spacy_xlie.candidate_pairs.v1 and .v2: distance, sentences, label pairs, the cap (per doc
or per sentence), span groups."""

import pytest
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy.vocab import Vocab

from spacy_xlie import add_entities, span_from_tokens


def make(version="v1", **kwargs):
    return registry.misc.get(f"spacy_xlie.candidate_pairs.{version}")(**kwargs)


def doc_with(labels_at, n_words=20, sent_starts=None) -> Doc:
    doc = Doc(Vocab(), words=[f"w{i}" for i in range(n_words)], sent_starts=sent_starts)
    add_entities(doc, [span_from_tokens(doc, i, i + 1, label) for i, label in labels_at])
    return doc


def offsets(pairs):
    return [(a.start, b.start) for a, b in pairs]


def test_all_pairs_in_order():
    doc = doc_with([(0, "PER"), (3, "ORG"), (9, "LOC")])
    assert offsets(make()(doc)) == [(0, 3), (0, 9), (3, 9)]
    assert make()(doc_with([])) == [] and make()(doc_with([(2, "X")])) == []


def test_max_distance_counts_the_gap():
    doc = doc_with([(0, "PER"), (3, "ORG"), (9, "LOC")])
    assert offsets(make(max_distance=2)(doc)) == [(0, 3)]
    assert offsets(make(max_distance=5)(doc)) == [(0, 3), (3, 9)]


def test_same_sentence():
    starts = [True] + [False] * 4 + [True] + [False] * 14
    doc = doc_with([(0, "PER"), (3, "ORG"), (9, "LOC")], sent_starts=starts)
    assert offsets(make(same_sentence=True)(doc)) == [(0, 3)]
    no_sents = doc_with([(0, "PER"), (3, "ORG")])
    assert offsets(make(same_sentence=True)(no_sents)) == [(0, 3)]


def test_allowed_label_pairs_either_order():
    doc = doc_with([(0, "PER"), (3, "ORG"), (9, "LOC")])
    assert offsets(make(allowed_label_pairs=[["ORG", "PER"]])(doc)) == [(0, 3)]
    with pytest.raises(ValueError):
        make(allowed_label_pairs=[["ORG"]])


def test_cap_keeps_nearest():
    doc = doc_with([(i, "X") for i in range(0, 20, 2)])
    pairs = make(max_candidates=9)(doc)
    assert len(pairs) == 9
    assert all(b.start - a.end == 1 for a, b in pairs)


def test_spans_key():
    doc = Doc(Vocab(), words=[f"w{i}" for i in range(6)])
    doc.spans["arg"] = [Span(doc, 4, 5, "B"), Span(doc, 0, 2, "A"), Span(doc, 0, 2, "A")]
    pairs = make(spans_key="arg")(doc)
    assert offsets(pairs) == [(0, 4)]
    assert make(spans_key="missing")(doc) == []


def sentences_of_three(n_sentences: int) -> Doc:
    """Sentences of 5 words, entities at words 0, 1 and 3 of each (pairs 1, 2 and 3 apart)."""
    starts = [i % 5 == 0 for i in range(5 * n_sentences)]
    ents = [(5 * k + i, "X") for k in range(n_sentences) for i in (0, 1, 3)]
    return doc_with(ents, n_words=5 * n_sentences, sent_starts=starts)


def test_v1_caps_the_whole_doc():
    pairs = make(same_sentence=True, max_candidates=2)(sentences_of_three(3))
    # the doc's two nearest pairs (gap 0, ties by position): its first two sentences' first
    assert offsets(pairs) == [(0, 1), (5, 6)]


def test_v2_caps_each_sentence():
    pairs = make("v2", same_sentence=True, max_candidates=2)(sentences_of_three(3))
    assert offsets(pairs) == [(0, 1), (1, 3), (5, 6), (6, 8), (10, 11), (11, 13)]


def test_v2_pairs_of_a_long_doc_are_its_sentences_pairs():
    candidates = make("v2", same_sentence=True, max_candidates=2)
    alone = offsets(candidates(sentences_of_three(1)))
    together = offsets(candidates(sentences_of_three(40)))
    assert together[:2] == alone and len(together) == 40 * len(alone)


def test_v2_without_sentences_caps_the_doc():
    doc = doc_with([(i, "X") for i in range(0, 20, 2)])
    assert offsets(make("v2", max_candidates=9)(doc)) == offsets(make(max_candidates=9)(doc))
