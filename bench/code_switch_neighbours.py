"""What code-switching would put in place of a few English words: each word's replacements
from an encoder's input embeddings, as ``spacy_xlie.code_switch.v1`` draws them.

    python bench/code_switch_neighbours.py --encoder assets/e5small --out bench/results

The words are KBP37 relation cues and a few function words (which the augmenter never
replaces: they are English stop words). For each, its replacements (nearest first) with
the augmenter's default ``top_k`` and ``min_similarity``; a word with no piece of its own
("headquarters", split in pieces) has none.

Writes ``code_switch_neighbours.json`` and ``.md`` to ``--out``.
"""

import argparse
import datetime
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = ["born", "died", "wife", "married", "daughter", "brother", "founded", "member",
         "employees", "located", "headquarters", "city", "country", "capital", "president",
         "company", "university", "after", "which", "of", "the"]


def markdown(report: Dict[str, Any]) -> str:
    lines = ["# Code-switching: replacements from the encoder's input embeddings", "",
             f"Command: `{report['command']}`. Run {report['date']}.", "",
             f"Each word's replacements, nearest first (top_k {report['top_k']}, cosine >= "
             f"{report['min_similarity']}; `spacy_xlie.code_switch.v1`'s defaults). Stop "
             "words are listed to show their neighbours; the augmenter never replaces them. "
             "None: the word is not one piece of its own.", "",
             "| word | replacements |", "|---|---|"]
    lines += [f"| {word} | {', '.join(found) if found is not None else 'None'} |"
              for word, found in report["replacements"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from spacy_xlie.corpora.code_switch import EmbeddingNeighbours, create_code_switch
    from spacy_xlie.util.io import write_json, write_text

    defaults = inspect.signature(create_code_switch).parameters
    top_k, min_similarity = defaults["top_k"].default, defaults["min_similarity"].default
    neighbours = EmbeddingNeighbours.from_encoder(args.encoder, top_k=top_k,
                                                  min_similarity=min_similarity)
    found = neighbours(WORDS)
    replacements: Dict[str, Any] = {word: found.get(word) for word in WORDS}
    report = {"command": " ".join(["python", "bench/code_switch_neighbours.py", *sys.argv[1:]]),
              "date": datetime.date.today().isoformat(), "encoder": str(args.encoder),
              "top_k": top_k, "min_similarity": min_similarity,
              "replacements": replacements}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(report, args.out / "code_switch_neighbours.json")
    write_text(markdown(report), args.out / "code_switch_neighbours.md")
    print(markdown(report))


if __name__ == "__main__":
    main()
