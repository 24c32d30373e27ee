"""project(): assignment, records, relation scores, serialisation."""

import pickle

import spacy
from spacy.tokens import DocBin, Span

from spacy_xlie import add_entities, add_relation
from spacy_xlie.alignment.base import Candidate, SpanAligner, blocks_from_links
from spacy_xlie.alignment.projection import (
    attach_source,
    get_source,
    project,
    project_batch,
)


class FixedAligner(SpanAligner):
    """Returns the same candidates for every pair (per source span index)."""

    name = "fixed"

    def __init__(self, per_span):
        self.per_span = per_span

    def candidates_batch(self, tasks):
        return [[list(c) for c in self.per_span] for _ in tasks]


def pair():
    src = spacy.blank("en")("Apple was founded by Steve Jobs .")
    a, b = add_entities(src, [Span(src, 0, 1, "ORG", kb_id="Q312"), Span(src, 4, 6, "PER")])
    add_relation(src, a, b, "founded_by")
    tgt = spacy.blank("de")("Apple wurde von Steve Jobs gegründet .")
    return src, tgt


def test_relation_score_is_the_weaker_argument_and_kb_ids_copied():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x")], [Candidate(3, 5, 0.7, "x")]])
    result = project(src, tgt, aligner)
    assert tgt.ents == ()  # copy by default
    assert [(e.text, e.label_, e.kb_id_) for e in result.doc.ents] == [
        ("Apple", "ORG", "Q312"), ("Steve Jobs", "PER", "")]
    (rel,) = result.doc._.relations
    assert (rel.label, rel.source, rel.score) == ("founded_by", "projected", 0.7)


def test_overlap_and_low_confidence_are_reported():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(3, 5, 0.9, "x")], [Candidate(4, 5, 0.8, "x")]])
    result = project(src, tgt, aligner)
    assert [e.reason for e in result.entities] == [None, "role_conflict"]
    aligner = FixedAligner([[Candidate(0, 1, 0.3, "x")], []])
    result = project(src, tgt, aligner, min_score=0.5)
    assert [e.reason for e in result.entities] == ["low_confidence", "not_found"]
    assert result.doc._.xlie_projection["relations"][0]["projected"] is False


def test_fallback_to_next_candidate_when_taken():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(3, 5, 0.9, "x")],
                            [Candidate(3, 5, 0.8, "x"), Candidate(0, 1, 0.6, "x")]])
    result = project(src, tgt, aligner)
    assert [tuple(e.target) for e in result.entities] == [(3, 5), (0, 1)]


def test_existing_target_entities_are_never_overlapped():
    src, tgt = pair()
    tgt.ents = [Span(tgt, 3, 5, "PER")]
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x")], [Candidate(3, 4, 0.9, "x")]])
    result = project(src, tgt, aligner)
    assert result.entities[1].reason == "overlap"


def test_record_and_relations_survive_docbin_and_pickle():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x")], [Candidate(3, 5, 0.7, "x")]])
    (result,) = project_batch([(src, tgt)], aligner)
    docbin = DocBin(store_user_data=True, docs=[result.doc])
    (doc,) = DocBin().from_bytes(docbin.to_bytes()).get_docs(tgt.vocab)
    assert list(doc._.xlie_projection["entities"][1]["target"]) == [3, 5]
    assert doc._.relations[0].head.text == "Apple"
    assert pickle.loads(pickle.dumps(result.doc))._.relations[0].score == 0.7


def test_attached_source_round_trips():
    src, tgt = pair()
    attach_source(tgt, src)
    restored = get_source(pickle.loads(pickle.dumps(tgt)))
    assert restored.text == src.text
    assert restored._.relations[0].label == "founded_by"
    assert get_source(spacy.blank("de")("x")) is None


def test_blocks_bridge_small_gaps_and_keep_the_largest_first():
    blocks = blocks_from_links([(2, 0.9), (4, 0.8), (9, 0.5)], max_gap=1)
    assert [(s, e, n) for s, e, _score, n in blocks] == [(2, 5, 2), (9, 10, 1)]
    assert blocks_from_links([]) == []


def test_equal_scores_for_one_place_are_a_role_conflict_not_a_guess():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(3, 5, 0.9, "x")], [Candidate(3, 5, 0.9, "x")]])
    result = project(src, tgt, aligner)
    assert [e.reason for e in result.entities] == ["role_conflict", "role_conflict"]
    assert result.doc._.relations == []
    # the higher score wins; the other falls back to its next candidate
    aligner = FixedAligner([[Candidate(3, 5, 0.8, "x"), Candidate(0, 1, 0.7, "x")],
                            [Candidate(3, 5, 0.9, "x")]])
    result = project(src, tgt, aligner)
    assert [tuple(e.target) for e in result.entities] == [(0, 1), (3, 5)]


def test_two_equal_places_for_one_entity_are_ambiguous_unless_one_is_taken():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x"), Candidate(5, 6, 0.9, "x")],
                            [Candidate(3, 5, 0.7, "x")]])
    result = project(src, tgt, aligner)
    assert [e.reason for e in result.entities] == ["ambiguous", None]
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x"), Candidate(3, 4, 0.9, "x")],
                            [Candidate(3, 5, 0.95, "x")]])
    result = project(src, tgt, aligner)
    assert [tuple(e.target) for e in result.entities] == [(0, 1), (3, 5)]


def test_blocked_candidates_are_never_projected_only_reported():
    src, tgt = pair()
    aligner = FixedAligner([[Candidate(0, 1, 0.0, "x", blocked="crosses_token_boundary")],
                            [Candidate(3, 5, 0.9, "x")]])
    result = project(src, tgt, aligner)
    assert result.entities[0].reason == "crosses_token_boundary"
    assert [e.text for e in result.doc.ents] == ["Steve Jobs"]


def test_record_holds_every_field_as_plain_data():
    import dataclasses

    from spacy_xlie.alignment.projection import EntityProjection, RelationProjection

    src, tgt = pair()
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x")], []])
    record = project(src, tgt, aligner).doc._.xlie_projection
    ent, missing = record["entities"]
    assert list(ent) == [f.name for f in dataclasses.fields(EntityProjection)]
    assert (ent["source"], ent["target"], ent["target_text"]) == ([0, 1], [0, 1], "Apple")
    assert (missing["target"], missing["reason"]) == (None, "not_found")
    (rel,) = record["relations"]
    assert list(rel) == [f.name for f in dataclasses.fields(RelationProjection)]
    assert (rel["head"], rel["tail"], rel["projected"]) == ([0, 1], [4, 6], False)


def test_result_reads_the_stored_records_as_dataclasses():
    from spacy_xlie.alignment.projection import EntityProjection, RelationProjection

    src, tgt = pair()
    aligner = FixedAligner([[Candidate(0, 1, 0.9, "x")], []])
    result = project(src, tgt, aligner)
    assert result.entities == [
        EntityProjection((0, 1), "Apple", "ORG", "Q312", None, (0, 1), "Apple", 0.9, "x"),
        EntityProjection((4, 6), "Steve Jobs", "PER", reason="not_found"),
    ]
    assert result.relations == [RelationProjection(
        (0, 1), (4, 6), "founded_by", False, reason="argument_not_projected: tail")]
    assert result.to_dict() == result.doc._.xlie_projection
    assert [e.text for e in result.unprojected_entities] == ["Steve Jobs"]
    both = FixedAligner([[Candidate(0, 1, 0.9, "x")], [Candidate(3, 5, 0.7, "x")]])
    assert project(src, tgt, both).relations == [
        RelationProjection((0, 1), (4, 6), "founded_by", True, 0.7)]


def test_choosing_every_best_at_once_agrees_with_the_greedy_loop():
    # The shortcut for the common case (each unit's best place free, unshared and untied)
    # must choose what the greedy loop chooses, on random candidates (ties, overlaps,
    # blocked places, entities the target already has, a span group).
    import random

    from spacy_xlie.alignment.projection import _Assignment

    rng = random.Random(3)
    nlp = spacy.blank("en")
    shortcuts = 0
    for _ in range(3000):
        tgt = nlp(" ".join(["w"] * 12))
        if rng.random() < 0.3:
            tgt.ents = [Span(tgt, 2, 4, label="X")]
        keys = [rng.choice([None, None, "sc"]) for _ in range(rng.randint(1, 4))]
        units = [((key, i, i + 1), None) for i, key in enumerate(keys)]
        candidates = []
        for _ in keys:
            cands = []
            for _ in range(rng.randint(0, 3)):
                start = rng.randint(0, 10)
                blocked = None if rng.random() < 0.9 else "crosses_token_boundary"
                cands.append(Candidate(start, start + rng.randint(1, 2),
                                       rng.choice([0.4, 0.8, 0.9, 1.0]), "m", blocked))
            candidates.append(cands)
        fast = _Assignment(units, candidates, tgt, 0.5)
        if fast._settled():
            shortcuts += 1
            loop = _Assignment(units, candidates, tgt, 0.5)
            loop._greedy()
            assert fast.chosen == loop.chosen
            assert loop.reasons == [None] * len(keys)
    assert shortcuts > 300
