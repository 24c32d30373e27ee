"""ONNX Runtime's threads spinning or sleeping between the int8 encoder's calls.

    python bench/onnx_spinning.py --model training/e5small/model-best --out bench/results

The raw-text pipeline (sentencizer, int8 encoder, recognizer, extractor) over ``--docs``
KBP37 test sentences with the transformer's ``onnx_spinning`` setting on (ONNX Runtime's
default: after each call its threads spin-wait for the next) and off (they sleep), each
pass in a fresh process and the two alternating for ``--rounds`` rounds
(``cpu_ops.alternating_passes``). The setting changes no number the encoder computes, so
the predictions must be the same both ways. Writes ``onnx_spinning.json`` and ``.md``.
"""

import argparse
import os
from pathlib import Path
from typing import Any, Dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from cpu_ops import alternating_passes, ways_table  # noqa: E402  (bench/ is sys.path[0])

REPO = Path(__file__).resolve().parent.parent
WAYS = {"spinning (ONNX Runtime's default)": True, "sleeping (onnx_spinning = false)": False}


def markdown(report: Dict[str, Any]) -> str:
    spinning, sleeping = WAYS
    return "\n".join([
        "# ONNX Runtime's threads spinning or sleeping between encoder calls", "",
        f"Model: `{report['model']}` (int8 encoder on ONNX Runtime). Command: "
        f"`{report['command']}`. Run {report['date']} on {report['machine']}.", "",
        f"The raw-text pipeline over {report['docs']} KBP37 test sentences "
        f"({report['words']:,} words), each pass in a fresh process, the two ways "
        f"alternating ({report['rounds']} rounds). Same predictions both ways (entities and "
        f"relations of every doc): **{report['same_predictions']}**.", "",
        *ways_table(report), "",
        f"Speed-up of the pipeline, sleeping against spinning (mean words/s): "
        f"**{report['speedup']:.2f}x**. Component seconds: the first pass of each way. "
        f"(`{spinning.split(' (')[0]}` is ONNX Runtime's `session.intra_op.allow_spinning = 1`, "
        f"`{sleeping.split(' (')[0]}` its `0`.)", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--test", type=Path, default=Path("corpus/eval/kbp37_test.spacy"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text

    overrides = {way: {"components": {"transformer": {"quantize": "int8",
                                                      "onnx_spinning": spinning}}}
                 for way, spinning in WAYS.items()}
    report = alternating_passes(args.model, args.test, args.docs, args.rounds, overrides)
    spinning, sleeping = (report["ways"][way]["words_per_second"] for way in WAYS)
    report.update({"model": str(args.model), "speedup": round(sleeping / spinning, 2)})
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "onnx_spinning.json")
    write_text(markdown(report), args.out / "onnx_spinning.md")


if __name__ == "__main__":
    main()
