"""The e5small recipe's training runs side by side, on English dev data only.

    python bench/e5small_runs.py --out bench/results \
        gf0.1=training/run2-gf0.1 gf0.03=training/run3-gf0.03 final=training/e5small \
        --note gf0.1="before punctuation was outside"

Each ``NAME=DIR`` is the output folder of one ``spacy train configs/e5small.cfg`` run
(``DIR/model-best``). For each: the settings that differ between the runs (read from the
model's own ``config.cfg``), the relation extractor on KBP37 dev with the gold entities
(``python -m spacy_xlie evaluate ... --gold-ents``, official macro-F and micro-F) and the
entity F the training loop recorded on its dev stream (``meta.json``). Only English dev
data is read: these are the figures the recipe was chosen on (RELX and WikiANN de/es are
test data). Writes ``e5small_runs.json`` and ``e5small_runs.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
#: Config settings shown per run: (column, section path, key); a key is looked up in the
#: section and then in its ``embed``/``encode`` subsections (the recognizer's tok2vec is the
#: listener itself, or a ``spacy.Tok2Vec.v2`` of the listener and the recognizer's own
#: layers).
SETTINGS = (
    ("NER grad_factor", ("components", "ner", "model", "tok2vec"), "grad_factor"),
    ("NER own layers", ("components", "ner", "model", "tok2vec"), "depth"),
    ("batcher", ("training", "batcher"), "@batchers"),
    ("train reader", ("corpora", "train"), "@readers"),
    ("entity-doc augmenter", ("corpora", "train", "augmenter"), "@augmenters"),
    ("WikiANN sentences (0: all)", ("corpora", "train"), "entities_limit"),
    ("dev WikiANN sentences (0: all)", ("corpora", "dev"), "entities_limit"),
    ("steps", ("training",), "max_steps"),
    ("layers", ("components", "transformer", "model", "transformer_config"),
     "num_hidden_layers"),
)


def settings(model: Path) -> Dict[str, Any]:
    """The :data:`SETTINGS` of the run's config (uninterpolated; None where absent)."""
    from spacy.util import load_config

    config = load_config(model / "config.cfg", interpolate=False)
    found = {}
    for column, path, key in SETTINGS:
        section: Any = config
        for part in path:
            section = section.get(part, {})
        candidates = [section, section.get("embed", {}), section.get("encode", {})]
        found[column] = next((c[key] for c in candidates if key in c), None)
    return found


def dev_scores(model: Path, dev: Path) -> Dict[str, float]:
    """KBP37 dev, gold entities, as ``spacy-xlie evaluate`` scores it (the fp32 encoder,
    as training evaluated it)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dev.json"
        subprocess.run([sys.executable, "-m", "spacy_xlie", "evaluate", str(model), str(dev),
                        "--gold-ents", "--output", str(out), "--quantize", "off"], check=True,
                       stdout=subprocess.DEVNULL)
        row = next(iter(json.loads(out.read_text())["datasets"].values()))
    return {"macro_f": row["rel_macro_f"], "micro_f": row["rel_micro_f"]}


def dev_score(model: Path, meta: Dict[str, Any]) -> float:
    """The score the training loop kept ``model-best`` by: its config's
    ``[training.score_weights]`` over the dev scores in ``meta.json``."""
    from spacy.util import load_config

    weights = load_config(model / "config.cfg")["training"]["score_weights"]
    return sum(weight * meta["performance"].get(name, 0.0)
               for name, weight in weights.items() if weight)


def dev_score_cell(row: Dict[str, Any]) -> str:
    return f"{100 * row['dev_score']:.1f}" if "dev_score" in row else ""


def markdown(report: Dict[str, Any]) -> str:
    columns = [column for column, _, _ in SETTINGS]
    lines = [
        "# e5small recipe: training runs on English dev data", "",
        f"Command: `{report['command']}`. Run {report['date']}.", "",
        "KBP37 dev with the gold entities (`spacy-xlie evaluate --gold-ents`), and the "
        "entity F the training loop recorded on its dev stream (KBP37 dev's typed arguments "
        "and 1,000 WikiANN en validation sentences; with `JointCorpus.v2` the KBP37 part "
        "also marks stop words outside names as outside, so that column moves with the "
        "reader; runs whose dev WikiANN sentences are 0 read all 10,000 and one KBP37 dev "
        "sentence). "
        "NER own layers: the recognizer's maxout layers on the shared encoder (None: "
        "none). Dev score: what the training loop kept its best checkpoint by (the "
        "config's `score_weights` over its dev stream). Scores in %.", "",
        "| run | " + " | ".join(columns) + " | KBP37 dev macro-F | KBP37 dev micro-F "
        "| dev entity F | dev score | note |",
        "|---|" + "---|" * len(columns) + "---:|---:|---:|---:|---|",
    ]
    for row in report["runs"]:
        cells = [str(row["settings"][column]) for column in columns]
        lines.append(f"| {row['name']} | " + " | ".join(cells) +
                     f" | {100 * row['kbp37_dev']['macro_f']:.1f} "
                     f"| {100 * row['kbp37_dev']['micro_f']:.1f} "
                     f"| {100 * row['dev_ents_f']:.1f} | {dev_score_cell(row)} "
                     f"| {row['note']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="NAME=DIR: a training output folder")
    parser.add_argument("--note", action="append", default=[],
                        help="NAME=TEXT: what else differs for that run (a code change)")
    parser.add_argument("--dev", type=Path, default=Path("corpus/kbp37_dev.spacy"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--report", default="e5small_runs",
                        help="file name of the report (NAME.json, NAME.md)")
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    notes = dict(note.partition("=")[::2] for note in args.note)
    runs: List[Dict[str, Any]] = []
    for spec in args.runs:
        name, _, folder = spec.partition("=")
        model = Path(folder) / "model-best"
        meta = json.loads((model / "meta.json").read_text())
        runs.append({"name": name, "note": notes.get(name, ""), "model": str(model),
                     "settings": settings(model),
                     "kbp37_dev": dev_scores(model, args.dev),
                     "dev_ents_f": meta["performance"]["ents_f"],
                     "dev_score": dev_score(model, meta)})
        print(name, runs[-1]["kbp37_dev"], flush=True)
    report = {"command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(), "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / f"{args.report}.json")
    write_text(markdown(report), args.out / f"{args.report}.md")


if __name__ == "__main__":
    main()
