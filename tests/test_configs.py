"""configs/cpu.cfg and configs/xlmr.cfg: valid, and `spacy train` runs end to end."""

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


@pytest.mark.parametrize("name", ["cpu.cfg", "xlmr.cfg"])
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
