"""``xlie_entity_filter``: drops predicted entities that hold no letter or digit.

A recognizer trained on English names now and then tags a lone full stop or other mark
in other languages' text as an entity (the shipped e5small pipeline tagged "." as a DATE
in a French sentence). No name, date or title is made of punctuation alone in any script,
so a rule removes them before the relation extractor pairs them: one `str.isalnum` check
per entity, which knows the letters and digits of every script. None of spaCy's built-in
components filters ``doc.ents`` by their text (``doc_cleaner`` removes doc attributes such
as the tensor; the rulers add entities).
"""

from spacy.language import Language
from spacy.tokens import Doc, Span


@Language.component("xlie_entity_filter", requires=["doc.ents"], assigns=["doc.ents"])
def filter_entities(doc: Doc) -> Doc:
    """Remove the entities with no letter or digit from ``doc.ents`` (see the module
    docstring). The recognizer's scorer then scores what is left."""
    if not all(has_letter_or_digit(ent) for ent in doc.ents):
        doc.ents = [ent for ent in doc.ents if has_letter_or_digit(ent)]
    return doc


def has_letter_or_digit(span: Span) -> bool:
    """Whether any character of ``span`` is a letter or digit, in any script."""
    return any(char.isalnum() for char in span.text)

