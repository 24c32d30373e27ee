"""Entities for raw text: where they come from, and which label pairs may hold a relation.

The relation extractor only classifies pairs of ``doc.ents``; it does not find entities.
Any component that sets ``doc.ents`` can feed it:

* a spaCy NER of any label scheme (your own pipeline's ``ner``);
* an ``entity_ruler`` with token or phrase patterns (``patterns:PATH`` below);
* the knowledge base's multilingual aliases: ``xlie_distant_labeler`` with
  ``mode = "gazetteer"`` only writes the linked mentions to ``doc.ents`` (``kb:PATH``).

:func:`add_entity_source` adds the last two to a loaded pipeline, before its relation
extractor. :data:`LABEL_SCHEMES` maps the labels of common NER schemes onto the argument
types of the relation types (:data:`ARGUMENT_TYPES`); :func:`ner_label_pairs` turns both
into the ``allowed_label_pairs`` candidate filter of ``spacy_xlie.candidate_pairs.v2``,
so an extractor behind a typed NER never scores, say, a DATE–DATE pair. Untyped entities
(the gazetteer's and the training data's ``ENT``) pair with every type.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.util import registry

from .corpora.base import iter_lines, parse_json_line
from .errors import XlieDataError
from .kb.relation_kb import RelationKB
from .pipeline.relation_extractor import RelationExtractor

#: Default name of the pipe that :func:`add_entity_source` adds.
ENTITY_PIPE = "xlie_entities"
#: Kinds of entity source a ``--entities`` option names: ``kb:PATH``, ``patterns:PATH``.
SOURCE_KINDS = ("kb", "patterns")
#: Type of an untyped entity label: it may pair with any argument type.
ANY = "*"

#: Argument types (head, tail) of the KBP37 / RELX relation types. A tail with several
#: types lists them all: ``per:origin`` is a country or a nationality (NORP / MISC).
#: ``TITLE`` (``per:title``: "president", "CEO") is a type few NER schemes have.
ARGUMENT_TYPES: Dict[str, Dict[str, Tuple[FrozenSet[str], FrozenSet[str]]]] = {
    "kbp37": {
        label: (frozenset(head.split("|")), frozenset(tail.split("|")))
        for label, head, tail in (
            ("org:alternate_names", "ORG", "ORG"),
            ("org:city_of_headquarters", "ORG", "LOC"),
            ("org:country_of_headquarters", "ORG", "LOC"),
            ("org:founded", "ORG", "DATE"),
            ("org:founded_by", "ORG", "PER|ORG"),
            ("org:members", "ORG", "ORG|LOC"),
            ("org:stateorprovince_of_headquarters", "ORG", "LOC"),
            ("org:subsidiaries", "ORG", "ORG"),
            ("org:top_members/employees", "ORG", "PER"),
            ("per:alternate_names", "PER", "PER"),
            ("per:cities_of_residence", "PER", "LOC"),
            ("per:countries_of_residence", "PER", "LOC"),
            ("per:country_of_birth", "PER", "LOC"),
            ("per:employee_of", "PER", "ORG|LOC"),
            ("per:origin", "PER", "LOC|MISC"),
            ("per:spouse", "PER", "PER"),
            ("per:stateorprovinces_of_residence", "PER", "LOC"),
            ("per:title", "PER", "TITLE"),
        )
    }
}

#: NER label -> argument type, per label scheme. ``conll``: CoNLL-2003 / WikiNER (spaCy's
#: ``de``/``fr``/``es``/``xx`` pipelines); ``ontonotes``: OntoNotes 5 (spaCy's ``en``,
#: ``zh``, ``ja`` pipelines); ``tac``: TAC-KBP / ACE style. Every scheme maps ``ENT``
#: (untyped: gazetteer, KBP37/RELX gold entities) to :data:`ANY`.
LABEL_SCHEMES: Dict[str, Dict[str, str]] = {
    "conll": {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC", "ENT": ANY},
    "ontonotes": {
        "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
        "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC",
        "LAW": "MISC", "LANGUAGE": "MISC", "DATE": "DATE", "ENT": ANY,
    },
    "tac": {
        "PER": "PER", "PERSON": "PER", "ORG": "ORG", "ORGANIZATION": "ORG", "GPE": "LOC",
        "LOC": "LOC", "LOCATION": "LOC", "FAC": "LOC", "CITY": "LOC", "COUNTRY": "LOC",
        "STATE_OR_PROVINCE": "LOC", "NATIONALITY": "MISC", "TITLE": "TITLE", "DATE": "DATE",
        "ENT": ANY,
    },
}


@registry.misc("spacy_xlie.ner_label_pairs.v1")
def ner_label_pairs(
    scheme: Union[str, Dict[str, str]] = "conll",
    relations: str = "kbp37",
    relation_labels: Optional[List[str]] = None,
) -> List[List[str]]:
    """``[label1, label2]`` pairs of NER labels that some relation type can connect.

    ``scheme`` names one of :data:`LABEL_SCHEMES` or is a mapping of your own
    (NER label -> argument type, :data:`ANY` for untyped labels). ``relation_labels``
    restricts the relation types of ``relations`` (default: all). The result goes into
    ``allowed_label_pairs`` of ``spacy_xlie.candidate_pairs.v2`` (order does not matter
    there: a pair is allowed in either order).
    """
    mapping = LABEL_SCHEMES[scheme] if isinstance(scheme, str) else dict(scheme)
    types = ARGUMENT_TYPES[relations]
    unknown = sorted(set(relation_labels or ()) - set(types))
    if unknown:
        raise ValueError(f"no argument types for relation labels {unknown} in '{relations}'")
    wanted = [types[label] for label in (relation_labels or sorted(types))]

    def fits(label_type: str, allowed: FrozenSet[str]) -> bool:
        return label_type == ANY or label_type in allowed

    pairs = set()
    for a, a_type in mapping.items():
        for b, b_type in mapping.items():
            if any(fits(a_type, head) and fits(b_type, tail) for head, tail in wanted):
                pairs.add(tuple(sorted((a, b))))
    return [list(pair) for pair in sorted(pairs)]


@dataclass(frozen=True)
class ArgumentTypeFilter:
    """Whether a relation type may hold between entities of two labels: ``filter(label,
    head_label, tail_label)``. Entity labels map to argument types by ``scheme``; an
    untyped label (:data:`ANY`) or one the scheme does not know fits every type, and so
    does a relation type without argument types. Picklable (``nlp.pipe(n_process=...)``)."""

    types: Dict[str, Tuple[FrozenSet[str], FrozenSet[str]]]
    scheme: Dict[str, str]
    #: Whether the tail's type must fit too (False: the head's alone)
    check_tail: bool = True

    def __call__(self, label: str, head_label: str, tail_label: str) -> bool:
        if label not in self.types:
            return True
        heads, tails = self.types[label]
        head = self.scheme.get(head_label, ANY)
        tail = self.scheme.get(tail_label, ANY) if self.check_tail else ANY
        return (head == ANY or head in heads) and (tail == ANY or tail in tails)


@registry.misc("spacy_xlie.argument_types.v1")
def argument_type_filter(
    relations: str = "kbp37", scheme: Union[str, Dict[str, str]] = "tac"
) -> ArgumentTypeFilter:
    """The ``argument_types`` setting of ``xlie_relation_extractor``: relation types of
    ``relations`` (:data:`ARGUMENT_TYPES`) only between entities whose labels, read by
    ``scheme`` (a :data:`LABEL_SCHEMES` name or a mapping), fit their argument types."""
    mapping = LABEL_SCHEMES[scheme] if isinstance(scheme, str) else dict(scheme)
    return ArgumentTypeFilter(dict(ARGUMENT_TYPES[relations]), dict(mapping))


@registry.misc("spacy_xlie.argument_types.v2")
def argument_type_filter_v2(
    relations: str = "kbp37", scheme: Union[str, Dict[str, str]] = "tac",
    arguments: str = "head",
) -> ArgumentTypeFilter:
    """As ``spacy_xlie.argument_types.v1``, with ``arguments`` saying whose type must fit:
    ``"both"`` (v1) or ``"head"``. The head's type decides the relation's family (``per:*``
    needs a PER head); a tail's type is the recognizer's weakest guess (a DATE, a TITLE,
    ORG against LOC), and on English dev checking it cost more correct relations than it
    kept out wrong ones (bench/results/end_to_end.md, KBP37 dev)."""
    if arguments not in ("both", "head"):
        raise ValueError(f"arguments: expected 'both' or 'head', got {arguments!r}")
    return replace(argument_type_filter(relations, scheme), check_tail=arguments == "both")


def relation_extractors(nlp: Language) -> List[str]:
    """Names of the pipeline's relation extractors."""
    return [name for name, pipe in nlp.pipeline if isinstance(pipe, RelationExtractor)]


def entity_components(nlp: Language) -> List[str]:
    """Names of the pipes that set ``doc.ents`` (NER, entity ruler, gazetteer)."""
    skip = set(relation_extractors(nlp))
    return [name for name in nlp.pipe_names
            if name not in skip and "doc.ents" in nlp.get_pipe_meta(name).assigns]


def parse_entity_source(spec: str) -> Tuple[str, Path]:
    """``"kb:PATH"`` / ``"patterns:PATH"`` -> (kind, path), with a clear error."""
    kind, sep, path = spec.partition(":")
    if not sep or kind not in SOURCE_KINDS or not path:
        raise ValueError(f"entity source {spec!r}: expected kb:PATH or patterns:PATH")
    if not Path(path).exists():
        raise ValueError(f"entity source {spec!r}: {path} does not exist")
    return kind, Path(path)


def read_patterns(path: Union[str, Path]) -> List[dict]:
    """``entity_ruler`` patterns from JSONL (``{"label": ..., "pattern": ..., "id"?}``),
    checked line by line so a bad one is reported as ``FILE:LINE: field: what``."""
    patterns = []
    for line, raw in iter_lines(path):
        rec = parse_json_line(raw, path, line)
        if not isinstance(rec.get("label"), str) or not rec["label"]:
            raise XlieDataError("expected a non-empty string", path, line, "label")
        pattern = rec.get("pattern")
        if not (isinstance(pattern, str) and pattern.strip()) and not (
            isinstance(pattern, list) and pattern and all(isinstance(t, dict) for t in pattern)
        ):
            raise XlieDataError("expected a phrase or a list of token patterns", path, line,
                                "pattern")
        patterns.append(rec)
    if not patterns:
        raise XlieDataError("no patterns", path, None, "pattern")
    return patterns


def gazetteer_config(nlp: Language, kb: RelationKB, **overrides) -> dict:
    """Settings of ``xlie_distant_labeler`` as a gazetteer over ``kb``.

    Case-sensitive matching (an alias "Die" must not match the German article), every
    candidate of an ambiguous alias kept (the mention is an entity whichever it is) and,
    for a multilingual (``xx``) pipeline, the aliases of every language of the KB.
    """
    config = {"mode": "gazetteer", "attr": "ORTH", "ambiguity": "all"}
    if nlp.lang == "xx":
        config["alias_langs"] = list(kb.languages)
    config.update(overrides)
    return config


def add_entity_source(
    nlp: Language,
    spec: str,
    *,
    name: str = ENTITY_PIPE,
    config: Optional[dict] = None,
) -> str:
    """Add the entity source ``spec`` (``kb:PATH`` or ``patterns:PATH``) to ``nlp``.

    The pipe goes right before the first relation extractor (last if there is none), so
    entities the pipeline's own NER found are kept: the gazetteer and the ruler only add
    entities that overlap none of them. ``config`` overrides the pipe's settings.
    Returns the pipe's name.
    """
    kind, path = parse_entity_source(spec)
    rels = relation_extractors(nlp)
    where = {"before": rels[0]} if rels else {}
    if kind == "kb":
        kb = RelationKB.from_disk(path)
        pipe = nlp.add_pipe("xlie_distant_labeler", name=name, **where,
                            config=gazetteer_config(nlp, kb, **(config or {})))
        pipe.set_kb(kb)
        pipe.initialize(nlp=nlp)
    else:
        ruler = nlp.add_pipe("entity_ruler", name=name, **where,
                             config={"overwrite_ents": False, **(config or {})})
        ruler.add_patterns(read_patterns(path))
    return name

