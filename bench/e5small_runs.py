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

For an ablation table, ``--test FILE`` adds the same gold-entity scores on test files
(RELX DE/FR: what each change did across languages; shown, never used to choose) and
``--base NAME`` the difference of every run from that one. ``--reuse REPORT:NAME`` copies
a run's row from an earlier report in ``--out`` as it was measured there (its folder need
not be on this machine: a fresh checkout has none of the trained runs), so that a new run
can be set against the shipped one without retraining it.
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
from typing import Any, Dict, List, Optional

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
    ("recognizer's train file", ("paths",), "ner_train"),
    ("WikiANN sentences (0: all)", ("corpora", "train"), "entities_limit"),
    ("dev WikiANN sentences (0: all)", ("corpora", "dev"), "entities_limit"),
    ("relation pooling", ("components", "xlie_relation_extractor", "model"), "pooling"),
    ("relation model", ("components", "xlie_relation_extractor", "model"), "@architectures"),
    ("class weight power", ("components", "xlie_relation_extractor"), "class_weight_power"),
    ("label smoothing", ("components", "xlie_relation_extractor"), "label_smoothing"),
    ("relation decisions", ("components", "xlie_relation_extractor"), "mode"),
    ("frozen lowest layers", ("initialize", "after_init"), "freeze_layers"),
    ("head learning-rate scale", ("training", "optimizer"), "head_learn_rate_scale"),
    ("component learning-rate scales", ("training", "before_update"), "scales"),
    ("peak learning rate", ("training", "optimizer", "learn_rate"), "initial_rate"),
    ("training dropout", ("training",), "dropout"),
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
            section = section.get(part) or {}  # a null block (before_update) reads as none
        candidates = [section, section.get("embed", {}), section.get("encode", {})]
        found[column] = next((c[key] for c in candidates if key in c), None)
    return found


def time_file_value(folder: Path, label: str) -> Optional[str]:
    """The value of the line starting with ``label`` in ``FOLDER-time.txt`` (``/usr/bin/time
    -v -o`` beside the output folder, as the README's training commands write it); None
    without the file or the line."""
    path = folder.with_name(f"{folder.name}-time.txt")
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.strip().startswith(label):
            return line.rsplit(" ", 1)[1]
    return None


def train_minutes(folder: Path) -> Optional[float]:
    """Wall minutes of the run from its time file."""
    value = time_file_value(folder, "Elapsed (wall clock)")
    if value is None:
        return None
    parts = [float(p) for p in value.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts))) / 60


def peak_rss_mb(folder: Path) -> Optional[float]:
    """Peak resident memory of the run (MB) from its time file: #24 wants every step of
    the main job under 4 GB, training included."""
    value = time_file_value(folder, "Maximum resident set size")
    return None if value is None else round(int(value) / 1024, 1)


def gold_entity_scores(model: Path, files: List[Path]) -> List[Dict[str, float]]:
    """Relation macro-F and micro-F per file with the gold entities, as ``spacy-xlie
    evaluate`` scores them (the fp32 encoder, as training evaluated it), in file order."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        subprocess.run([sys.executable, "-m", "spacy_xlie", "evaluate", str(model),
                        *map(str, files), "--gold-ents", "--output", str(out),
                        "--quantize", "off"], check=True, stdout=subprocess.DEVNULL)
        rows = json.loads(out.read_text())["datasets"].values()
    return [{"macro_f": row["rel_macro_f"], "micro_f": row["rel_micro_f"]} for row in rows]


def dev_score(model: Path, meta: Dict[str, Any]) -> float:
    """The score the training loop kept ``model-best`` by: its config's
    ``[training.score_weights]`` over the dev scores in ``meta.json``."""
    from spacy.util import load_config

    weights = load_config(model / "config.cfg")["training"]["score_weights"]
    return sum(weight * meta["performance"].get(name, 0.0)
               for name, weight in weights.items() if weight)


def dev_score_cell(row: Dict[str, Any]) -> str:
    return f"{100 * row['dev_score']:.1f}" if "dev_score" in row else ""


def minutes_cell(row: Dict[str, Any]) -> str:
    return f"{row['train_minutes']:.1f}" if row.get("train_minutes") is not None else ""


def rss_cell(row: Dict[str, Any]) -> str:
    return f"{row['peak_rss_mb']:,.0f}" if row.get("peak_rss_mb") is not None else ""


def setting_cell(value: Any) -> str:
    """A setting as the config spells it: a float parsed from a command-line override
    (0.0003 read back as 0.00030000000000000003) rounded back to its written digits."""
    return repr(round(value, 12)) if isinstance(value, float) else str(value)


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
        "none). In the other settings columns, None: not recorded (a run from before the setting, "
        "at the default of its time, or a row reused from a report older than the column). "
        "Train minutes and peak RSS: from the run's `/usr/bin/time -v` file, where there "
        "is one (the machine was not kept quiet for every run). Dev score: what the "
        "training loop kept its best checkpoint by (the "
        "config's `score_weights` over its dev stream). Scores in %.", "",
        "| run | " + " | ".join(columns) + " | KBP37 dev macro-F | KBP37 dev micro-F "
        "| dev entity F | dev score | train minutes | peak RSS MB | note |",
        "|---|" + "---|" * len(columns) + "---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report["runs"]:
        cells = [setting_cell(row["settings"].get(column)) for column in columns]
        lines.append(f"| {row['name']} | " + " | ".join(cells) +
                     f" | {100 * row['kbp37_dev']['macro_f']:.1f} "
                     f"| {100 * row['kbp37_dev']['micro_f']:.1f} "
                     f"| {100 * row['dev_ents_f']:.1f} | {dev_score_cell(row)} "
                     f"| {minutes_cell(row)} | {rss_cell(row)} | {row['note']} |")
    if report.get("tests"):
        lines += ["", *ablation_markdown(report)]
    return "\n".join(lines) + "\n"


def macro_scores(run: Dict[str, Any], tests: List[str]) -> Dict[str, float]:
    """One run's relation macro-F with the gold entities: KBP37 dev, then each test file."""
    return {"KBP37 dev": run["kbp37_dev"]["macro_f"],
            **{name: run["test"][name]["macro_f"] for name in tests}}


def ablation_rows(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Per run: its :func:`macro_scores` and, when the report names a base run, their
    differences from the base's (empty for the base itself)."""
    tests = report["tests"]
    base = next((run for run in report["runs"] if run["name"] == report.get("base")), None)
    base_scores = macro_scores(base, tests) if base else {}
    rows = []
    for run in report["runs"]:
        scores = macro_scores(run, tests)
        effect = ({k: v - base_scores[k] for k, v in scores.items()}
                  if base and run is not base else {})
        rows.append({"name": run["name"], "note": run["note"], "scores": scores,
                     "effect": effect, "train_minutes": run.get("train_minutes")})
    return rows


def ablation_markdown(report: Dict[str, Any]) -> List[str]:
    """The runs' relation macro-F with the gold entities on KBP37 dev (what the recipe was
    chosen on) and on the test files (shown only), with the difference from the base run."""
    rows = ablation_rows(report)
    names = ["KBP37 dev", *report["tests"]]
    where = ("on KBP37 dev and on the test files, which show what each change did in other "
             "languages and were not used to choose" if report["tests"] else "on KBP37 dev")
    lines = ["Relation macro-F with the gold entities (official scorer, %) " + where
             + (f"; in brackets the difference from `{report['base']}`"
                if report.get("base") else "") + ".", "",
             "| run | " + " | ".join(names) + " | train minutes | note |",
             "|---|" + "---:|" * len(names) + "---:|---|"]
    for row in rows:
        cells = [f"{100 * row['scores'][n]:.1f}"
                 + (f" ({100 * row['effect'][n]:+.1f})" if row["effect"] else "")
                 for n in names]
        lines.append(f"| {row['name']} | " + " | ".join(cells)
                     + f" | {minutes_cell(row)} | {row['note']} |")
    return lines


def reused_run(out: Path, spec: str, tests: List[str]) -> Dict[str, Any]:
    """The row of run NAME in ``OUT/REPORT.json`` (``spec`` is ``REPORT:NAME``), which must
    have been scored on the same test files; its note says where it comes from."""
    report_name, _, name = spec.partition(":")
    path = out / f"{report_name}.json"
    if not path.exists():
        raise ValueError(f"--reuse {spec}: no report {path}")
    runs = {run["name"]: run for run in json.loads(path.read_text())["runs"]}
    if name not in runs:
        raise ValueError(f"--reuse {spec}: {path} has no run {name!r} (it has {sorted(runs)})")
    run = runs[name]
    missing = [test for test in tests if test not in run.get("test", {})]
    if missing:
        raise ValueError(f"--reuse {spec}: {path} did not score it on {', '.join(missing)}")
    return {**run, "note": f"{run['note']} (as measured in {path.name})"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", help="NAME=DIR: a training output folder")
    parser.add_argument("--note", action="append", default=[],
                        help="NAME=TEXT: what else differs for that run (a code change)")
    parser.add_argument("--dev", type=Path, default=Path("corpus/kbp37_dev.spacy"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--report", default="e5small_runs",
                        help="file name of the report (NAME.json, NAME.md)")
    parser.add_argument("--test", type=Path, action="append", default=[],
                        help="a test .spacy file (RELX DE, FR) scored with the gold entities "
                             "for an ablation table: shown, never used to choose")
    parser.add_argument("--reuse", action="append", default=[],
                        help="REPORT:NAME: a run's row from REPORT.json in --out, not rerun")
    parser.add_argument("--base", default=None,
                        help="NAME of the run the others are compared with")
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    notes = dict(note.partition("=")[::2] for note in args.note)
    tests = [path.stem for path in args.test]
    try:
        runs = [reused_run(args.out, spec, tests) for spec in args.reuse]
    except ValueError as error:
        sys.exit(str(error))
    names = [run["name"] for run in runs] + [spec.partition("=")[0] for spec in args.runs]
    if not names:
        sys.exit("no runs: give NAME=DIR or --reuse REPORT:NAME")
    if args.base is not None and args.base not in names:
        sys.exit(f"--base {args.base}: not one of the runs")
    for spec in args.runs:
        name, _, folder = spec.partition("=")
        model = Path(folder) / "model-best"
        meta = json.loads((model / "meta.json").read_text())
        dev, *test = gold_entity_scores(model, [args.dev, *args.test])
        runs.append({"name": name, "note": notes.get(name, ""), "model": str(model),
                     "settings": settings(model), "kbp37_dev": dev,
                     "test": {path.stem: scores for path, scores in zip(args.test, test)},
                     "dev_ents_f": meta["performance"]["ents_f"],
                     "train_minutes": train_minutes(Path(folder)),
                     "peak_rss_mb": peak_rss_mb(Path(folder)),
                     "dev_score": dev_score(model, meta)})
        print(name, runs[-1]["kbp37_dev"], runs[-1]["test"], flush=True)
    report = {"command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(), "runs": runs,
              "tests": tests, "base": args.base}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / f"{args.report}.json")
    write_text(markdown(report), args.out / f"{args.report}.md")


if __name__ == "__main__":
    main()
