"""configs/cpu.cfg, xlmr.cfg and e5small.cfg: valid, and `spacy train` runs end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from spacy_xlie.util.io import write_docbin
from tests.rel_examples import make_examples

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("corpus")
    docs = [eg.reference for eg in make_examples(spacy.blank("xx").vocab)]
    write_docbin(docs, tmp / "train.spacy")
    write_docbin(docs[:4], tmp / "dev.spacy")
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
def test_train_e5small_freezes_the_bottom(corpus, tiny_xlmr, tmp_path):
    """The e5small recipe (truncated encoder, frozen embeddings and lower layers, a JSONL
    training log) on a tiny random encoder: the frozen word embeddings leave training
    bit-identical to the checkpoint's."""
    from safetensors.numpy import load_file

    log = tmp_path / "log.jsonl"
    spacy_cli("train", str(CONFIGS / "e5small.cfg"), "--output", str(tmp_path),
              "--paths.encoder", str(tiny_xlmr), "--paths.train_log", str(log),
              "--paths.train", str(corpus / "train.spacy"),
              "--paths.dev", str(corpus / "dev.spacy"),
              "--components.transformer.model.transformer_config.num_hidden_layers", "2",
              "--initialize.after_init.freeze_layers", "1",
              "--components.transformer.model.get_spans.window", "32",
              "--components.transformer.model.get_spans.stride", "24",
              "--training.max_steps", "4", "--training.eval_frequency", "2")
    nlp = spacy.load(tmp_path / "model-last")
    assert nlp.pipe_names == ["transformer", "xlie_relation_extractor"]
    (shim,) = [s for node in nlp.get_pipe("transformer").model.walk() for s in node.shims]
    trained = shim._model
    assert len(trained.encoder.layer) == 2
    original = load_file(str(tiny_xlmr / "model.safetensors"))
    embeddings = trained.embeddings.word_embeddings.weight.detach().numpy()
    assert (embeddings == original["embeddings.word_embeddings.weight"]).all()
    assert [row["step"] for row in map(json.loads, log.read_text().splitlines())] == [0, 2, 4]
