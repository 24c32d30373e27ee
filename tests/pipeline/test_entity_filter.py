"""xlie_entity_filter: entities with no letter or digit go, every script's names stay."""

from types import SimpleNamespace

import spacy
from spacy.tokens import Doc, Span


def test_drops_entities_without_a_letter_or_digit():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter")
    words = ["Nissan", "baut", "in", "東京", ".", "1999", "–", "(", ")", "Ankara'da"]
    doc = Doc(nlp.vocab, words=words)
    doc.ents = [Span(doc, i, i + 1, label) for i, label in
                [(0, "ORG"), (3, "LOC"), (4, "DATE"), (5, "DATE"), (6, "ORG"), (9, "LOC")]
                ] + [Span(doc, 7, 9, "PER")]
    doc = nlp(doc)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("Nissan", "ORG"), ("東京", "LOC"), ("1999", "DATE"), ("Ankara'da", "LOC")]
    assert [token.ent_iob_ for token in doc][4] == "O"


def test_a_doc_without_entities_passes_through():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter")
    assert nlp("Nichts hier .").ents == ()


def glued_doc(nlp):
    """马云 founded 阿里巴巴 in 杭州, one character a token and no spaces, with the names
    cut the way the recognizer cuts them when one wordpiece covers several characters."""
    doc = Doc(nlp.vocab, words=list("马云创办了阿里巴巴杭州"), spaces=[False] * 11)
    doc.ents = [Span(doc, 1, 2, "PER"), Span(doc, 5, 7, "ORG"), Span(doc, 7, 9, "ORG"),
                Span(doc, 9, 10, "LOC"), Span(doc, 10, 11, "LOC")]
    return doc


def test_glued_entities_of_one_label_are_joined():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter")
    doc = nlp(glued_doc(nlp))
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("云", "PER"), ("阿里巴巴", "ORG"), ("杭州", "LOC")]


def test_spaced_or_differently_labelled_neighbours_stay_apart():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter")
    doc = Doc(nlp.vocab, words=["Paris", "London", "Siemens", "AG", "Bonn"],
              spaces=[True, True, False, False, False])
    doc.ents = [Span(doc, 0, 1, "LOC"), Span(doc, 1, 2, "LOC"), Span(doc, 2, 3, "ORG"),
                Span(doc, 3, 4, "LOC"), Span(doc, 4, 5, "LOC", kb_id="Q586")]
    doc = nlp(doc)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("Paris", "LOC"), ("London", "LOC"), ("Siemens", "ORG"), ("AG", "LOC"), ("Bonn", "LOC")]


def test_joining_is_a_setting():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"join_glued": False})
    doc = nlp(glued_doc(nlp))
    assert len(doc.ents) == 5


def separator_doc(nlp):
    """Names run on into the separators beside them, and names that end in a full stop
    or a bracket, as WikiANN tags them ("Jr .", "Shake ( company )")."""
    words = ["Ottawa", ",", "Martin", "Luther", "King", "Jr", ".", ":", "北京", "，",
             "Shake", "(", "company", ")", ";", "Paris"]
    doc = Doc(nlp.vocab, words=words)
    doc.ents = [Span(doc, 0, 2, "LOC", kb_id="Q1930"), Span(doc, 2, 7, "PER"),
                Span(doc, 7, 10, "LOC"), Span(doc, 10, 14, "ORG"), Span(doc, 14, 15, "LOC"),
                Span(doc, 15, 16, "LOC")]
    return doc


def test_separators_are_cut_off_the_edges_of_names():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter")
    doc = nlp(separator_doc(nlp))
    assert [(ent.text, ent.label_, ent.kb_id_) for ent in doc.ents] == [
        ("Ottawa", "LOC", "Q1930"), ("Martin Luther King Jr .", "PER", ""),
        ("北京", "LOC", ""), ("Shake ( company )", "ORG", ""), ("Paris", "LOC", "")]
    assert [token.ent_iob_ for token in doc][:2] == ["B", "O"]


def test_trimming_is_a_setting():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"trim_separators": False})
    doc = nlp(separator_doc(nlp))
    assert [ent.text for ent in doc.ents] == [
        "Ottawa ,", "Martin Luther King Jr .", ": 北京 ，", "Shake ( company )", "Paris"]


def test_a_doc_whose_only_change_is_a_trim_gets_it():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter")
    doc = Doc(nlp.vocab, words=["Ottawa", ",", "Kanada"])
    doc.ents = [Span(doc, 0, 2, "LOC"), Span(doc, 2, 3, "LOC")]
    assert [ent.text for ent in nlp(doc).ents] == ["Ottawa", "Kanada"]


def with_pieces(doc, pieces):
    """``doc`` with a transformer output whose alignment reads token ``i`` from the
    wordpieces ``pieces[i]`` (the only part of it the filter reads)."""
    import numpy
    from spacy_transformers.pipeline_component import install_extensions
    from thinc.api import Ragged

    install_extensions()
    flat = [piece for token in pieces for piece in token]
    doc._.trf_data = SimpleNamespace(align=Ragged(
        numpy.array(flat, dtype="i"), numpy.array([len(p) for p in pieces], dtype="i")))
    return doc


def tokyo_doc(nlp, ents):
    """東京は日本の首都, a character a token; the encoder's pieces ▁ 東京 | は | 日本の |
    首都 (the multilingual-e5 tokenizer's), ``ents`` as (start, end, label)."""
    doc = Doc(nlp.vocab, words=list("東京は日本の首都"), spaces=[False] * 8)
    doc.ents = [Span(doc, start, end, label) for start, end, label in ents]
    return with_pieces(doc, [[1, 2], [2], [3], [4], [4], [4], [5], [5]])


def test_a_boundary_inside_a_wordpiece_moves_to_its_edge():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"snap_to_pieces": True})
    doc = nlp(tokyo_doc(nlp, [(1, 2, "LOC"), (4, 5, "LOC")]))
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("東京", "LOC"), ("日本の", "LOC")]


def test_entities_of_one_label_cut_inside_a_wordpiece_become_one():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"snap_to_pieces": True, "join_glued": False})
    doc = nlp(tokyo_doc(nlp, [(4, 5, "LOC"), (5, 6, "LOC")]))
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("日本の", "LOC")]


def test_an_entity_does_not_grow_into_another():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"snap_to_pieces": True})
    doc = nlp(tokyo_doc(nlp, [(0, 1, "PER"), (1, 2, "LOC"), (6, 7, "ORG")]))
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("東", "PER"), ("京", "LOC"), ("首都", "ORG")]


def test_a_piece_that_joins_a_word_to_a_mark_moves_no_boundary():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"snap_to_pieces": True})
    doc = Doc(nlp.vocab, words=["Apple", "Inc", ".)", "Bonn", "Köln"],
              spaces=[True, False, True, False, False])
    doc.ents = [Span(doc, 0, 2, "ORG"), Span(doc, 3, 4, "LOC")]
    # "Inc" and ".)" share the piece 2 but ".)" is no word; Bonn and Köln share none
    doc = nlp(with_pieces(doc, [[1], [2], [2], [3], [4]]))
    assert [ent.text for ent in doc.ents] == ["Apple Inc", "Bonn"]


def test_snapping_is_a_setting_and_needs_the_encoder_output():
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_entity_filter", config={"snap_to_pieces": False})
    assert [ent.text for ent in nlp(tokyo_doc(nlp, [(1, 2, "LOC")])).ents] == ["京"]
    on = spacy.blank("xx")
    on.add_pipe("xlie_entity_filter", config={"snap_to_pieces": True})
    doc = Doc(on.vocab, words=list("東京"), spaces=[False, False], ents=["O", "B-LOC"])
    doc._.trf_data = None
    assert [ent.text for ent in on(doc).ents] == ["京"]
