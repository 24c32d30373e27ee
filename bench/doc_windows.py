"""The encoder's windows on long docs: strided windows against one window per sentence.

    python bench/doc_windows.py --data-dir ../shared/data --out bench/results \
        --model training/e5small/model-best --sentences-per-doc 20 --rounds 2

A user's doc is often an article; the pipelines are trained and benchmarked on one-sentence
docs. This runs KBP37 dev's raw sentences (English dev data, markers removed) through one
loaded pipeline with its transformer's windows (``get_spans``) set to each getter in turn,
nothing retrained:

* as separate docs, one sentence each (what ``bench/end_to_end.py`` measures), and
* joined by spaces into docs of ``--sentences-per-doc`` sentences, each joined doc's
  entities and relations then cut back into its sentences,

and scores every sentence's relations on its annotated pair as ``bench/end_to_end.py``
scores raw text (exact and overlapping boundaries), and the relation macro-F with the gold
entities of ``--dev-corpus`` per getter. Words/s: each way timed ``--rounds`` times,
alternating, ``--batch-size`` sentences a batch either way. Writes ``doc_windows.json``
and ``doc_windows.md`` to ``--out``.
"""

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from end_to_end import log, pair_scores, pct  # noqa: E402

#: The getters compared, by name: (registry name, settings)
GETTERS = {
    "strided_spans": ("spacy-transformers.strided_spans.v1", {"window": 128, "stride": 96}),
    "sentence_spans": ("spacy_xlie.sentence_spans.v1", {"window": 128, "stride": 96}),
}


def joined_docs(texts: Sequence[str], per_doc: int
                ) -> Tuple[List[str], List[List[Tuple[int, int]]]]:
    """``texts`` joined by spaces, ``per_doc`` a doc, and each text's character range in
    its joined doc."""
    joined, ranges = [], []
    for first in range(0, len(texts), per_doc):
        group = texts[first:first + per_doc]
        starts = [sum(len(t) + 1 for t in group[:i]) for i in range(len(group))]
        joined.append(" ".join(group))
        ranges.append([(start, start + len(text)) for start, text in zip(starts, group)])
    return joined, ranges


def doc_shapes(texts: List[str], joined: List[str], per_doc: int, batch_size: int
               ) -> Dict[str, Tuple[List[str], int]]:
    """The texts of each doc shape and their ``nlp.pipe`` batch size: ``batch_size``
    sentences a batch either way."""
    return {"separate": (texts, batch_size), "joined": (joined, max(1, batch_size // per_doc))}


def cut_back(doc: Any, ranges: Sequence[Tuple[int, int]]) -> List[Any]:
    """One doc per character range of ``doc``, with the entities and the relations whose
    two arguments lie inside it."""
    from spacy_xlie.relations import Relation, add_relations

    pieces = []
    for start, end in ranges:
        piece = doc.char_span(start, end, alignment_mode="expand").as_doc()
        inside = [rel for rel in doc._.relations
                  if start <= rel.head.start_char and rel.head.end_char <= end
                  and start <= rel.tail.start_char and rel.tail.end_char <= end]
        add_relations(piece, [
            Relation(piece.char_span(rel.head.start_char - start, rel.head.end_char - start),
                     piece.char_span(rel.tail.start_char - start, rel.tail.end_char - start),
                     rel.label, rel.score, rel.source, rel.spans_key)
            for rel in inside])
        pieces.append(piece)
    return pieces


def set_getter(nlp: Any, name: str) -> None:
    """Make the pipeline's transformer cut its windows with getter ``name``."""
    from spacy.util import registry

    registered, settings = GETTERS[name]
    nlp.get_pipe("transformer").model.attrs["get_spans"] = registry.span_getters.get(
        registered)(**settings)


def timed(nlp: Any, texts: List[str], batch_size: int) -> Tuple[List[Any], float]:
    """The pipeline's docs for ``texts`` and the seconds they took."""
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    return docs, time.perf_counter() - start


def measure(nlp: Any, gold: List[Any], per_doc: int, rounds: int, batch_size: int
            ) -> Dict[str, Dict[str, Any]]:
    """Docs and seconds of every (getter, separate or joined) way, rounds alternating."""
    texts = [doc.text for doc in gold]
    joined, ranges = joined_docs(texts, per_doc)
    shapes = doc_shapes(texts, joined, per_doc, batch_size)
    ways = {(getter, shape) for getter in GETTERS for shape in shapes}
    seconds: Dict[Tuple[str, str], List[float]] = {way: [] for way in ways}
    docs: Dict[Tuple[str, str], List[Any]] = {}
    for _ in range(rounds):
        for getter, shape in sorted(ways):
            set_getter(nlp, getter)
            out, took = timed(nlp, *shapes[shape])
            seconds[(getter, shape)].append(took)
            docs[(getter, shape)] = out
    words = sum(len(nlp.make_doc(text)) for text in texts)
    rows: Dict[str, Dict[str, Any]] = {}
    for getter, shape in sorted(ways):
        out = docs[(getter, shape)]
        per_sentence = out if shape == "separate" else [
            piece for doc, spans in zip(out, ranges) for piece in cut_back(doc, spans)]
        rows.setdefault(getter, {})[shape] = {
            "docs": len(out), "seconds": [round(s, 2) for s in seconds[(getter, shape)]],
            "words_per_second": round(words / statistics.mean(seconds[(getter, shape)]), 1),
            **score(nlp, per_sentence, gold)}
    return rows


def score(nlp: Any, predicted: List[Any], gold: List[Any]) -> Dict[str, Any]:
    from spacy.training import Example

    labels = dev_bench.relation_labels(nlp)
    examples = [Example(p, g) for p, g in zip(predicted, gold)]
    return {boundaries: pair_scores(examples, labels, boundaries)
            for boundaries in ("exact", "overlap")}


def gold_entity_macro_f(nlp: Any, corpus: Path) -> Dict[str, float]:
    """The relation macro-F with ``corpus``'s gold entities, per getter."""
    scores = {}
    for getter in GETTERS:
        set_getter(nlp, getter)
        scores[getter] = dev_bench.gold_entity_macro_f(nlp, corpus)
    return scores


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# The encoder's windows on long docs", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}). Model: "
             f"`{report['model']}`, loaded once; only the transformer's window getter "
             f"changes between rows (nothing retrained; window 128, stride 96 in both). "
             f"KBP37 dev's {report['sentences']:,} raw sentences as separate docs and joined "
             f"by spaces into docs of {report['sentences_per_doc']}, every sentence scored "
             "on its annotated pair as `bench/end_to_end.py` scores raw text (joined docs "
             "cut back into their sentences first). Words/s: mean of the rounds, ways "
             "alternating. Scores in %.", "",
             "| windows | docs | relations micro-F exact | macro-F exact | micro-F overlap | "
             "macro-F overlap | words/s | gold-entity macro-F |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for getter, shapes in report["rows"].items():
        for shape, row in shapes.items():
            lines.append(
                f"| `{GETTERS[getter][0]}` | {shape} | {pct(row['exact']['micro_f'])} | "
                f"{pct(row['exact']['macro_f'])} | {pct(row['overlap']['micro_f'])} | "
                f"{pct(row['overlap']['macro_f'])} | {row['words_per_second']:,.0f} | "
                f"{pct(report['gold_entity_macro_f'][getter])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = dev_bench.parser(__doc__)
    parser.add_argument("--sentences-per-doc", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dev-corpus", type=Path, default=Path("corpus/kbp37_dev.spacy"))
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    source = args.data_dir / dev_bench.KBP37_DEV
    dev_bench.require(source, args.dev_corpus)
    from spacy_xlie.corpora.marked import read_marked

    nlp = dev_bench.load_pipeline(args.model)
    gold = list(read_marked(source, "en", nlp=nlp))
    log(f"KBP37 dev: {len(gold)} raw sentences, docs of {args.sentences_per_doc} joined")
    rows = measure(nlp, gold, args.sentences_per_doc, args.rounds, args.batch_size)
    report = {"model": args.model, "sentences": len(gold),
              "sentences_per_doc": args.sentences_per_doc, "rounds": args.rounds,
              **dev_bench.stamp(), "rows": rows,
              "gold_entity_macro_f": gold_entity_macro_f(nlp, args.dev_corpus)}
    dev_bench.write_report(report, markdown, args.out, "doc_windows")


if __name__ == "__main__":
    main()
