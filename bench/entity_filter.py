"""Settings of the entity filter, compared on English dev data.

    python bench/entity_filter.py --data-dir ../shared/data --out bench/results \
        --model training/e5small/model-best --setting trim_separators

``xlie_entity_filter`` cleans the recognizer's entities before the extractor pairs them
(``spacy_xlie/pipeline/entity_filter.py``). A rule of it is a prediction setting, so each
value of ``--setting`` (a boolean of the filter) is scored on one loaded pipeline, with
nothing retrained, on the data a pipeline change is chosen on (English only):

* the recognizer's span F1 on the first ``--dev-sentences`` WikiANN en validation
  sentences (those the configs' dev reader reads), predicted on their own tokens;
* KBP37 dev's raw sentences through the whole pipeline, scored as RELX's are in
  ``bench/end_to_end.py``: the annotated pair found and the relations on it, micro P/R/F
  and the official macro-F, with exact and with overlapping boundaries.

Writes ``entity_filter_SETTING.json`` and ``.md`` to ``--out``.
"""

import os
import sys
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_bench  # noqa: E402  (bench/, beside this script)
from end_to_end import (  # noqa: E402
    kbp37_dev_section,
    log,
    pct,
    recognizer_predictions,
    recognizer_prf,
)


def filter_pipe(nlp):
    """The pipeline's ``xlie_entity_filter``."""
    names = [name for name in nlp.pipe_names
             if nlp.get_pipe_meta(name).factory == "xlie_entity_filter"]
    if not names:
        raise SystemExit("the pipeline has no xlie_entity_filter")
    return nlp.get_pipe(names[0])


def wikiann_dev(nlp, data_dir: Path, sentences: int) -> List[Any]:
    from spacy_xlie.corpora.wikiann import read_wikiann

    gold = list(read_wikiann(data_dir / "wikiann" / "en" / "val.conllu", "en", nlp=nlp))
    return gold[:sentences]


def score(nlp, gold: List[Any], data_dir: Path, labels, batch_size: int) -> Dict[str, Any]:
    prf, _ = recognizer_prf(recognizer_predictions(nlp, gold, batch_size), gold)
    return {"wikiann_en_dev": {"f": prf["ents_f"], "p": prf["ents_p"], "r": prf["ents_r"]},
            "kbp37_dev": kbp37_dev_section(nlp, data_dir, labels, batch_size, 0)}


def markdown(report: Dict[str, Any]) -> str:
    lines = [f"# The entity filter's `{report['setting']}`, on English dev data", "",
             f"`{report['command']}` ({report['date']}; {report['machine']}). Model: "
             f"`{report['model']}`, loaded once; only the setting changes between rows "
             "(nothing retrained). WikiANN: the recognizer's span F1 on the first "
             f"{report['dev_sentences']:,} WikiANN en validation sentences (the configs' "
             "dev sentences), on their own tokens. KBP37 dev: its raw sentences through the "
             "whole pipeline, relations on the annotated pair scored as RELX's are in "
             "`bench/end_to_end.py` (micro-F, official macro-F). Scores in %.", "",
             "| setting | WikiANN en dev P | R | F1 | KBP37 dev pair found exact | "
             "relations micro-F exact | macro-F exact | pair found overlap | "
             "relations micro-F overlap | macro-F overlap |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for value, row in report["rows"].items():
        w, k = row["wikiann_en_dev"], row["kbp37_dev"]
        lines.append(f"| {report['setting']} = {value} | {pct(w['p'])} | {pct(w['r'])} | "
                     f"{pct(w['f'])} | {pct(k['exact']['pair_found'])} | "
                     f"{pct(k['exact']['micro_f'])} | {pct(k['exact']['macro_f'])} | "
                     f"{pct(k['overlap']['pair_found'])} | {pct(k['overlap']['micro_f'])} | "
                     f"{pct(k['overlap']['macro_f'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = dev_bench.parser(__doc__)
    parser.add_argument("--setting", required=True,
                        help="A boolean setting of xlie_entity_filter, scored off and on")
    parser.add_argument("--dev-sentences", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    dev_bench.require(args.data_dir / dev_bench.KBP37_DEV,
                      args.data_dir / "wikiann" / "en" / "val.conllu")
    nlp = dev_bench.load_pipeline(args.model)
    pipe = filter_pipe(nlp)
    if not isinstance(getattr(pipe, args.setting, None), bool):
        raise SystemExit(f"xlie_entity_filter has no boolean setting {args.setting!r}")
    labels = dev_bench.relation_labels(nlp)
    gold = wikiann_dev(nlp, args.data_dir, args.dev_sentences)
    rows = {}
    for value in (False, True):
        setattr(pipe, args.setting, value)
        log(f"{args.setting} = {value}")
        rows[str(value).lower()] = score(nlp, gold, args.data_dir, labels, args.batch_size)
    report = {"model": args.model, "setting": args.setting, "dev_sentences": len(gold),
              **dev_bench.stamp(), "rows": rows}
    dev_bench.write_report(report, markdown, args.out, f"entity_filter_{args.setting}")


if __name__ == "__main__":
    main()
