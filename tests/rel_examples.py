"""Hand-written multilingual relation examples shared by the relation extractor tests.

Texts are tokenised by each language's blank tokenizer (``zh``: character segmentation)
and rebuilt in the pipeline's vocab; entities are set from character offsets.
"""

from typing import List, Optional, Tuple

import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_xlie import add_entities, add_relation, span_from_chars

# (lang, text, entities, relations as (head entity index, tail entity index, label))
SENTENCES = [
    ("en", "Apple was founded by Steve Jobs in Cupertino .",
     ["Apple", "Steve Jobs", "Cupertino"],
     [(0, 1, "org:founded_by"), (0, 2, "org:city_of_headquarters")]),
    ("en", "Marie Curie met Pierre in Paris .", ["Marie Curie", "Pierre", "Paris"], []),
    ("de", "Angela Merkel arbeitet für die CDU in Berlin .",
     ["Angela Merkel", "CDU", "Berlin"], [(0, 1, "per:employee_of")]),
    ("fr", "Le siège de Airbus se trouve à Toulouse .", ["Airbus", "Toulouse"],
     [(0, 1, "org:city_of_headquarters")]),
    ("es", "Pablo Neruda nació en Chile y trabajó para Telefónica .",
     ["Pablo Neruda", "Chile", "Telefónica"],
     [(0, 1, "per:country_of_birth"), (0, 2, "per:employee_of")]),
    ("tr", "Tata Group şirketi Mumbai merkezlidir .", ["Tata Group", "Mumbai"],
     [(0, 1, "org:city_of_headquarters")]),
    ("zh", "马云创立了阿里巴巴集团。", ["马云", "阿里巴巴集团"], [(1, 0, "org:founded_by")]),
]

LABELS = sorted({label for *_, rels in SENTENCES for _, _, label in rels})


def make_doc(vocab: Vocab, lang: str, text: str, entities: List[str],
             relations: List[Tuple[int, int, str]], with_relations: bool = True) -> Doc:
    """A doc in ``vocab`` tokenised like ``lang``, with entities and (optionally) relations."""
    tokens = spacy.blank(lang).make_doc(text)
    doc = Doc(vocab, words=[t.text for t in tokens], spaces=[bool(t.whitespace_) for t in tokens])
    spans = []
    for ent in entities:
        start = text.index(ent)
        spans.append(span_from_chars(doc, start, start + len(ent), "ENT"))
    spans = add_entities(doc, spans)
    if with_relations:
        for head, tail, label in relations:
            add_relation(doc, spans[head], spans[tail], label)
    doc._.xlie_lang = lang
    return doc


def make_examples(vocab: Vocab, sentences: Optional[list] = None) -> List[Example]:
    """Examples whose predicted docs hold the gold entities (relation classification)."""
    examples = []
    for lang, text, ents, rels in sentences or SENTENCES:
        reference = make_doc(vocab, lang, text, ents, rels)
        predicted = make_doc(vocab, lang, text, ents, rels, with_relations=False)
        examples.append(Example(predicted, reference))
    return examples


def add_listening_extractor(nlp: spacy.Language) -> None:
    """A relation extractor whose tok2vec listens to the pipeline's ``transformer``, so
    that its updates backpropagate into the encoder."""
    nlp.add_pipe("xlie_relation_extractor", config={"model": {
        "@architectures": "spacy_xlie.RelationClassifier.v1",
        "tok2vec": {"@architectures": "spacy-transformers.TransformerListener.v1",
                    "grad_factor": 1.0, "upstream": "transformer",
                    "pooling": {"@layers": "reduce_mean.v1"}}}})
