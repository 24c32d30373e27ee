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


COMPONENTS = """
pipeline = ["entity_filter", "sentencizer", "ner"]

[components]

[components.entity_filter]
factory = "xlie_entity_filter"

[components.sentencizer]
factory = "sentencizer"

[components.ner]
factory = "ner"
"""


def with_components(tmp_path):
    model = saved_pipeline(tmp_path)
    config = CONFIG.replace('batch_size = 7\n', 'batch_size = 7' + COMPONENTS)
    (tmp_path / "train.cfg").write_text(config)
    return model


def test_a_component_without_weights_is_added_where_the_config_puts_it(tmp_path):
    model = with_components(tmp_path)
    run("set_settings", model, "--config", tmp_path / "train.cfg",
        "--add-component", "entity_filter")
    assert spacy.load(model).pipe_names == ["entity_filter", "sentencizer"]


def test_a_component_with_weights_is_refused(tmp_path):
    model = with_components(tmp_path)
    out = failure("set_settings", model, "--config", tmp_path / "train.cfg",
                  "--add-component", "ner")
    assert "'ner' (ner) has weights" in out
    assert spacy.load(model).pipe_names == ["sentencizer"]
