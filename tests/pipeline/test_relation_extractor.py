"""xlie_relation_extractor: overfitting (CNN and tiny XLM-R), serialization, edge cases."""

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import load_config, load_model_from_config
from thinc.api import Adam, fix_random_seed

from spacy_xlie import add_entities, span_from_tokens
from spacy_xlie.pipeline.relation_extractor import RelationExtractor
from tests.rel_examples import LABELS, make_examples

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def cpu_nlp(**rel_cfg):
    """configs/cpu.cfg (CNN tok2vec + listener), smaller widths to keep tests fast."""
    config = load_config(CONFIGS / "cpu.cfg", overrides={
        "components.tok2vec.model.encode.width": 32,
        "components.xlie_relation_extractor.model.hidden_width": 32,
        **{f"components.xlie_relation_extractor.{k}": v for k, v in rel_cfg.items()},
    })
    return load_model_from_config(config, auto_fill=True)


def xlmr_nlp(model_dir: Path):
    config = load_config(CONFIGS / "xlmr.cfg", overrides={
        "components.transformer.model.name": str(model_dir),
        "components.transformer.model.mixed_precision": False,
        "components.transformer.model.get_spans.window": 8,
        "components.transformer.model.get_spans.stride": 6,
        "components.xlie_relation_extractor.model.hidden_width": 32,
        "system.gpu_allocator": None,
    })
    return load_model_from_config(config, auto_fill=True)


def train(nlp, examples, steps: int, learn_rate: float = 0.01):
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    optimizer = Adam(learn_rate)
    for _ in range(steps):
        losses = nlp.update(examples, sgd=optimizer, losses={})
    return losses


def relation_tuples(doc: Doc):
    return sorted((r.head.start, r.head.end, r.tail.start, r.tail.end, r.label, r.score)
                  for r in doc._.relations)


@pytest.fixture(scope="module")
def trained_cpu():
    fix_random_seed(0)
    nlp = cpu_nlp()
    examples = make_examples(nlp.vocab)
    train(nlp, examples, 60)
    return nlp, examples


def test_overfit_cpu_exclusive(trained_cpu):
    nlp, examples = trained_cpu
    rel = nlp.get_pipe("xlie_relation_extractor")
    assert rel.labels == tuple(LABELS)
    assert rel.n_classes == 1 + 2 * len(LABELS)
    scores = nlp.evaluate(make_examples(nlp.vocab))
    assert scores["rel_micro_f"] == 1.0
    assert scores["rel_macro_f"] == 1.0
    docs = list(nlp.pipe(eg.predicted for eg in make_examples(nlp.vocab)))
    zh = docs[-1]
    assert [(r.head.text, r.label, r.tail.text, r.source) for r in zh._.relations] == [
        ("阿里巴巴集团", "org:founded_by", "马云", "predicted")
    ]
    assert 0.5 < zh._.relations[0].score <= 1.0


def test_overfit_cpu_multilabel():
    fix_random_seed(0)
    nlp = cpu_nlp(mode="multilabel", threshold=0.5)
    train(nlp, make_examples(nlp.vocab), 60)
    rel = nlp.get_pipe("xlie_relation_extractor")
    assert rel.n_classes == len(LABELS)
    scores = nlp.evaluate(make_examples(nlp.vocab))
    assert scores["rel_micro_f"] == 1.0
    assert scores["rel_threshold"] == 0.5


def test_overfit_cpu_directed():
    """Each pair scored in both orders, one softmax over none and the labels per order;
    the zh doc's relation runs against the text's order."""
    fix_random_seed(0)
    nlp = cpu_nlp(mode="directed")
    train(nlp, make_examples(nlp.vocab), 60)
    rel = nlp.get_pipe("xlie_relation_extractor")
    assert rel.n_classes == 1 + len(LABELS)
    scores = nlp.evaluate(make_examples(nlp.vocab))
    assert scores["rel_micro_f"] == 1.0
    zh = list(nlp.pipe(eg.predicted for eg in make_examples(nlp.vocab)))[-1]
    assert [(r.head.text, r.label, r.tail.text) for r in zh._.relations] == [
        ("阿里巴巴集团", "org:founded_by", "马云")]


@pytest.mark.parametrize("mode", ["exclusive", "directed", "multilabel"])
def test_class_weights_scale_each_pair_by_its_type(mode, tmp_path):
    """class_weight_power = 1: the examples hold org:city_of_headquarters 3 times,
    org:founded_by and per:employee_of twice, per:country_of_birth once (mean 2), so the
    types weigh 2/3, 1, 1 and 2, and each pair's loss gradient is scaled by its type's
    weight (1 for pairs with no relation; in directed and multilabel modes, pairs in the
    relation's direction)."""
    nlp = cpu_nlp(class_weight_power=1.0, mode=mode)
    examples = make_examples(nlp.vocab)
    nlp.initialize(lambda: examples)
    rel = nlp.get_pipe("xlie_relation_extractor")
    expected = {"org:city_of_headquarters": 2 / 3, "org:founded_by": 1.0,
                "per:country_of_birth": 2.0, "per:employee_of": 1.0}
    assert dict(zip(rel.labels, rel.cfg["label_weights"])) == pytest.approx(expected)
    gold = {(r.head.text, r.tail.text): r.label
            for eg in examples for r in eg.reference._.relations}
    pair_lists = [rel.training_pairs(eg) for eg in examples]
    logits = rel.model.ops.alloc2f(sum(map(len, pair_lists)), rel.n_classes)
    _, weighted = rel.get_loss(examples, (pair_lists, logits))
    rel.cfg["label_weights"] = []
    _, plain = rel.get_loss(examples, (pair_lists, logits))
    pairs = [pair for pairs in pair_lists for pair in pairs]
    for (a, b), w_row, p_row in zip(pairs, weighted, plain):
        label = gold.get((a.text, b.text))
        if mode == "exclusive":
            label = label or gold.get((b.text, a.text))
        assert w_row == pytest.approx(p_row * expected.get(label, 1.0))
    nlp.to_disk(tmp_path / "model")
    assert spacy.load(tmp_path / "model").get_pipe(
        "xlie_relation_extractor").cfg["class_weight_power"] == 1.0
    with pytest.raises(ValueError, match="class_weight_power"):
        cpu_nlp(class_weight_power=-0.5)


@pytest.mark.parametrize("mode", ["exclusive", "multilabel"])
def test_label_smoothing_mixes_the_target_with_uniform(mode, tmp_path):
    """label_smoothing = 0.2 over random logits: each pair's loss is the cross-entropy
    against 0.8 * its one-hot target + 0.2 / classes (multilabel: each sigmoid's 0/1
    target moved 0.1 toward 0.5), and its gradient is the probabilities minus that
    target, averaged over pairs; written out here with numpy, not with the pipe."""
    nlp = cpu_nlp(label_smoothing=0.2, mode=mode)
    examples = make_examples(nlp.vocab)
    nlp.initialize(lambda: examples)
    rel = nlp.get_pipe("xlie_relation_extractor")
    pair_lists = [rel.training_pairs(eg) for eg in examples]
    n_pairs = sum(map(len, pair_lists))
    logits = numpy.random.default_rng(0).normal(size=(n_pairs, rel.n_classes))
    loss, d_logits = rel.get_loss(examples, (pair_lists, logits.astype("float32")))
    plain_target = numpy.zeros_like(logits)
    gold = {(r.head.text, r.tail.text): rel.labels.index(r.label)
            for eg in examples for r in eg.reference._.relations}
    pairs = [pair for pairs in pair_lists for pair in pairs]
    for row, (a, b) in enumerate(pairs):
        if mode == "multilabel":
            if (a.text, b.text) in gold:
                plain_target[row, gold[a.text, b.text]] = 1.0
        elif (a.text, b.text) in gold:  # the head first: class 1 + 2 * label
            plain_target[row, 1 + 2 * gold[a.text, b.text]] = 1.0
        elif (b.text, a.text) in gold:  # the tail first: class 2 + 2 * label
            plain_target[row, 2 + 2 * gold[b.text, a.text]] = 1.0
        else:
            plain_target[row, 0] = 1.0
    if mode == "multilabel":
        probs = 1 / (1 + numpy.exp(-logits))
        target = 0.8 * plain_target + 0.1
        losses = -(target * numpy.log(probs) + (1 - target) * numpy.log(1 - probs)).sum(1)
    else:
        probs = numpy.exp(logits) / numpy.exp(logits).sum(axis=1, keepdims=True)
        target = 0.8 * plain_target + 0.2 / rel.n_classes
        losses = -(target * numpy.log(probs)).sum(axis=1)
    assert loss == pytest.approx(losses.mean(), rel=1e-4)
    assert numpy.asarray(d_logits) == pytest.approx((probs - target) / n_pairs, abs=1e-6)
    nlp.to_disk(tmp_path / "model")
    assert spacy.load(tmp_path / "model").get_pipe(
        "xlie_relation_extractor").cfg["label_smoothing"] == 0.2
    with pytest.raises(ValueError, match="label_smoothing"):
        cpu_nlp(label_smoothing=1.0)


def test_update_sets_the_heads_dropout_to_the_loops_rate():
    """The model block's dropout is only where the head starts: each update runs its
    dropout layers at the update's ``drop`` (``[training] dropout`` under spacy train)."""
    nlp = cpu_nlp(**{"model.dropout": 0.5})
    examples = make_examples(nlp.vocab)
    nlp.initialize(lambda: examples)
    head = nlp.get_pipe("xlie_relation_extractor").model

    def rates():
        return [node.attrs["dropout_rate"] for node in head.walk()
                if "dropout_rate" in node.attrs]

    assert rates() and set(rates()) == {0.5}
    nlp.update(examples, drop=0.05, sgd=Adam(0.001))
    assert set(rates()) == {0.05}


def test_serialization_fresh_process(trained_cpu, tmp_path):
    """to_disk → spacy.load in a new interpreter that never imports spacy_xlie itself."""
    nlp, _ = trained_cpu
    nlp.to_disk(tmp_path / "model")
    inputs = [
        {"words": [t.text for t in eg.predicted],
         "ents": [[e.start, e.end] for e in eg.predicted.ents]}
        for eg in make_examples(nlp.vocab)
    ]
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    script = """
import json, sys
import spacy
from spacy.tokens import Doc, Span
nlp = spacy.load(sys.argv[1])
out = []
for rec in json.load(open(sys.argv[2])):
    doc = Doc(nlp.vocab, words=rec["words"])
    doc.ents = [Span(doc, s, e, label="ENT") for s, e in rec["ents"]]
    doc = nlp(doc)
    out.append(sorted([r.head.start, r.head.end, r.tail.start, r.tail.end, r.label, r.score]
                      for r in doc._.relations))
print(json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model"), str(tmp_path / "inputs.json")],
        capture_output=True, text=True, check=True,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    here = [relation_tuples(nlp(eg.predicted)) for eg in make_examples(nlp.vocab)]
    assert len(loaded) == len(here)
    for got, want in zip(loaded, here):
        assert [tuple(g[:5]) for g in got] == [w[:5] for w in want]
        assert [g[5] for g in got] == pytest.approx([w[5] for w in want], abs=1e-5)


def _doc_with_entities(vocab, n_words: int, n_ents: int) -> Doc:
    doc = Doc(vocab, words=[f"w{i}" for i in range(n_words)])
    add_entities(doc, [span_from_tokens(doc, 2 * i, 2 * i + 1, "ENT") for i in range(n_ents)])
    return doc


def test_edge_case_docs(trained_cpu):
    nlp, _ = trained_cpu
    rel = nlp.get_pipe("xlie_relation_extractor")
    empty = nlp(Doc(nlp.vocab, words=[]))
    assert empty._.relations == []
    assert nlp(_doc_with_entities(nlp.vocab, 5, 0))._.relations == []
    assert nlp(_doc_with_entities(nlp.vocab, 5, 1))._.relations == []
    whole = Doc(nlp.vocab, words=["Apple"])
    whole.ents = [span_from_tokens(whole, 0, 1, "ENT")]
    assert nlp(whole)._.relations == []
    many = _doc_with_entities(nlp.vocab, 600, 300)
    assert rel.candidates.max_candidates == 1000
    # the cap reaches the model: one score row per kept pair, not per pair of entities
    (pairs,), probs = rel.predict([many])
    assert len(pairs) == len(probs) == 1000
    nlp(many)
    assert {(r.head.start, r.tail.start) for r in many._.relations} <= {
        p for a, b in pairs for p in ((a.start, b.start), (b.start, a.start))
    }


def test_pipe_multiprocess(trained_cpu):
    nlp, examples = trained_cpu
    docs = [eg.predicted.copy() for eg in make_examples(nlp.vocab)]
    single = [relation_tuples(doc) for doc in nlp.pipe(d.copy() for d in docs)]
    multi = [relation_tuples(doc) for doc in nlp.pipe(docs, n_process=2, batch_size=2)]
    assert [[r[:5] for r in rels] for rels in multi] == [[r[:5] for r in rels] for rels in single]


def test_evaluate_without_relations(trained_cpu):
    """Gold without relations: every prediction is a false positive, every type scores 0."""
    nlp, _ = trained_cpu
    examples = []
    for eg in make_examples(nlp.vocab):
        reference = eg.reference.copy()
        reference._.relations = []
        examples.append(Example(eg.predicted, reference))
    predicted = [doc for doc in nlp.pipe(eg.predicted.copy() for eg in examples)]
    assert sum(len(doc._.relations) for doc in predicted) == 8  # the overfit relations
    scores = nlp.evaluate(examples)
    assert (scores["rel_micro_p"], scores["rel_micro_r"], scores["rel_macro_f"]) == (0, 0, 0)
    per_type = scores["rel_f_per_type"]
    assert set(per_type) == set(LABELS)
    assert all(s == {"p": 0.0, "r": 0.0, "f": 0.0} for s in per_type.values())


@pytest.mark.parametrize("candidates,cut", [({"max_distance": 3}, 2), ({"max_candidates": 1}, 4)])
def test_gold_relations_cut_by_candidate_limits(trained_cpu, caplog, candidates, cut):
    """Of the 8 gold relations, max_distance=3 cuts Apple -> Cupertino (6 tokens apart) and
    Pablo Neruda -> Telefónica (6); max_candidates=1 keeps only the nearest pair of each
    doc, cutting both English relations, Merkel -> CDU and Neruda -> Telefónica. They are
    counted and logged at initialization, and missed in evaluation."""
    examples = make_examples(spacy.blank("xx").vocab)
    fresh = cpu_nlp(**{f"candidates.{k}": v for k, v in candidates.items()})
    caplog.set_level(logging.INFO, logger="spacy")
    fresh.initialize(lambda: examples)
    (record,) = [r for r in caplog.records if "not candidate pairs" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert f"{cut} of 8 gold relations" in record.getMessage()

    nlp, _ = trained_cpu
    rel = nlp.get_pipe("xlie_relation_extractor")
    full = rel.candidates
    rel.candidates = dataclasses.replace(full, **candidates)
    try:
        examples = make_examples(nlp.vocab)
        assert rel.unreachable_gold(examples) == (cut, 8)
        scores = nlp.evaluate(examples)
    finally:
        rel.candidates = full
    # the overfit model finds every reachable relation and nothing else
    assert scores["rel_micro_p"] == 1.0
    assert scores["rel_micro_r"] == pytest.approx((8 - cut) / 8)


def test_nothing_cut_logged_as_info(caplog):
    caplog.set_level(logging.INFO, logger="spacy")
    cpu_nlp().initialize(lambda: make_examples(spacy.blank("xx").vocab))
    (record,) = [r for r in caplog.records if "not candidate pairs" in r.getMessage()]
    assert record.levelno == logging.INFO and "0 of 8 gold relations" in record.getMessage()


def test_add_label_and_errors(trained_cpu):
    nlp, _ = trained_cpu
    rel = nlp.get_pipe("xlie_relation_extractor")
    assert rel.add_label(LABELS[0]) == 0
    with pytest.raises(ValueError, match="already sized"):
        rel.add_label("new:label")
    fresh = spacy.blank("en").add_pipe("xlie_relation_extractor")
    assert isinstance(fresh, RelationExtractor)
    assert fresh.add_label("a") == 1 and fresh.labels == ("a",)
    with pytest.raises(ValueError, match="mode"):
        spacy.blank("en").add_pipe("xlie_relation_extractor", config={"mode": "nope"})
    no_rels = spacy.blank("en")
    no_rels.add_pipe("xlie_relation_extractor")
    plain = [Example(d.copy(), d) for d in (_doc_with_entities(no_rels.vocab, 4, 2),)]
    with pytest.raises(ValueError, match="no relation labels"):
        no_rels.initialize(lambda: plain)


@pytest.mark.slow
def test_overfit_tiny_xlmr(tiny_xlmr, tmp_path):
    """The transformer config with a tiny random XLM-R, loaded by path; a doc longer than
    the (8 wordpiece) window; save and reload."""
    nlp = xlmr_nlp(tiny_xlmr)
    examples = make_examples(nlp.vocab)
    train(nlp, examples, 80, learn_rate=0.005)
    assert nlp.evaluate(make_examples(nlp.vocab))["rel_micro_f"] == 1.0
    long_doc = _doc_with_entities(nlp.vocab, 120, 20)
    rel = nlp.get_pipe("xlie_relation_extractor")
    (pairs,), probs = rel.predict([nlp.get_pipe("transformer")(long_doc)])
    assert len(pairs) == len(probs) == 190  # every pair of the 20 entities, one row each
    assert_reloaded_predicts_the_same(nlp, tmp_path / "trf")


def assert_reloaded_predicts_the_same(nlp, path: Path, scores: bool = False) -> None:
    """``nlp`` saved to ``path`` and loaded again finds the same relations on the
    examples (and, with ``scores``, the same scores)."""
    nlp.to_disk(path)
    reloaded = spacy.load(path)
    for eg in make_examples(nlp.vocab):
        want = relation_tuples(nlp(eg.predicted.copy()))
        got = relation_tuples(reloaded(eg.predicted.copy()))
        assert [r[:5] for r in got] == [r[:5] for r in want]
        if scores:
            assert [r[5] for r in got] == pytest.approx([r[5] for r in want], abs=1e-5)


@pytest.mark.parametrize("architecture, settings", [
    # v2: the pair encoder beside the shared vectors
    ("spacy_xlie.RelationClassifier.v2",
     {"encoder_width": 32, "pair_width": 16, "pair_heads": 2}),
    # v3: the pair's sentence pooled beside v1's features
    ("spacy_xlie.RelationClassifier.v3", {}),
    # v4: the product of the pooled head and tail beside v1's features (its LayerNorm gets
    # its width from the pipe's initialization sample)
    ("spacy_xlie.RelationClassifier.v4", {}),
])
def test_overfit_with_other_relation_models(tmp_path, architecture, settings):
    """Each later RelationClassifier on the CPU config learns the examples and predicts
    the same after save and load."""
    fix_random_seed(0)
    nlp = cpu_nlp(model={
        "@architectures": architecture, "hidden_width": 32, **settings,
        "tok2vec": load_config(CONFIGS / "cpu.cfg")[
            "components"]["xlie_relation_extractor"]["model"]["tok2vec"],
    })
    train(nlp, make_examples(nlp.vocab), 60)
    assert nlp.evaluate(make_examples(nlp.vocab))["rel_micro_f"] == 1.0
    assert_reloaded_predicts_the_same(nlp, tmp_path / "model", scores=True)
