"""End-to-end benchmark: entities and relations from raw text, as a user gets them.

    python bench/end_to_end.py --data-dir ../shared/data --out bench/results \
        --model training/e5small/model-package

1. RELX (every language in the data folder): the raw sentences (markers removed, text
   otherwise as converted) go through the pipeline with no gold entities. Scored on the
   annotated pair only (RELX annotates one pair a sentence; see
   :func:`spacy_xlie.scorers.score_annotated_pairs`): (a) both entities of the pair found,
   exact and overlapping boundaries; (b) relations, micro P/R/F and the official macro-F,
   with exact and with overlapping boundaries; (c) the same extractor given the gold
   entities (recognizer and gazetteer off): the ceiling.
2. A reference row: Explosion's ``fr_core_news_sm`` as the recognizer in front of the same
   extractor (``spacy_xlie.compose.add_relation_extractor``, CoNLL label scheme) on RELX
   FR, when that package is installed (``pip install -e ".[bench]"``).
3. WikiANN test F1 of the pipeline's recognizer (spaCy's NER scorer, exact spans and
   types, on WikiANN's PER/ORG/LOC; also with every predicted label): English
   in-language, other languages zero-shot.
4. Words/s of the whole raw-text pipeline (``nlp.pipe`` over every RELX language).

Writes ``end_to_end.json`` and ``end_to_end.md`` to ``--out``. Keys read by the checks:
``relx[LANG]["overlap"|"exact"|"gold_entities"]["micro_f"]`` and ``wikiann_f1[LANG]``
(0-1 scale).
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
RELX_LANGS = ("en", "de", "fr", "es", "tr")
WIKIANN_LANGS = ("en", "de", "es")
#: WikiANN's entity types (PER, ORG, LOC): the recognizer's other types are outside them.
WIKIANN_LABELS = ("PER", "ORG", "LOC")
REFERENCE_NER = "fr_core_news_sm"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def relx_docs(data_dir: Path, lang: str, limit: int = 0) -> Optional[list]:
    """RELX's gold docs of ``lang``, the first ``limit`` (0: all; None when the file is
    absent)."""
    from spacy_xlie.corpora.marked import read_marked

    path = data_dir / "relx" / f"RELX_{lang}.txt"
    if not path.exists():
        return None
    docs = list(read_marked(path, lang, pretokenized=False))
    return docs[:limit] if limit else docs


def run_raw(nlp, gold: list, batch_size: int):
    """The pipeline on the gold docs' raw text: examples and seconds taken."""
    from spacy.training import Example

    texts = [doc.text for doc in gold]
    start = time.perf_counter()
    predicted = list(nlp.pipe(texts, batch_size=batch_size))
    seconds = time.perf_counter() - start
    return [Example(p, g) for p, g in zip(predicted, gold)], seconds


def run_gold_entities(nlp, gold: list, batch_size: int) -> list:
    """The pipeline on the gold tokens and entities, entity components off."""
    from spacy.tokens import Doc, Span
    from spacy.training import Example

    from spacy_xlie.entities import entity_components

    docs = []
    for ref in gold:
        doc = Doc(nlp.vocab, words=[t.text for t in ref],
                  spaces=[bool(t.whitespace_) for t in ref])
        doc.ents = [Span(doc, e.start, e.end, label=e.label_) for e in ref.ents]
        docs.append(doc)
    with nlp.select_pipes(disable=entity_components(nlp)):
        predicted = list(nlp.pipe(docs, batch_size=batch_size))
    return [Example(p, g) for p, g in zip(predicted, gold)]


def pair_scores(examples: list, labels, boundaries: str) -> Dict[str, Any]:
    from spacy_xlie.scorers import score_annotated_pairs

    s = score_annotated_pairs(examples, boundaries=boundaries, labels=labels)
    return {"pair_found": s["pair_found"], "micro_p": s["rel_micro_p"],
            "micro_r": s["rel_micro_r"], "micro_f": s["rel_micro_f"],
            "macro_f": s["rel_macro_f"], "docs": s["docs"]}


def off_token_entities(gold: list, make_doc: Callable[[str], Any]) -> float:
    """The share of ``gold``'s entities that no span of ``make_doc``'s tokens covers
    exactly (glued to a neighbour: ``d'Orléans``): no recognizer on those tokens can find
    them with exact boundaries."""
    total = missed = 0
    for ref in gold:
        doc = make_doc(ref.text)
        total += len(ref.ents)
        missed += sum(doc.char_span(e.start_char, e.end_char) is None for e in ref.ents)
    return missed / total if total else 0.0


def relx_section(nlp, data_dir: Path, labels, batch_size: int, limit: int) -> Dict[str, Any]:
    import spacy

    results: Dict[str, Any] = {}
    words = seconds = 0.0
    for lang in RELX_LANGS:
        gold = relx_docs(data_dir, lang, limit)
        if gold is None:
            log(f"RELX {lang}: not in {data_dir}, skipped")
            continue
        log(f"RELX {lang}: {len(gold)} raw sentences")
        examples, took = run_raw(nlp, gold, batch_size)
        words += sum(len(eg.predicted) for eg in examples)
        seconds += took
        results[lang] = {
            "exact": pair_scores(examples, labels, "exact"),
            "overlap": pair_scores(examples, labels, "overlap"),
            "gold_entities": pair_scores(run_gold_entities(nlp, gold, batch_size), labels,
                                         "exact"),
            "entities_per_doc": sum(len(eg.predicted.ents) for eg in examples) / len(examples),
            "off_token_entities": {
                "pipeline": off_token_entities(gold, nlp.make_doc),
                "spacy": off_token_entities(gold, spacy.blank(nlp.lang).make_doc)},
        }
    speed = {"words": int(words), "seconds": seconds,
             "words_per_second": words / seconds if seconds else 0.0}
    return {"relx": results, "speed": speed}


def kbp37_dev_section(nlp, data_dir: Path, labels, batch_size: int, limit: int
                      ) -> Optional[Dict[str, Any]]:
    """KBP37 dev's raw sentences scored as RELX's are: English dev data, the end-to-end
    figure a change to the pipeline is chosen on (None when the file is absent)."""
    from spacy_xlie.corpora.marked import read_marked

    path = data_dir / "kbp37" / "dev.txt"
    if not path.exists():
        log(f"KBP37 dev: not in {data_dir}, skipped")
        return None
    gold = list(read_marked(path, "en", pretokenized=False))
    gold = gold[:limit] if limit else gold
    log(f"KBP37 dev: {len(gold)} raw sentences")
    examples, _ = run_raw(nlp, gold, batch_size)
    return {"exact": pair_scores(examples, labels, "exact"),
            "overlap": pair_scores(examples, labels, "overlap")}


def reference_row(model: str, data_dir: Path, batch_size: int,
                  limit: int) -> Optional[Dict[str, Any]]:
    """``fr_core_news_sm`` + the extractor on raw RELX FR (None if not installed)."""
    import spacy

    from spacy_xlie.compose import add_relation_extractor

    try:
        nlp = spacy.load(REFERENCE_NER, exclude=["lemmatizer"])
    except OSError:
        log(f"{REFERENCE_NER} is not installed (pip install -e '.[bench]'): reference row skipped")
        return None
    pipe = add_relation_extractor(nlp, spacy.load(model), label_scheme="conll")
    gold = relx_docs(data_dir, "fr", limit)
    examples, _ = run_raw(nlp, gold, batch_size)
    return {"ner": f"{REFERENCE_NER} {nlp.meta.get('version')}", "lang": "fr",
            "exact": pair_scores(examples, pipe.labels, "exact"),
            "overlap": pair_scores(examples, pipe.labels, "overlap")}


def wikiann_section(nlp, data_dir: Path, limit: int, batch_size: int) -> Dict[str, Any]:
    """Span F1 of the pipeline's recognizer on each WikiANN test set present."""
    from spacy_xlie.corpora.wikiann import read_wikiann

    scores: Dict[str, Any] = {}
    for lang in WIKIANN_LANGS:
        path = data_dir / "wikiann" / lang / "test.conllu"
        if not path.exists():
            log(f"WikiANN {lang}: not in {data_dir}, skipped")
            continue
        gold = list(read_wikiann(path, lang, nlp=nlp))
        if limit:
            gold = gold[:limit]
        log(f"WikiANN {lang}: {len(gold)} test sentences")
        predicted = recognizer_predictions(nlp, gold, batch_size)
        prf, every_label = recognizer_prf(predicted, gold)
        scores[lang] = {"f": prf["ents_f"], "p": prf["ents_p"], "r": prf["ents_r"],
                        "sentences": len(gold),
                        "per_type": {k: v["f"] for k, v in sorted(prf["ents_per_type"].items())},
                        "every_label": {"f": every_label["ents_f"], "p": every_label["ents_p"],
                                        "r": every_label["ents_r"]},
                        "errors": span_errors(predicted, gold)}
    return scores


def recognizer_predictions(nlp, gold: List[Any], batch_size: int = 64) -> List[Any]:
    """The recognizer's docs (its encoder, ``ner`` and the entity filter after it) on the
    tokens of ``gold``."""
    from spacy.tokens import Doc

    keep = [name for name in nlp.pipe_names if name in ("transformer", "tok2vec", "ner")
            or nlp.get_pipe_meta(name).factory == "xlie_entity_filter"]
    docs = [Doc(nlp.vocab, words=[t.text for t in ref]) for ref in gold]
    with nlp.select_pipes(enable=keep):
        return list(nlp.pipe(docs, batch_size=batch_size))


def recognizer_prf(predicted: List[Any], gold: List[Any]
                   ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    return (get_ner_prf([Example(in_scheme(p), g) for p, g in zip(predicted, gold)]),
            get_ner_prf([Example(p, g) for p, g in zip(predicted, gold)]))


def span_errors(predicted: List[Any], gold: List[Any], top: int = 5) -> Dict[str, Any]:
    """What the recognizer's spans (WikiANN's types) are against the gold ones: ``exact``,
    ``wrong_type`` (same boundaries), ``longer`` (containing a gold span and more),
    ``shorter`` (inside a gold span), ``crossing`` (overlapping gold spans without either),
    ``spurious`` (overlapping none); gold spans no prediction overlaps are ``missed``.
    ``longer_by_first_word``: the words most often added in front of a gold span (the span
    is the gold one plus its leading word), with their counts."""
    counts = dict.fromkeys(("exact", "wrong_type", "longer", "shorter", "crossing",
                            "spurious", "missed"), 0)
    added: Counter = Counter()
    for doc, ref in zip(predicted, gold):
        spans = {(e.start, e.end): e.label_ for e in ref.ents}
        ents = in_scheme(doc).ents
        for ent in ents:
            counts[span_error(ent, spans)] += 1
            if (ent.start + 1, ent.end) in spans:
                added[ent[0].text] += 1
        counts["missed"] += sum(not any(e.start < end and start < e.end for e in ents)
                                for start, end in spans)
    return {**counts, "longer_by_first_word": dict(added.most_common(top))}


def span_error(ent: Any, gold: Dict[Tuple[int, int], str]) -> str:
    label = gold.get((ent.start, ent.end))
    if label is not None:
        return "exact" if label == ent.label_ else "wrong_type"
    overlapping = [(start, end) for start, end in gold if start < ent.end and ent.start < end]
    if not overlapping:
        return "spurious"
    if any(ent.start <= start and end <= ent.end for start, end in overlapping):
        return "longer"
    if any(start <= ent.start and ent.end <= end for start, end in overlapping):
        return "shorter"
    return "crossing"


def in_scheme(doc):
    """``doc`` with only the entities of WikiANN's types: it annotates persons,
    organisations and locations and leaves dates and titles (types of the pipeline's
    recognizer) as outside, so a predicted DATE is not a WikiANN error. Scoring both ways
    (``every_label`` keeps them as false positives) shows what the choice is worth."""
    doc = doc.copy()
    doc.ents = [ent for ent in doc.ents if ent.label_ in WIKIANN_LABELS]
    return doc


def pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def markdown(report: Dict[str, Any]) -> str:
    lines = [
        "# End to end: entities and relations from raw text",
        "",
        f"Model: `{report['model']}` (pipeline: {', '.join(report['pipeline'])}). "
        f"Encoder: {report.get('encoder', 'fp32')}. Command: `{report['command']}`. Run "
        f"{report['date']} on {report['machine']}.",
        "",
        "## RELX, raw sentences (no gold entities)",
        "",
        "Scored on the annotated pair only: a predicted relation between the pair's two "
        "entities matches when its head meets the gold head, its tail the gold tail and the "
        "label agrees (\"exact\": same offsets; \"overlap\": shared characters), else it is a "
        "false positive; relations between other pairs are not scored. \"pair found\": both "
        "entities of the pair are predicted entities. \"gold entities\": the same extractor "
        "given the gold pair (recognizer off), the ceiling. \"off-token entities\": gold "
        "entities no span of the pipeline's tokens covers exactly (glued to a neighbour, as "
        "in d'Orléans), which no recognizer on them finds with exact boundaries; in brackets "
        "the share on the tokens of spaCy's tokenizer for the pipeline's language. Scores "
        "in %.",
        "",
        "| language | pair found (exact) | pair found (overlap) | P exact | R exact | F exact "
        "| macro-F exact | P overlap | R overlap | F overlap | macro-F overlap "
        "| F gold entities | macro-F gold entities | off-token entities |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lang, row in report["relx"].items():
        ex, ov, gd = row["exact"], row["overlap"], row["gold_entities"]
        lines.append(
            f"| {lang} | {pct(ex['pair_found'])} | {pct(ov['pair_found'])} | "
            f"{pct(ex['micro_p'])} | {pct(ex['micro_r'])} | {pct(ex['micro_f'])} | "
            f"{pct(ex['macro_f'])} | {pct(ov['micro_p'])} | {pct(ov['micro_r'])} | "
            f"{pct(ov['micro_f'])} | {pct(ov['macro_f'])} | {pct(gd['micro_f'])} | "
            f"{pct(gd['macro_f'])} | {off_token_cell(row)} |")
    dev = report.get("kbp37_dev")
    if dev:
        ex, ov = dev["exact"], dev["overlap"]
        lines += ["", "KBP37 dev (English dev data, what changes to the pipeline are chosen "
                  f"on), raw and scored the same way: pair found {pct(ex['pair_found'])} "
                  f"(exact) / {pct(ov['pair_found'])} (overlap); relations F "
                  f"{pct(ex['micro_f'])} (exact) / {pct(ov['micro_f'])} (overlap), macro-F "
                  f"{pct(ex['macro_f'])} / {pct(ov['macro_f'])}."]
    ref = report.get("reference")
    if ref:
        ex, ov = ref["exact"], ref["overlap"]
        lines += ["", f"Reference: `{ref['ner']}` as the recognizer in front of the same "
                  f"extractor, RELX {ref['lang']} raw: pair found {pct(ex['pair_found'])} "
                  f"(exact) / {pct(ov['pair_found'])} (overlap); relations F "
                  f"{pct(ex['micro_f'])} (exact) / {pct(ov['micro_f'])} (overlap), macro-F "
                  f"{pct(ex['macro_f'])} / {pct(ov['macro_f'])}."]
    lines += ["", "## WikiANN test, the pipeline's recognizer", "",
              "Span F1 (exact boundaries and type), trained on English only: other languages "
              "are zero-shot. WikiANN annotates PER, ORG and LOC only, so the recognizer's "
              "DATE and TITLE spans are left out before scoring (\"F1 every label\" counts "
              "them as false positives). Scores in %.", "",
              "| language | sentences | P | R | F1 | F1 every label | F1 per type |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for lang, row in report["wikiann"].items():
        per_type = ", ".join(f"{k} {pct(v)}" for k, v in row["per_type"].items())
        lines.append(f"| {lang} | {row['sentences']} | {pct(row['p'])} | {pct(row['r'])} | "
                     f"{pct(row['f'])} | {pct(row['every_label']['f'])} | {per_type} |")
    lines += errors_markdown(report["wikiann"])
    if report.get("compared"):
        lines += compared_markdown(report)
    speed = report["speed"]
    lines += ["", "## Speed", "",
              f"The whole raw-text pipeline over every RELX sentence above: "
              f"{speed['words_per_second']:,.0f} words/s ({speed['words']:,} words in "
              f"{speed['seconds']:.1f} s, batch size {report['batch_size']}); peak RSS of the "
              f"benchmark process {report['peak_rss_mb']:,.0f} MB.", ""]
    return "\n".join(lines)


def off_token_cell(row: Dict[str, Any]) -> str:
    shares = row.get("off_token_entities")
    return f"{pct(shares['pipeline'])} ({pct(shares['spacy'])})" if shares else "-"


def errors_markdown(wikiann: Dict[str, Any]) -> List[str]:
    """The recognizer's spans by kind of error (:func:`span_errors`), per language."""
    rows = {lang: row["errors"] for lang, row in wikiann.items() if "errors" in row}
    if not rows:
        return []
    lines = ["", "Predicted spans by kind (\"longer\": containing a gold span and more; "
             "\"shorter\": inside a gold span; \"crossing\": overlapping gold spans without "
             "either; \"missed\": gold spans no prediction overlaps) and the words most often "
             "added in front of a gold span:", "",
             "| language | exact | wrong type | longer | shorter | crossing | spurious | missed "
             "| added in front |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for lang, err in rows.items():
        added = ", ".join(f"{word} {n}" for word, n in err["longer_by_first_word"].items())
        lines.append(f"| {lang} | {err['exact']} | {err['wrong_type']} | {err['longer']} | "
                     f"{err['shorter']} | {err['crossing']} | {err['spurious']} | "
                     f"{err['missed']} | {added} |")
    return lines


def compared_markdown(report: Dict[str, Any]) -> List[str]:
    """The same pipeline with another ``quantize`` setting, beside the figures above."""
    other = report["compared"]
    lines = ["", f"## The same pipeline with quantize = \"{other['quantize']}\" (encoder "
             f"{other['encoder']}; figures above: encoder {report['encoder']})", "",
             "| language | F exact | F overlap | F gold entities | WikiANN F1 |",
             "|---|---:|---:|---:|---:|"]
    for lang in sorted(set(other["relx"]) | set(other["wikiann"]),
                       key=lambda lang: (RELX_LANGS + WIKIANN_LANGS).index(lang)):
        row = other["relx"].get(lang, {})
        wiki = other["wikiann"].get(lang, {})
        lines.append(f"| {lang} | {pct(row.get('exact', {}).get('micro_f'))} | "
                     f"{pct(row.get('overlap', {}).get('micro_f'))} | "
                     f"{pct(row.get('gold_entities', {}).get('micro_f'))} | "
                     f"{pct(wiki.get('f'))} |")
    lines += ["", f"Speed over the RELX sentences: {other['speed']['words_per_second']:,.0f} "
              f"words/s (figures above: {report['speed']['words_per_second']:,.0f})."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default="training/e5small/model-package",
                        help="Pipeline path or installed package name")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--wikiann-limit", type=int, default=0,
                        help="First N sentences of each WikiANN test set (0: all)")
    parser.add_argument("--relx-limit", type=int, default=0,
                        help="First N sentences of each RELX language and of KBP37 dev "
                             "(0: all)")
    parser.add_argument("--compare-quantize", default=None,
                        help="Also run RELX and WikiANN with the xlie_transformer's quantize "
                             "set to this (auto, int8, off)")
    parser.add_argument("--no-reference", action="store_true",
                        help=f"Skip the {REFERENCE_NER} reference row")
    args = parser.parse_args()
    import spacy
    import torch

    import spacy_xlie  # noqa: F401  (extensions)
    from spacy_xlie.entities import relation_extractors
    from spacy_xlie.pipeline.transformer import encoder_precision
    from spacy_xlie.util.io import write_json, write_text
    from spacy_xlie.util.memory import peak_rss_mb

    torch.set_num_threads(os.cpu_count() or 1)
    nlp = spacy.load(args.model)
    labels = nlp.get_pipe(relation_extractors(nlp)[0]).labels
    encoder = encoder_precision(nlp)
    log(f"{args.model}: {nlp.pipe_names}, encoder {encoder}")
    section = relx_section(nlp, args.data_dir, labels, args.batch_size, args.relx_limit)
    dev = kbp37_dev_section(nlp, args.data_dir, labels, args.batch_size, args.relx_limit)
    wikiann = wikiann_section(nlp, args.data_dir, args.wikiann_limit, args.batch_size)
    other = None
    if args.compare_quantize:
        del nlp
        nlp = spacy.load(args.model, config={"components": {"transformer": {
            "quantize": args.compare_quantize}}})
        log(f"{args.model} again, encoder {encoder_precision(nlp)}")
        other = {**relx_section(nlp, args.data_dir, labels, args.batch_size, args.relx_limit),
                 "wikiann": wikiann_section(nlp, args.data_dir, args.wikiann_limit,
                                            args.batch_size),
                 "quantize": args.compare_quantize, "encoder": encoder_precision(nlp)}
    reference = None if args.no_reference else reference_row(
        args.model, args.data_dir, args.batch_size, args.relx_limit)
    report: Dict[str, Any] = {
        "model": str(args.model),
        "pipeline": nlp.pipe_names,
        "encoder": encoder,
        "compared": other,
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "batch_size": args.batch_size,
        "limits": {"relx": args.relx_limit, "wikiann": args.wikiann_limit},
        **section,
        "kbp37_dev": dev,
        "reference": reference,
        "wikiann": wikiann,
        "wikiann_f1": {lang: row["f"] for lang, row in wikiann.items()},
        "peak_rss_mb": peak_rss_mb(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "end_to_end.json")
    write_text(markdown(report), args.out / "end_to_end.md")
    log(f"wrote {args.out / 'end_to_end.json'} and .md")
    print(json.dumps({lang: {k: round(v["micro_f"], 3) for k, v in row.items()
                             if isinstance(v, dict) and "micro_f" in v}
                      for lang, row in report["relx"].items()}))
    print(json.dumps(report["wikiann_f1"]))


if __name__ == "__main__":
    main()
