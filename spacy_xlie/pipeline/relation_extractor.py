"""Placeholder for `xlie_relation_extractor` until issue #3 lands (no fake behaviour)."""

from spacy.language import Language


@Language.factory("xlie_relation_extractor")
def make_relation_extractor(nlp: Language, name: str):
    raise NotImplementedError("xlie_relation_extractor is not implemented in this version of spacy-xlie")
