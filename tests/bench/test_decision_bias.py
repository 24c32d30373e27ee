"""bench/decision_bias.py: the search for class scales and the stored predictions it
scores, on a model overfit on tests/rel_examples.py."""

import math
from types import SimpleNamespace

import pytest
import spacy

from spacy_xlie.evaluation import evaluate_relations, load_examples
from tests.bench import load_bench
from tests.test_evaluation import build_model_and_data

decision_bias = load_bench("decision_bias")
StoredPredictions = decision_bias.StoredPredictions
choose_class_scales = decision_bias.choose_class_scales


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    return build_model_and_data(tmp_path_factory.mktemp("calibrate"))


class KnownScores:
    """A stand-in for :class:`StoredPredictions` whose macro-F peaks at no_relation 0.5
    and per:spouse 2.0 and does not depend on per:title; records the docs it is asked for."""

    pipe = SimpleNamespace(labels=("per:spouse", "per:title"))

    def __init__(self, flat: bool = False):
        self.flat = flat
        self.docs = []

    def macro_f(self, scales, docs=None):
        self.docs.append(docs)
        if self.flat:
            return 0.5
        return (0.5 - 0.01 * abs(math.log(scales.get("no_relation", 1.0) / 0.5))
                - 0.01 * abs(math.log(scales.get("per:spouse", 1.0) / 2.0)))


def test_search_finds_the_no_relation_factor_alone_by_default():
    scores = KnownScores()
    scales, best = choose_class_scales(scores, docs=[0, 2])
    assert scales == {"no_relation": 0.5}
    assert best == pytest.approx(0.5 - 0.01 * math.log(2.0))
    assert scores.docs and all(d == [0, 2] for d in scores.docs)


def test_search_per_type_adds_the_types_that_help():
    scales, best = choose_class_scales(KnownScores(), per_type=True)
    assert scales == {"no_relation": 0.5, "per:spouse": 2.0}
    assert best == pytest.approx(0.5)


def test_search_keeps_the_argmax_where_nothing_scores_higher():
    assert choose_class_scales(KnownScores(flat=True), per_type=True) == ({}, 0.5)


def test_stored_predictions_score_as_evaluate_does(model_and_data):
    tmp = model_and_data
    path = tmp / "eval" / "relx_en.spacy"
    nlp = spacy.load(tmp / "model")
    stored = StoredPredictions(nlp, load_examples(nlp, path, gold_ents=True))
    report = evaluate_relations(spacy.load(tmp / "model"), [path])
    expected = report["datasets"]["relx_en"]["rel_macro_f"]
    assert expected > 0
    assert stored.macro_f({}) == expected
    # no_relation outweighs every relation: nothing predicted, nothing found
    assert stored.macro_f({"no_relation": 1e6}) == 0.0
    assert stored.macro_f({}) == expected  # each scoring decodes the stored probabilities
    # a type's factor applies to both its directions (classes: none, then each type ->, <-)
    labels = stored.pipe.labels
    factors = stored.class_factors({"no_relation": 2.0, labels[1]: 3.0})
    assert factors.tolist() == [2.0, 1.0, 1.0, 3.0, 3.0] + [1.0] * (2 * len(labels) - 4)
