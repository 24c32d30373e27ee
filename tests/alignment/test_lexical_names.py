"""Lexical projection of names, hand-written pairs with known answers: fuzzy windows stay
inside one clause, hyphenated target words render several entity words, CLDR city names
translate, and a translated name's article may be contracted away."""

import pytest
import spacy
from spacy.tokens import Span

from spacy_xlie import add_entities
from spacy_xlie.alignment.lexical import (
    LexicalAligner,
    WordTable,
    _no_function_parts,
    is_break,
    piece_scores,
)
from spacy_xlie.alignment.projection import project


def run(text, ents, lang, target):
    """Project the English entities ``ents`` ((start, end) token offsets) of ``text``."""
    doc = spacy.blank("en")(text)
    add_entities(doc, [Span(doc, s, e, label="ENT") for s, e in ents])
    result = project(doc, spacy.blank(lang)(target), LexicalAligner())
    return result.entities


def found(text, ents, lang, target):
    return [ent.target_text for ent in run(text, ents, lang, target)]


# -- a fuzzy window does not run across clause punctuation -----------------------------


def test_window_does_not_cross_a_comma():
    # "générale , membre de l'Union nationale" holds union, general and national too
    assert found(
        "Staff are represented by the National Union of General Workers .", [(5, 10)], "fr",
        "Le personnel est représenté par l'Union générale , membre de l'Union nationale des "
        "travailleurs généraux .",
    ) == ["Union nationale des travailleurs généraux"]


def test_window_does_not_cross_a_bracket():
    # "Navy" ~ "naval" after the bracket: no window, the entity is reported instead
    (ent,) = run(
        "Two submarines were ordered for the Marina Militare ( Italian Navy ) .", [(9, 11)],
        "fr", "Deux sous-marins pour la Marina Militare ( Marine italienne ) au chantier naval .",
    )
    assert (ent.target_text, ent.reason) == (None, "not_found")


@pytest.mark.parametrize("lang,target,expected", [
    ("ru", "Он учился в университете, в Берлине.", "Берлине"),
    ("ar", "درس في الجامعة، في برلين.", "برلين"),
    ("zh", "他在大学，在柏林学习。", "柏林"),
])
def test_single_words_are_unaffected_by_punctuation(lang, target, expected):
    assert found("He studied in Berlin .", [(3, 4)], lang, target) == [expected]


def test_an_entity_with_a_comma_may_match_across_one():
    assert found(
        "He studied at the University of California , Berkeley .", [(4, 9)], "de",
        "Er studierte an der Universität von Kalifornien , Berkeley .",
    ) == ["Universität von Kalifornien , Berkeley"]


def test_is_break():
    for text in (",", ")", "(", "«", "»", "“", ";", "،", "、", "，", "（", "!?"):
        assert is_break(text), text
    for text in ("-", "&", ".", "/", "'", "'s", "a", "1,5", ""):
        assert not is_break(text), text


# -- hyphenated target words ----------------------------------------------------------


@pytest.mark.parametrize("lang,text,ents,target,expected", [
    # German keeps hyphenated compounds as one token: two entity words render it
    ("de", "He served in the Utah Army National Guard .", [(4, 8)],
     "Er diente in der Nationalgarde der Utah-Armee .", "Nationalgarde der Utah-Armee"),
    # transliterated parts, the whole (inflected) token is the span
    ("ru", "He was born in Saint Petersburg .", [(4, 6)],
     "Он родился в Санкт-Петербурге.", "Санкт-Петербурге"),
    ("ru", "The New York Times is a newspaper .", [(0, 4)],
     "Нью-Йорк Таймс - газета.", "Нью-Йорк Таймс"),
])
def test_hyphenated_word_renders_several_entity_words(lang, text, ents, target, expected):
    assert found(text, ents, lang, target) == [expected]


def test_piece_scores():
    table = WordTable(["utah-armee", "der", "nationalgarde"])
    scores = piece_scores(["utah", "army", "guard"], table)
    assert scores[0][0] == 1.0  # utah: a whole part
    assert scores[1][0] > 0.65  # army ~ armee
    assert max(max(row[1:]) for row in scores) == 0.0  # no hyphen, no parts
    assert piece_scores(["utah"], WordTable(["utah", "armee"])) is None


# -- translated city names (CLDR time zone cities) ------------------------------------


@pytest.mark.parametrize("lang,target,expected", [
    ("de", "Er zog nach Wien.", "Wien"),
    ("fr", "Il a déménagé à Vienne.", "Vienne"),
    ("tr", "Viyana'ya taşındı.", "Viyana"),
    ("ru", "Он переехал в Вену.", "Вену"),  # accusative of Вена
    ("zh", "他搬到了维也纳。", "维也纳"),
    ("ar", "انتقل إلى فيينا.", "فيينا"),
    ("fi", "Hän muutti Wieniin.", "Wieniin"),
])
def test_translated_city(lang, target, expected):
    assert found("He moved to Vienna .", [(3, 4)], lang, target) == [expected]


def test_partly_translated_name_with_a_translated_city():
    assert found("He studied at the University of Vienna .", [(4, 7)], "tr",
                 "Viyana Üniversitesi'nde okudu.") == ["Viyana Üniversitesi"]


# -- a translated name's leading article ----------------------------------------------


def test_contracted_article_of_a_translated_name():
    # CLDR: Cairo = "Le Caire"; a sentence says "au Caire", "du Caire"
    assert found("He lives in Cairo .", [(3, 4)], "fr", "Il habite au Caire.") == ["Caire"]
    (ent,) = run("Cairo is big .", [(0, 1)], "fr", "Le Caire est grand.")
    assert (ent.target_text, ent.method) == ("Le Caire", "lexical:gazetteer")


def test_function_words_have_no_parts():
    # rows: entity words (the 2nd a function word); columns: target words (the 3rd one)
    parts = [[0.9, 0.8, 0.7], [0.9, 0.8, 0.7]]
    _no_function_parts(parts, [False, True], [False, False, True])
    assert parts == [[0.9, 0.8, 0.0], [0.0, 0.0, 0.0]]
