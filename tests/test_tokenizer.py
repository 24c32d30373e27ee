"""spacy_xlie.Tokenizer.v1: the word boundaries an entity needs, on top of spaCy's."""

import pytest
import spacy

XLIE_TOKENIZER = {"nlp": {"tokenizer": {"@tokenizers": "spacy_xlie.Tokenizer.v1"}}}


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("xx", config=XLIE_TOKENIZER)


@pytest.mark.parametrize("text,words", [
    ("à l'Université de Paris", ["à", "l'", "Université", "de", "Paris"]),
    ("près d’Orléans.", ["près", "d’", "Orléans", "."]),
    ("L'Oréal", ["L'", "Oréal"]),
    ("dell'Università", ["dell'", "Università"]),
    ("jusqu'ici qu'il", ["jusqu'", "ici", "qu'", "il"]),
    ("Ankara'da", ["Ankara", "'da"]),
    ("横滨", ["横", "滨"]),
])
def test_names_are_split_from_what_is_glued_to_them(nlp, text, words):
    assert [t.text for t in nlp(text)] == words


@pytest.mark.parametrize("text", ["O'Brien", "aujourd'hui", "n't", "rock'n'roll", "l'a"])
def test_other_apostrophes_stay_inside_the_word(nlp, text):
    assert [t.text for t in nlp(text)] == [text]


def test_the_name_alone_can_be_an_entity(nlp):
    doc = nlp("Il est né à d'Orléans.")
    start = doc.text.index("Orléans")
    assert doc.char_span(start, start + len("Orléans")) is not None
    assert spacy.blank("xx")(doc.text).char_span(start, start + len("Orléans")) is None


def test_spacy_tokenizer_settings_are_kept(nlp):
    assert [t.text for t in nlp("(Paris)")] == ["(", "Paris", ")"]
    assert nlp.tokenizer.prefix_search is not None


def test_saved_and_loaded_with_the_pipeline(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [t.text for t in loaded("l'ONU")] == ["l'", "ONU"]


def test_a_pipeline_saved_with_spacy_tokenizer_switches_by_config(tmp_path):
    spacy.blank("xx").to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline", config=XLIE_TOKENIZER)
    assert [t.text for t in loaded("l'ONU")] == ["l'", "ONU"]
