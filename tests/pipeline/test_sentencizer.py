"""xlie_sentencizer: spaCy's rule, without splits after ordinals and abbreviations."""

import pytest
import spacy


@pytest.mark.parametrize("lang,text,sentences", [
    ("de", "Am 28. Februar 2012 kündigte Apple an. Die Presse kam.", 2),
    ("en", "The merger of TSB Group Plc. and Lloyds Bank was in 1995. It was big.", 2),
    ("en", "It was founded in 2001. The founder left.", 2),
    ("zh", "马云创立了阿里巴巴集团。他是董事长。", 2),
    ("de", "König Heinrich wurde am 7. Mai geboren.", 1),
])
def test_sentence_starts(lang, text, sentences):
    nlp = spacy.blank(lang)
    nlp.add_pipe("xlie_sentencizer")
    doc = nlp(text)
    assert len(list(doc.sents)) == sentences, [s.text for s in doc.sents]


def test_survives_to_disk(tmp_path):
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_sentencizer", config={"punct_chars": ["!"]})
    nlp.to_disk(tmp_path)
    loaded = spacy.load(tmp_path)
    assert loaded.get_pipe("xlie_sentencizer").punct_chars == {"!"}
    assert len(list(loaded("Ja! Nein. Doch!").sents)) == 2
