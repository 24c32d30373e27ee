"""RELX-Distant: a KB built from the samples themselves, and the labeler's recall on them.

RELX-Distant (``RELX_distant_{lang}.json``) holds Wikipedia sentences with the Wikidata ids
of two entities, their character offsets and the property linking them. The real-data
check of the distant labeler: build a KB whose aliases are every entity's surface strings
(from all the given files, in every language) and whose triples are the records'
``(entity1, relation, entity2)``; label the raw sentences; measure which gold triples come
back (recall), what else is labelled (extra relations), and how the ambiguity policy
changes both.
"""

import re
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import srsly

from ..errors import XlieDataError
from .relation_kb import PathLike, RelationKB

_LANG_RE = re.compile(r"RELX_distant_([A-Za-z-]+)\.json$")
_FIELDS = ("sentence", "entity1", "entity2", "relation")


def lang_of(path: PathLike) -> str:
    """``RELX_distant_de.json`` → ``de``."""
    match = _LANG_RE.search(Path(path).name)
    if match is None:
        raise ValueError(f"cannot tell the language of {path}: expected RELX_distant_LANG.json")
    return match.group(1)


def read_relx_distant(path: PathLike) -> List[dict]:
    """The records of one file, checked; errors name the record (1-based) and field."""
    data = srsly.read_json(path)
    if not isinstance(data, list):
        raise XlieDataError("expected a JSON list of records", path)
    for n, rec in enumerate(data, start=1):
        if not isinstance(rec, dict):
            raise XlieDataError("expected an object", path, n)
        for name in _FIELDS:
            if not isinstance(rec.get(name), str) or not rec[name]:
                raise XlieDataError("missing or not a non-empty string", path, n, name)
        for name in ("entity1_indices", "entity2_indices"):
            idx = rec.get(name)
            if (not isinstance(idx, list) or len(idx) != 2
                    or not all(isinstance(i, int) for i in idx)
                    or not 0 <= idx[0] < idx[1] <= len(rec["sentence"])):
                raise XlieDataError(f"expected [start, end) inside the sentence, got {idx!r}",
                                    path, n, name)
    return data


def surface(rec: dict, which: str) -> str:
    start, end = rec[f"{which}_indices"]
    return rec["sentence"][start:end]


def kb_from_relx_distant(paths: Iterable[PathLike]) -> RelationKB:
    """Every entity's surface strings as aliases in every language; records as triples."""
    records = [(lang_of(p), rec) for p in paths for rec in read_relx_distant(p)]
    langs = sorted({lang for lang, _ in records})
    kb = RelationKB()
    for _, rec in records:
        for which in ("entity1", "entity2"):
            name = surface(rec, which)
            kb.add_entity(rec[which], aliases={lang: [name] for lang in langs})
        kb.add_triple(rec["entity1"], rec["relation"], rec["entity2"])
    return kb


def _miss_reason(doc, rec: dict) -> str:
    """Why a gold triple was not labelled, from what the labeler left on the doc."""
    reasons = []
    for which in ("entity1", "entity2"):
        start, end = rec[f"{which}_indices"]
        linked = [e for e in doc.ents if e.kb_id_ == rec[which]]
        if linked:
            continue
        over = [e for e in doc.ents if e.start_char < end and start < e.end_char]
        if over:
            reasons.append(f"{which} '{surface(rec, which)}' is inside mention "
                           f"'{over[0].text}' linked to {over[0].kb_id_}")
        else:
            reasons.append(f"{which} '{surface(rec, which)}' not found")
    return "; ".join(reasons) or "both linked but not paired (distance or sentence limit)"


def evaluate_relx_distant(
    paths: Sequence[PathLike],
    *,
    ambiguity: str = "skip",
    kb: Optional[RelationKB] = None,
    labeler_config: Optional[dict] = None,
) -> Dict[str, dict]:
    """Per language: recall of the gold triples, extra relations, ambiguity counts, misses."""
    import spacy

    kb = kb if kb is not None else kb_from_relx_distant(paths)
    results: Dict[str, dict] = {}
    for path in paths:
        lang = lang_of(path)
        records = read_relx_distant(path)
        nlp = spacy.blank(lang)
        config = {"ambiguity": ambiguity, **(labeler_config or {})}
        nlp.add_pipe("xlie_distant_labeler", config=config).set_kb(kb)
        hits, extra, misses = 0, 0, []
        counts: Counter = Counter()
        for n, (rec, doc) in enumerate(
            zip(records, nlp.pipe(r["sentence"] for r in records)), start=1
        ):
            found = {(r.head.kb_id_, r.label, r.tail.kb_id_) for r in doc._.relations}
            gold: Tuple[str, str, str] = (rec["entity1"], rec["relation"], rec["entity2"])
            counts.update(doc._.xlie_distant)
            if gold in found:
                hits += 1
            else:
                misses.append({"record": n, "gold": list(gold), "reason": _miss_reason(doc, rec),
                               "sentence": rec["sentence"]})
            extra += len(found - {gold})
        results[lang] = {
            "records": len(records),
            "recall": hits / len(records) if records else 0.0,
            "extra_relations": extra,
            "mentions": counts["mentions"],
            "linked": counts["linked"],
            "ambiguous": counts["ambiguous"],
            "unresolved": counts["unresolved"],
            "misses": misses,
        }
    return results
