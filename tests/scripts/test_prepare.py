"""``python scripts/prepare.py ASSETS CORPUS``: the project's data sets as DocBins."""

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from . import failure, run

MARKED = (
    '1\t"<e1> Apple </e1> was founded by <e2> Steve Jobs </e2> ."\n'
    "org:founded_by(e1,e2)\n\n"
    '2\t"<e1> Siemens </e1> is in <e2> Munich </e2> ."\n'
    "no_relation\n"
)


@pytest.fixture
def assets(tmp_path) -> Path:
    root = tmp_path / "assets"
    (root / "kbp37").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (root / "kbp37" / f"{split}.txt").write_text(MARKED, encoding="utf8")
    (root / "relx").mkdir()
    (root / "relx" / "RELX_de.txt").write_text(
        MARKED.replace("was founded by", "wurde gegründet von"), encoding="utf8"
    )
    (root / "relx-distant").mkdir()
    record = {"sentence": "Maggi gehört zu Nestlé.", "entity1": "Q1", "entity2": "Q2",
              "entity1_indices": [0, 5], "entity2_indices": [16, 22], "relation": "P127"}
    (root / "relx-distant" / "RELX_distant_de.json").write_text(json.dumps([record]))
    return root


def test_prepare_converts_present_languages_and_skips_missing(tmp_path, assets):
    corpus = tmp_path / "corpus"
    out = run("prepare", assets, corpus, "--relx-langs", "de,tr")
    assert "RELX tr" in out
    names = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.*"))
    assert names == ["eval/kbp37_test.spacy", "eval/relx_de.spacy", "kbp37_dev.spacy",
                     "kbp37_train.spacy", "relx_distant_raw.jsonl"]
    docs = list(DocBin().from_disk(corpus / "eval" / "relx_de.spacy").get_docs(
        spacy.blank("de").vocab))
    assert [d._.xlie_lang for d in docs] == ["de", "de"]
    assert [len(d._.relations) for d in docs] == [1, 0]
    raw = [json.loads(line) for line in (corpus / "relx_distant_raw.jsonl").open()]
    assert raw == [{"id": "RELX_distant_de:0", "lang": "de", "text": "Maggi gehört zu Nestlé."}]


def test_prepare_without_kbp37_fails_in_one_line(tmp_path, assets):
    (assets / "kbp37" / "dev.txt").unlink()
    corpus = tmp_path / "corpus"
    out = failure("prepare", assets, corpus)
    assert "KBP37 not found" in out and str(assets / "kbp37" / "dev.txt") in out
    assert not corpus.exists()


def conllu(*sentences: str) -> str:
    """WikiANN lines: one sentence per argument, every word a PER entity of its own."""
    return "\n".join(
        "".join(f"{i}\t{word}\tB-PER\n" for i, word in enumerate(sentence.split()))
        for sentence in sentences
    )


def test_prepare_trainval_holds_out_the_dev_sentences_and_their_repeats(tmp_path, assets):
    wikiann = assets / "wikiann" / "en"
    wikiann.mkdir(parents=True)
    (wikiann / "train.conllu").write_text(conllu("Kurt Gödel", "Alan Turing"))
    (wikiann / "val.conllu").write_text(conllu("Grace Hopper", "Kurt Gödel", "Ada Lovelace",
                                               "Grace Hopper", "Emmy Noether"))
    corpus = tmp_path / "corpus"
    run("prepare", assets, corpus, "--dev-sentences", "2")
    docs = DocBin().from_disk(corpus / "ner" / "wikiann_en_trainval.spacy").get_docs(
        spacy.blank("en").vocab)
    # train as it is (its repeat of dev's "Kurt Gödel" included), then val after the first
    # 2, less the repeat of dev's "Grace Hopper"
    assert [d.text for d in docs] == ["Kurt Gödel", "Alan Turing", "Ada Lovelace",
                                      "Emmy Noether"]
