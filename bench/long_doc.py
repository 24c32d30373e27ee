"""Relations of one long doc against the same sentences as separate docs.

    python bench/long_doc.py --data-dir ../shared/data --out bench/results \
        --model training/e5small/model-package --sentences 400

A user's doc is often an article, not a sentence. The extractor scores at most
``max_candidates`` pairs a doc; ``spacy_xlie.candidate_pairs.v1`` took the nearest of the
whole doc, so a long doc lost pairs in every sentence, while ``.v2`` (with
``same_sentence``) caps each sentence on its own (``spacy_xlie/pipeline/candidates.py``).
The first ``--sentences`` raw sentences of KBP37 dev (English dev data) are run through
the pipeline joined by spaces into one doc and as one doc each, with the extractor's
candidates set to each version (its other candidate settings as the model has them); the
report counts the relations found and the pairs scored. The two ways differ by more than
the cap: in one doc the encoder reads each sentence with its neighbours.

Writes ``long_doc.json`` and ``long_doc.md`` to ``--out``.
"""

import os
import sys
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)

VERSIONS = ("v1", "v2")


def load_with_candidates(model: str, version: str):
    """The pipeline with its extractor's candidates at ``version``, other settings kept."""
    import spacy
    from spacy.util import load_config

    components = load_config(Path(model) / "config.cfg")["components"]
    name = next(name for name, block in components.items()
                if block.get("factory") == "xlie_relation_extractor")
    candidates = dict(components[name]["candidates"])
    candidates["@misc"] = f"spacy_xlie.candidate_pairs.{version}"
    nlp = spacy.load(model, config={"components": {name: {"candidates": candidates}}})
    return nlp, nlp.get_pipe(name)


def counts(nlp, pipe, texts: List[str]) -> Dict[str, Dict[str, int]]:
    """Relations found and pairs scored, with ``texts`` as one doc and one doc each."""
    joined = nlp(" ".join(texts))
    separate = list(nlp.pipe(texts, batch_size=64))
    return {
        "one_doc": {"relations": len(joined._.relations),
                    "pairs": len(pipe.candidates(joined))},
        "separate_docs": {"relations": sum(len(doc._.relations) for doc in separate),
                          "pairs": sum(len(pipe.candidates(doc)) for doc in separate)},
    }


def markdown(report: Dict[str, Any]) -> str:
    settings = ", ".join(f"`{key} = {value}`" for key, value in report["settings"].items())
    lines = ["# One long doc against its sentences as separate docs", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}). Model: "
             f"`{report['model']}` (its candidate settings: {settings}), the first "
             f"{report['sentences']} raw KBP37 dev sentences, joined by spaces into one doc "
             "and as one doc each; only the candidates' version changes between rows.", "",
             "| candidates | pairs, one doc | pairs, separate docs | relations, one doc | "
             "relations, separate docs |",
             "|---|---:|---:|---:|---:|"]
    for version, row in report["rows"].items():
        one, sep = row["one_doc"], row["separate_docs"]
        lines.append(f"| `spacy_xlie.candidate_pairs.{version}` | {one['pairs']:,} | "
                     f"{sep['pairs']:,} | {one['relations']:,} | {sep['relations']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = dev_bench.parser(__doc__)
    parser.add_argument("--sentences", type=int, default=400)
    args = parser.parse_args()
    source = args.data_dir / dev_bench.KBP37_DEV
    dev_bench.require(source)
    import spacy_xlie  # noqa: F401  (extensions)
    from spacy_xlie.corpora.marked import read_marked

    texts = [doc.text for doc in read_marked(source, "en")][: args.sentences]
    rows, settings = {}, {}
    for version in VERSIONS:
        nlp, pipe = load_with_candidates(args.model, version)
        settings = {"same_sentence": pipe.candidates.same_sentence,
                    "max_candidates": pipe.candidates.max_candidates,
                    "max_distance": pipe.candidates.max_distance}
        rows[version] = counts(nlp, pipe, texts)
    report = {"model": args.model, "sentences": len(texts), "settings": settings,
              **dev_bench.stamp(), "rows": rows}
    dev_bench.write_report(report, markdown, args.out, "long_doc")


if __name__ == "__main__":
    main()
