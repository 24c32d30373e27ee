"""Peak memory of one training update: a batch of typical docs, with and without one doc
of many wordpieces, the encoder called once a batch or in calls cut by wordpieces.

    python bench/update_memory.py --model training/e5small/model-best --out bench/results

The training batcher (``spacy.batch_by_padded.v1``) counts words, but the encoder pays in
wordpieces, and the trained layers keep their attention, batch x heads x pieces², for
backprop: one doc whose words split into many pieces (URLs, numbers, rare scripts) pads
every doc of its batch to its length. From KBP37 train (``--train``, read as training
reads it: ``corpora.train`` of the pipeline's config): ``--docs`` docs
of the median word count, and the doc with the most wordpieces (the pipeline's own
tokenizer) among docs of at most ``--max-words`` words, which the batcher lets into such
a batch. Each batch gets one ``nlp.update`` in a fresh process: the pipeline loaded fp32,
prepared as training prepares it (its config's ``[initialize]`` callbacks: the frozen
layers, the fixed mmap threshold), with ``max_update_pieces`` off (one encoder call, as
spacy-transformers does) and at the value ``--recipe`` sets. Reported: the rise of the
peak RSS over the RSS before the update, and the start of the long doc's text. Writes
``update_memory.json`` and ``.md`` to ``--out``.
"""

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def kbp37_examples(nlp: Any, train: Path) -> List[Any]:
    """KBP37 train as the training reads it (the config's ``corpora.train`` on ``train``,
    one entity doc), as examples: those with a relation and those without (no_relation)."""
    from spacy.util import resolve_dot_names

    config = nlp.config.copy()
    config["paths"]["train"] = str(train)
    config["corpora"]["train"]["entities_limit"] = 1  # the WikiANN side is not measured
    config["corpora"]["train"]["augmenter"] = None
    (corpus,) = resolve_dot_names(config.interpolate(), ["corpora.train"])
    return list(corpus(nlp))


def wordpieces(nlp: Any, examples: List[Any]) -> List[int]:
    """Each example's wordpieces by the pipeline's own tokenizer."""
    tokenizer = nlp.get_pipe("transformer").model.tokenizer
    return [len(ids) for ids in tokenizer([eg.predicted.text for eg in examples],
                                          add_special_tokens=False)["input_ids"]]


def batches(nlp: Any, train: Path, n_docs: int, max_words: int
            ) -> Tuple[Dict[str, List[int]], str]:
    """Indices into :func:`kbp37_examples`: ``n_docs`` of the median word count, and
    the same with the doc of most wordpieces among those of at most ``max_words`` words;
    and the start of that doc's text."""
    examples = kbp37_examples(nlp, train)
    pieces = wordpieces(nlp, examples)
    words = [len(eg.predicted) for eg in examples]
    median = statistics.median_low(words)
    typical = [i for i, n in enumerate(words) if n == median][:n_docs]
    long = max((i for i, n in enumerate(words) if n <= max_words), key=pieces.__getitem__)
    return ({"typical": typical, "typical + the doc of most pieces": typical + [long]},
            examples[long].predicted.text[:120])


def _update_worker(model: str, train: str, indices: List[int],
                   max_update_pieces: Optional[int]) -> Dict[str, Any]:
    """One update on ``indices`` of the relation examples, in this fresh process."""
    import spacy
    from spacy.util import registry
    from thinc.api import Config

    from spacy_xlie.util.memory import current_rss_mb, peak_rss_mb, reset_peak_rss

    nlp = spacy.load(model, config={"components": {"transformer": {"quantize": "off"}}})
    callbacks = registry.resolve(Config({"before": nlp.config["initialize"]["before_init"],
                                         "after": nlp.config["initialize"]["after_init"]}))
    for callback in callbacks.values():
        if callback is not None:
            callback(nlp)
    nlp.get_pipe("transformer").max_update_pieces = max_update_pieces
    examples = kbp37_examples(nlp, Path(train))
    batch = [examples[i] for i in indices]
    pieces = wordpieces(nlp, batch)
    optimizer = nlp.create_optimizer()
    before = current_rss_mb()
    reset_peak_rss()
    nlp.update(batch, sgd=optimizer)
    return {"docs": len(batch), "words": sum(len(eg.predicted) for eg in batch),
            "most_pieces": max(pieces), "rss_before_mb": round(before, 1),
            "rise_mb": round(peak_rss_mb() - before, 1)}


def shown_path(path: Path) -> str:
    """``path`` relative to the repository where it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# Peak memory of one training update", "",
             f"`{report['command']}` ({report['date']}, {report['machine']}). Model: "
             f"`{report['model']}`, fp32, prepared as training prepares it; cut calls: "
             f"`max_update_pieces = {report['configured']}` (`{report['recipe']}`). Each cell: "
             "one `nlp.update` in a fresh process, the rise of the peak RSS over the RSS before "
             "it (MB).", "",
             "| batch | docs | words | most wordpieces in a doc | one encoder call | "
             "calls cut by wordpieces |", "|---|---:|---:|---:|---:|---:|"]
    lines[4:4] = [f"The doc of most pieces begins: `{report['long_doc_start']}`", ""]
    for name, row in report["batches"].items():
        one, cut = row["one_call"], row["cut"]
        lines.append(f"| {name} | {one['docs']} | {one['words']} | {one['most_pieces']} | "
                     f"{one['rise_mb']:,.0f} | {cut['rise_mb']:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--train", type=Path, default=REPO / "corpus" / "kbp37_train.spacy")
    parser.add_argument("--docs", type=int, default=12, help="docs of the typical batch")
    parser.add_argument("--max-words", type=int, default=70)
    parser.add_argument("--recipe", type=Path, default=REPO / "configs" / "e5small.cfg",
                        help="the config whose max_update_pieces the cut calls use")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    import spacy
    from spacy.util import load_config

    from spacy_xlie.util.io import write_json, write_text
    from spacy_xlie.util.memory import in_fresh_process

    configured = load_config(args.recipe)["components"]["transformer"]["max_update_pieces"]
    nlp = spacy.load(args.model, exclude=["ner", "xlie_relation_extractor"])
    rows = {}
    chosen, long_doc_start = batches(nlp, args.train, args.docs, args.max_words)
    for name, indices in chosen.items():
        rows[name] = {key: in_fresh_process(_update_worker, str(args.model), str(args.train),
                                            indices, pieces)
                      for key, pieces in (("one_call", None), ("cut", configured))}
    report = {"command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "model": str(args.model), "recipe": shown_path(args.recipe), "configured": configured,
              "long_doc_start": long_doc_start, "batches": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "update_memory.json")
    write_text(markdown(report), args.out / "update_memory.md")
    print(markdown(report))


if __name__ == "__main__":
    main()
