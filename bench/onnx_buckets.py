"""The int8 encoder's calls with and without length buckets.

    python bench/onnx_buckets.py --data-dir ../shared/data --out bench/results \
        --model training/e5small/model-best --sentences-per-doc 20 --rounds 2

``onnx_length_buckets`` (``xlie_transformer``) runs the rows of each int8 encoder call in
groups of similar length, each cut to its own longest, instead of all padded to the
call's longest (``spacy_xlie/ml/onnx_encoder.py``). One loaded pipeline (int8 on CPU, as
users run it), the setting switched between passes, nothing retrained, English dev data:

* words/s on KBP37 dev's raw sentences as separate docs and joined into docs of
  ``--sentences-per-doc`` with one window a sentence (``spacy_xlie.sentence_spans.v1``),
  each way timed ``--rounds`` times, alternating, ``--batch-size`` sentences a batch;
* what the int8 pipeline predicts against the fp32 one (loaded apart, ``quantize`` off):
  KBP37 dev relations with the gold entities and WikiANN en validation entities, the docs
  whose predictions differ from fp32's and the scores (as the int8 dev table of
  ``bench/results/relation_extractor.md``).

Writes ``onnx_buckets.json`` and ``onnx_buckets.md`` to ``--out``.
"""

import os
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from doc_windows import doc_shapes, joined_docs, set_getter, timed  # noqa: E402
from end_to_end import log, pct  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SETTINGS = (False, True)


def set_buckets(nlp: Any, on: bool) -> None:
    """Switch the int8 encoder's length buckets (the pipeline must be int8)."""
    stack = nlp.get_pipe("transformer")._int8
    if stack is None:
        raise SystemExit("the pipeline loaded without an int8 encoder (a GPU, or quantize off)")
    stack["encoder"].length_buckets = on


def speed(nlp: Any, texts: List[str], per_doc: int, rounds: int, batch_size: int
          ) -> Dict[str, Dict[str, Any]]:
    """Words/s of each (setting, separate or joined) way, rounds alternating."""
    inputs = doc_shapes(texts, joined_docs(texts, per_doc)[0], per_doc, batch_size)
    words = sum(len(nlp.make_doc(text)) for text in texts)
    seconds: Dict[str, Dict[str, List[float]]] = {
        str(on).lower(): {shape: [] for shape in inputs} for on in SETTINGS}
    for _ in range(rounds):
        for on in SETTINGS:
            set_buckets(nlp, on)
            for shape, (docs, size) in inputs.items():
                seconds[str(on).lower()][shape].append(timed(nlp, docs, size)[1])
    return {setting: {shape: {"seconds": [round(s, 2) for s in times],
                              "words_per_second": round(words / statistics.mean(times), 1)}
                      for shape, times in shapes.items()}
            for setting, shapes in seconds.items()}


def fidelity(nlp: Any, model: str) -> Dict[str, Dict[str, Any]]:
    """Dev scores and docs differing from fp32's predictions, per setting."""
    import spacy
    from relation_extractor import FP32, dev_predictions

    fp32 = spacy.load(model, config=FP32)
    set_getter(fp32, "sentence_spans")
    _, reference = dev_predictions(fp32, REPO)
    rows = {}
    for on in SETTINGS:
        set_buckets(nlp, on)
        row, predictions = dev_predictions(nlp, REPO)
        for key, docs in predictions.items():
            row[f"{key}_differing_docs"] = sum(
                mine != theirs for mine, theirs in zip(docs, reference[key]))
            row[f"{key}_docs"] = len(docs)
        rows[str(on).lower()] = row
    return rows


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# The int8 encoder's length buckets", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}). Model: "
             f"`{report['model']}` loaded once in int8 (its window getter set to "
             "`spacy_xlie.sentence_spans.v1`), only `onnx_length_buckets` switched between "
             f"passes. Words/s: KBP37 dev's {report['sentences']:,} raw sentences as separate "
             f"docs and joined into docs of {report['sentences_per_doc']}, mean of "
             f"{report['rounds']} alternating rounds. Differing docs: predictions unlike the "
             "fp32 pipeline's (relations with KBP37 dev's gold entities; WikiANN en "
             "validation entities). Scores in %.", "",
             "| onnx_length_buckets | words/s, separate | words/s, joined | KBP37 dev macro-F "
             "| docs differing from fp32 | WikiANN en val F1 | docs differing from fp32 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for setting, shapes in report["speed"].items():
        row = report["fidelity"][setting]
        lines.append(
            f"| {setting} | {shapes['separate']['words_per_second']:,.0f} | "
            f"{shapes['joined']['words_per_second']:,.0f} | {pct(row['macro_f'])} | "
            f"{row['relations_differing_docs']} of {row['relations_docs']:,} | "
            f"{pct(row.get('wikiann_en_val_f'))} | "
            f"{row.get('entities_differing_docs', '-')} of {row.get('entities_docs', 0):,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = dev_bench.parser(__doc__)
    parser.add_argument("--sentences-per-doc", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    source = args.data_dir / dev_bench.KBP37_DEV
    dev_bench.require(source)
    from spacy_xlie.corpora.marked import read_marked

    nlp = dev_bench.load_pipeline(
        args.model, config={"components": {"transformer": {"quantize": "int8"}}})
    set_getter(nlp, "sentence_spans")
    texts = [doc.text for doc in read_marked(source, "en", nlp=nlp)]
    log(f"KBP37 dev: {len(texts)} raw sentences; timing")
    report = {"model": args.model, "sentences": len(texts),
              "sentences_per_doc": args.sentences_per_doc, "rounds": args.rounds,
              **dev_bench.stamp(),
              "speed": speed(nlp, texts, args.sentences_per_doc, args.rounds, args.batch_size)}
    log("English dev predictions against fp32")
    report["fidelity"] = fidelity(nlp, args.model)
    dev_bench.write_report(report, markdown, args.out, "onnx_buckets")


if __name__ == "__main__":
    main()
