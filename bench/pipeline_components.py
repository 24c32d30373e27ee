"""Where a pipeline's prediction time goes: seconds per component on the same docs.

    python bench/pipeline_components.py --model training/e5small/model-best \
        --docs corpus/eval/kbp37_test.spacy --n-docs 500 --rounds 3 --out bench/results

The docs' texts go through the tokenizer and then each component's ``pipe`` in turn (the
whole stream through one component before the next, ``--batch-size`` docs a batch), as
``nlp.pipe`` would run them; each round starts from the texts again and the table keeps
each component's fastest round (these machines are noisy). A first untimed pass over
``--batch-size`` docs loads the lazy parts (tokenizer, torch kernels). Writes
``NAME.json`` and ``NAME.md`` to ``--out`` (``--name``, default ``pipeline_components``).
To measure an earlier tree, run this file with ``PYTHONPATH`` set to that tree's
checkout; the report names the spacy_xlie it imported.
"""

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def one_round(nlp, texts: Sequence[str], batch_size: int) -> Dict[str, float]:
    """Seconds of the tokenizer and of each component over all ``texts``."""
    start = time.perf_counter()
    docs = [nlp.make_doc(text) for text in texts]
    seconds = {"tokenizer": time.perf_counter() - start}
    for name, proc in nlp.pipeline:
        start = time.perf_counter()
        if hasattr(proc, "pipe"):
            docs = list(proc.pipe(docs, batch_size=batch_size))
        else:
            docs = [proc(doc) for doc in docs]
        seconds[name] = time.perf_counter() - start
    return seconds


def measure(nlp, texts: Sequence[str], batch_size: int, rounds: int) -> Dict[str, Any]:
    one_round(nlp, texts[:batch_size], batch_size)
    runs = [one_round(nlp, texts, batch_size) for _ in range(rounds)]
    fastest = {name: min(run[name] for run in runs) for name in runs[0]}
    total = sum(fastest.values())
    words = sum(len(nlp.make_doc(text)) for text in texts)
    return {
        "seconds": {name: round(value, 3) for name, value in fastest.items()},
        "share": {name: round(value / total, 4) for name, value in fastest.items()},
        "total_seconds": round(total, 3),
        "words": words,
        "words_per_second": round(words / total, 1),
        "rounds": [{name: round(value, 3) for name, value in run.items()} for run in runs],
    }


def spacy_xlie_source() -> str:
    """The commit of the spacy_xlie that ran (a run of an earlier tree says so)."""
    import subprocess

    import spacy_xlie

    tree = Path(spacy_xlie.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return f"{tree} at {commit or 'an unknown commit'}"


def markdown(report: Dict[str, Any]) -> str:
    result = report["result"]
    lines = [
        "# Where prediction time goes, per component",
        "",
        f"Command: `{report['command']}`. Run {report['date']} on {report['machine']}.",
        "",
        f"{result['words']} words ({report['n_docs']} docs of `{report['docs']}`), batches of "
        f"{report['batch_size']} docs, each component over the whole stream in turn; the "
        f"fastest of {report['rounds']} rounds per component. Pipeline: "
        f"`{report['model']}`; spacy_xlie from {report['spacy_xlie']}.",
        "",
        "| component | seconds | share |",
        "|---|---:|---:|",
    ]
    for name, seconds in result["seconds"].items():
        lines.append(f"| {name} | {seconds:.2f} | {100 * result['share'][name]:.1f} % |")
    lines += [
        f"| **all** | **{result['total_seconds']:.2f}** | 100 % |",
        "",
        f"Words/s of the sum: {result['words_per_second']:.0f}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="training/e5small/model-best")
    parser.add_argument("--docs", type=Path, default=Path("corpus/eval/kbp37_test.spacy"))
    parser.add_argument("--n-docs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--name", default="pipeline_components",
                        help="file name of the report, without .json/.md")
    args = parser.parse_args(argv)
    import spacy
    from spacy.tokens import DocBin

    from spacy_xlie.util.io import write_json, write_text

    nlp = spacy.load(args.model)
    docs = list(DocBin().from_disk(args.docs).get_docs(nlp.vocab))[: args.n_docs]
    report = {
        "command": "python bench/pipeline_components.py " + " ".join(argv),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "model": args.model,
        "spacy_xlie": spacy_xlie_source(),
        "docs": str(args.docs),
        "n_docs": len(docs),
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "result": measure(nlp, [doc.text for doc in docs], args.batch_size, args.rounds),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / f"{args.name}.json")
    write_text(markdown(report), args.out / f"{args.name}.md")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
