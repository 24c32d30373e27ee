"""Where the relation extractor's errors go, per gold type, on English dev data.

    python bench/relation_errors.py --model training/e5small/model-best \
        --data corpus/kbp37_dev.spacy --train corpus/kbp37_train.spacy --out bench/results

The per-label F tables say which types are weak; this says why. With the gold entities
given (as the RELX scores are), each gold relation is either found, missed (no relation
predicted between its two entities), found in the wrong direction (its label with head
and tail swapped) or confused with another type (the types it was taken for are listed);
each predicted relation on a pair with no gold relation is a false alarm, counted per
predicted type. Beside each type, how often its head comes first in the training data
(``--train``): a symmetric type (spouse, alternate names) annotated in either direction
at random has a direction no model can learn, and the scorer counts it. English dev data
only: this is for choosing what to change, and RELX is test data. Writes
``relation_errors.json`` and ``relation_errors.md`` to ``--out``.

    python bench/relation_errors.py --compare shipped=bench/results/relation_errors.json \
        do0=bench/results/do0/relation_errors.json --out bench/results

sets earlier reports side by side, all types summed (``relation_errors_runs.{json,md}``):
whether a change found more relations, or only moved errors between kinds.
"""

import argparse
import datetime
import os
import shlex
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
Pair = Tuple[int, int, int, int]


def by_pair(keys: Iterable[tuple]) -> Dict[Pair, set]:
    """Relation keys ``(head chars, tail chars, label)`` grouped by directed pair."""
    pairs: Dict[Pair, set] = defaultdict(set)
    for *pair, label in keys:
        pairs[tuple(pair)].add(label)
    return pairs


def reversed_pair(pair: Pair) -> Pair:
    return (pair[2], pair[3], pair[0], pair[1])


def head_first_share(path: Path, nlp) -> Dict[str, float]:
    """Per relation type in the DocBin at ``path``: the share of its relations whose head
    is mentioned before its tail."""
    from spacy.tokens import DocBin

    first: Counter = Counter()
    total: Counter = Counter()
    for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
        for rel in doc._.relations:
            total[rel.label] += 1
            first[rel.label] += rel.head.start < rel.tail.start
    return {label: round(first[label] / total[label], 4) for label in sorted(total)}


def tally(examples) -> Dict[str, Any]:
    """Per gold type: found, missed, wrong direction and the types it was taken for; per
    predicted type: false alarms on pairs without a gold relation."""
    from spacy_xlie.scorers import relation_keys

    gold_types: Dict[str, Counter] = defaultdict(Counter)
    taken_for: Dict[str, Counter] = defaultdict(Counter)
    false_alarms: Counter = Counter()
    for eg in examples:
        gold, predicted = by_pair(relation_keys(eg.reference)), by_pair(relation_keys(eg.predicted))
        for pair, labels in gold.items():
            found = predicted.get(pair, set())
            swapped = predicted.get(reversed_pair(pair), set())
            for label in labels:
                counts = gold_types[label]
                counts["support"] += 1
                if label in found:
                    counts["found"] += 1
                elif label in swapped:
                    counts["wrong direction"] += 1
                elif found | swapped:
                    counts["other type"] += 1
                    taken_for[label].update(found | swapped)
                else:
                    counts["missed"] += 1
        for pair, labels in predicted.items():
            if pair not in gold and reversed_pair(pair) not in gold:
                false_alarms.update(labels)
    return {"gold_types": {label: dict(counts) for label, counts in sorted(gold_types.items())},
            "taken_for": {label: dict(counts.most_common()) for label, counts in
                          sorted(taken_for.items())},
            "false_alarms": dict(false_alarms.most_common())}


KINDS = ("found", "missed", "wrong direction", "other type")


def totals(tallies: Dict[str, Any]) -> Dict[str, int]:
    """All gold types summed: support and each kind of outcome, and the false alarms."""
    summed = {key: sum(counts.get(key, 0) for counts in tallies["gold_types"].values())
              for key in ("support", *KINDS)}
    summed["false alarms"] = sum(tallies["false_alarms"].values())
    return summed


def compare_markdown(compared: Dict[str, Any]) -> str:
    columns = ("support", *KINDS, "false alarms")
    lines = [
        "# The relation extractor's errors, runs side by side (English dev, gold entities)",
        "", f"Command: `{compared['command']}`. Run {compared['date']}.", "",
        "Each run's `relation_errors.json`, all gold types summed (the kinds as in "
        "`relation_errors.md`).", "",
        "| run | report | " + " | ".join(columns) + " |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for name, run in compared["runs"].items():
        lines.append(f"| {name} | `{run['report']}` | "
                     + " | ".join(str(run["totals"][key]) for key in columns) + " |")
    return "\n".join(lines + [""])


def compare(specs: Iterable[str]) -> Dict[str, Any]:
    """``NAME=PATH`` of earlier ``relation_errors.json`` reports → each one's totals."""
    import srsly

    runs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--compare {spec!r}: expected NAME=PATH/relation_errors.json")
        if not Path(path).is_file():
            raise ValueError(f"--compare {spec!r}: no report at {path}")
        try:
            tallies = srsly.read_json(path)["tallies"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"--compare {spec!r}: {path} is not a relation_errors.json "
                             f"report ({type(error).__name__}: {error})") from error
        runs[name] = {"report": path, "totals": totals(tallies)}
    return runs


def markdown(report: Dict[str, Any]) -> str:
    tallies = report["tallies"]
    lines = [
        "# Where the relation extractor's errors go (English dev, gold entities)", "",
        f"Model: `{report['model']}`. Data: `{report['data']}`. Command: "
        f"`{report['command']}`. Run {report['date']}.", "",
        "Each gold relation: found; missed (nothing predicted between its entities); wrong "
        "direction (its type with head and tail swapped); other type (another relation "
        "predicted between its entities; the types it was taken for are listed). Sorted "
        "by the share found.", "",
        "| gold type | support | found | missed | wrong direction | other type "
        "| taken for (count) | head first in train |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    rows = sorted(tallies["gold_types"].items(),
                  key=lambda item: item[1].get("found", 0) / item[1]["support"])
    for label, counts in rows:
        support = counts["support"]
        cells = [f"{counts.get(key, 0)} ({100 * counts.get(key, 0) / support:.0f} %)"
                 for key in KINDS]
        confused = ", ".join(f"{other} ({n})" for other, n in
                             list(tallies["taken_for"].get(label, {}).items())[:3])
        head_first = report["head_first_in_train"].get(label)
        share = "-" if head_first is None else f"{100 * head_first:.0f} %"
        lines.append(f"| {label} | {support} | " + " | ".join(cells)
                     + f" | {confused} | {share} |")
    alarms = tallies["false_alarms"]
    lines += ["", f"False alarms (a relation predicted between entities with no gold "
              f"relation): {sum(alarms.values())}"
              + (": " + ", ".join(f"{label} ({n})" for label, n in alarms.items())
                 if alarms else "."), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", type=Path)
    what.add_argument("--compare", nargs="+", metavar="NAME=REPORT",
                      help="sum earlier reports' tallies side by side instead of scoring")
    parser.add_argument("--data", type=Path, default=Path("corpus/kbp37_dev.spacy"))
    parser.add_argument("--train", type=Path, default=Path("corpus/kbp37_train.spacy"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    if args.compare:
        try:
            write_comparison(args.compare, args.out)
        except ValueError as error:
            sys.exit(str(error))
    else:
        write_report(args.model, args.data, args.train, args.out)


def command_line() -> str:
    return "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])


def write_comparison(specs: Iterable[str], out: Path) -> None:
    from spacy_xlie.util.io import write_json, write_text

    compared = {"command": command_line(), "date": datetime.date.today().isoformat(),
                "runs": compare(specs)}
    text = compare_markdown(compared)
    out.mkdir(parents=True, exist_ok=True)
    write_json(compared, out / "relation_errors_runs.json")
    write_text(text, out / "relation_errors_runs.md")
    print(text)


def write_report(model: Path, data: Path, train: Path, out: Path) -> None:
    import spacy

    from spacy_xlie import evaluation
    from spacy_xlie.util.io import write_json, write_text

    nlp = spacy.load(model)
    examples = evaluation.load_examples(nlp, data, gold_ents=True)
    scored = evaluation.predict(nlp, examples, gold_ents=True)
    report = {
        "command": command_line(), "date": datetime.date.today().isoformat(),
        "model": str(model), "data": str(data), "tallies": tally(scored),
        "head_first_in_train": head_first_share(train, nlp),
    }
    text = markdown(report)
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "relation_errors.json")
    write_text(text, out / "relation_errors.md")
    print(text)


if __name__ == "__main__":
    main()
