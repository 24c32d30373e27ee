"""configs/cpu.cfg, xlmr.cfg, e5small.cfg, e5small-predicted.cfg and e5small-ner.cfg:
valid, and `spacy train` runs end to end."""

import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.tokens import Doc, Span

from spacy_xlie.util.io import write_docbin
from tests.rel_examples import make_examples

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("corpus")
    docs = [eg.reference for eg in make_examples(spacy.blank("xx").vocab)]
    write_docbin(docs, tmp / "train.spacy")
    write_docbin(docs[:4], tmp / "dev.spacy")
    # named entities for the recognizer (WikiANN-like: typed, no relations)
    ner_docs = []
    for doc in docs:
        typed = Doc(doc.vocab, words=[t.text for t in doc],
                    spaces=[bool(t.whitespace_) for t in doc])
        typed.ents = [Span(typed, e.start, e.end, label="ORG" if i == 0 else "LOC")
                      for i, e in enumerate(doc.ents)]
        ner_docs.append(typed)
    write_docbin(ner_docs, tmp / "ner.spacy")
    return tmp


def spacy_cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "spacy", *args], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.parametrize("name", ["cpu.cfg", "xlmr.cfg", "e5small.cfg"])
def test_debug_config(name):
    """What ``python -m spacy debug config`` runs (in-process: no interpreter start-up)."""
    from spacy.cli.debug_config import debug_config

    debug_config(CONFIGS / name, overrides={})


@pytest.mark.slow
def test_train_cpu(corpus, tmp_path):
    spacy_cli("train", str(CONFIGS / "cpu.cfg"), "--output", str(tmp_path),
              "--paths.train", str(corpus / "train.spacy"),
              "--paths.dev", str(corpus / "dev.spacy"),
              "--training.max_steps", "4", "--training.eval_frequency", "2")
    nlp = spacy.load(tmp_path / "model-last")
    assert nlp.pipe_names == ["tok2vec", "xlie_relation_extractor"]
    assert "rel_macro_f" in nlp.meta["performance"]


@pytest.mark.slow
def test_train_xlmr_tiny(corpus, tiny_xlmr, tmp_path):
    spacy_cli("train", str(CONFIGS / "xlmr.cfg"), "--output", str(tmp_path),
              "--paths.train", str(corpus / "train.spacy"),
              "--paths.dev", str(corpus / "dev.spacy"),
              "--components.transformer.model.name", str(tiny_xlmr),
              # mixed precision (grad scaling) needs a GPU
              "--components.transformer.model.mixed_precision", "false",
              "--components.transformer.model.get_spans.window", "32",
              "--components.transformer.model.get_spans.stride", "24",
              "--training.max_steps", "4", "--training.eval_frequency", "2")
    nlp = spacy.load(tmp_path / "model-last")
    assert nlp.pipe_names == ["transformer", "xlie_relation_extractor"]


@pytest.mark.slow
def test_train_e5small_recognizer_and_extractor_then_predicted_entities(corpus, tiny_xlmr,
                                                                         tmp_path):
    """The e5small recipe on a tiny random encoder. Stage 1 (e5small.cfg: truncated
    encoder, frozen embeddings and lower layers, a recognizer and a relation extractor on
    one encoder, a JSONL training log): the frozen word embeddings stay bit-identical to
    the checkpoint's. Stage 2 (e5small-predicted.cfg): encoder and recognizer frozen and
    annotating, only the relation head changes. Stage 2 for the recognizer
    (e5small-ner.cfg): encoder and extractor frozen, only the recognizer changes."""
    from safetensors.numpy import load_file

    log = tmp_path / "log.jsonl"
    joint = tmp_path / "joint"
    spacy_cli("train", str(CONFIGS / "e5small.cfg"), "--output", str(joint),
              "--paths.encoder", str(tiny_xlmr), "--paths.train_log", str(log),
              "--paths.train", str(corpus / "train.spacy"),
              "--paths.dev", str(corpus / "dev.spacy"),
              "--paths.ner_train", str(corpus / "ner.spacy"),
              "--paths.ner_dev", str(corpus / "ner.spacy"),
              "--components.transformer.model.transformer_config.num_hidden_layers", "2",
              "--initialize.after_init.freeze_layers", "1",
              "--components.ner.model.tok2vec.encode.width", "32",  # the encoder's width
              "--components.transformer.model.get_spans.window", "32",
              "--components.transformer.model.get_spans.stride", "24",
              "--training.max_steps", "4", "--training.eval_frequency", "2")
    nlp = spacy.load(joint / "model-last")
    assert nlp.pipe_names == ["sentencizer", "transformer", "ner", "entity_filter",
                              "xlie_relation_extractor"]
    # ORG/LOC from the entity docs; PER only from a relation's typed argument
    # (per:employee_of's head)
    assert set(nlp.get_pipe("ner").labels) == {"LOC", "ORG", "PER"}
    trained = _hf_model(nlp)
    assert len(trained.encoder.layer) == 2
    original = load_file(str(tiny_xlmr / "model.safetensors"))
    embeddings = trained.embeddings.word_embeddings.weight.detach().numpy()
    assert (embeddings == original["embeddings.word_embeddings.weight"]).all()
    assert [row["step"] for row in map(json.loads, log.read_text().splitlines())] == [0, 2, 4]

    tuned = _train_second_stage("e5small-predicted.cfg", joint / "model-last", corpus,
                                tmp_path / "final", ["ner_dev"])
    assert tuned.pipe_names == nlp.pipe_names
    before, after = _hf_model(nlp).state_dict(), _hf_model(tuned).state_dict()
    assert all((before[k] == after[k]).all() for k in before)
    head = _param_bytes(nlp.get_pipe("xlie_relation_extractor"))
    assert head != _param_bytes(tuned.get_pipe("xlie_relation_extractor"))

    # Stage 2 for the recognizer (e5small-ner.cfg): only the recognizer changes
    ner_tuned = _train_second_stage("e5small-ner.cfg", joint / "model-last", corpus,
                                    tmp_path / "recognizer", ["ner_train", "ner_dev"])
    assert all((before[k] == v).all() for k, v in _hf_model(ner_tuned).state_dict().items())
    assert head == _param_bytes(ner_tuned.get_pipe("xlie_relation_extractor"))
    assert _param_bytes(nlp.get_pipe("ner")) != _param_bytes(ner_tuned.get_pipe("ner"))


def _train_second_stage(config: str, base: Path, corpus: Path, output: Path,
                        entity_paths: List[str]):
    """A second-stage ``config`` (its components sourced from ``base``), checked as
    ``spacy debug config`` checks it and trained 4 steps on the tiny corpus; its
    ``entity_paths`` (``[paths]`` keys) read the entity docs. The trained pipeline."""
    from spacy.cli.debug_config import debug_config

    debug_config(CONFIGS / config, overrides={"paths.base": str(base)})
    entities = [arg for key in entity_paths
                for arg in (f"--paths.{key}", str(corpus / "ner.spacy"))]
    spacy_cli("train", str(CONFIGS / config), "--output", str(output),
              "--paths.base", str(base), "--paths.train", str(corpus / "train.spacy"),
              "--paths.dev", str(corpus / "dev.spacy"), *entities,
              "--training.max_steps", "4", "--training.eval_frequency", "2")
    return spacy.load(output / "model-last")


def _param_bytes(pipe) -> List[bytes]:
    return [p.tobytes() for p in _params(pipe.model)]

def _hf_model(nlp):
    (shim,) = [s for node in nlp.get_pipe("transformer").model.walk() for s in node.shims]
    return shim._model


def _params(model):
    return [node.get_param(name) for node in model.walk() for name in node.param_names
            if node.has_param(name)]
