"""Embedding (SimAlign-style) alignment with a tiny random-weight XLM-R.

Random weights cannot align translations; what must hold regardless is that a sentence
aligned with itself links token i to token i (identical contexts give a cosine of 1 on
the diagonal only), that indices stay in range, and that long texts are handled.
"""

import numpy
import pytest
import spacy

from spacy_xlie.alignment.embedding import EmbeddingAligner, argmax_links, itermax_links
from spacy_xlie.alignment.hybrid import HybridAligner
from spacy_xlie.alignment.lexical import LexicalAligner
from spacy_xlie.alignment.projection import project


def test_argmax_is_the_bidirectional_intersection():
    sim = numpy.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.3, 0.7]])
    assert numpy.argwhere(argmax_links(sim)).tolist() == [[0, 0], [2, 2]]
    # itermax looks again for the unaligned row 1 and column 1 (many-to-one allowed)
    assert numpy.argwhere(itermax_links(sim)).tolist() == [[0, 0], [1, 0], [2, 1], [2, 2]]


@pytest.fixture(scope="module")
def aligners(tiny_xlmr):
    return {m: EmbeddingAligner(str(tiny_xlmr), method=m) for m in ("argmax", "itermax")}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["argmax", "itermax"])
@pytest.mark.parametrize(
    "lang,text",
    [
        ("en", "The cat saw the cat and the dog saw the other cat ."),
        ("de", "Die Sacramento Heatwave ist ein Team mit Sitz in Sacramento, Kalifornien."),
        ("zh", "马云创立了阿里巴巴集团。"),
        ("ru", "Газпром базируется в Москве, Россия."),
    ],
)
def test_sentence_aligned_with_itself_is_the_identity(aligners, method, lang, text):
    doc = spacy.blank(lang)(text)
    links = aligners[method].align(doc, doc)
    diagonal = {i for i, j, _ in links if i == j}
    assert diagonal == set(range(len(doc)))
    # only tokens that share a subword (Chinese characters) may link off the diagonal
    if lang != "zh":
        assert all(i == j for i, j, _ in links)


@pytest.mark.slow
def test_indices_in_range_and_long_texts(aligners):
    nlp = spacy.blank("en")
    long = nlp(" ".join(f"word{i} alpha beta" for i in range(250)))  # > 510 subwords
    short = nlp("alpha beta word3")
    aligner = aligners["itermax"]
    assert aligner.encoder.window < 1000
    links = aligner.align(long, long)
    assert {i for i, j, _ in links if i == j} == set(range(len(long)))
    for src, tgt in [(long, short), (short, long)]:
        for i, j, _ in aligner.align(src, tgt):
            assert 0 <= i < len(src) and 0 <= j < len(tgt)
        for per_span in aligner.candidates(src, tgt, [(0, 2), (1, 3)]):
            for cand in per_span:
                assert 0 <= cand.start < cand.end <= len(tgt) and 0 <= cand.score <= 1


@pytest.mark.slow
def test_hybrid_uses_embedding_only_where_lexical_fails(tiny_xlmr):
    from spacy.tokens import Span

    from spacy_xlie import add_entities

    src = spacy.blank("en")("Apple hired him in Berlin .")
    add_entities(src, [Span(src, 0, 1, "ORG"), Span(src, 2, 3, "PER")])
    tgt = spacy.blank("de")("Apple stellte ihn in Berlin ein .")
    aligner = HybridAligner(LexicalAligner(), EmbeddingAligner(str(tiny_xlmr)))
    result = project(src, tgt, aligner, min_score=0.0)
    methods = [e.method for e in result.entities]
    assert methods[0] == "lexical:exact"
    assert methods[1] is None or methods[1].startswith("embedding")


def test_embedding_without_model_or_trf_data_says_so():
    doc = spacy.blank("en")("a b")
    with pytest.raises(ValueError, match="no model"):
        EmbeddingAligner().align(doc, doc)
