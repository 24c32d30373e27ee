"""KBP37 / RELX marked sentences: languages, direction, no_relation, empty markers, errors."""

import pytest
import spacy

from spacy_xlie.corpora import ConvertStats, read_kbp37, read_relx

from .util import FIXTURES, ents, expect_error, rels, write


def test_kbp37_directions_no_relation_and_empty_marker():
    stats = ConvertStats()
    docs = list(read_kbp37(FIXTURES / "kbp37_sample.txt", stats=stats))
    assert [d._.xlie_id for d in docs] == ["1", "2", "3", "4"]
    assert docs[0].text == "Bill Gates founded Microsoft in 1975 ."
    # (e2,e1): the relation holds from e2 to e1.
    assert rels(docs[0]) == [("Microsoft", "Bill Gates", "org:founded_by")]
    assert rels(docs[1]) == [("Microsoft", "Redmond", "org:city_of_headquarters")]
    assert rels(docs[2]) == [] and len(docs[2].ents) == 2
    # "<e1> </e1>": the doc is kept with the other entity; its relation has no span, so
    # it is kept aside (scored as missed) and counted.
    assert docs[3].text == "The deal with Apple fell through ."
    assert rels(docs[3]) == [] and ents(docs[3]) == [("Apple", "ENT", "")]
    assert docs[3]._.xlie_unrepresentable == [{"label": "org:subsidiaries", "head": "",
                                               "tail": "Apple", "reason": "empty entity marker"}]
    assert [d._.xlie_unrepresentable for d in docs[:3]] == [None, None, None]
    assert stats.empty_entities == 1 and stats.unrepresentable == 1 and stats.docs == 4
    assert stats.to_dict()["unrepresentable"] == 1
    assert stats.labels["no_relation"] == 1 and stats.labels["org:founded_by(e2,e1)"] == 1
    assert {d._.xlie_lang for d in docs} == {"en"}


def test_empty_marker_direction_and_no_relation(tmp_path):
    path = write(tmp_path, "k.txt", (
        '1\t"<e1> Acme </e1> bought <e2> </e2> ."\norg:subsidiaries(e2,e1)\n\n'
        '2\t"<e1> </e1> met <e2> Bob </e2> ."\nno_relation\n'
    ))
    stats = ConvertStats()
    docs = list(read_kbp37(path, stats=stats))
    # (e2,e1): the empty e2 is the head
    assert [(r["head"], r["label"], r["tail"]) for r in docs[0]._.xlie_unrepresentable] == [
        ("", "org:subsidiaries", "Acme")
    ]
    # no_relation has nothing to keep
    assert docs[1]._.xlie_unrepresentable is None and rels(docs[1]) == []
    assert (stats.empty_entities, stats.unrepresentable) == (2, 1)


def test_turkish_marker_inside_a_word():
    (doc,) = read_relx(FIXTURES / "relx_tr.txt", "tr")
    assert doc.text == "Ahmet Mumbai'de yaşıyor."
    assert rels(doc) == [("Ahmet", "Mumbai", "per:cities_of_residence")]
    assert doc._.xlie_lang == "tr"


def test_kbp37_splits_on_spaces_only(tmp_path):
    sentence = '"<e1> U.S. </e1> firms do n\'t like <e2> EU\'s </e2> rules ."'
    path = write(tmp_path, "k.txt", f"1\t{sentence}\nno_relation\n")
    (doc,) = read_kbp37(path)
    assert [t.text for t in doc] == ["U.S.", "firms", "do", "n't", "like", "EU's", "rules", "."]
    assert ents(doc) == [("U.S.", "ENT", ""), ("EU's", "ENT", "")]


def test_french_elision_before_a_marker(tmp_path):
    # The tokenizer sees the whole sentence, so "d'" stays one token as elsewhere in French.
    path = write(tmp_path, "fr.txt", '1\t"Le siège d\'<e1>Airbus</e1> est à <e2>Toulouse</e2>."\n'
                 "org:city_of_headquarters(e1,e2)\n")
    (doc,) = read_relx(path, "fr")
    assert doc.text == "Le siège d'Airbus est à Toulouse."
    assert [t.text for t in doc][:4] == ["Le", "siège", "d'", "Airbus"]
    assert rels(doc) == [("Airbus", "Toulouse", "org:city_of_headquarters")]


def test_german_direction():
    docs = list(read_relx(FIXTURES / "relx_de.txt", "de"))
    assert rels(docs[0]) == [("Siemens", "München", "org:city_of_headquarters")]
    assert rels(docs[1]) == [("Apple", "Steve Jobs", "org:founded_by")]


def test_chinese_default_character_segmentation():
    nlp = spacy.blank("zh")  # the default "char" segmenter needs no jieba/pkuseg
    (doc,) = read_relx(FIXTURES / "relx_zh.txt", "zh", nlp=nlp)
    assert doc.text == "马云创立了阿里巴巴。"
    assert rels(doc) == [("阿里巴巴", "马云", "org:founded_by")]
    assert doc.vocab is nlp.vocab


BAD = [
    ('1\t"<e1> A </e1> and <e2> B ."\nrel(e1,e2)\n', 1, "sentence", "missing marker </e2>"),
    ('1\t"</e1> A <e1> and <e2> B </e2>"\nrel(e1,e2)\n', 1, "sentence", "unbalanced marker"),
    ('1\t"A and <e2> B </e2>"\nrel(e1,e2)\n', 1, "sentence", "missing marker <e1>"),
    ('1\t"<e1> A </e1> <e2> B </e2>"\nrel(e3,e1)\n', 2, "label", "unknown label or direction"),
    ('1\t"<e1> A </e1> <e2> B </e2>"\nrel(e1,e1)\n', 2, "label", "unknown direction"),
    ('1\t"<e1></e1><e2></e2>"\nno_relation\n', 1, "sentence", "empty sentence"),
    ('1\t"<e1> A <e2> B </e2> </e1>"\nno_relation\n', 1, "sentence", "overlap"),
    ("no tab here\nrel(e1,e2)\n", 1, "sentence", "no TAB"),
    ('1\t"<e1> A </e1> <e2> B </e2>"\n', 1, "label", "no label line"),
]


@pytest.mark.parametrize("text,line,field,match", BAD)
def test_bad_input_names_file_line_and_field(tmp_path, text, line, field, match):
    path = write(tmp_path, "bad.txt", 'ok\t"<e1> X </e1> <e2> Y </e2>"\nno_relation\n\n' + text)
    expect_error(read_kbp37, path, line + 3, field, match)


def test_skip_invalid_counts(tmp_path):
    path = write(tmp_path, "bad.txt", "".join(
        f'{i}\t"<e1> A </e1> x <e2> B </e2>"\n{label}\n\n'
        for i, label in enumerate(["no_relation", "rel(e1,e3)", "rel(e2,e1)"])
    ))
    stats = ConvertStats()
    docs = list(read_kbp37(path, skip_invalid=True, stats=stats))
    assert [d._.xlie_id for d in docs] == ["0", "2"]
    assert stats.skipped == 1 and f"{path}:5: label:" in stats.errors[0]
