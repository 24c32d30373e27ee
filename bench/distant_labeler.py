"""Benchmark of the distant labeler: RELX-Distant recall, throughput, 1M-alias KB cost.

    python bench/distant_labeler.py --data-dir ../shared/data --out bench/results

writes ``distant_labeler.json`` and ``distant_labeler.md`` to ``--out``:

* recall of RELX-Distant's gold triples per language (KB built from the samples), extra
  relations, and the same under each ambiguity policy;
* sentences/second on one core (``spacy.blank(lang)`` + labeler) with that small KB, with
  a synthetic KB of ``--aliases`` aliases, and with ``n_process=2``;
* build time and peak RSS of the synthetic KB (and of the labeler's alias index), each
  measured in a fresh subprocess so the numbers are not inflated by earlier work.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import random
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

LANGS = ("en", "de", "fr")
POLICIES = ("skip", "all", "prior")


def relx_files(data_dir: Path) -> List[Path]:
    files = [data_dir / "relx-distant" / f"RELX_distant_{lang}.json" for lang in LANGS]
    return [f for f in files if f.exists()]


def throughput(nlp, texts: List[str], n_process: int = 1) -> float:
    for _ in nlp.pipe(texts[:200]):
        pass  # warm-up: builds the alias index, fills caches
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=1000, n_process=n_process):
        pass
    return len(texts) / (time.perf_counter() - start)


def synthetic_kb_main(n_aliases: int, relx_json: str) -> None:
    """Subprocess: build a KB of ``n_aliases`` aliases, index it, label; print JSON."""
    import spacy

    from spacy_xlie.kb.relx_distant import kb_from_relx_distant, read_relx_distant
    from spacy_xlie.util.memory import current_rss_mb, peak_rss_mb

    files = json.loads(relx_json)
    rng = random.Random(0)
    base_rss = peak_rss_mb()
    base_now = current_rss_mb()
    start = time.perf_counter()
    kb = kb_from_relx_distant(files)
    n_entities = n_aliases // 2
    letters = string.ascii_lowercase
    for i in range(n_entities):
        first = "".join(rng.choices(letters, k=rng.randint(4, 9))).capitalize()
        last = "".join(rng.choices(letters, k=rng.randint(4, 9))).capitalize()
        kb.add_entity(f"S{i}", aliases={"en": [f"{first} {last}", f"{first[0]}. {last}"]})
        if i:
            kb.add_triple(f"S{i}", "P31", f"S{rng.randrange(i)}")
    build_s = time.perf_counter() - start
    kb_rss = peak_rss_mb()
    kb_now = current_rss_mb()
    nlp = spacy.blank("en")
    labeler = nlp.add_pipe("xlie_distant_labeler")
    labeler.set_kb(kb)
    start = time.perf_counter()
    labeler.initialize(nlp=nlp)
    index_s = time.perf_counter() - start
    index_rss = peak_rss_mb()
    index_now = current_rss_mb()
    texts = [r["sentence"] for f in files if f.endswith("_en.json") for r in read_relx_distant(f)]
    sps = throughput(nlp, texts * 50)
    print(json.dumps({
        "aliases": kb.n_aliases, "entities": len(kb), "triples": kb.n_triples,
        "build_s": round(build_s, 2), "index_build_s": round(index_s, 2),
        "rss_before_mb": round(base_rss, 1), "peak_rss_after_kb_mb": round(kb_rss, 1),
        "peak_rss_after_index_mb": round(index_rss, 1),
        "kb_rss_delta_mb": round(kb_now - base_now, 1),
        "index_rss_delta_mb": round(index_now - kb_now, 1),
        "sentences_per_second_en": round(sps, 1),
    }))


def run_relx(files: List[Path]) -> Dict[str, dict]:
    from spacy_xlie.kb.relx_distant import evaluate_relx_distant

    return {policy: evaluate_relx_distant(files, ambiguity=policy) for policy in POLICIES}


@contextlib.contextmanager
def srsly_lookups_uncached() -> Iterator[None]:
    """srsly as it is without ``spacy_xlie.patches.msgpack_codecs``: every msgpack call asks
    catalogue (entry points, global registry) for its codecs again."""
    import srsly.msgpack

    registries = (srsly.msgpack.msgpack_encoders, srsly.msgpack.msgpack_decoders)
    cached = [vars(r).pop("get_all") for r in registries]
    try:
        yield
    finally:
        for registry, get_all in zip(registries, cached):
            registry.get_all = get_all


def roundtrip_ms(nlp, texts: List[str]) -> float:
    """Milliseconds per labelled doc for ``Doc.to_bytes`` + ``from_bytes``: what
    ``n_process`` costs on top of labeling, since workers send every doc back as bytes."""
    from spacy.tokens import Doc

    docs = list(nlp.pipe(texts))
    start = time.perf_counter()
    for doc in docs:
        Doc(nlp.vocab).from_bytes(doc.to_bytes())
    return 1000 * (time.perf_counter() - start) / len(docs)


def run_throughput(files: List[Path], repeat: int) -> Dict[str, dict]:
    import spacy

    from spacy_xlie.kb.relx_distant import kb_from_relx_distant, lang_of, read_relx_distant

    kb = kb_from_relx_distant(files)
    out: Dict[str, dict] = {}
    for path in files:
        lang = lang_of(path)
        texts = [r["sentence"] for r in read_relx_distant(path)] * repeat
        blank = spacy.blank(lang)
        nlp = spacy.blank(lang)
        nlp.add_pipe("xlie_distant_labeler").set_kb(kb)
        out[lang] = {
            "sentences": len(texts),
            "tokenizer_only_sps": round(throughput(blank, texts), 1),
            "labeler_sps": round(throughput(nlp, texts), 1),
            "labeler_sps_n_process_2": round(throughput(nlp, texts * 2, n_process=2), 1),
            "doc_bytes_roundtrip_ms": round(roundtrip_ms(nlp, texts[:2000]), 3),
        }
        with srsly_lookups_uncached():
            out[lang]["doc_bytes_roundtrip_ms_uncached"] = round(
                roundtrip_ms(nlp, texts[:500]), 3)
    return out


def markdown(report: dict) -> str:
    lines = [
        "# Distant labeler benchmark", "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}; machine: {report['machine']['platform']}, "
        f"{report['machine']['cpu_count']} CPUs, Python {report['machine']['python']}", "",
        "## RELX-Distant (KB built from the samples, 120 sentences per language)", "",
        "| policy | lang | recall | extra relations | mentions | ambiguous | misses |",
        "|---|---|---|---|---|---|---|",
    ]
    for policy, res in report["relx_distant_by_policy"].items():
        for lang, r in res.items():
            lines.append(f"| {policy} | {lang} | {r['recall']:.3f} | {r['extra_relations']} | "
                         f"{r['mentions']} | {r['ambiguous']} | {len(r['misses'])} |")
    lines += ["", "Misses (policy `skip`):", ""]
    for lang, r in report["relx_distant_by_policy"]["skip"].items():
        for miss in r["misses"]:
            lines.append(f"- {lang} #{miss['record']} {miss['gold']}: {miss['reason']}")
    lines += ["", "## Throughput (sentences/s, one process unless noted)", "",
              "| lang | tokenizer only | + labeler | + labeler, n_process=2 | "
              "doc to/from bytes (ms/doc) | same, srsly look-ups uncached (ms/doc) |",
              "|---|---|---|---|---|---|"]
    for lang, t in report["throughput"].items():
        lines.append(f"| {lang} | {t['tokenizer_only_sps']} | {t['labeler_sps']} | "
                     f"{t['labeler_sps_n_process_2']} | {t['doc_bytes_roundtrip_ms']} | "
                     f"{t['doc_bytes_roundtrip_ms_uncached']} |")
    lines += ["", "With `n_process=2` every doc comes back from its worker as bytes "
              "(`Doc.to_bytes` in the worker, `from_bytes` in the main process). srsly asks "
              "catalogue for its msgpack codecs on every call, scanning the installed "
              "packages' entry points: the last column. `import spacy_xlie` caches that "
              "look-up (`spacy_xlie/patches/msgpack_codecs.py`): the column before it. What "
              "remains is spaCy's own serialisation, still about as costly as labelling a "
              "sentence, and on 2 cores the main process that deserialises competes with the "
              "workers: corpus jobs scale with the Dask engine instead (`--workers`, "
              "`bench/results/scale_out.md`), where no doc travels back."]
    syn = report["synthetic_kb"]
    lines += ["", f"## Synthetic KB: {syn['aliases']:,} aliases, {syn['entities']:,} entities, "
              f"{syn['triples']:,} triples", "",
              f"- KB build: {syn['build_s']} s; peak RSS {syn['peak_rss_after_kb_mb']} MB "
              f"(process at start: {syn['rss_before_mb']} MB; the KB itself: "
              f"+{syn['kb_rss_delta_mb']} MB)",
              f"- labeler alias index build: {syn['index_build_s']} s; peak RSS "
              f"{syn['peak_rss_after_index_mb']} MB (the index itself: "
              f"+{syn['index_rss_delta_mb']} MB)",
              f"- throughput (en, RELX-Distant sentences): {syn['sentences_per_second_en']} "
              "sentences/s", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--aliases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50, help="copies of each sentence set")
    parser.add_argument("--synthetic-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--relx-files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthetic_child:
        synthetic_kb_main(args.synthetic_child, args.relx_files)
        return
    from spacy_xlie.util.io import write_json, write_text

    files = relx_files(args.data_dir)
    if not files:
        sys.exit(f"no RELX-Distant files under {args.data_dir}/relx-distant")
    by_policy = run_relx(files)
    speed = run_throughput(files, args.repeat)
    child = subprocess.run(
        [sys.executable, __file__, "--synthetic-child", str(args.aliases),
         "--relx-files", json.dumps([str(f) for f in files])],
        check=True, capture_output=True, text=True)
    synthetic = json.loads(child.stdout.strip().splitlines()[-1])
    skip = by_policy["skip"]
    report = {
        "command": "python bench/distant_labeler.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version()},
        "relx_distant_recall": {lang: round(r["recall"], 4) for lang, r in skip.items()},
        "extra_relations": {lang: r["extra_relations"] for lang, r in skip.items()},
        "sentences_per_second": round(
            sum(t["labeler_sps"] for t in speed.values()) / len(speed), 1),
        "sentences_per_second_n_process_2": round(
            sum(t["labeler_sps_n_process_2"] for t in speed.values()) / len(speed), 1),
        "sentences_per_second_1m_kb": synthetic["sentences_per_second_en"],
        "kb_1m_aliases_build_s": synthetic["build_s"],
        "kb_1m_aliases_peak_rss_mb": synthetic["peak_rss_after_kb_mb"],
        "relx_distant_by_policy": by_policy,
        "throughput": speed,
        "synthetic_kb": synthetic,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "distant_labeler.json")
    write_text(markdown(report), args.out / "distant_labeler.md")
    print(json.dumps({k: v for k, v in report.items()
                      if k not in ("relx_distant_by_policy", "throughput")}, indent=1))


if __name__ == "__main__":
    main()
