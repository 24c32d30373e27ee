"""Put a trained relation extractor into a pipeline you already have.

A trained ``xx_xlie_cpu`` extractor listens to its pipeline's ``tok2vec`` (or
``transformer``); your pipeline has its own ``tok2vec`` and NER. Sourcing the extractor
as it is would connect its listener to *your* encoder, whose vectors it was never trained
on. :func:`add_relation_extractor` first gives the extractor its own copy of the encoder
it was trained with (``Language.replace_listeners``), then sources it, then (optionally)
restricts its candidate pairs to the label pairs your NER's scheme allows::

    import spacy
    from spacy_xlie.compose import add_relation_extractor

    nlp = spacy.load("de_core_news_sm")               # tok2vec, ..., ner (PER/ORG/LOC/MISC)
    add_relation_extractor(nlp, spacy.load("xx_xlie_cpu"), label_scheme="conll")
    doc = nlp("Angela Merkel ist die Vorsitzende der CDU.")
"""

import dataclasses
from typing import Any, Dict, Optional, Union

from spacy.language import Language

from .entities import ner_label_pairs, relation_extractors
from .pipeline.candidates import create_candidate_pairs
from .pipeline.relation_extractor import RelationExtractor

#: Where the relation model's encoder sits in its component config.
LISTENER_PATH = "model.tok2vec"


def own_encoder(source: Language, name: str) -> None:
    """Replace the listener of ``source``'s pipe ``name`` by a copy of the encoder it
    listens to (a no-op when it has its own encoder already). Changes ``source``."""
    for upstream, pipe in source.pipeline:
        if name in getattr(pipe, "listener_map", {}):
            source.replace_listeners(upstream, name, [LISTENER_PATH])


def add_relation_extractor(
    nlp: Language,
    source: Language,
    *,
    source_name: Optional[str] = None,
    name: Optional[str] = None,
    label_scheme: Optional[Union[str, Dict[str, str]]] = None,
    **where: Any,
) -> RelationExtractor:
    """Source the relation extractor ``source_name`` (default: the first) of ``source``
    into ``nlp`` with its own encoder, after ``nlp``'s last pipe or at ``where``
    (``before=``/``after=``/``first=``/``last=`` of ``nlp.add_pipe``).

    ``label_scheme`` (``"conll"``, ``"ontonotes"``, ``"tac"`` or a mapping, see
    :data:`spacy_xlie.entities.LABEL_SCHEMES`) limits candidates to entity-label pairs
    that one of the extractor's relation types can connect.
    """
    source_name = source_name or (relation_extractors(source) or [None])[0]
    if source_name is None:
        raise ValueError("the source pipeline has no xlie_relation_extractor")
    own_encoder(source, source_name)
    pipe = nlp.add_pipe(source_name, name=name, source=source, **where)
    if label_scheme is not None:
        pairs = ner_label_pairs(label_scheme, relation_labels=list(pipe.labels))
        configure_candidates(nlp, name or source_name, allowed_label_pairs=pairs)
    return pipe


def configure_candidates(nlp: Language, name: Optional[str] = None, **settings: Any) -> None:
    """Change the candidate filter of the relation extractor ``name`` (default: the first).

    ``settings`` are arguments of ``spacy_xlie.candidate_pairs.v1``/``.v2``
    (``allowed_label_pairs``, ``same_sentence``, ...); the pipe keeps its version. Both
    the live pipe and the pipeline's config change, so the setting survives
    ``nlp.to_disk``; ``nlp.add_pipe(..., source=...)`` cannot do this, as a sourced
    component keeps its source's config.
    """
    name = name or (relation_extractors(nlp) or [None])[0]
    if name is None:
        raise ValueError("the pipeline has no xlie_relation_extractor")
    pipe = nlp.get_pipe(name)
    current = dataclasses.asdict(pipe.candidates)
    per_sentence = current.pop("cap_per_sentence")
    if current["allowed_label_pairs"] is not None:
        current["allowed_label_pairs"] = sorted(list(p) for p in current["allowed_label_pairs"])
    current.update(settings)
    pipe.candidates = dataclasses.replace(create_candidate_pairs(**current),
                                          cap_per_sentence=per_sentence)
    nlp.get_pipe_config(name)["candidates"].update(settings)
