"""The sentencizer's ``abbreviation_length``, compared on English dev data.

    python bench/sentencizer.py --data-dir ../shared/data --out bench/results \
        --model training/e5small/model-best --lengths 0 1 2

``xlie_sentencizer`` drops a sentence start after a short title-case abbreviation
("Dr. Angela Merkel"; ``spacy_xlie/pipeline/sentencizer.py``). On raw text the extractor
pairs entities within one sentence, so a false split costs the relations across it and a
missed boundary adds pairs across two sentences. Each value of ``--lengths`` is scored on
one loaded pipeline, nothing retrained, on English dev data only (what a pipeline change is
chosen on):

* boundaries: KBP37 dev's raw sentences (one sentence a doc, markers removed): the splits
  inside them (false splits, but for the few docs that glue two sentences), and, with each
  two consecutive sentences joined by a space, the seams found as a sentence start;
* KBP37 dev's raw sentences through the whole pipeline, scored as RELX's are in
  ``bench/end_to_end.py`` (the annotated pair found, relations on it with exact and with
  overlapping boundaries);
* the relation macro-F with the gold entities on ``--dev-corpus`` (the extractor pairs them
  within one sentence too).

Writes ``sentencizer.json`` and ``sentencizer.md`` to ``--out``.
"""

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from end_to_end import kbp37_dev_section, log, pct  # noqa: E402

#: Words before a false split listed in the report, most frequent first
TOP_WORDS = 12


def sentencizer_pipe(nlp):
    """The pipeline's ``xlie_sentencizer``."""
    names = [name for name in nlp.pipe_names
             if nlp.get_pipe_meta(name).factory == "xlie_sentencizer"]
    if not names:
        raise SystemExit("the pipeline has no xlie_sentencizer")
    return nlp.get_pipe(names[0])


def segment(nlp, texts: List[str]) -> List[Any]:
    """``texts`` tokenised and split into sentences, nothing else run."""
    sentencizer = sentencizer_pipe(nlp)
    return [sentencizer(nlp.make_doc(text)) for text in texts]


def boundary_counts(nlp, texts: List[str]) -> Dict[str, Any]:
    """Splits inside one-sentence docs (and the word before each) and seams found when
    consecutive texts are joined by a space."""
    inside = Counter()
    for doc in segment(nlp, texts):
        for sent in list(doc.sents)[1:]:
            inside[doc[sent.start - 2].text if sent.start >= 2 else ""] += 1
    pairs = list(zip(texts[0::2], texts[1::2]))
    joined = segment(nlp, [f"{first} {second}" for first, second in pairs])
    found = sum(any(sent.start_char == len(first) + 1 for sent in doc.sents)
                for (first, _), doc in zip(pairs, joined))
    missed = len(pairs) - found
    return {"docs": len(texts), "splits_inside": sum(inside.values()),
            "seams": len(pairs), "seams_missed": missed,
            "errors": sum(inside.values()) + missed,
            "words_before_splits": dict(inside.most_common(TOP_WORDS))}


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# The sentencizer's `abbreviation_length`, on English dev data", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}). Model: "
             f"`{report['model']}`, loaded once; only the setting changes between rows "
             f"(nothing retrained). Boundaries: KBP37 dev's {report['docs']:,} raw sentences "
             "(one a doc): splits inside them, and seams missed when each two consecutive "
             "sentences are joined by a space. Relations: KBP37 dev's raw sentences through "
             "the whole pipeline (as `bench/end_to_end.py` scores RELX), and with the gold "
             f"entities of `{report['dev_corpus']}`. Scores in %.", "",
             "| abbreviation_length | splits inside | seams missed | boundary errors | "
             "relations micro-F exact | macro-F exact | micro-F overlap | macro-F overlap | "
             "gold-entity macro-F |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for value, row in report["rows"].items():
        b, k = row["boundaries"], row["kbp37_dev"]
        lines.append(f"| {value} | {b['splits_inside']} | {b['seams_missed']} of {b['seams']} "
                     f"| {b['errors']} | {pct(k['exact']['micro_f'])} | "
                     f"{pct(k['exact']['macro_f'])} | {pct(k['overlap']['micro_f'])} | "
                     f"{pct(k['overlap']['macro_f'])} | {pct(row['gold_entity_macro_f'])} |")
    lines += ["", "Words before the splits inside the sentences, per setting:", ""]
    for value, row in report["rows"].items():
        words = ", ".join(f"`{w}` {n}" for w, n in row["boundaries"]["words_before_splits"]
                          .items())
        lines.append(f"- {value}: {words}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = dev_bench.parser(__doc__)
    parser.add_argument("--lengths", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dev-corpus", type=Path, default=Path("corpus/kbp37_dev.spacy"))
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    source = args.data_dir / dev_bench.KBP37_DEV
    dev_bench.require(source, args.dev_corpus)
    from spacy_xlie.corpora.marked import read_marked

    nlp = dev_bench.load_pipeline(args.model)
    sentencizer = sentencizer_pipe(nlp)
    labels = dev_bench.relation_labels(nlp)
    texts = [doc.text for doc in read_marked(source, "en")]
    rows = {}
    for length in args.lengths:
        sentencizer.abbreviation_length = length
        log(f"abbreviation_length = {length}")
        rows[str(length)] = {
            "boundaries": boundary_counts(nlp, texts),
            "kbp37_dev": kbp37_dev_section(nlp, args.data_dir, labels, args.batch_size, 0),
            "gold_entity_macro_f": dev_bench.gold_entity_macro_f(nlp, args.dev_corpus),
        }
    report = {"model": args.model, "docs": len(texts), "dev_corpus": str(args.dev_corpus),
              **dev_bench.stamp(), "rows": rows}
    dev_bench.write_report(report, markdown, args.out, "sentencizer")


if __name__ == "__main__":
    main()
