"""How far an ensemble of trained pipelines is above its members, on KBP37 dev.

    python bench/ensemble_dev.py --out bench/results \
        rebuild=training/e5small/model-best csent=training/e5s-csent/model-best \
        tv=training/e5s-tv/model-best cstv=training/e5s-cstv/model-best

The e5small recipe's single runs differ on KBP37 dev by about as much as the levers tried
on it move it (``bench/results/relation_extractor.md``). This scores each trained pipeline's
relation extractor on KBP37 dev with the gold entities (official macro-F, as
``spacy-xlie evaluate --gold-ents`` does) and the ensemble of all of them: their relation
probabilities averaged pair by pair, decoded by the first pipeline's extractor. English
dev data only; nothing here is shipped (an ensemble costs its members' training and
encoder time). Writes ``ensemble_dev.json`` and ``ensemble_dev.md`` to ``--out``.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from end_to_end import log, pct  # noqa: E402


def scored(model: str, corpus: Path, replace: Optional[List[Any]] = None
           ) -> Tuple[Dict[str, float], List[Any]]:
    """The pipeline's KBP37 dev scores with the gold entities and its relation
    probabilities per batch; with ``replace``, those probabilities decoded instead of its
    own (same docs, same batches)."""
    import spacy
    from spacy.training import Example

    from spacy_xlie.entities import entity_components
    from spacy_xlie.evaluation import load_examples, relation_pipe, scoring_settings
    from spacy_xlie.scorers import score_relations

    nlp = spacy.load(model, config={"components": {"transformer": {"quantize": "off"}}})
    pipe = relation_pipe(nlp)
    batches: List[Any] = []
    decode = pipe.set_annotations

    def keep(docs, predictions):
        batches.append(pipe.model.ops.to_numpy(predictions[1]).copy())
        probabilities = replace[len(batches) - 1] if replace is not None else predictions[1]
        return decode(docs, (predictions[0], probabilities))

    pipe.set_annotations = keep
    examples = load_examples(nlp, corpus, gold_ents=True)
    with nlp.select_pipes(disable=entity_components(nlp)):
        docs = list(nlp.pipe((eg.predicted for eg in examples), batch_size=64))
    scores = score_relations([Example(doc, eg.reference) for doc, eg in zip(docs, examples)],
                             **scoring_settings(pipe))
    return {"macro_f": scores["rel_macro_f"], "micro_f": scores["rel_micro_f"]}, batches


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# An ensemble of trained pipelines on KBP37 dev", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}). Relation "
             f"scores with the gold entities of `{report['corpus']}` (fp32 encoders); the "
             "ensemble averages the members' probabilities pair by pair. Scores in %.", "",
             "| pipeline | folder | macro-F | micro-F |", "|---|---|---:|---:|"]
    for name, row in report["rows"].items():
        lines.append(f"| {name} | `{row.get('model', '-')}` | {pct(row['macro_f'])} | "
                     f"{pct(row['micro_f'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("members", nargs="+", help="NAME=PIPELINE, two or more")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=Path("corpus/kbp37_dev.spacy"))
    args = parser.parse_args()
    members = dict(spec.split("=", 1) for spec in args.members)
    if len(members) < 2 or not args.corpus.exists():
        raise SystemExit(f"needs two or more NAME=PIPELINE and {args.corpus}")
    import spacy_xlie  # noqa: F401  (extensions)

    rows: Dict[str, Dict[str, Any]] = {}
    probabilities = []
    for name, model in members.items():
        rows[name], batches = scored(model, args.corpus)
        rows[name]["model"] = model
        probabilities.append(batches)
        log(f"{name}: {rows[name]}")
    mean = [sum(batch) / len(batch) for batch in zip(*probabilities)]
    rows["ensemble"], _ = scored(next(iter(members.values())), args.corpus, replace=mean)
    log(f"ensemble: {rows['ensemble']}")
    report = {**dev_bench.stamp(), "corpus": str(args.corpus), "rows": rows}
    dev_bench.write_report(report, markdown, args.out, "ensemble_dev")


if __name__ == "__main__":
    main()
