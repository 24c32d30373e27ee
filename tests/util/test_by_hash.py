import spacy
from spacy.attrs import ORTH

from spacy_xlie.util.by_hash import ByHash


def _orths(doc):
    return doc.to_array(ORTH).tolist()


def test_values_are_computed_once_per_string_in_any_vocab():
    seen = []
    table = ByHash(lambda text: seen.append(text) or text.upper())
    de = spacy.blank("de")("Berlin und Berlin")
    fr = spacy.blank("fr")("Berlin et Paris")
    assert table.of(de, _orths(de)) == ["BERLIN", "UND", "BERLIN"]
    assert table.of(fr, _orths(fr)) == ["BERLIN", "ET", "PARIS"]
    assert sorted(seen) == ["Berlin", "Paris", "et", "und"]  # "Berlin" once, in either vocab


def test_a_full_table_is_emptied_and_refilled():
    table = ByHash(len, max_size=2)
    doc = spacy.blank("en")("a bb ccc dddd")
    assert table.of(doc, _orths(doc)[:3]) == [1, 2, 3]
    assert table.of(doc, _orths(doc)[3:]) == [4]  # over the limit: emptied, then filled
    assert list(table.values()) == [4]
    table.clear()  # emptied by someone else between two reads of one doc
    assert table.of(doc, _orths(doc)) == [1, 2, 3, 4]
