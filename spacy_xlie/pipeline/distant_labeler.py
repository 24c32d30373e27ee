"""Placeholder for `xlie_distant_labeler` until issue #4 lands (no fake behaviour)."""

from spacy.language import Language


@Language.factory("xlie_distant_labeler")
def make_distant_labeler(nlp: Language, name: str):
    raise NotImplementedError("xlie_distant_labeler is not implemented in this version of spacy-xlie")
