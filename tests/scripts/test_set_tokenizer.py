"""scripts/set_tokenizer.py: a saved pipeline gets a training config's tokenizer."""

import spacy

from . import failure, run

CONFIG = """[nlp]
lang = "xx"

[nlp.tokenizer]
@tokenizers = "spacy_xlie.Tokenizer.v1"
"""


def test_the_pipeline_gets_the_config_tokenizer(tmp_path):
    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "train.cfg").write_text(CONFIG)
    run("set_tokenizer", tmp_path / "model", "--config", tmp_path / "train.cfg")
    loaded = spacy.load(tmp_path / "model")
    assert [t.text for t in loaded("l'ONU")] == ["l'", "ONU"]
    assert loaded.pipe_names == ["sentencizer"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "train.cfg"]


def test_a_config_without_tokenizer_is_a_message(tmp_path):
    spacy.blank("xx").to_disk(tmp_path / "model")
    (tmp_path / "train.cfg").write_text('[nlp]\nlang = "xx"\n')
    out = failure("set_tokenizer", tmp_path / "model", "--config", tmp_path / "train.cfg")
    assert "no [nlp.tokenizer] section" in out
    assert [t.text for t in spacy.load(tmp_path / "model")("l'ONU")] == ["l'ONU"]


def test_a_missing_pipeline_is_a_message(tmp_path):
    (tmp_path / "train.cfg").write_text(CONFIG)
    out = failure("set_tokenizer", tmp_path / "nope", "--config", tmp_path / "train.cfg")
    assert "not a saved pipeline" in out
