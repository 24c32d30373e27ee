"""xlie_entity_filter: entities with no letter or digit go, every script's names stay."""

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
