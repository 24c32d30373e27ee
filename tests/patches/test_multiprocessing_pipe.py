"""nlp.pipe(n_process=2) with spacy-xlie's doc transport
(spacy_xlie/patches/multiprocessing_pipe.py): the codec keeps everything Doc.to_bytes
keeps, and for the distant labeler, lexical projection and the CPU relation-extractor
pipeline 2 processes give what 1 gives."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import load_config, load_model_from_config
from thinc.api import fix_random_seed

from spacy_xlie import add_entities, add_relation
from spacy_xlie.kb import read_wikidata_dump
from spacy_xlie.patches import multiprocessing_pipe
from spacy_xlie.patches.multiprocessing_pipe import DocPacker, unpack_docs
from spacy_xlie.pipeline.projection_aligner import attach_source
from tests.rel_examples import make_examples

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "kb" / "fixtures" / "wikidata_small.json"


def rich_docs(nlp):
    doc = Doc(nlp.vocab, words=["Marie", "Curie", "met", "Pierre", "in", "Paris", "."],
              spaces=[True, True, True, True, True, False, False],
              tags=["NNP", "NNP", "VBD", "NNP", "IN", "NNP", "."],
              pos=["PROPN", "PROPN", "VERB", "PROPN", "ADP", "PROPN", "PUNCT"],
              morphs=["Number=Sing", "Number=Sing", "Tense=Past", "", "", "Number=Sing", ""],
              lemmas=["Marie", "Curie", "meet", "Pierre", "in", "Paris", "."],
              heads=[1, 2, 2, 2, 2, 4, 2],
              deps=["compound", "nsubj", "ROOT", "dobj", "prep", "pobj", "punct"])
    doc.ents = [Span(doc, 0, 2, "PER", kb_id="Q7186-only-here", span_id="id-only-here"),
                Span(doc, 3, 4, "PER"), Span(doc, 5, 6, "LOC", kb_id="Q90")]
    doc.spans["sc"] = SpanGroup(doc, name="sc", attrs={"a": 1},
                                spans=[Span(doc, 0, 1, "LABEL-ONLY-HERE", kb_id="KB-X")])
    doc.spans["empty"] = []
    doc.cats = {"POS": 0.25}
    doc.tensor = numpy.arange(28, dtype="float32").reshape(7, 4)
    add_relation(doc, doc.ents[0], doc.ents[1], "per:spouse")
    doc.user_data["plain"] = {"tuple": (1, "a"), "list": [2.5, None]}
    one = Doc(nlp.vocab, words=["solo"], spaces=[False])
    sents = nlp("First one. Second one.")
    sents[3].is_sent_start = True
    return [doc, Doc(nlp.vocab, words=["unknown", "spaces"]), nlp(""), one, sents]


def test_codec_keeps_what_to_bytes_keeps_in_a_fresh_vocab():
    docs = rich_docs(spacy.blank("en"))
    docs[0]._context = ("ctx", 1)
    out = unpack_docs(spacy.blank("en").vocab, DocPacker().pack(docs))
    assert [d.to_bytes() for d in out] == [d.to_bytes() for d in docs]
    assert [d.user_data for d in out] == [d.user_data for d in docs]  # tuples stay tuples
    assert [d.has_unknown_spaces for d in out] == [False, True, False, False, False]
    assert out[0]._context == ("ctx", 1)
    assert [(e.text, e.kb_id_, e.id_) for e in out[0].ents][0] == (
        "Marie Curie", "Q7186-only-here", "id-only-here")
    assert out[0].spans["sc"][0].label_ == "LABEL-ONLY-HERE"
    assert [str(t.morph) for t in out[0]][2] == "Tense=Past"
    assert out[0]._.relations[0].label == "per:spouse"


def test_strings_travel_once_per_receiver():
    import pickle

    nlp = spacy.blank("en")
    packer = DocPacker()
    first = pickle.loads(packer.pack([nlp("Zyxwv qwerty")]))[0]
    assert {"Zyxwv", "qwerty"} <= set(first)
    again = pickle.loads(packer.pack([nlp("qwerty Zyxwv")]))[0]
    assert again == []
    receiver = spacy.blank("en").vocab
    assert unpack_docs(receiver, packer.pack([])) == []  # an empty batch is fine


# -- the three pipelines: n_process=2 gives exactly what n_process=1 gives -------------------
def labeler():
    nlp = spacy.blank("en")
    kb = read_wikidata_dump([DUMP], ["en", "de", "fr", "tr", "zh"])
    nlp.add_pipe("xlie_distant_labeler", config={"negative_ratio": -1}).set_kb(kb)
    texts = ["Marie Curie married Pierre Curie.", "北京", "Paris is in France.",
             "Pierre Curie and Marie Curie worked at the Sorbonne in Paris.", ""] * 5
    return nlp, lambda: list(texts)


def projector():
    nlp = spacy.blank("de")
    nlp.add_pipe("xlie_projection_aligner",
                 config={"aligner": {"@misc": "spacy_xlie.lexical_aligner.v2"}})
    en = spacy.blank("en")
    pairs = [("Apple was founded in Cupertino .", "Apple wurde in Cupertino gegründet ."),
             ("Siemens is based in Munich .", "Siemens hat seinen Sitz in München .")]

    def items():
        docs = []
        for i, (src_text, tgt_text) in enumerate(pairs * 6):
            src = en(src_text)
            ents = add_entities(src, [Span(src, 0, 1, "ORG"), Span(src, 4, 5, "LOC")])
            add_relation(src, ents[0], ents[1], "based_in")
            docs.append(attach_source(nlp.make_doc(tgt_text), src))
            docs[-1]._.xlie_id = f"pair-{i}"
        docs.append(nlp.make_doc("Ein Satz ohne Quelle ."))
        return docs

    return nlp, items


def extractor():
    fix_random_seed(0)
    config = load_config(ROOT / "configs" / "cpu.cfg", overrides={
        "components.tok2vec.model.encode.width": 32,
        "components.xlie_relation_extractor.model.hidden_width": 32,
        "components.xlie_relation_extractor.threshold": 0.0})
    nlp = load_model_from_config(config, auto_fill=True)
    examples = make_examples(nlp.vocab)
    nlp.initialize(lambda: examples)
    return nlp, lambda: [eg.predicted.copy() for eg in make_examples(nlp.vocab)] * 3


@pytest.mark.parametrize("make", [labeler, projector, extractor],
                         ids=["distant_labeler", "lexical_projection", "relation_extractor_cpu"])
def test_n_process_2_output_equals_n_process_1(make, monkeypatch):
    nlp, items = make()
    assert multiprocessing_pipe.applies(nlp)
    single = list(nlp.pipe(items(), batch_size=4))
    batches = {"worker": 0, "main": 0}
    unpack, here = multiprocessing_pipe.unpack_docs, multiprocessing_pipe._process_here

    def unpacked(vocab, payload):
        docs = unpack(vocab, payload)
        batches["worker"] += len(docs)
        return docs

    def processed_here(nlp, pipes, batch):
        batches["main"] += len(batch)
        return here(nlp, pipes, batch)

    monkeypatch.setattr(multiprocessing_pipe, "unpack_docs", unpacked)
    monkeypatch.setattr(multiprocessing_pipe, "_process_here", processed_here)
    multi = list(nlp.pipe(items(), batch_size=4, n_process=2))
    # the worker's docs came through the fast transport (the first 2 batches always go
    # to it), the others were processed in the main process
    assert batches["worker"] >= 8
    assert batches["worker"] + batches["main"] == len(single)
    assert [d.to_bytes() for d in multi] == [d.to_bytes() for d in single]
    assert [d.user_data for d in multi] == [d.user_data for d in single]
    assert any(d._.relations for d in single)
    if make is extractor:
        assert all(d.tensor.shape == (len(d), 32) for d in multi)


# -- the spaCy behaviour it keeps ------------------------------------------------------------
@Language.component("test_fast_pipe_mark")
def mark(doc):
    if doc.text == "boom":
        raise RuntimeError("component failed on purpose")
    doc.user_data["seen"] = (doc.text, doc._context)
    return doc


def test_contexts_and_doc_inputs_keep_their_order(monkeypatch):
    monkeypatch.setattr(multiprocessing_pipe, "applies", lambda nlp: True)
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_mark")
    data = [(f"text {i}" if i % 2 else nlp.make_doc(f"doc {i}"), {"i": i}) for i in range(11)]
    out = list(nlp.pipe(data, as_tuples=True, n_process=2, batch_size=2))
    assert [(d.text, c["i"]) for d, c in out] == [
        (f"text {i}" if i % 2 else f"doc {i}", i) for i in range(11)]
    assert out[3][0].user_data["seen"] == ("text 3", {"i": 3})


@Language.component("test_fast_pipe_slow_pid")
def slow_pid(doc):
    time.sleep(0.05)
    doc.user_data["pid"] = os.getpid()
    return doc


def test_the_main_process_runs_batches_while_it_waits_for_the_worker(monkeypatch):
    monkeypatch.setattr(multiprocessing_pipe, "applies", lambda nlp: True)
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_slow_pid")
    texts = [f"doc {i}" for i in range(12)]
    docs = list(nlp.pipe(texts, n_process=2, batch_size=1))
    assert [d.text for d in docs] == texts
    pids = [d.user_data["pid"] for d in docs]
    # the first 2 batches go to the one worker; while it sleeps on them, the main process
    # takes the next ones itself
    assert pids[0] == pids[1] != os.getpid()
    assert os.getpid() in pids[2:]
    assert len(set(pids)) == 2


@Language.component("test_fast_pipe_slow_boom")
def slow_boom(doc):
    if doc.text == "boom":
        raise RuntimeError("component failed on purpose")
    time.sleep(0.05)
    return doc


def test_an_error_in_the_main_process_comes_in_input_order(monkeypatch):
    monkeypatch.setattr(multiprocessing_pipe, "applies", lambda nlp: True)
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_slow_boom")
    seen = []
    # "a" and "b" go to the worker (slow); "boom" fails in the main process meanwhile,
    # and its error is raised only after "a" and "b" came out, as with 1 process
    with pytest.raises(ValueError, match="component failed on purpose"):
        for doc in nlp.pipe(["a", "b", "boom", "d"], n_process=2, batch_size=1):
            seen.append(doc.text)
    assert seen == ["a", "b"]


def test_the_callers_heap_is_frozen_while_the_workers_run(monkeypatch):
    import gc

    monkeypatch.setattr(multiprocessing_pipe, "applies", lambda nlp: True)
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_mark")
    assert gc.get_freeze_count() == 0
    docs = nlp.pipe(["a", "b", "c"], n_process=2, batch_size=1)
    try:
        next(docs)
        assert gc.get_freeze_count() > 0
    finally:
        docs.close()  # stops the workers, also when the assertion fails
    assert gc.get_freeze_count() == 0
    gc.freeze()  # someone else froze objects: their freeze is left alone
    try:
        list(nlp.pipe(["a"], n_process=2))
        # not thawed (gc.unfreeze empties the frozen set; frozen objects that die during
        # the run leave it, so the count itself may drop)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_component_error_reaches_the_error_handler(monkeypatch):
    monkeypatch.setattr(multiprocessing_pipe, "applies", lambda nlp: True)
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_mark")
    with pytest.raises(ValueError, match="component failed on purpose"):
        list(nlp.pipe(["boom", "b", "c"], n_process=2, batch_size=1))  # in the worker
    with pytest.raises(ValueError, match="component failed on purpose"):
        list(nlp.pipe(["a", "b", "boom", "c"], n_process=2, batch_size=1))
    # a handler that skips the doc (in the worker or the main process): the doc is
    # dropped, in order
    nlp.set_error_handler(lambda name, proc, docs, e: None)
    out = [d.text for d in nlp.pipe(["a", "boom", "c", "d", "e"], n_process=2, batch_size=2)]
    assert out == ["a", "c", "d", "e"]


def test_an_error_in_the_main_process_takes_the_workers_path():
    nlp = spacy.blank("en")
    pipes = [lambda docs: (mark(doc) for doc in docs)]
    docs, error = multiprocessing_pipe._process_here(nlp, pipes, [("a", None), ("b", {"c": 1})])
    assert [d.text for d in docs] == ["a", "b"] and error is None
    assert docs[1]._context == {"c": 1}
    docs, error = multiprocessing_pipe._process_here(nlp, pipes, [("a", None), ("boom", None)])
    # the batch is dropped, and the handler gets what a worker's error gives it (E871)
    assert docs == []
    assert isinstance(error, ValueError)
    assert "E871" in str(error) and "component failed on purpose" in str(error)


def test_unpicklable_user_data_falls_back_to_spacy_bytes():
    """A memoryview: pickle refuses it, spaCy's msgpack sends it (as bytes)."""
    nlp = spacy.blank("en")
    doc = nlp("a b")
    doc.user_data["view"] = memoryview(b"ab")
    kind, body, padding = multiprocessing_pipe._pack_outputs(DocPacker(), [doc], 0)
    assert kind == "bytes" and padding == 0
    (back, _ctx, _err), = multiprocessing_pipe._results(nlp.vocab, (kind, body, padding))
    assert back.to_bytes() == doc.to_bytes() and back.user_data["view"] == b"ab"


@Language.component("test_fast_pipe_lambda")
def set_a_function(doc: Doc) -> Doc:
    doc.user_data["f"] = lambda: 1
    return doc


def test_a_user_data_value_nothing_can_send_is_named(monkeypatch):
    """A real lambda: pickle and spaCy's msgpack both refuse it, so the batch cannot
    travel; the error says which value, in the main process, through spaCy's E871."""
    monkeypatch.setattr(multiprocessing_pipe, "applies", lambda nlp: True)
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_lambda")
    with pytest.raises(ValueError, match=r"user_data\['f'\] is a function.*n_process=1"):
        list(nlp.pipe(["a b c"] * 20, n_process=2, batch_size=5))
    doc = nlp("a b")
    with pytest.raises(ValueError, match=r"doc 0 .* user_data\['f'\] is a function"):
        multiprocessing_pipe._pack_inputs(DocPacker(), [(doc, None)])


def test_other_pipelines_and_the_switch_keep_spacy_transport(monkeypatch):
    nlp = spacy.blank("en")
    nlp.add_pipe("test_fast_pipe_mark")
    assert not multiprocessing_pipe.applies(nlp)
    labels, _ = labeler()
    monkeypatch.setenv(multiprocessing_pipe.ENV_VAR, "0")
    assert not multiprocessing_pipe.applies(labels)
    monkeypatch.delenv(multiprocessing_pipe.ENV_VAR)
    assert multiprocessing_pipe.applies(labels)
    called = []
    monkeypatch.setattr(multiprocessing_pipe, "unpack_docs", lambda *a: called.append(1))
    assert [d.text for d in nlp.pipe(["x", "y"], n_process=2)] == ["x", "y"]
    assert called == []
    assert Language._multiprocessing_pipe is multiprocessing_pipe._multiprocessing_pipe
    multiprocessing_pipe.install()  # idempotent
    assert multiprocessing_pipe._ORIGINAL is not multiprocessing_pipe._multiprocessing_pipe


HANG_SCRIPT = """
import sys
import spacy
import spacy_xlie  # noqa: F401  (installs the transport)
from spacy.language import Language

@Language.component("fail_on_marker")
def fail_on_marker(doc):
    if doc.text.startswith("FAIL"):
        raise ValueError("bad doc")
    return doc

nlp = spacy.blank("en")
nlp.add_pipe("xlie_sentencizer")
nlp.add_pipe("fail_on_marker")
big = " ".join(["word"] * 3000)
case = sys.argv[1]
texts = [big] * 12
if case == "error":
    texts[5] = "FAIL " + big
if case == "user_data":
    docs = [nlp.make_doc("a b c") for _ in range(12)]
    for doc in docs:
        doc.user_data["blob"] = "x" * 50_000
    texts = docs
try:
    for doc in nlp.pipe(texts, n_process=2, batch_size=1):
        if case != "error":
            break
except ValueError:
    pass
print("returned")
"""


@pytest.mark.parametrize("case", ["break", "error", "user_data"])
def test_stopping_early_does_not_hang(tmp_path, case):
    """The caller stops (``break``) or a batch raises while a worker still holds results
    larger than the pipe's buffer (big docs, big user data): the run must end, not wait
    forever for a worker blocked on sending."""
    script = tmp_path / "hang.py"
    script.write_text(HANG_SCRIPT, encoding="utf8")
    result = subprocess.run([sys.executable, str(script), case], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "returned"


@pytest.mark.parametrize("change,named", [
    (lambda mp: mp.delattr(multiprocessing_pipe.Underscore, "get_state"), "Underscore.get_state"),
    (lambda mp: mp.setattr(multiprocessing_pipe, "spacy_version", "3.9.0"), "spaCy 3.9.0"),
])
def test_install_refuses_a_spacy_it_was_not_written_for(monkeypatch, change, named):
    """The transport replaces private spaCy API: on a spaCy that lacks or may have changed
    it, spaCy's own multiprocessing stays, and a warning says why."""
    spacys_own = multiprocessing_pipe._ORIGINAL
    assert spacys_own is not None and Language._multiprocessing_pipe is not spacys_own
    monkeypatch.setattr(Language, "_multiprocessing_pipe", spacys_own)  # before install
    monkeypatch.setattr(multiprocessing_pipe, "_ORIGINAL", None)
    change(monkeypatch)
    with pytest.warns(UserWarning, match=named):
        multiprocessing_pipe.install()
    assert Language._multiprocessing_pipe is spacys_own


FORK_SCRIPT = """
import os, sys
import spacy
from tokenizers import Tokenizer, models, pre_tokenizers
import spacy_xlie  # noqa: F401

tokenizer = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer.encode_batch(["a b c"] * 1000)  # the tokenizer's threads run in the parent
nlp = spacy.blank("en")
nlp.add_pipe("xlie_sentencizer")
assert len(list(nlp.pipe(["A b. C d."] * 8, n_process=2, batch_size=2))) == 8
print(os.environ.get("TOKENIZERS_PARALLELISM"))
"""


def test_workers_forked_after_a_fast_tokenizer_print_no_warning(tmp_path):
    """Hugging Face's tokenizers warn on stderr in each worker forked after the parent
    used them, unless TOKENIZERS_PARALLELISM is set; the parent's environment is left
    as it was."""
    script = tmp_path / "fork.py"
    script.write_text(FORK_SCRIPT, encoding="utf8")
    env = {k: v for k, v in os.environ.items() if k != "TOKENIZERS_PARALLELISM"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "just got forked" not in result.stderr
    assert result.stdout.strip() == "None"
