"""How far loading and saving a pipeline lift its process's resident memory.

    python bench/serialize_memory.py --model training/e5small/model-best --out bench/results

Training saves ``model-best`` after each evaluation that improves the score, and every
user loads the pipeline once: if either step holds several copies of the encoder's weights
at once, it sets the peak RSS of the whole job (#24 wants every step of ``all-e5`` under
4 GB). In a fresh process (the encoder fp32, as training holds it, or with ``--quantize
auto`` the int8 encoder a CPU user predicts with): the resident memory
before ``spacy.load``, after it and the peak it reached; then the peak is reset to the
current RSS (Linux ``/proc/self/clear_refs``, value 5) and ``nlp.to_disk`` writes the
pipeline to a temporary folder, and the peak it reached is read. The rise is the peak
minus the RSS before the step. Writes ``REPORT.json`` and ``.md`` to ``--out``
(``--report``, default ``serialize_memory``).
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any, Dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
#: The encoder each ``quantize`` setting loads on CPU.
ENCODERS = {"off": "fp32", "auto": "int8"}


def _worker(model: str, quantize: str) -> Dict[str, Any]:
    import tempfile

    import spacy

    from spacy_xlie.util.memory import current_rss_mb, peak_rss_mb, reset_peak_rss

    reset_peak_rss()
    before_load = current_rss_mb()
    nlp = spacy.load(model, config={"components": {"transformer": {"quantize": quantize}}})
    loaded, load_peak = current_rss_mb(), peak_rss_mb()
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(tmp)
        written = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    save_peak = peak_rss_mb()
    return {"rss_before_load_mb": before_load, "rss_loaded_mb": loaded,
               "load_peak_mb": load_peak, "load_rise_mb": round(load_peak - before_load, 1),
               "save_peak_mb": save_peak, "save_rise_mb": round(save_peak - loaded, 1),
               "written_mb": round(written / 2**20, 1), "pipeline": list(nlp.pipe_names)}


def markdown(report: Dict[str, Any]) -> str:
    m = report["memory"]
    return "\n".join([
        "# Memory of loading and saving a pipeline", "",
        f"`{report['command']}` ({report['date']}, {report['machine']}). Model: "
        f"`{report['model']}` ({', '.join(m['pipeline'])}), encoder "
        f"{ENCODERS[report.get('quantize', 'off')]}. One fresh process; "
        "the peak is reset to the current RSS before each step.", "",
        "| step | RSS before (MB) | peak during (MB) | rise (MB) |",
        "|---|---:|---:|---:|",
        f"| `spacy.load` | {m['rss_before_load_mb']:,.0f} | {m['load_peak_mb']:,.0f} "
        f"| {m['load_rise_mb']:,.0f} |",
        f"| `nlp.to_disk` | {m['rss_loaded_mb']:,.0f} | {m['save_peak_mb']:,.0f} "
        f"| {m['save_rise_mb']:,.0f} |", "",
        f"RSS once loaded: {m['rss_loaded_mb']:,.0f} MB; files written: "
        f"{m['written_mb']:,.0f} MB.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--quantize", choices=sorted(ENCODERS), default="off",
                        help="the transformer's quantize setting while loading")
    parser.add_argument("--report", default="serialize_memory",
                        help="file name of the report, without .json/.md")
    args = parser.parse_args()
    from spacy_xlie.util.io import write_json, write_text
    from spacy_xlie.util.memory import in_fresh_process

    report = {"command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "model": str(args.model), "quantize": args.quantize,
              "memory": in_fresh_process(_worker, str(args.model), args.quantize)}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / f"{args.report}.json")
    write_text(markdown(report), args.out / f"{args.report}.md")
    print(markdown(report))


if __name__ == "__main__":
    main()
