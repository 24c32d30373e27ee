"""How much of the shared encoder's gradient each task sends, in a trained pipeline with a
recognizer and a relation extractor on one encoder (``configs/e5small.cfg``).

    python bench/multitask_gradients.py training/e5small/model-best [MORE_MODELS...] \\
        --corpus corpus --out bench/results

For a few 1,000-word batches of the training stream (KBP37 and WikiANN en, shuffled as
``spacy_xlie.JointCorpus.v1`` reads them), runs ``nlp.update`` without an optimizer step
once with the relation extractor excluded and once with the recognizer excluded, and
reports the squared norm of the gradient at the encoder's output that each leaves (the
transformer's "loss" in spaCy's training log), and the ratio of the norms. The listeners'
``grad_factor`` scales what each task sends; this shows whether one task drowns the other.

Writes ``multitask_gradients.json`` and ``.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
import random
import sys
from pathlib import Path
from typing import Any, Dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def listener_config(tok2vec: dict) -> dict:
    """The listener's settings: the tok2vec itself, or its ``embed`` where the component
    adds layers of its own (``spacy.Tok2Vec.v2``)."""
    return tok2vec.get("embed", tok2vec)


def measure(model: str, corpus: Path, n_batches: int) -> Dict[str, Any]:
    import spacy
    from spacy.training.batchers import minibatch_by_words

    from spacy_xlie.corpora.joint import create_joint_corpus
    from spacy_xlie.entities import relation_extractors

    nlp = spacy.load(model)
    rel = relation_extractors(nlp)[0]
    reader = create_joint_corpus(corpus / "kbp37_train.spacy",
                                 corpus / "ner" / "wikiann_en_train.spacy",
                                 relations_limit=2000, entities_limit=1000)
    examples = list(reader(nlp))
    random.Random(0).shuffle(examples)
    batches = list(minibatch_by_words(examples, size=1000, tolerance=0.2))[:n_batches]
    sent = {}
    for task, exclude in (("ner", [rel]), (rel, ["ner"])):
        sent[task] = sum(nlp.update(batch, sgd=False, exclude=exclude, losses={})["transformer"]
                         for batch in batches)
    factors = {name: listener_config(nlp.get_pipe_config(name)["model"]["tok2vec"])
               .get("grad_factor") for name in ("ner", rel)}
    return {"model": model, "batches": len(batches), "grad_factor": factors,
            "squared_norm": sent,
            "norm_ratio_ner_to_relations": (sent["ner"] / sent[rel]) ** 0.5 if sent[rel] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    rows = [measure(model, args.corpus, args.batches) for model in args.models]
    report = {"command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(), "runs": rows}
    lines = ["# Gradient each task sends to the shared encoder", "",
             f"Command: `{report['command']}` ({report['date']}).", "",
             "| model | grad_factor (ner / relations) | squared norm, ner | squared norm, "
             "relations | norm ratio ner : relations |", "|---|---|---:|---:|---:|"]
    for row in rows:
        (ner_f, rel_f), (ner_n, rel_n) = row["grad_factor"].values(), row["squared_norm"].values()
        lines.append(f"| `{row['model']}` | {ner_f} / {rel_f} | {ner_n:.3f} | {rel_n:.3f} | "
                     f"{row['norm_ratio_ner_to_relations']:.1f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "multitask_gradients.json")
    write_text("\n".join(lines) + "\n", args.out / "multitask_gradients.md")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
