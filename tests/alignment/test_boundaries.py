"""Target token boundaries for projection: apostrophe suffixes and CJK characters."""

import spacy
from spacy.tokens import Span

from spacy_xlie.alignment.boundaries import split_target


def tokens(lang, text):
    return [t.text for t in split_target(spacy.blank(lang)(text))]


def test_apostrophe_suffixes_after_names_and_numbers_are_split():
    assert tokens("tr", "Erdoğan'ın Ankara'da 1968'de İstanbul’a") == [
        "Erdoğan", "'ın", "Ankara", "'da", "1968", "'de", "İstanbul", "’a"]


def test_elisions_and_inner_apostrophes_are_kept():
    assert tokens("tr", "O'Brien aujourd'hui l'université") == [
        "O'Brien", "aujourd'hui", "l'université"]


def test_cjk_runs_become_characters_and_text_is_kept():
    doc = split_target(spacy.blank("xx")("马云在杭州。iPhone手机 ok"))
    assert [t.text for t in doc] == ["马", "云", "在", "杭", "州", "。", "iPhone", "手", "机",
                                     "ok"]
    assert doc.text == "马云在杭州。iPhone手机 ok"


def test_tokens_inside_entities_are_not_split():
    doc = spacy.blank("tr")("Ankara'da Microsoft'un")
    doc.ents = [Span(doc, 0, 1, "LOC")]
    assert [t.text for t in split_target(doc)] == ["Ankara'da", "Microsoft", "'un"]
