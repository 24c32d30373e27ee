"""Which of the encoder's layers carry entity information: a frozen linear probe per layer.

    python bench/layer_probe.py --encoder assets/e5small --out bench/results \
        --train corpus/ner/wikiann_en_train.spacy --dev corpus/ner/wikiann_en_val.spacy

The e5small recipe keeps only the lowest layers of multilingual-e5-small (every kept layer
costs encoder time in training and prediction). This measures, on English data only (the
recipe is chosen on English; WikiANN de/es are test data), how well each layer's token
vectors separate entity tags when nothing is trained but a linear softmax: the vector of
each word's first piece, BIO tags, span F1 on the dev docs. The probe is a plain torch
softmax regression because nothing else here fits one (no scikit-learn in the
environment); it only ranks layers, it is not a recognizer. Writes ``layer_probe.json`` and
``layer_probe.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

Span = Tuple[int, int, int, str]  # (doc index, start word, end word, label)


def load_docs(path: Path, limit: int) -> List[Tuple[List[str], List[str]]]:
    """Words and BIO tags of the first ``limit`` docs of a ``.spacy`` file."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("xx")
    docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))[:limit]
    return [([t.text for t in doc], [bio(t) for t in doc]) for doc in docs]


def bio(token) -> str:
    """The token's IOB tag as ``B-LABEL``/``I-LABEL``/``O``."""
    return f"{token.ent_iob_}-{token.ent_type_}" if token.ent_iob_ in ("B", "I") else "O"


def encode(encoder: Path, docs, batch_size: int = 32):
    """Per layer, the first-piece vector of every word of every doc (one tensor per layer)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    model = AutoModel.from_pretrained(str(encoder)).eval()
    per_layer: List[List[torch.Tensor]] = []
    for start in range(0, len(docs), batch_size):
        words = [w for w, _ in docs[start:start + batch_size]]
        batch = tokenizer(words, is_split_into_words=True, return_tensors="pt",
                          padding=True, truncation=True, max_length=256)
        with torch.no_grad():
            hidden = model(**batch, output_hidden_states=True).hidden_states
        for i in range(len(words)):
            firsts = first_pieces(batch.word_ids(i), len(words[i]))
            for layer, states in enumerate(hidden):
                if len(per_layer) <= layer:
                    per_layer.append([])
                per_layer[layer].append(states[i, firsts])
    return [torch.cat(vectors) for vectors in per_layer]


def first_pieces(word_ids: Sequence, n_words: int) -> List[int]:
    """The position of each word's first piece (words cut by truncation take the last)."""
    firsts: Dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in firsts:
            firsts[word] = position
    last = max(firsts.values())
    return [firsts.get(w, last) for w in range(n_words)]


def spans(tag_docs: Sequence[Sequence[str]]) -> Set[Span]:
    """Entity spans of BIO tag sequences (an ``I`` after another type opens a span)."""
    found: Set[Span] = set()
    for d, tags in enumerate(tag_docs):
        start, label = None, None
        for i, tag in enumerate(list(tags) + ["O"]):
            prefix, _, kind = tag.partition("-")
            if label is not None and (prefix != "I" or kind != label):
                found.add((d, start, i, label))
                start, label = None, None
            if prefix == "B" or (prefix == "I" and label is None):
                start, label = i, kind
    return found


def span_f1(gold: Set[Span], predicted: Set[Span]) -> float:
    """Exact-match span F1."""
    correct = len(gold & predicted)
    return 2 * correct / (len(gold) + len(predicted)) if gold or predicted else 0.0


def probe(train_x, train_y, dev_x, n_tags: int, epochs: int, seed: int):
    """Train a softmax regression on frozen vectors (full-batch Adam) and tag the dev words."""
    import torch

    torch.manual_seed(seed)
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    linear = torch.nn.Linear(train_x.shape[1], n_tags)
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.01, weight_decay=1e-4)
    x = (train_x - mean) / std
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(linear(x), train_y).backward()
        optimizer.step()
    with torch.no_grad():
        return linear((dev_x - mean) / std).argmax(1)


def regroup(flat: Sequence[str], docs) -> List[List[str]]:
    """Split a flat tag list back into the docs' word counts."""
    out, at = [], 0
    for words, _ in docs:
        out.append(list(flat[at:at + len(words)]))
        at += len(words)
    return out


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-docs", type=int, default=8000)
    parser.add_argument("--dev-docs", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    started = time.time()
    train, dev = load_docs(args.train, args.train_docs), load_docs(args.dev, args.dev_docs)
    tags = sorted({t for _, ts in train for t in ts})
    index = {t: i for i, t in enumerate(tags)}
    train_y = torch.tensor([index[t] for _, ts in train for t in ts])
    train_layers, dev_layers = encode(args.encoder, train), encode(args.encoder, dev)
    gold = spans([ts for _, ts in dev])
    rows = []
    for layer, (train_x, dev_x) in enumerate(zip(train_layers, dev_layers)):
        predicted = probe(train_x, train_y, dev_x, len(tags), args.epochs, args.seed)
        predicted_tags = regroup([tags[i] for i in predicted.tolist()], dev)
        rows.append({"layer": layer, "dev_span_f1": span_f1(gold, spans(predicted_tags))})
        print(f"layer {layer}: {rows[-1]['dev_span_f1']:.3f}", file=sys.stderr)
    report = {
        "command": "python " + " ".join([sys.argv[0], *argv]),
        "date": datetime.date.today().isoformat(),
        "train_docs": len(train), "dev_docs": len(dev), "epochs": args.epochs,
        "seconds": round(time.time() - started, 1), "layers": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "layer_probe.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "layer_probe.md").write_text(markdown(report))
    return 0


def markdown(report) -> str:
    """The report as a Markdown table (layer 0 is the embedding layer's output)."""
    lines = [
        "# Entity information per encoder layer: a frozen linear probe (English only)", "",
        f"Command: `{report['command']}`. Run {report['date']}, {report['seconds']} s.", "",
        f"A softmax regression on each layer's first-piece word vectors (frozen), trained on "
        f"{report['train_docs']} WikiANN en train sentences ({report['epochs']} full-batch "
        f"Adam epochs), span F1 on {report['dev_docs']} WikiANN en validation sentences. "
        "Layer 0 is the embedding layer's output.", "",
        "| layer | dev span F1 |", "|---:|---:|",
    ]
    lines += [f"| {r['layer']} | {100 * r['dev_span_f1']:.1f} |" for r in report["layers"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
