"""What each added entity pair costs the relation extractor: one sentence, 2 to 10 entities.

    python bench/pair_cost.py --model training/e5small/model-best --out bench/results

The extractor scores every candidate pair of a sentence's entities, so its work grows
with the square of the entities while the encoder's stays one pass per doc. This
measures that growth on sentences that name ten entities (English and German, in
:data:`SENTENCES`): the sentence is encoded once, then the extractor runs with its first
k entities (gold, so the recognizer's choices don't move the count) for k = 2..10, and a
least-squares line through (candidate pairs, seconds) gives the cost of one more pair and
the fixed cost of a call. Each time is the median of ``--repeats`` calls (these machines
are noisy). Throughput: ``--batch`` copies of the sentence through the whole pipeline
(recognizer off, entities given) with 2 and with 10 entities, in words/s. Writes
``pair_cost.json`` and ``pair_cost.md`` to ``--out``, and puts the figures into
``relation_extractor.json`` / ``.md`` there (key ``pair_cost``, the section "Cost per
added entity pair"), which ``bench/relation_extractor.py`` keeps when it reruns.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
#: The ten entities both sentences name, with their types, in order of mention.
MENTIONS: List[Tuple[str, str]] = [
    ("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Pedro Sánchez", "PER"),
    ("Mark Rutte", "PER"), ("Mario Draghi", "PER"), ("Berlin", "LOC"),
    ("Siemens", "ORG"), ("Airbus", "ORG"), ("BASF", "ORG"), ("Volkswagen", "ORG"),
]
SENTENCES: Dict[str, str] = {
    "en": "Angela Merkel and Emmanuel Macron met Pedro Sánchez, Mark Rutte and Mario Draghi "
          "in Berlin, where executives of Siemens, Airbus, BASF and Volkswagen joined them.",
    "de": "Angela Merkel und Emmanuel Macron trafen Pedro Sánchez, Mark Rutte und Mario "
          "Draghi in Berlin, wo Manager von Siemens, Airbus, BASF und Volkswagen dazukamen.",
}


def entity_spans(doc, mentions: Sequence[Tuple[str, str]]) -> list:
    """The mentions as spans of ``doc``, found in order (each after the previous one)."""
    spans, start = [], 0
    for text, label in mentions:
        begin = doc.text.index(text, start)
        span = doc.char_span(begin, begin + len(text), label=label)
        if span is None:
            raise ValueError(f"{text!r} does not fall on token boundaries in {doc.text!r}")
        spans.append(span)
        start = begin + len(text)
    return spans


def call_seconds(call: Callable[[], Any], repeats: int) -> List[float]:
    """Seconds of each of ``repeats`` calls, after one untimed call (lazy parts, caches)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def encoded(nlp, text: str):
    """``text`` through every component before the first one that sets entities or
    relations (tokenizer, sentencizer, transformer), so the extractor can be timed alone."""
    from spacy_xlie.entities import entity_components, relation_extractors

    stop = set(entity_components(nlp)) | set(relation_extractors(nlp))
    doc = nlp.make_doc(text)
    for name, proc in nlp.pipeline:
        if name in stop:
            break
        doc = proc(doc)
    return doc


def per_entity_count(nlp, text: str, repeats: int) -> List[Dict[str, Any]]:
    from spacy_xlie.entities import relation_extractors

    extractor = nlp.get_pipe(relation_extractors(nlp)[0])
    doc = encoded(nlp, text)
    spans = entity_spans(doc, MENTIONS)
    rows = []
    for k in range(2, len(spans) + 1):
        doc.ents = spans[:k]
        seconds = statistics.median(call_seconds(lambda: extractor(doc), repeats))
        rows.append({"entities": k, "pairs": len(extractor.scored_pairs(doc)),
                     "extractor_ms": round(1000 * seconds, 3)})
    return rows


def throughput(nlp, text: str, k: int, batch: int, rounds: int) -> float:
    """Words/s of the pipeline with its entity components off over ``batch`` copies with
    the first ``k`` entities given; the fastest of ``rounds``."""
    from spacy_xlie.entities import entity_components

    def docs():
        for _ in range(batch):
            doc = nlp.make_doc(text)
            doc.ents = entity_spans(doc, MENTIONS[:k])
            yield doc

    with nlp.select_pipes(disable=entity_components(nlp)):
        best = min(call_seconds(lambda: list(nlp.pipe(docs(), batch_size=batch)), rounds))
    return len(nlp.make_doc(text)) * batch / best


def measure(nlp, lang: str, repeats: int, batch: int, rounds: int) -> Dict[str, Any]:
    text = SENTENCES[lang]
    rows = per_entity_count(nlp, text, repeats)
    fit = statistics.linear_regression([r["pairs"] for r in rows],
                                       [r["extractor_ms"] for r in rows])
    encode_ms = 1000 * statistics.median(call_seconds(lambda: encoded(nlp, text), repeats))
    return {
        "words": len(nlp.make_doc(text)), "rows": rows,
        "ms_per_pair": round(fit.slope, 4), "ms_per_call": round(fit.intercept, 3),
        "encode_ms": round(encode_ms, 3),
        "words_per_second": {
            f"{k}_entities": round(throughput(nlp, text, k, batch, rounds), 1)
            for k in (2, len(MENTIONS))
        },
    }


def markdown(report: Dict[str, Any]) -> str:
    lines = [
        "# What an added entity pair costs the relation extractor", "",
        f"Model: `{report['model']}`. Command: `{report['command']}`. Run {report['date']} "
        f"on {report['machine']}.", "",
        "One sentence naming ten entities, encoded once; the extractor alone with its first "
        "k entities given (candidate pairs: every pair in the sentence), the median of "
        f"{report['repeats']} calls. Per pair and per call: a least-squares line through "
        "(pairs, ms). Encoder: the components before the recognizer (tokenizer, "
        "sentencizer, transformer) on the same sentence, one doc a call.", "",
        "| language | words | encoder ms | extractor ms, fewest entities "
        "| extractor ms, most entities | ms per added pair | ms per call "
        f"| words/s, {report['batch']} copies, 2 entities | words/s, 10 entities |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lang, row in report["languages"].items():
        first, last = row["rows"][0], row["rows"][-1]
        wps = row["words_per_second"]
        lines.append(
            f"| {lang} | {row['words']} | {row['encode_ms']:.1f} "
            f"| {first['extractor_ms']:.2f} ({first['entities']}, {first['pairs']} pairs) "
            f"| {last['extractor_ms']:.2f} ({last['entities']}, {last['pairs']} pairs) "
            f"| {row['ms_per_pair']:.3f} "
            f"| {row['ms_per_call']:.2f} | {wps['2_entities']:,.0f} "
            f"| {wps['10_entities']:,.0f} |")
    lines += ["", "Per entity count (first language):", "",
              "| entities | pairs | extractor ms |", "|---:|---:|---:|"]
    first_lang = next(iter(report["languages"].values()))
    lines += [f"| {r['entities']} | {r['pairs']} | {r['extractor_ms']:.2f} |"
              for r in first_lang["rows"]]
    return "\n".join(lines) + "\n"


SECTION = "## Cost per added entity pair"


def report_section(pair_cost: Dict[str, Any]) -> List[str]:
    """The figures as a section of ``relation_extractor.md``."""
    lines = ["", f"{SECTION} (a sentence naming 10 entities)", "",
             f"From `{pair_cost['command']}` ({pair_cost['date']}, model "
             f"`{pair_cost['model']}`; details in `pair_cost.md`): the sentence is encoded "
             "once, the extractor then scores every pair of its first k entities.", "",
             "| language | pairs at 10 entities | extractor ms at 10 entities "
             "| ms per added pair | encoder ms | pipeline words/s, 2 entities "
             "| pipeline words/s, 10 entities |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for lang, row in pair_cost["languages"].items():
        last, wps = row["rows"][-1], row["words_per_second"]
        lines.append(f"| {lang} | {last['pairs']} | {last['extractor_ms']:.2f} "
                     f"| {row['ms_per_pair']:.3f} | {row['encode_ms']:.1f} "
                     f"| {wps['2_entities']:,.0f} | {wps['10_entities']:,.0f} |")
    return lines + [""]


def into_extractor_report(report: Dict[str, Any], out: Path) -> None:
    """``report`` as ``pair_cost`` in ``relation_extractor.json`` and as the last section
    of its Markdown twin (replacing an earlier one), when that report exists."""
    from spacy_xlie.util.io import write_json, write_text

    json_path, md_path = out / "relation_extractor.json", out / "relation_extractor.md"
    if not (json_path.exists() and md_path.exists()):
        return
    extractor = json.loads(json_path.read_text(encoding="utf8"))
    extractor["pair_cost"] = report
    text = md_path.read_text(encoding="utf8")
    kept = text.split("\n" + SECTION)[0].rstrip("\n")
    write_json(extractor, json_path)
    write_text(kept + "\n" + "\n".join(report_section(report)), md_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import spacy

    import spacy_xlie  # noqa: F401  (registers the components)
    from spacy_xlie.util.io import write_json, write_text

    nlp = spacy.load(args.model)
    report = {
        "command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "model": str(args.model),
        "pipeline": nlp.pipe_names, "repeats": args.repeats, "batch": args.batch,
        "languages": {lang: measure(nlp, lang, args.repeats, args.batch, args.rounds)
                      for lang in SENTENCES},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "pair_cost.json")
    write_text(markdown(report), args.out / "pair_cost.md")
    into_extractor_report(report, args.out)
    print(markdown(report))


if __name__ == "__main__":
    main()
