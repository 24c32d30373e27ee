"""``python scripts/project_relx.py SRC TGT OUTPUT --tgt-lang de``: RELX projection scored
against the target's gold markers."""

import json

import spacy
from spacy.tokens import DocBin

from . import failure, invoke


def test_project_relx_scores_against_target_markers(tmp_path):
    src = tmp_path / "RELX_en.txt"
    tgt = tmp_path / "RELX_de.txt"
    src.write_text(
        '1\t"<e1> Apple </e1> was founded in <e2> Cupertino </e2> ."\n'
        "org:city_of_headquarters(e1,e2)\n\n"
        '2\t"<e1> Siemens </e1> is based in <e2> Munich </e2> ."\n'
        "org:city_of_headquarters(e1,e2)\n",
        encoding="utf8",
    )
    tgt.write_text(
        '1\t"<e1> Apple </e1> wurde in <e2> Cupertino </e2> gegründet."\n'
        "org:city_of_headquarters(e1,e2)\n\n"
        '2\t"<e1> Siemens </e1> hat seinen Sitz in <e2> München </e2>."\n'
        "org:city_of_headquarters(e1,e2)\n",
        encoding="utf8",
    )
    out, report = tmp_path / "de.spacy", tmp_path / "report.json"
    result = invoke("project_relx", src, tgt, out, "--tgt-lang", "de", "--method", "lexical",
                    "--report", report)
    assert result.exit_code == 0, result.output
    scores = json.loads(report.read_text())
    # "Munich" -> "München" needs the fuzzy step; the other three are exact matches.
    assert scores["pairs"] == 2
    assert scores["exact_span_accuracy"] == 1.0
    assert scores["relation_preserved"] == 1.0
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("de").vocab))
    assert [d._.xlie_id for d in docs] == ["1", "2"]
    assert docs[0]._.relations[0].label == "org:city_of_headquarters"


def test_unknown_method_fails_in_one_line(tmp_path):
    src = tmp_path / "RELX_en.txt"
    src.write_text('1\t"<e1> A </e1> is in <e2> B </e2> ."\nno_relation\n', encoding="utf8")
    out = failure("project_relx", src, src, tmp_path / "o.spacy", "--tgt-lang", "de",
                  "--method", "nope")
    assert "--method must be one of lexical, embedding, hybrid, not 'nope'" in out
    assert not (tmp_path / "o.spacy").exists()
