"""Entity markers in the encoder's input, measured before building them into the pipeline.

    python bench/marker_probe.py --encoder assets/e5small --out bench/results \
        --train corpus/kbp37_train.spacy --dev corpus/kbp37_dev.spacy --steps 600

The e5small relation extractor pools its pairs from one unmarked encoding per doc. Relation
classifiers that mark the pair in the encoder's input ("An Improved Baseline for
Sentence-level Relation Extraction", Zhou & Chen 2022; "Matching the Blanks", Baldini Soares
et al. 2019) report several points over pooling unmarked spans, but with every layer
fine-tuned; the e5small recipe trains only the top 3 of its 8 layers on frozen embeddings,
and markers cost one encoder pass per pair instead of per doc. Before paying for that in
the pipeline (shared encoder, int8 graph, packaging), this measures the effect alone, on
English data only (KBP37 train, scored on KBP37 dev: the recipe is chosen on English):

* ``none``: each sentence encoded once; both directed pairs of its two entities pool their
  head, tail and between-context pieces (mean and max), as the pipeline's v1 model does;
* ``markers``: each directed pair encoded on its own, its head between ``@`` and its tail
  between ``#`` (Zhou & Chen's punctuation markers: ordinary pieces, so the frozen
  embeddings need no new rows), the same pieces pooled as in ``none``;
* ``markers_start``: as ``markers``, the pair represented by its two opening markers'
  vectors (Zhou & Chen's and Baldini Soares et al.'s entity-start representation).

Every variant starts from the same encoder and seed and sees the same sentences in the same
order, with the recipe's encoder settings (8 layers, embeddings and the lowest 5 layers
frozen, AdamW at peak 3e-4 with 100 warm-up steps and linear decay, gradient clipping 1.0)
and one small head (Linear, ReLU, Linear over the pair's features; softmax over the
relation types and "none"). It is a plain torch loop because the question is the encoder's
input, not the pipeline's plumbing; the score is the official macro-F of the pipeline's
scorer (:func:`spacy_xlie.scorers.prf_report`) on the directed pairs of KBP37 dev's gold
entities, so it sits on the same scale as the pipeline's KBP37 dev figures, from a much
shorter schedule. Writes ``marker_probe.json`` and ``marker_probe.md`` to ``--out``.
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

VARIANTS = ("none", "markers", "markers_start")
NONE = "none"
HEAD_MARK, TAIL_MARK = "@", "#"
WordSpan = Tuple[int, int]


class Sentence:
    """A doc's words and its directed pairs: ``(head span, tail span, label or NONE)``."""

    def __init__(self, words: List[str], pairs: List[Tuple[WordSpan, WordSpan, str]]) -> None:
        self.words = words
        self.pairs = pairs


def read_docs(path: Path) -> List[Any]:
    """The docs of a ``.spacy`` file."""
    import spacy
    from spacy.tokens import DocBin

    return list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))


def load_sentences(docs: Sequence[Any]) -> List[Sentence]:
    """The docs with two gold entities, each read as both directed pairs (labelled by the
    doc's gold relation where it runs that way, else ``none``)."""
    return [Sentence([t.text for t in doc], directed_pairs(doc))
            for doc in docs if len(doc.ents) == 2]


def directed_pairs(doc: Any) -> List[Tuple[WordSpan, WordSpan, str]]:
    """Both orders of a two-entity doc's pair, each with its gold label or ``none``."""
    from spacy_xlie.relations import get_relations

    gold = {((r.head.start, r.head.end), (r.tail.start, r.tail.end)): r.label
            for r in get_relations(doc)}
    a, b = [(e.start, e.end) for e in doc.ents]
    return [(h, t, gold.get((h, t), NONE)) for h, t in ((a, b), (b, a))]


def left_out(docs: Sequence[Any]) -> Tuple[int, List[str]]:
    """How many docs :func:`load_sentences` leaves out (not two gold entities: KBP37's
    empty markers), and the labels of their gold relations, with a span or without one:
    the pipeline's scorer counts every one of those relations as missed."""
    from spacy_xlie.relations import get_relations
    from spacy_xlie.scorers import unrepresentable_labels

    dropped = [doc for doc in docs if len(doc.ents) != 2]
    return len(dropped), [label for doc in dropped for label in
                          [r.label for r in get_relations(doc)] + unrepresentable_labels(doc)]


def with_misses(per_type: Dict[str, Any], missed: Sequence[str]) -> Dict[str, Any]:
    """Copies of the per-type counts with each label of ``missed`` one more false
    negative: the left-out docs' gold relations, as the pipeline's scorer counts them."""
    from spacy.scorer import PRFScore

    counts = {t: PRFScore(tp=c.tp, fp=c.fp, fn=c.fn) for t, c in per_type.items()}
    for label in missed:
        counts.setdefault(label, PRFScore()).fn += 1
    return counts


def marked(words: List[str], head: WordSpan, tail: WordSpan
           ) -> Tuple[List[str], WordSpan, WordSpan]:
    """``words`` with the head between ``@`` and the tail between ``#``, and the two spans'
    new word offsets (the entity's words, without their markers). The opening markers sit
    at ``span[0] - 1``."""
    # (position, 0 closing / 1 opening, marker): where one span ends and the other starts
    # at the same word, the closing marker goes first
    inserts = sorted([(head[0], 1, HEAD_MARK), (head[1], 0, HEAD_MARK),
                      (tail[0], 1, TAIL_MARK), (tail[1], 0, TAIL_MARK)])
    out: List[str] = []
    shift = [0] * (len(words) + 1)
    at = 0
    for i in range(len(words) + 1):
        while at < len(inserts) and inserts[at][0] == i:
            out.append(inserts[at][2])
            at += 1
        shift[i] = len(out)
        if i < len(words):
            out.append(words[i])
    head_moved = (shift[head[0]], shift[head[1] - 1] + 1)
    tail_moved = (shift[tail[0]], shift[tail[1] - 1] + 1)
    return out, head_moved, tail_moved


def piece_ranges(word_ids: Sequence[Optional[int]], n_words: int) -> List[Tuple[int, int]]:
    """Each word's pieces as ``[first, last + 1)``; a word cut off by truncation gets the
    last kept piece."""
    ranges: Dict[int, List[int]] = {}
    for position, word in enumerate(word_ids):
        if word is not None:
            ranges.setdefault(word, [position, position + 1])[1] = position + 1
    last = max(end for _, end in ranges.values())
    return [tuple(ranges.get(w, [last - 1, last])) for w in range(n_words)]


class Probe:
    """The encoder (recipe settings) and a small head over a variant's pair features."""

    def __init__(self, encoder: Path, variant: str, n_labels: int, layers: int,
                 frozen_layers: int, hidden: int = 256, dropout: float = 0.2) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging

        self.variant = variant
        self.tokenizer = AutoTokenizer.from_pretrained(str(encoder))
        # the checkpoint's top layers, which the recipe does not keep, go unused on purpose:
        # transformers' warning about them is silenced for the load only
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()
        try:
            self.encoder = AutoModel.from_pretrained(str(encoder), num_hidden_layers=layers)
        finally:
            logging.set_verbosity(verbosity)
        for parameter in self.encoder.embeddings.parameters():
            parameter.requires_grad = False
        for layer in self.encoder.encoder.layer[:frozen_layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = False
        width = self.encoder.config.hidden_size
        n_features = 2 * width if variant == "markers_start" else 6 * width
        self.head = torch.nn.Sequential(
            torch.nn.Dropout(dropout), torch.nn.Linear(n_features, hidden), torch.nn.ReLU(),
            torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_labels))

    def parameters(self) -> List[Any]:
        return [p for p in self.encoder.parameters() if p.requires_grad] + list(
            self.head.parameters())

    def train(self, on: bool) -> None:
        self.encoder.train(on)
        self.head.train(on)

    def inputs(self, sentences: Sequence[Sentence]) -> Tuple[List[List[str]], List[Tuple]]:
        """The word sequences to encode and, per directed pair, ``(row, head, tail,
        head marker, tail marker)`` in word offsets of its row (markers None unmarked)."""
        rows: List[List[str]] = []
        pairs: List[Tuple] = []
        for sentence in sentences:
            if self.variant == "none":
                rows.append(sentence.words)
                pairs += [(len(rows) - 1, h, t, None, None) for h, t, _ in sentence.pairs]
                continue
            for h, t, _ in sentence.pairs:
                words, h2, t2 = marked(sentence.words, h, t)
                rows.append(words)
                pairs.append((len(rows) - 1, h2, t2, h2[0] - 1, t2[0] - 1))
        return rows, pairs

    def logits(self, sentences: Sequence[Sentence]) -> Any:
        """One row of logits per directed pair of ``sentences`` (in order)."""
        import torch

        rows, pairs = self.inputs(sentences)
        batch = self.tokenizer(rows, is_split_into_words=True, return_tensors="pt",
                               padding=True, truncation=True, max_length=256)
        hidden = self.encoder(**batch).last_hidden_state
        ranges = [piece_ranges(batch.word_ids(i), len(words)) for i, words in enumerate(rows)]
        features = [pair_vector(self.variant, hidden[row], ranges[row], h, t, hm, tm)
                    for row, h, t, hm, tm in pairs]
        return self.head(torch.stack(features))

def pair_vector(variant: str, states: Any, ranges: List[Tuple[int, int]], head: WordSpan,
                tail: WordSpan, head_mark: Optional[int], tail_mark: Optional[int]) -> Any:
    """A pair's feature vector from its row's piece vectors (``ranges``: each word's
    pieces): the two opening markers' vectors (``markers_start``), or head, tail and the
    words between them, mean and max pooled."""
    import torch

    if variant == "markers_start":
        return torch.cat([states[ranges[head_mark][0]], states[ranges[tail_mark][0]]])
    first, second = sorted([head, tail])
    # the words between the two spans; in a marked row, between the first span's
    # closing marker and the second's opening one
    inner = 1 if head_mark is not None else 0
    between = (ranges[first[1] - 1 + inner][1], ranges[second[0] - inner][0]) \
        if first[1] <= second[0] else (0, 0)
    return torch.cat([mean_max(states, ranges[s[0]][0], ranges[s[1] - 1][1])
                      for s in (head, tail)] + [mean_max(states, *between)])


def mean_max(states: Any, start: int, end: int) -> Any:
    """Mean and max of ``states[start:end]``; zeros where the range is empty."""
    import torch

    if end <= start:
        return torch.zeros(2 * states.shape[1])
    window = states[start:end]
    return torch.cat([window.mean(0), window.max(0).values])


def train_variant(variant: str, args: argparse.Namespace, train: List[Sentence],
                  dev: List[Sentence], labels: List[str], missed: Sequence[str]
                  ) -> Dict[str, Any]:
    """Train one variant for ``args.steps`` steps and score it on ``dev``, and again with
    the ``missed`` gold labels (the left-out dev docs') as false negatives."""
    import numpy
    import torch

    from spacy_xlie.scorers import prf_report

    torch.manual_seed(args.seed)
    probe = Probe(args.encoder, variant, len(labels), args.layers, args.frozen_layers)
    index = {label: i for i, label in enumerate(labels)}
    optimizer = torch.optim.AdamW(probe.parameters(), lr=args.learn_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(
        (step + 1) / args.warmup, max(0.0, (args.steps - step) / (args.steps - args.warmup))))
    order = numpy.random.RandomState(args.seed).permutation(
        numpy.tile(numpy.arange(len(train)), args.steps * args.batch_size // len(train) + 1))
    probe.train(True)
    started = time.time()
    for step in range(args.steps):
        batch = [train[i] for i in order[step * args.batch_size:(step + 1) * args.batch_size]]
        gold = torch.tensor([index[label] for s in batch for _, _, label in s.pairs])
        loss = torch.nn.functional.cross_entropy(probe.logits(batch), gold)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(probe.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 50 == 0:
            print(f"{variant} step {step}: loss {loss.item():.3f}, "
                  f"{time.time() - started:.0f} s", file=sys.stderr)
    train_minutes = (time.time() - started) / 60
    per_type = score(probe, dev, batch_size=args.batch_size, labels=labels)
    types = [label for label in labels if label != NONE]
    scores = prf_report(per_type, types)
    all_gold = prf_report(with_misses(per_type, missed), types)
    print(f"{variant}: dev macro-F {scores['rel_macro_f']:.3f}", file=sys.stderr)
    return {"variant": variant, "train_minutes": round(train_minutes, 1),
            "dev_macro_f": scores["rel_macro_f"], "dev_micro_f": scores["rel_micro_f"],
            "dev_macro_f_all_gold": all_gold["rel_macro_f"],
            "dev_micro_f_all_gold": all_gold["rel_micro_f"],
            "dev_f_per_type": {t: s["f"] for t, s in scores["rel_f_per_type"].items()}}


def score(probe: Probe, dev: List[Sentence], labels: List[str], batch_size: int
          ) -> Dict[str, Any]:
    """Per-type counts over the dev pairs, as the pipeline's scorer counts: a pair
    predicted with a type counts for that type (true if gold has it, false otherwise); a
    gold type not predicted is a miss."""
    import torch
    from spacy.scorer import PRFScore

    probe.train(False)
    per_type: Dict[str, PRFScore] = {}
    with torch.no_grad():
        for start in range(0, len(dev), batch_size):
            batch = dev[start:start + batch_size]
            predicted = probe.logits(batch).argmax(1).tolist()
            gold = [label for s in batch for _, _, label in s.pairs]
            for p, g in zip(predicted, gold):
                p = labels[p]
                if p != NONE:
                    counts = per_type.setdefault(p, PRFScore())
                    if p == g:
                        counts.tp += 1
                    else:
                        counts.fp += 1
                if g != NONE and p != g:
                    per_type.setdefault(g, PRFScore()).fn += 1
    return per_type


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=32, help="sentences per step")
    parser.add_argument("--learn-rate", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--frozen-layers", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", default="marker_probe")
    args = parser.parse_args(argv)
    import torch

    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)} (choose from {VARIANTS})")
    dev_docs = read_docs(args.dev)
    train, dev = load_sentences(read_docs(args.train)), load_sentences(dev_docs)
    labels = [NONE] + sorted({label for s in train for _, _, label in s.pairs} - {NONE})
    n_left_out, missed = left_out(dev_docs)
    rows = [train_variant(variant, args, train, dev, labels, missed) for variant in variants]
    report = {
        "command": "python " + " ".join([sys.argv[0], *argv]),
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "train_sentences": len(train), "dev_sentences": len(dev),
        "dev_left_out": {"docs": n_left_out, "gold_relations": len(missed)},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "variants": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.report}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{args.report}.md").write_text(markdown(report))
    return 0


def markdown(report: Dict[str, Any]) -> str:
    """The report as Markdown: one row per variant, then the per-type F."""
    settings = report["settings"]
    lines = [
        "# Entity markers in the encoder's input: a probe on English data", "",
        f"Command: `{report['command']}` ({report['date']}; torch {report['torch']}, "
        f"{report['threads']} threads).", "",
        f"multilingual-e5-small's lowest {settings['layers']} layers (embeddings and the "
        f"lowest {settings['frozen_layers']} frozen, as in `configs/e5small.cfg`), a small "
        f"head, {settings['steps']} steps of {settings['batch_size']} KBP37 train sentences "
        f"({report['train_sentences']} sentences with two entities), AdamW at peak "
        f"{settings['learn_rate']:g}, seed {settings['seed']}; scored on the directed pairs of "
        f"KBP37 dev's gold entities ({report['dev_sentences']} sentences) with the "
        "pipeline's official macro-F. No recognizer, and the probe leaves out the dev docs "
        f"without two gold entities ({report['dev_left_out']['docs']} docs, "
        f"{report['dev_left_out']['gold_relations']} gold relations), which the pipeline's "
        "scorer counts as missed: the first two score columns sit a little above the "
        "pipeline's on the same predictions; the \"all gold\" columns count those relations "
        "as missed, as the pipeline's scorer does (empty: a report from before they were "
        "scored). "
        "`none`: one unmarked pass per sentence, head/tail/between pooled (mean and max); "
        "`markers`: one pass per directed pair with `@ head @` and `# tail #`, the same "
        "pooling; `markers_start`: the same passes, the two opening markers' vectors. "
        "Scores in %.", "",
        "| variant | KBP37 dev macro-F | KBP37 dev micro-F | macro-F, all gold "
        "| micro-F, all gold | train minutes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['variant']} | {percent(r['dev_macro_f'])} | "
              f"{percent(r['dev_micro_f'])} | {percent(r.get('dev_macro_f_all_gold'))} | "
              f"{percent(r.get('dev_micro_f_all_gold'))} | {r['train_minutes']} |"
              for r in report["variants"]]
    types = sorted({t for r in report["variants"] for t in r["dev_f_per_type"]})
    lines += ["", "F per relation type on KBP37 dev (%):", "",
              "| type | " + " | ".join(r["variant"] for r in report["variants"]) + " |",
              "|---|" + "---:|" * len(report["variants"])]
    lines += [f"| {t} | " + " | ".join(f"{100 * r['dev_f_per_type'].get(t, 0.0):.1f}"
                                      for r in report["variants"]) + " |" for t in types]
    return "\n".join(lines) + "\n"


def percent(value: Optional[float]) -> str:
    """A 0-1 score in % with one decimal; empty where it was not scored."""
    return "" if value is None else f"{100 * value:.1f}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
