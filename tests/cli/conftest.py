"""A trained relation extractor and a small KB, shared by the predict/show/serve tests."""

from pathlib import Path

import pytest

from spacy_xlie.kb.relation_kb import RelationKB
from tests.pipeline.test_relation_extractor import cpu_nlp, train
from tests.rel_examples import make_examples

#: Entities of tests/rel_examples.py's German and French sentences, as KB aliases.
KB_ENTITIES = [("Q567", "Angela Merkel"), ("Q49762", "CDU"), ("Q64", "Berlin"),
               ("Q67", "Airbus"), ("Q7880", "Toulouse")]


@pytest.fixture(scope="session")
def rel_model(tmp_path_factory) -> Path:
    """``model/``: configs/cpu.cfg (small widths) overfit on tests/rel_examples.py, with
    no entity component; ``kb/``: a KB knowing the German and French examples' entities."""
    tmp = tmp_path_factory.mktemp("rel_model")
    nlp = cpu_nlp()
    train(nlp, make_examples(nlp.vocab), 40)
    nlp.to_disk(tmp / "model")
    kb = RelationKB()
    for qid, name in KB_ENTITIES:
        kb.add_entity(qid, aliases={"de": [name], "fr": [name]})
    kb.to_disk(tmp / "kb")
    return tmp
