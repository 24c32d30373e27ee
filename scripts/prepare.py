"""Workflow step ``prepare``: the project's data sets as DocBins.

Converts KBP37 (train/dev/test), every RELX language present and every WikiANN split
present (named entities, for the entity recognizer) into ``.spacy`` files and writes the
RELX-Distant sentences, stripped of their annotations, as raw JSONL for distant labeling.

    python scripts/prepare.py [ASSETS_DIR] [CORPUS_DIR] [--relx-langs en,de,fr,es,tr]
"""

from itertools import chain
from pathlib import Path
from typing import Iterator, List

import typer
from wasabi import msg

from spacy_xlie.corpora.marked import read_marked
from spacy_xlie.corpora.wikiann import read_wikiann
from spacy_xlie.errors import XlieDataError
from spacy_xlie.kb.relx_distant import lang_of, read_relx_distant
from spacy_xlie.util.io import write_docbin, write_jsonl

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    assets_dir: Path = typer.Argument(Path("assets"), help="Folder written by `assets`"),
    corpus_dir: Path = typer.Argument(Path("corpus"), help="Output folder for .spacy files"),
    relx_langs: str = typer.Option("en,de,fr,es,tr", help="RELX languages to convert"),
    dev_sentences: int = typer.Option(
        1000, help="WikiANN val sentences kept for dev (the dev reader's entities_limit); "
        "the rest join train in ner/wikiann_LANG_trainval.spacy"),
) -> None:
    """Convert KBP37 (train/dev/test) and every RELX language present into DocBins.

    Writes ``kbp37_{train,dev}.spacy`` and, under ``eval/``, ``kbp37_test.spacy`` and
    ``relx_{lang}.spacy``: the evaluation sets, one table row each. A RELX language whose
    file is absent (optional asset) is skipped with a warning. WikiANN files
    (``wikiann/LANG/SPLIT.conllu``) go to ``ner/wikiann_LANG_SPLIT.spacy``; where a
    language has train and val, ``ner/wikiann_LANG_trainval.spacy`` holds train plus the
    val sentences after the first ``dev_sentences``, which the configs' dev readers read
    (``entities_limit``), less repeats of those: more labelled entity sentences for the
    recognizer, the dev ones still held out. The
    RELX-Distant sentences go, stripped of their annotations, to
    ``relx_distant_raw.jsonl`` for distant labeling.
    """
    jobs = [
        (assets_dir / "kbp37" / f"{split}.txt", "en", True, corpus_dir / f"kbp37_{split}.spacy")
        for split in ("train", "dev")
    ]
    jobs.append(
        (assets_dir / "kbp37" / "test.txt", "en", True, corpus_dir / "eval" / "kbp37_test.spacy")
    )
    missing = [str(src) for src, *_ in jobs if not src.is_file()]
    if missing:
        msg.fail(f"KBP37 not found: {', '.join(missing)} (run the `assets` step first)", exits=1)
    for lang in relx_langs.split(","):
        src = assets_dir / "relx" / f"RELX_{lang}.txt"
        if not src.is_file():
            msg.warn(f"RELX {lang}: {src} not found (optional asset): skipped")
            continue
        jobs.append((src, lang, False, corpus_dir / "eval" / f"relx_{lang}.spacy"))
    for src, lang, pretokenized, out in jobs:
        try:
            n = write_docbin(read_marked(src, lang, pretokenized=pretokenized), out)
        except XlieDataError as err:
            msg.fail(str(err), exits=1)
        msg.good(f"{out}: {n} docs")
    for src in sorted((assets_dir / "wikiann").glob("*/*.conllu")):
        lang, split = src.parent.name, src.stem
        out = corpus_dir / "ner" / f"wikiann_{lang}_{split}.spacy"
        try:
            n = write_docbin(read_wikiann(src, lang), out)
        except XlieDataError as err:
            msg.fail(str(err), exits=1)
        msg.good(f"{out}: {n} docs")
    for train in sorted((assets_dir / "wikiann").glob("*/train.conllu")):
        val = train.with_name("val.conllu")
        if val.is_file():
            write_trainval(train, val, dev_sentences, corpus_dir / "ner")
    distant = sorted((assets_dir / "relx-distant").glob("RELX_distant_*.json"))
    raw = corpus_dir / "relx_distant_raw.jsonl"
    n = write_jsonl(raw_sentences(distant), raw)
    msg.good(f"{raw}: {n} raw sentences from {len(distant)} RELX-Distant file(s)")


def write_trainval(train: Path, val: Path, dev_sentences: int, ner_dir: Path) -> None:
    """``ner/wikiann_LANG_trainval.spacy``: ``train``'s sentences, then ``val``'s after its
    first ``dev_sentences`` (those stay the dev set), less any whose text is one of the dev
    sentences' (WikiANN repeats sentences: "REDIRECT X" and the like), so that val adds no
    dev sentence. Train is kept as it is, as in ``wikiann_LANG_train.spacy``, with its own
    repeats of dev sentences: the file differs from train by val's sentences alone."""
    lang = train.parent.name
    out = ner_dir / f"wikiann_{lang}_trainval.spacy"
    try:
        val_docs = list(read_wikiann(val, lang))
        dev_texts = {doc.text for doc in val_docs[:dev_sentences]}
        rest = (doc for doc in val_docs if doc.text not in dev_texts)
        n = write_docbin(chain(read_wikiann(train, lang), rest), out)
    except XlieDataError as err:
        msg.fail(str(err), exits=1)
    msg.good(f"{out}: {n} docs (val's first {dev_sentences} held out for dev)")


def raw_sentences(paths: List[Path]) -> Iterator[dict]:
    """RELX-Distant sentences without their annotations: the input of distant labeling."""
    for path in paths:
        lang = lang_of(path)
        for i, rec in enumerate(read_relx_distant(path)):
            yield {"id": f"{path.stem}:{i}", "lang": lang, "text": rec["sentence"]}


if __name__ == "__main__":
    app()
