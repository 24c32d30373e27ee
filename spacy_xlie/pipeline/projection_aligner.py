"""Placeholder for `xlie_projection_aligner` until issue #5 lands (no fake behaviour)."""

from spacy.language import Language


@Language.factory("xlie_projection_aligner")
def make_projection_aligner(nlp: Language, name: str):
    raise NotImplementedError("xlie_projection_aligner is not implemented in this version of spacy-xlie")
