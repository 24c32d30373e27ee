"""bench/end_to_end.py's breakdown of the recognizer's spans by kind of error."""

import spacy
from spacy.tokens import Doc

from tests.bench import load_bench

end_to_end = load_bench("end_to_end")

WORDS = ["REDIRECT", "Angela", "Merkel", "met", "the", "Pope", "in", "Rome", "and", "Bonn"]


def test_span_errors_by_kind():
    vocab = spacy.blank("xx").vocab
    gold = Doc(vocab, words=WORDS, ents=["O", "B-PER", "I-PER", "O", "O", "B-PER", "O",
                                         "B-LOC", "O", "B-LOC"])
    # "REDIRECT" pulled into the name, "Pope" typed ORG, "Rome" exact, "met the" spurious,
    # "Bonn" missed
    predicted = Doc(vocab, words=WORDS, ents=["B-PER", "I-PER", "I-PER", "B-LOC", "I-LOC",
                                              "B-ORG", "O", "B-LOC", "O", "O"])
    errors = end_to_end.span_errors([predicted], [gold])
    assert errors == {"exact": 1, "wrong_type": 1, "longer": 1, "shorter": 0, "crossing": 0,
                      "spurious": 1, "missed": 1, "longer_by_first_word": {"REDIRECT": 1}}


def test_a_shifted_span_is_crossing_not_shorter():
    vocab = spacy.blank("xx").vocab
    words = ["in", "der", "Stadt", "Bad", "Ems"]
    gold = Doc(vocab, words=words, ents=["O", "O", "O", "B-LOC", "I-LOC"])
    shifted = Doc(vocab, words=words, ents=["O", "O", "B-LOC", "I-LOC", "O"])
    inside = Doc(vocab, words=words, ents=["O", "O", "O", "O", "B-LOC"])
    errors = end_to_end.span_errors([shifted, inside], [gold, gold])
    assert (errors["crossing"], errors["shorter"], errors["longer"]) == (1, 1, 0)


def test_off_token_entities_are_those_no_token_span_covers():
    vocab = spacy.blank("xx").vocab
    gold = Doc(vocab, words=["près", "d'", "Orléans", "et", "Paris"],
               spaces=[True, False, True, True, False], ents=["O", "O", "B-LOC", "O", "B-LOC"])
    assert end_to_end.off_token_entities([gold], spacy.blank("xx").make_doc) == 0.5
    xlie = spacy.blank("xx", config={"nlp": {"tokenizer": {
        "@tokenizers": "spacy_xlie.Tokenizer.v1"}}})
    assert end_to_end.off_token_entities([gold], xlie.make_doc) == 0.0
