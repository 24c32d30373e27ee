"""scripts/set_settings.py: a saved pipeline gets sections of a training config."""

import spacy

from . import failure, run

CONFIG = """[nlp]
lang = "xx"
batch_size = 7

[nlp.tokenizer]
@tokenizers = "spacy_xlie.Tokenizer.v1"
"""


def saved_pipeline(tmp_path):
    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "train.cfg").write_text(CONFIG)
    return tmp_path / "model"


def test_the_pipeline_gets_the_config_tokenizer(tmp_path):
    model = saved_pipeline(tmp_path)
    run("set_settings", model, "--config", tmp_path / "train.cfg")
    loaded = spacy.load(model)
    assert [t.text for t in loaded("l'ONU")] == ["l'", "ONU"]
    assert loaded.batch_size != 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "train.cfg"]


def test_any_named_section(tmp_path):
    model = saved_pipeline(tmp_path)
    run("set_settings", model, "--config", tmp_path / "train.cfg",
        "--section", "nlp.batch_size")
    loaded = spacy.load(model)
    assert loaded.batch_size == 7
    assert [t.text for t in loaded("l'ONU")] == ["l'ONU"]


def test_a_missing_section_is_a_message(tmp_path):
    model = saved_pipeline(tmp_path)
    (tmp_path / "train.cfg").write_text('[nlp]\nlang = "xx"\n')
    out = failure("set_settings", model, "--config", tmp_path / "train.cfg")
    assert "no [nlp.tokenizer] section" in out
    assert [t.text for t in spacy.load(model)("l'ONU")] == ["l'ONU"]


def test_a_missing_pipeline_is_a_message(tmp_path):
    (tmp_path / "train.cfg").write_text(CONFIG)
    out = failure("set_settings", tmp_path / "nope", "--config", tmp_path / "train.cfg")
    assert "not a saved pipeline" in out
