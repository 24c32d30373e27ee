"""xlie_relation_extractor on raw text: adjacent entities, learning from predicted entities
(pairs of gold arguments and a recognizer's spans), argument-type constraints, and a shared
encoder updated by batches without any pair."""

import numpy
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_xlie import add_entities, add_relation, span_from_tokens
from spacy_xlie.corpora.joint import relation_reference
from spacy_xlie.entities import ARGUMENT_TYPES, argument_type_filter
from spacy_xlie.relations import GOLD_ARGUMENTS_KEY
from tests.pipeline.test_relation_extractor import cpu_nlp, train
from tests.rel_examples import make_examples


def test_single_doc_with_two_adjacent_entities(tmp_path):
    """The pair's between-context is empty for every pair of the batch: no IndexError."""
    fix_random_seed(0)
    nlp = cpu_nlp()
    train(nlp, make_examples(nlp.vocab), 2)
    doc = Doc(nlp.vocab, words=["Vodafone", "Mannesmann", "merged"])
    add_entities(doc, [span_from_tokens(doc, 0, 1, "ENT"), span_from_tokens(doc, 1, 2, "ENT")])
    pipe = nlp.get_pipe("xlie_relation_extractor")
    (pairs,), probs = pipe.predict([doc])
    assert len(pairs) == 1 and probs.shape == (1, pipe.n_classes)
    nlp(doc)


def joint_example(nlp, predicted_ents):
    """'Barack Obama , president of the US , ...': gold per:title between 'Barack Obama'
    and 'president', the arguments in the gold-argument group; ``predicted_ents`` are the
    recognizer's spans (token offsets) on the predicted doc."""
    words = ["Barack", "Obama", ",", "president", "of", "the", "US", ",", "met", "Merkel"]
    reference = Doc(nlp.vocab, words=words)
    head, tail = add_entities(reference, [span_from_tokens(reference, 0, 2, "ENT"),
                                          span_from_tokens(reference, 3, 4, "ENT")])
    add_relation(reference, head, tail, "per:title")
    relation_reference(reference, ARGUMENT_TYPES["kbp37"])
    predicted = Doc(nlp.vocab, words=words)
    predicted.ents = [Span(predicted, s, e, label=label) for s, e, label in predicted_ents]
    return Example(predicted, reference)


def test_training_pairs_read_predicted_entities():
    nlp = cpu_nlp()
    pipe = nlp.get_pipe("xlie_relation_extractor")
    pipe.add_label("per:title")
    pipe.add_label("per:employee_of")
    # The recognizer found 'Obama' (not 'Barack Obama'), 'US' and 'Merkel'.
    eg = joint_example(nlp, [(1, 2, "PER"), (6, 7, "LOC"), (9, 10, "PER")])
    pairs = pipe.training_pairs(eg)
    spans = {((a.start, a.end), (b.start, b.end)) for a, b in pairs}
    # gold pair; 'Obama'-'president' (overlaps the gold head); other pairs, as negatives;
    # never 'Barack Obama'-'Obama' (two readings of one mention)
    assert ((0, 2), (3, 4)) in spans and ((1, 2), (3, 4)) in spans
    assert ((0, 2), (1, 2)) not in spans
    assert ((3, 4), (6, 7)) in spans and ((6, 7), (9, 10)) in spans
    truth = pipe._truth([eg], [pairs])
    title = 1 + 2 * pipe.labels.index("per:title")
    by_pair = {((a.start, a.end), (b.start, b.end)): int(t) for (a, b), t in zip(pairs, truth)}
    assert by_pair[((0, 2), (3, 4))] == title
    assert by_pair[((1, 2), (3, 4))] == title
    assert by_pair[((3, 4), (6, 7))] == 0 and by_pair[((6, 7), (9, 10))] == 0


def test_training_pairs_without_gold_argument_group_are_the_candidates():
    nlp = cpu_nlp()
    pipe = nlp.get_pipe("xlie_relation_extractor")
    for eg in make_examples(nlp.vocab):
        assert pipe.training_pairs(eg) == pipe.scored_pairs(eg.predicted)


def test_argument_types_forbid_ill_typed_relations():
    nlp = cpu_nlp()
    pipe = nlp.get_pipe("xlie_relation_extractor")
    for label in ("org:top_members/employees", "per:employee_of"):
        pipe.add_label(label)
    doc = Doc(nlp.vocab, words=["Nestle", "hired", "Maggi"])
    org, per = add_entities(doc, [span_from_tokens(doc, 0, 1, "ORG"),
                                  span_from_tokens(doc, 2, 3, "PER")])
    # The model prefers per:employee_of with the ORG as head: ill-typed.
    # classes: none, org:top ->, org:top <-, per:employee_of ->, per:employee_of <-
    probs = numpy.array([0.05, 0.1, 0.2, 0.6, 0.05], dtype="float32")
    assert [(h.text, lab) for h, _, lab, _ in pipe._decode(org, per, probs, {})] == [
        ("Nestle", "per:employee_of")]
    pipe.argument_types = argument_type_filter("kbp37", "tac")
    decoded = list(pipe._decode(org, per, probs, {}))
    assert [(h.text, lab, t.text) for h, t, lab, _ in decoded] == [
        ("Nestle", "org:top_members/employees", "Maggi")]


def test_argument_types_in_multilabel_mode():
    nlp = cpu_nlp(mode="multilabel", threshold=0.5)
    pipe = nlp.get_pipe("xlie_relation_extractor")
    for label in ("org:top_members/employees", "per:employee_of"):
        pipe.add_label(label)
    pipe.argument_types = argument_type_filter("kbp37", "tac")
    doc = Doc(nlp.vocab, words=["Nestle", "hired", "Maggi"])
    org, per = add_entities(doc, [span_from_tokens(doc, 0, 1, "ORG"),
                                  span_from_tokens(doc, 2, 3, "PER")])
    probs = numpy.array([0.7, 0.9], dtype="float32")
    # per:employee_of would need the PER first
    assert [lab for _, _, lab, _ in pipe._decode(org, per, probs, {})] == [
        "org:top_members/employees"]
    assert [lab for _, _, lab, _ in pipe._decode(per, org, probs, {})] == ["per:employee_of"]


def directed_pipe(labels):
    nlp = cpu_nlp(mode="directed")
    pipe = nlp.get_pipe("xlie_relation_extractor")
    for label in labels:
        pipe.add_label(label)
    return nlp, pipe


def test_directed_truth_labels_one_order():
    """The gold pair's own order carries per:title (class 1 + its index), the reverse
    order and the other pairs none (0); each unordered pair is scored in both orders."""
    nlp, pipe = directed_pipe(("per:employee_of", "per:title"))
    eg = joint_example(nlp, [(6, 7, "LOC")])
    pairs = pipe.training_pairs(eg)
    by_pair = {((a.start, a.end), (b.start, b.end)): int(t)
               for (a, b), t in zip(pairs, pipe._truth([eg], [pairs]))}
    assert by_pair[((0, 2), (3, 4))] == 2
    assert by_pair[((3, 4), (0, 2))] == 0
    assert by_pair[((3, 4), (6, 7))] == 0 and by_pair[((6, 7), (3, 4))] == 0
    assert [(b, a) for a, b in pairs[::2]] == [tuple(p) for p in pairs[1::2]]


def test_directed_decoding_keeps_the_likelier_order():
    """Of a pair's two orders, the one whose likeliest class is a relation, or the
    likelier of two relations; none in both orders: nothing; set_annotations reads the
    two rows of every pair together."""
    nlp, pipe = directed_pipe(("org:founded_by", "per:employee_of"))
    doc = Doc(nlp.vocab, words=["Jobs", "founded", "Apple"])
    per, org = add_entities(doc, [span_from_tokens(doc, 0, 1, "ENT"),
                                  span_from_tokens(doc, 2, 3, "ENT")])
    pairs = [(per, org), (org, per)]

    def decoded(rows):
        return [(h.text, lab, t.text, round(score, 2)) for h, t, lab, score in
                pipe._decode_directed(pairs, numpy.array(rows, dtype="float32"), {})]

    # classes: none, org:founded_by, per:employee_of
    assert decoded([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1]]) == [
        ("Apple", "org:founded_by", "Jobs", 0.7)]
    assert decoded([[0.3, 0.1, 0.6], [0.2, 0.7, 0.1]]) == [
        ("Apple", "org:founded_by", "Jobs", 0.7)]
    assert decoded([[0.2, 0.0, 0.8], [0.3, 0.7, 0.0]]) == [
        ("Jobs", "per:employee_of", "Apple", 0.8)]
    assert decoded([[0.6, 0.2, 0.2], [0.5, 0.3, 0.2]]) == []
    pipe.set_annotations([doc], ([pairs], numpy.array(
        [[0.6, 0.2, 0.2], [0.2, 0.7, 0.1]], dtype="float32")))
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [
        ("Apple", "org:founded_by", "Jobs")]


def test_argument_types_in_directed_mode():
    """A type whose head does not fit is out of its order's softmax: the ORG-headed
    per:employee_of gives way to that order's next class."""
    nlp, pipe = directed_pipe(("org:top_members/employees", "per:employee_of"))
    pipe.argument_types = argument_type_filter("kbp37", "tac")
    doc = Doc(nlp.vocab, words=["Nestle", "hired", "Maggi"])
    org, per = add_entities(doc, [span_from_tokens(doc, 0, 1, "ORG"),
                                  span_from_tokens(doc, 2, 3, "PER")])
    # classes: none, org:top_members/employees, per:employee_of
    rows = numpy.array([[0.05, 0.3, 0.65], [0.9, 0.05, 0.05]], dtype="float32")
    assert [(h.text, lab, t.text) for h, t, lab, _ in
            pipe._decode_directed([(org, per), (per, org)], rows, {})] == [
        ("Nestle", "org:top_members/employees", "Maggi")]


def test_entity_only_batch_still_updates_the_shared_encoder():
    """With a listener, the relation extractor's backward pass is what updates the shared
    tok2vec with the recognizer's gradient: a batch of entity-only docs (no pair) must not
    lose it."""
    fix_random_seed(0)
    nlp = cpu_nlp()
    nlp.add_pipe("ner", before="xlie_relation_extractor", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner",
        "hidden_width": 16, "maxout_pieces": 2, "use_upper": False,
        "tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 32,
                    "upstream": "tok2vec"}}})
    rel_examples = make_examples(nlp.vocab)
    ner_doc = Doc(nlp.vocab, words=["Angela", "Merkel", "visited", "Paris"])
    ner_doc.ents = [Span(ner_doc, 0, 2, label="PER"), Span(ner_doc, 3, 4, label="LOC")]
    ner_examples = [Example(Doc(nlp.vocab, words=[t.text for t in ner_doc]), ner_doc)]
    nlp.initialize(lambda: rel_examples + ner_examples)
    tok2vec = nlp.get_pipe("tok2vec").model
    # as spaCy's training loop: gradients from every component, then one optimizer step
    nlp.update(ner_examples, sgd=False, losses={})
    grads = [node.get_grad(name) for node in tok2vec.walk() for name in node.grad_names
             if node.has_grad(name)]
    assert grads and any(abs(grad).sum() > 0 for grad in grads)


def test_joint_reference_keeps_relations_and_types_arguments():
    nlp = spacy.blank("en")
    eg = joint_example(nlp, [])
    ref = eg.reference
    assert [(e.text, e.label_) for e in ref.ents] == [("Barack Obama", "PER"),
                                                      ("president", "TITLE")]
    assert [s.text for s in ref.spans[GOLD_ARGUMENTS_KEY]] == ["Barack Obama", "president"]
    assert [(r.head.text, r.label, r.tail.text) for r in ref._.relations] == [
        ("Barack Obama", "per:title", "president")]
    # tokens outside the typed arguments are missing for the recognizer, not "O", except
    # punctuation
    assert ref[8].ent_iob_ == "" and ref[5].ent_iob_ == ""
    assert ref[2].ent_iob_ == "O" and ref[7].ent_iob_ == "O"
