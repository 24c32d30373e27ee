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
from typing import Any, Dict, List, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from end_to_end import log, pct  # noqa: E402


class Member:
    """One trained pipeline run on KBP37 dev with the gold entities: its extractor, its
    examples and predicted docs, and per ``nlp.pipe`` batch the docs, the pairs the
    extractor scored and their probabilities."""

    def __init__(self, model: str, corpus: Path) -> None:
        import spacy

        from spacy_xlie.entities import entity_components
        from spacy_xlie.evaluation import load_examples, relation_pipe, without_encoder_output

        nlp = spacy.load(model, config={"components": {"transformer": {"quantize": "off"}}})
        self.pipe = relation_pipe(nlp)
        self.batches: List[Tuple[List[Any], Any, Any]] = []
        decode = self.pipe.set_annotations

        def keep(docs, predictions):
            docs = list(docs)
            self.batches.append((docs, predictions[0],
                                 self.pipe.model.ops.to_numpy(predictions[1]).copy()))
            decode(docs, predictions)

        self.pipe.set_annotations = keep
        self.examples = load_examples(nlp, corpus, gold_ents=True)
        with nlp.select_pipes(disable=entity_components(nlp)):
            self.docs = [without_encoder_output(doc) for doc in nlp.pipe(
                (eg.predicted for eg in self.examples), batch_size=64)]

    def scores(self) -> Dict[str, float]:
        """Relation macro- and micro-F of the docs as they are annotated now."""
        from spacy.training import Example

        from spacy_xlie.evaluation import scoring_settings
        from spacy_xlie.scorers import score_relations

        scores = score_relations([Example(doc, eg.reference)
                                  for doc, eg in zip(self.docs, self.examples)],
                                 **scoring_settings(self.pipe))
        return {"macro_f": scores["rel_macro_f"], "micro_f": scores["rel_micro_f"]}

    def decode(self, probabilities: List[Any]) -> None:
        """Annotate this member's docs again from ``probabilities`` (one array a batch)."""
        for (docs, pairs, _), batch in zip(self.batches, probabilities):
            type(self.pipe).set_annotations(self.pipe, docs, (pairs, batch))


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
    first = None
    for name, model in members.items():
        member = Member(model, args.corpus)
        first = first or member
        rows[name] = {**member.scores(), "model": model}
        probabilities.append([probs for *_, probs in member.batches])
        log(f"{name}: {rows[name]}")
    first.decode([sum(batch) / len(batch) for batch in zip(*probabilities)])
    rows["ensemble"] = first.scores()
    log(f"ensemble: {rows['ensemble']}")
    report = {**dev_bench.stamp(), "corpus": str(args.corpus), "rows": rows}
    dev_bench.write_report(report, markdown, args.out, "ensemble_dev")


if __name__ == "__main__":
    main()
