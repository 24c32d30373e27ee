"""How much of the encoder's work is wasted: padding and window overlap, per setting.

    python bench/encoder_work.py --model training/e5small/model-best --data-dir ../shared/data \
        --out bench/results

A transformer pipeline encodes each doc as windows of ``window`` tokens every ``stride``
tokens (``strided_spans``), so a doc longer than the window has tokens encoded twice; and
``nlp.pipe`` batches docs (``batch_size`` per outer batch, grouped by length into
sub-batches of at most ``max_batch_items`` tokens), each sub-batch padded to its longest
window in wordpieces. This runs the pipeline's transformer over KBP37 test and RELX docs
with the encoder's forward pass replaced by a recorder (no compute: the shapes are the
same), and counts, per setting:

* padding: padded wordpiece positions / all positions the encoder computes;
* overlap: spaCy tokens encoded more than once / all tokens in windows.

Settings (``--settings``): ``nlp.pipe`` batch sizes, and sub-batches cut as
spacy-transformers cuts them (sorted by spaCy tokens, ``max_batch_items`` tokens) or as
``xlie_transformer`` does (sorted by wordpieces, ``max_batch_pieces`` padded wordpieces).
Writes ``encoder_work.json`` and ``encoder_work.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SETS = {"kbp37_test": ("kbp37/test.txt", "en", True), "relx_en": ("relx/RELX_en.txt", "en", False),
        "relx_de": ("relx/RELX_de.txt", "de", False), "relx_fr": ("relx/RELX_fr.txt", "fr", False)}


class Recorder:
    """Stands in for the Hugging Face model's forward: records each call's padded shape
    and real positions, returns zeros of the right shape."""

    def __init__(self, hidden: int) -> None:
        self.hidden = hidden
        self.positions = 0
        self.real = 0
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import torch
        from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions

        input_ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        n, length = input_ids.shape
        self.positions += n * length
        self.real += int(mask.sum()) if mask is not None else n * length
        self.calls += 1
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=torch.zeros(n, length, self.hidden))


def measure(nlp, docs: Sequence, batch_size: int, max_pieces: Optional[int]
            ) -> Dict[str, Any]:
    """Padding and overlap of the pipeline's transformer over ``docs``, with ``nlp.pipe``
    batches of ``batch_size`` and sub-batches of at most ``max_pieces`` padded wordpieces
    (None: spacy-transformers' batching by tokens)."""
    pipe = nlp.get_pipe("transformer")
    pipe.max_batch_pieces = max_pieces
    model = pipe.model.transformer
    recorder = Recorder(model.config.hidden_size)
    get_spans = pipe.model.attrs["get_spans"]
    in_windows = sum(len(span) for spans in get_spans(list(docs)) for span in spans)
    tokens = sum(len(doc) for doc in docs)
    original = model.forward
    model.forward = recorder
    try:
        for _ in pipe.pipe((doc.copy() for doc in docs), batch_size=batch_size):
            pass
    finally:
        model.forward = original
    return {"docs": len(docs), "tokens": tokens, "tokens_in_windows": in_windows,
            "overlap": (in_windows - tokens) / in_windows,
            "positions": recorder.positions, "real_positions": recorder.real,
            "padding": (recorder.positions - recorder.real) / recorder.positions,
            "encoder_calls": recorder.calls}


def timed(nlp, docs: Sequence, batch_size: int, max_pieces: Optional[int]) -> float:
    """Words per second of the whole pipeline (encoder computing) over ``docs``."""
    nlp.get_pipe("transformer").max_batch_pieces = max_pieces
    start = time.perf_counter()
    for _ in nlp.pipe((doc.copy() for doc in docs), batch_size=batch_size):
        pass
    return sum(len(doc) for doc in docs) / (time.perf_counter() - start)


def speed_rows(nlp, docs: Sequence, settings: List[Tuple[int, Optional[int]]], rounds: int
               ) -> List[Dict[str, Any]]:
    """:func:`timed` for each setting, ``rounds`` times in turn (the machine's drift
    hits every setting alike), with the fp32 encoder."""
    timed(nlp, docs[:32], *settings[0])  # warm-up
    seen: Dict[Tuple[int, Optional[int]], List[float]] = {s: [] for s in settings}
    for _ in range(rounds):
        for setting in settings:
            seen[setting].append(timed(nlp, docs, *setting))
    return [{"batch_size": b, "max_batch_pieces": p, "words_per_second": sum(v) / len(v),
             "rounds": v} for (b, p), v in seen.items()]


def load_docs(nlp, data_dir: Path) -> Dict[str, List]:
    """The raw docs of each data set present (the pipeline's own tokenizer)."""
    from spacy_xlie.corpora.marked import read_marked

    out = {}
    for name, (rel, lang, pretokenized) in SETS.items():
        path = data_dir / rel
        if path.exists():
            out[name] = [nlp.make_doc(d.text)
                         for d in read_marked(path, lang, pretokenized=pretokenized)]
    return out


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--settings", default="64:tokens,64:4096,64:1024,64:512,256:1024",
                        help="BATCH:PIECES pairs: nlp.pipe batch size and max_batch_pieces "
                             "('tokens': spacy-transformers' batching by tokens)")
    parser.add_argument("--time-docs", type=int, default=0,
                        help="Also time the whole pipeline (fp32) on the first N KBP37 test "
                             "docs per setting")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    import spacy

    nlp = spacy.load(args.model, config={"components": {"transformer": {"quantize": "off"}}})
    trf = nlp.config["components"]["transformer"]
    settings = [(int(b), None if p == "tokens" else int(p))
                for b, p in (pair.split(":") for pair in args.settings.split(","))]
    rows = []
    for name, docs in load_docs(nlp, args.data_dir).items():
        for batch_size, max_pieces in settings:
            row = {"data": name, "batch_size": batch_size, "max_batch_pieces": max_pieces,
                   **measure(nlp, docs, batch_size, max_pieces)}
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    speed = []
    if args.time_docs:
        docs = load_docs(nlp, args.data_dir)["kbp37_test"][:args.time_docs]
        speed = speed_rows(nlp, docs, settings, args.rounds)
    report = {"command": "python " + " ".join([sys.argv[0], *argv]),
              "speed": speed, "speed_docs": args.time_docs,
              "date": datetime.date.today().isoformat(), "model": str(args.model),
              "window": trf["model"]["get_spans"], "max_batch_items": trf["max_batch_items"],
              "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "encoder_work.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "encoder_work.md").write_text(markdown(report))
    return 0


def markdown(report: Dict[str, Any]) -> str:
    spans = report["window"]
    lines = ["# Encoder work: padding and window overlap", "",
             f"Command: `{report['command']}`. Run {report['date']}. Windows: "
             f"`{spans.get('@span_getters')}` window {spans.get('window')}, stride "
             f"{spans.get('stride')}. The encoder's forward pass is replaced by a recorder "
             "(shapes only).", "",
             "Padding: padded wordpiece positions / all positions the encoder computes. "
             "Overlap: tokens encoded twice / tokens in windows.", "",
             "| data | nlp.pipe batch size | sub-batches | docs | encoder calls | positions "
             "| padding % | overlap % |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        cut = (f"sorted by wordpieces, <= {r['max_batch_pieces']} padded"
               if r["max_batch_pieces"] else
               f"sorted by tokens, <= {report['max_batch_items']} tokens")
        lines.append(f"| {r['data']} | {r['batch_size']} | {cut} | {r['docs']} "
                     f"| {r['encoder_calls']} "
                     f"| {r['positions']:,} | {100 * r['padding']:.1f} | "
                     f"{100 * r['overlap']:.1f} |")
    if report.get("speed"):
        lines += ["", f"Whole pipeline (fp32 encoder, every component) on the first "
                  f"{report['speed_docs']} KBP37 test docs, settings timed in turn, mean of the "
                  "rounds:", "", "| nlp.pipe batch size | sub-batches | words/s | rounds |",
                  "|---:|---|---:|---|"]
        for r in report["speed"]:
            cut = (f"sorted by wordpieces, <= {r['max_batch_pieces']} padded"
                   if r["max_batch_pieces"] else "spacy-transformers (by tokens)")
            rounds = ", ".join(f"{v:.0f}" for v in r["rounds"])
            lines.append(f"| {r['batch_size']} | {cut} | {r['words_per_second']:.0f} "
                         f"| {rounds} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
