"""Projection quality on RELX (real data: skipped without the data mirror)."""

import pytest

from spacy_xlie.alignment.evaluation import evaluate_projection, load_parallel
from spacy_xlie.alignment.lexical import LexicalAligner


@pytest.mark.data
@pytest.mark.parametrize("lang", ["de", "fr"])
def test_relx_lexical_projection(shared_data, lang):
    relx = shared_data / "relx"
    pairs = load_parallel(relx / "RELX_en.txt", relx / f"RELX_{lang}.txt", "en", lang)
    assert len(pairs) == 502
    scores = evaluate_projection(pairs, LexicalAligner())
    # Measured figures: bench/results/projection.json. The rest is mostly translated
    # common nouns and pronouns ("he" -> "er"), which no string match can find, and gold
    # noise (spans with commas or neighbouring words).
    assert scores["exact_span_accuracy"] >= {"de": 0.91, "fr": 0.915}[lang]
    assert scores["exact_span_accuracy_any_role"] >= scores["exact_span_accuracy"]
    assert scores["token_f1"] >= scores["exact_span_accuracy"]
    assert 0.7 <= scores["relation_preserved"] <= 1


def test_roles_follow_the_relation_not_the_marker_number(tmp_path):
    """RELX translations number markers by position and flip the label's direction."""
    from spacy_xlie.alignment.base import Candidate, SpanAligner

    (tmp_path / "en.txt").write_text(
        '1\t"<e1> Bill Gwatney </e1> chaired the <e2> Arkansas Democratic Party </e2> ."\n'
        "per:employee_of(e1,e2)\n\n"
        '2\t"<e1> Cory Spinks </e1> fought in <e2> Missouri </e2> ."\nno_relation\n',
        encoding="utf8")
    (tmp_path / "de.txt").write_text(
        '1\t"Die <e1> Arkansas Democratic Party </e1> hatte <e2> Bill Gwatney </e2> ."\n'
        "per:employee_of(e2,e1)\n\n"
        '2\t"In <e1> Missouri </e1> kämpfte <e2> Cory Spinks </e2> ."\nno_relation\n',
        encoding="utf8")
    pairs = load_parallel(tmp_path / "en.txt", tmp_path / "de.txt", "en", "de")
    assert [p.roles for p in pairs] == [(1, 0), None]

    class Right(SpanAligner):
        """Bill Gwatney -> tokens 5-7, the party -> 1-4; Cory Spinks -> 3-5, Missouri -> 1-2."""

        name = "right"

        def candidates_batch(self, tasks):
            where = {"Bill Gwatney": (5, 7), "Arkansas Democratic Party": (1, 4),
                     "Cory Spinks": (3, 5), "Missouri": (1, 2)}
            return [[[Candidate(*where[src[s:e].text], 1.0, "x")] for s, e in spans]
                    for src, _tgt, spans in tasks]

    scores = evaluate_projection(pairs, Right())
    assert scores["exact_span_accuracy"] == 1.0
    assert scores["exact_span_accuracy_by_marker"] == 0.0
    assert scores["exact_span_accuracy_any_role"] == 1.0
    assert scores["relation_preserved"] == 1.0
