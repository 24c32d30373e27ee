"""Benchmark annotation projection: RELX EN->DE/FR quality per method, and speed.

    python bench/projection.py --data-dir ../shared/data --out bench/results

Writes ``projection.json`` and ``projection.md``. Quality: each English RELX doc's two
entities and relation are projected onto the DE/FR doc (gold tokens, entities removed)
and compared with the gold target spans. The embedding method (and the embedding half of
hybrid) runs on a *random-weight* tiny XLM-R here, because no pretrained weights can be
loaded offline: its figures say nothing about the method with real XLM-R/mBERT weights.
Speed: sentence pairs per second for lexical, and for embedding with the tiny model and
with an xlm-roberta-base-shaped random model, whose tokenizer is trained on KBP37 train and
RELX DE/FR with a realistic vocabulary (the report gives its wordpieces per word on the
timed pairs); ``--no-base`` skips the ~1 GB build; ``--no-base --keep-unmeasured`` keeps
that figure from the previous report, labelled with the date and command of the run that
measured it.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

import spacy_xlie  # noqa: E402,F401
from spacy_xlie.alignment import build_aligner, project_batch  # noqa: E402
from spacy_xlie.alignment.evaluation import (  # noqa: E402
    evaluate_projection,
    load_parallel,
    strip_annotations,
)
from spacy_xlie.util.io import write_json, write_text  # noqa: E402
from spacy_xlie.util.random_xlmr import (  # noqa: E402
    REALISTIC_VOCAB_SIZE,
    build_random_xlmr,
    corpus_texts,
    wordpieces_per_word,
)

LANGS = ("de", "fr")
METHODS = ("lexical", "hybrid", "embedding")


def pairs_per_second(aligner, pairs, repeats: int = 1) -> float:
    tasks = [(p.src, strip_annotations(p.tgt)) for p in pairs]
    project_batch(tasks[:2], aligner)  # warm-up (model load, first batch)
    start = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(tasks), 32):
            project_batch(tasks[i : i + 32], aligner)
    return repeats * len(tasks) / (time.perf_counter() - start)


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def markdown(report: dict) -> str:
    lines = [
        "# Projection benchmark",
        "",
        f"Date: {report['date']}. Machine: {report['machine']['platform']}, "
        f"{report['machine']['cpu_count']} CPUs, GPU: {report['machine']['gpu']}.",
        f"Command: `{report['command']}`",
        "",
        "RELX EN→DE/FR (gold target tokens, entities removed), per method. "
        "**embedding and the embedding half of hybrid use random weights** "
        "(tiny XLM-R built on the fly): those figures do not measure the method, which "
        "needs real XLM-R/mBERT weights (not loadable offline here).",
        "",
        "| lang | method | exact span acc. | any-role exact | relation preserved | "
        "token F1 | projected |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang, by_method in report["relx"].items():
        for method, s in by_method.items():
            lines.append(
                f"| {lang} | {method} | {s['exact_span_accuracy']:.3f} | "
                f"{s['exact_span_accuracy_any_role']:.3f} | {s['relation_preserved']:.3f} | "
                f"{s['token_f1']:.3f} | {s['projection_rate']:.3f} |"
            )
    lines += ["", "| aligner | sentence pairs / second |", "|---|---|"]
    kept = report.get("pairs_per_second_kept", {})
    for name, value in report["pairs_per_second"].items():
        origin = kept.get(name)
        note = f" (kept from the run of {origin['date']}: `{origin['command']}`)" if origin else ""
        lines.append(f"| {name} | {value:.1f}{note} |")
    if "base_wordpieces_per_word" in report:
        lines += ["", "The base-shaped model's SentencePiece tokenizer (trained on KBP37 train and "
                  "RELX DE/FR) gives "
                  f"**{report['base_wordpieces_per_word']:.2f} wordpieces per word** on the "
                  "timed EN/DE pairs (real xlm-roberta-base: about 1.3-1.6 on English/German "
                  "text)."]
    return "\n".join(lines) + "\n"


def kept_speeds(previous_path: Path, measured: dict) -> tuple:
    """Speed figures of the previous report that this run did not measure, with origins."""
    if not previous_path.exists():
        return {}, {}
    previous = json.loads(previous_path.read_text(encoding="utf8"))
    old_origins = previous.get("pairs_per_second_kept", {})
    speeds, origins = {}, {}
    for name, value in previous.get("pairs_per_second", {}).items():
        if name not in measured:
            speeds[name] = value
            origins[name] = old_origins.get(
                name, {"date": previous["date"], "command": previous["command"]}
            )
    return speeds, origins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--speed-pairs", type=int, default=64,
                        help="pairs timed for the base-shaped model")
    parser.add_argument("--no-base", action="store_true", help="skip the base-shaped model")
    parser.add_argument("--keep-unmeasured", action="store_true",
                        help="keep speed figures this run does not measure from the previous "
                             "report (labelled with their date and command)")
    args = parser.parse_args()
    relx = args.data_dir / "relx"
    data = {lang: load_parallel(relx / "RELX_en.txt", relx / f"RELX_{lang}.txt", "en", lang)
            for lang in LANGS}
    with tempfile.TemporaryDirectory() as tmp:
        tiny = str(build_random_xlmr(Path(tmp) / "tiny"))
        aligners = {m: build_aligner(m, model=tiny) for m in METHODS}
        scores = {lang: {m: evaluate_projection(pairs, aligners[m]) for m in METHODS}
                  for lang, pairs in data.items()}
        speed_pairs = data["de"]
        speed = {
            "lexical": pairs_per_second(aligners["lexical"], speed_pairs),
            "hybrid (tiny random XLM-R)": pairs_per_second(aligners["hybrid"], speed_pairs),
            "embedding (tiny random XLM-R)": pairs_per_second(aligners["embedding"], speed_pairs),
        }
        if not args.no_base:
            base = str(build_random_xlmr(Path(tmp) / "base", size="base",
                                         texts=corpus_texts(args.data_dir),
                                         vocab_size=REALISTIC_VOCAB_SIZE))
            base_pairs = speed_pairs[: args.speed_pairs]
            base_pieces = round(wordpieces_per_word(
                base, [doc for p in base_pairs for doc in (p.src, p.tgt)]
            ), 3)
            speed["embedding (xlm-roberta-base-shaped, random)"] = pairs_per_second(
                build_aligner("embedding", model=base), base_pairs
            )
    kept, origins = (kept_speeds(args.out / "projection.json", speed)
                     if args.keep_unmeasured else ({}, {}))
    speed.update(kept)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python bench/projection.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "note": "embedding/hybrid use random weights; quality needs real XLM-R/mBERT weights",
        "relx": scores,
        "relx_exact_span_accuracy": {
            lang: {m: s["exact_span_accuracy"] for m, s in by.items()}
            for lang, by in scores.items()
        },
        "relx_relation_preserved": {
            lang: {m: s["relation_preserved"] for m, s in by.items()} for lang, by in scores.items()
        },
        "relx_token_f1": {
            lang: {m: s["token_f1"] for m, s in by.items()} for lang, by in scores.items()
        },
        "pairs_per_second": speed,
    }
    if origins:
        report["pairs_per_second_kept"] = origins
    if not args.no_base:
        report["base_wordpieces_per_word"] = base_pieces
    elif origins:  # the kept base-shaped speed comes with its tokenizer's figure
        previous = json.loads((args.out / "projection.json").read_text(encoding="utf8"))
        if "base_wordpieces_per_word" in previous:
            report["base_wordpieces_per_word"] = previous["base_wordpieces_per_word"]
    write_json(report, args.out / "projection.json")
    write_text(markdown(report), args.out / "projection.md")
    print(markdown(report))


if __name__ == "__main__":
    main()
