"""Entry points resolve in a fresh interpreter that never imports spacy_xlie: the E002
"Can't find factory" failure of spaCy's own relation tutorial must not happen here."""

import json
import os
import subprocess
import sys

FACTORIES = ["xlie_relation_extractor", "xlie_distant_labeler", "xlie_projection_aligner"]

SCRIPT = """
import json, sys
import spacy
result = {"loaded_before": "spacy_xlie" in sys.modules}
for name in sys.argv[1:]:
    try:
        spacy.blank("xx").add_pipe(name)
        result[name] = "ok"
    except Exception as err:
        result[name] = f"{type(err).__name__}: {err}"
reader = spacy.registry.readers.get("spacy_xlie.RelationCorpus.v1")
result["reader"] = f"{reader.__module__}.{reader.__name__}"
# read last: spaCy itself, through the entry points, has imported the plugin by now
result["loaded_by_spacy"] = "spacy_xlie" in sys.modules
print(json.dumps(result))
"""


def test_factories_and_reader_resolve_without_import():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *FACTORIES], capture_output=True, text=True,
        timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["loaded_before"] is False and result["loaded_by_spacy"] is True
    for name in FACTORIES:
        assert result[name] == "ok", result
    assert result["reader"] == "spacy_xlie.corpora.reader.create_relation_corpus"
