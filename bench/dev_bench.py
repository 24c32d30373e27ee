"""What the benches that compare settings of one loaded pipeline on English dev data share
(``entity_filter.py``, ``sentencizer.py``, ``long_doc.py``, ``doc_windows.py``,
``onnx_buckets.py``): their first options, how the pipeline is loaded and scored with the
gold entities, and how a report is stamped and written."""

import argparse
import datetime
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

#: KBP37 dev's raw file in the data mirror: the English dev data these benches read.
KBP37_DEV = Path("kbp37") / "dev.txt"


def parser(doc: str) -> argparse.ArgumentParser:
    """A bench's options (described by its docstring's first paragraph) with ``--data-dir``
    (the data mirror), ``--model`` (the pipeline) and ``--out`` (the report's folder)."""
    options = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    options.add_argument("--data-dir", type=Path, required=True)
    options.add_argument("--model", required=True)
    options.add_argument("--out", type=Path, required=True)
    return options


def require(*paths: Path) -> None:
    """Stop with one line naming the first of ``paths`` that does not exist (before any
    model is loaded)."""
    for path in paths:
        if not path.exists():
            raise SystemExit(f"{path} does not exist")


def load_pipeline(model: str, config: Optional[Dict[str, Any]] = None) -> Any:
    """``model`` loaded with ``config`` overrides, torch on every core (the benches time it
    and score it on the same machine)."""
    import spacy
    import torch

    import spacy_xlie  # noqa: F401  (extensions)

    torch.set_num_threads(os.cpu_count() or 1)
    return spacy.load(model, config=config or {})


def relation_labels(nlp: Any) -> List[str]:
    """The labels of ``nlp``'s (first) relation extractor."""
    from spacy_xlie.entities import relation_extractors

    return nlp.get_pipe(relation_extractors(nlp)[0]).labels


def gold_entity_macro_f(nlp: Any, corpus: Path) -> float:
    """The relation macro-F of ``nlp`` on ``corpus`` given its gold entities."""
    from spacy_xlie.evaluation import evaluate_relations

    report = evaluate_relations(nlp, [corpus], gold_ents=True)
    return next(iter(report["datasets"].values()))["rel_macro_f"]


def stamp() -> Dict[str, str]:
    """The command that ran the bench as typed (shell-quoted), today's date, the machine."""
    return {"command": "python " + shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}


def write_report(report: Dict[str, Any], markdown: Callable[[Dict[str, Any]], str],
                 out: Path, stem: str) -> None:
    """``report`` as ``out/STEM.json`` and its ``markdown`` as ``out/STEM.md``."""
    from end_to_end import log

    from spacy_xlie.util.io import write_json, write_text

    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / f"{stem}.json")
    write_text(markdown(report), out / f"{stem}.md")
    log(f"wrote {out / stem}.json and .md")
