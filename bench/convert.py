"""Time the KBP37/RELX conversions and record the counts.

Run: ``python bench/convert.py`` (needs the data mirror: XLIE_DATA_DIR or ../shared/data).
Writes bench/results/convert.json and its Markdown twin convert.md.
"""

import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

import spacy

import spacy_xlie
from spacy_xlie.corpora import ConvertStats, get_reader
from spacy_xlie.data import data_dir
from spacy_xlie.util.io import write_docbin, write_json, write_text

RESULTS = Path(__file__).parent / "results"
JOBS = [
    ("kbp37", "kbp37/train.txt", "en"),
    ("kbp37", "kbp37/dev.txt", "en"),
    ("kbp37", "kbp37/test.txt", "en"),
    ("relx", "relx/RELX_en.txt", "en"),
    ("relx", "relx/RELX_de.txt", "de"),
    ("relx", "relx/RELX_fr.txt", "fr"),
    ("relx-distant", "relx-distant/RELX_distant_en.json", "en"),
    ("relx-distant", "relx-distant/RELX_distant_de.json", "de"),
    ("relx-distant", "relx-distant/RELX_distant_fr.json", "fr"),
]


def run_job(root: Path, fmt: str, rel_path: str, lang: str, out_dir: Path) -> dict:
    """Read and write one file (as ``spacy-xlie convert`` does), timing both halves."""
    nlp = spacy.blank(lang)
    stats = ConvertStats()
    start = time.perf_counter()
    docs = list(get_reader(fmt)(root / rel_path, lang, nlp=nlp, stats=stats))
    read_s = time.perf_counter() - start
    write_docbin(docs, out_dir / "out.spacy")
    total_s = time.perf_counter() - start
    return {"format": fmt, "file": rel_path, "lang": lang, "docs": stats.docs,
            "skipped": stats.skipped, "empty_entities": stats.empty_entities,
            "unrepresentable": stats.unrepresentable,
            "labels": len(stats.labels), "read_s": round(read_s, 2),
            "total_s": round(total_s, 2)}


def to_markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "# Conversion benchmark",
        "",
        f"Command: `{report['command']}`; {report['date']}; spacy-xlie {report['version']}, "
        f"spaCy {report['spacy']}; {machine['platform']}, {machine['cpu_count']} CPUs, "
        f"Python {machine['python']}; 1-min load average at the end "
        f"{machine['load_avg_1m_at_end']} (shared machine: timings are noisy).",
        "",
        "| format | file | lang | docs | skipped | empty entities | unrepresentable relations "
        "| labels | read s | read+write s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['format']} | {r['file']} | {r['lang']} | {r['docs']} | {r['skipped']} | "
        f"{r['empty_entities']} | {r['unrepresentable']} | {r['labels']} | {r['read_s']} | "
        f"{r['total_s']} |"
        for r in report["runs"]
    ]
    lines += [
        "",
        "Empty entities: records with an empty marker (`<e1> </e1>`), kept as a doc with the "
        "other entity. Unrepresentable relations: those of them whose label is a relation "
        "(not `no_relation`); with no span to hold them they are kept in "
        "`doc._.xlie_unrepresentable`, never trained on, and scored as missed.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    root = data_dir()
    if root is None:
        raise SystemExit("data mirror not found: set XLIE_DATA_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_job(root, fmt, rel, lang, Path(tmp)) for fmt, rel, lang in JOBS]
    report = {
        "command": "python bench/convert.py",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "version": spacy_xlie.__version__,
        "spacy": spacy.__version__,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(),
                    # a shared machine: timings scale with what else runs
                    "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "runs": runs,
    }
    write_json(report, RESULTS / "convert.json")
    write_text(to_markdown(report), RESULTS / "convert.md")
    print(to_markdown(report))


if __name__ == "__main__":
    main()
