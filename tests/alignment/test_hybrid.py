"""How the hybrid aligner combines its lexical and embedding halves (fake halves)."""

import spacy

from spacy_xlie.alignment.base import Candidate, SpanAligner
from spacy_xlie.alignment.hybrid import HybridAligner


class Fixed(SpanAligner):
    def __init__(self, name, per_span):
        self.name, self.per_span, self.calls = name, per_span, 0

    def candidates_batch(self, tasks):
        self.calls += 1
        return [[list(c) for c in self.per_span] for _ in tasks]

    def available(self, docs):
        return True


def hybrid(lexical, embedding):
    lex, emb = Fixed("lexical", lexical), Fixed("embedding", embedding)
    return HybridAligner(lex, emb), lex, emb


def best(aligner):
    doc = spacy.blank("en")("a b c d e f")
    return [c[0] if c else None for c in aligner.candidates(doc, doc, [(0, 1)])]


def test_confident_string_matches_never_run_the_encoder():
    aligner, _lex, emb = hybrid([[Candidate(1, 2, 1.0, "lexical:exact")]],
                                [[Candidate(4, 5, 0.9, "embedding:itermax")]])
    assert best(aligner)[0].start == 1 and emb.calls == 0


def test_agreeing_fuzzy_match_keeps_its_lexical_boundaries():
    aligner, _lex, _emb = hybrid([[Candidate(1, 3, 0.7, "lexical:fuzzy")]],
                                 [[Candidate(0, 3, 0.8, "embedding:itermax")]])
    top = best(aligner)[0]
    assert (top.start, top.end) == (1, 3) and top.method == "lexical:fuzzy+embedding"
    assert top.score > 0.8


def test_encoder_decides_a_tie_the_lexical_half_broke_by_position():
    aligner, _lex, _emb = hybrid(
        [[Candidate(1, 2, 1.0, "lexical:exact+position"), Candidate(4, 5, 0.98, "lexical:exact")]],
        [[Candidate(4, 5, 0.7, "embedding:itermax")]])
    top = best(aligner)[0]
    assert (top.start, top.method) == (4, "lexical:exact+embedding")


def test_nothing_found_lexically_takes_the_encoder():
    aligner, _lex, _emb = hybrid([[]], [[Candidate(2, 3, 0.6, "embedding:itermax")]])
    assert best(aligner)[0].method == "embedding:itermax"
