"""Workflow step ``check-package``: install the pipeline wheel in a fresh venv and extract
relations from raw German and French sentences with ``nlp(text)``, entities found by the
pipeline itself, without importing spacy_xlie.

A pipeline with its own entity recognizer (a trained ``ner``, as ``xx_xlie_e5small``)
must also handle raw sentences no data set of this project holds: typed entities in each
and at least one correct relation among them (:data:`RAW_SAMPLES`). A pipeline whose only
entity source is the gazetteer must find two entities in each of :data:`CHECK_SAMPLES`.
A transformer whose quantize setting asks for int8 must load int8; one shipped fp32 must
load int8 when the user asks (``quantize = "auto"``), with only the package's dependencies.

    python scripts/check_package.py PACKAGES_DIR --name NAME --version VERSION
        --plugin-wheels DIR [--venv packages/check-venv] [--torch torch==2.13.0]
"""

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import List

import typer
from wasabi import msg

#: Raw sentences the packaged pipeline must handle in a fresh environment, German and
#: French (zero-shot for an English-trained model). No entities are given: the pipeline
#: must find them itself. Their entities are ones the workflow's gazetteer knows (the KB
#: of the RELX-Distant samples' Wikidata entities); "Angela Merkel" or "Airbus" are not
#: among them.
CHECK_SAMPLES = [
    "Das Technion hat seinen Sitz in Haifa.",
    "Vodafone übernahm im Jahr 2000 Mannesmann.",
    "Le siège de Nissan se trouve au Japon.",
    "Maggi appartient à Nestlé depuis 1947.",
]

#: Raw sentences in no data set of this project (not RELX, not KBP37), each with the
#: relations (head, label, tail) a reader would accept; a pipeline with a recognizer must
#: find typed entities in each and at least one of these relations.
RAW_SAMPLES = [
    ("Der Autohersteller Nissan hat seinen Hauptsitz in Yokohama.",
     [("Nissan", "org:city_of_headquarters", "Yokohama")]),
    ("Angela Merkel war lange Vorsitzende der CDU.",
     [("Angela Merkel", "per:employee_of", "CDU"),
      ("CDU", "org:top_members/employees", "Angela Merkel")]),
    ("Le constructeur Renault a son siège à Boulogne-Billancourt, en France.",
     [("Renault", "org:city_of_headquarters", "Boulogne-Billancourt"),
      ("Renault", "org:country_of_headquarters", "France")]),
    ("Le président de Michelin, Florent Menegaux, a annoncé la fermeture de deux usines.",
     [("Michelin", "org:top_members/employees", "Florent Menegaux"),
      ("Florent Menegaux", "per:employee_of", "Michelin")]),
]
#: Factories of trained entity recognizers (as opposed to the gazetteer or a ruler).
RECOGNIZERS = ("ner", "spancat", "span_finder")

# Runs inside the fresh venv. It must never import spacy_xlie: spacy.load has to find the
# components through the package's entry points, as a user's script would.
CHECK_SCRIPT = """
import json, sys
import spacy
name, texts = sys.argv[1], json.loads(sys.argv[2])
nlp = spacy.load(name)
sources = [n for n in nlp.pipe_names if "doc.ents" in nlp.get_pipe_meta(n).assigns]
factories = {n: nlp.get_pipe_meta(n).factory for n in sources}
quantizable = [n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory == "xlie_transformer"
               and nlp.get_pipe(n).quantize != "off"]
int8 = [n for n in quantizable if nlp.get_pipe(n).is_int8]
# A pipeline shipped fp32 must still run int8 when a user asks for it (quantize = "auto"):
# the int8 engine has to come with the package's own dependencies.
fp32 = [n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory == "xlie_transformer"
        and nlp.get_pipe(n).quantize == "off"]
opt_in = []
if fp32:
    asked = spacy.load(name, config={"components": {n: {"quantize": "auto"} for n in fp32}})
    list(asked.pipe(texts))
    opt_in = [n for n in fp32 if asked.get_pipe(n).is_int8]
print(json.dumps({"pipeline": nlp.pipe_names, "entity_pipes": sources,
                  "entity_factories": factories, "int8_expected": quantizable,
                  "int8": int8, "int8_opt_in_expected": fp32, "int8_opt_in": opt_in}))
for doc in nlp.pipe(texts):
    ents = [(e.text, e.label_, e.kb_id_) for e in doc.ents]
    rels = [(r.head.text, r.label, r.tail.text, round(r.score, 3)) for r in doc._.relations]
    print(json.dumps({"text": doc.text, "entities": ents, "relations": rels},
                     ensure_ascii=False))
"""

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def check_pipeline(python: str, pipeline: str, texts: List[str]) -> List[dict]:
    """Run :data:`CHECK_SCRIPT` with ``python`` on ``pipeline`` (a name or path): the
    entities and relations ``nlp(text)`` finds in each text. Raises ``ValueError`` when
    the pipeline has no entity component or a text gets fewer than two entities."""
    out = subprocess.run([python, "-c", CHECK_SCRIPT, pipeline, json.dumps(texts)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise ValueError(f"{pipeline} failed in {python}:\n{out.stderr[-2000:]}")
    return check_results(pipeline, out.stdout)


def check_results(pipeline: str, stdout: str) -> List[dict]:
    """The per-text results in :data:`CHECK_SCRIPT`'s output, checked (see
    :func:`check_pipeline`): two entities in each of :data:`CHECK_SAMPLES` or, for a
    pipeline with a recognizer, the checks of :func:`check_raw` on :data:`RAW_SAMPLES`."""
    header, *results = (json.loads(line) for line in stdout.splitlines()
                        if line.startswith("{"))
    if not header["entity_pipes"]:
        raise ValueError(
            f"{pipeline} ({' -> '.join(header['pipeline'])}) has no component that sets "
            "doc.ents, so raw text gets no relations: package the pipeline written by "
            "`spacy-xlie kb attach MODEL KB OUTPUT` (a gazetteer over the KB's aliases)")
    not_int8 = set(header.get("int8_expected", [])) - set(header.get("int8", []))
    if not_int8:
        raise ValueError(f"{pipeline}: {', '.join(sorted(not_int8))} loaded without its int8 "
                         "encoder on CPU although its quantize setting asks for one")
    no_opt_in = set(header.get("int8_opt_in_expected", [])) - set(header.get("int8_opt_in", []))
    if no_opt_in:
        raise ValueError(f"{pipeline}: {', '.join(sorted(no_opt_in))} loaded without an int8 "
                         "encoder on CPU with quantize = 'auto' (is onnxruntime installed?)")
    raw_texts = {text for text, _ in RAW_SAMPLES}
    if set(header.get("entity_factories", {}).values()) & set(RECOGNIZERS):
        check_raw([r for r in results if r["text"] in raw_texts])
        return results
    missing = [r["text"] for r in results if len(r["entities"]) < 2 and r["text"] not in raw_texts]
    if missing:
        raise ValueError(f"fewer than two entities found by {header['entity_pipes']} in: "
                         + " | ".join(missing))
    return results


def check_raw(results: List[dict]) -> int:
    """Typed entities (a label other than ``ENT``) in every raw sample and at least one of
    the expected relations (head and tail compared by text, either containing the other).
    Returns the number of expected relations found; raises ``ValueError``."""
    untyped = [r["text"] for r in results
               if sum(label != "ENT" for _, label, _ in r["entities"]) < 2]
    if untyped:
        raise ValueError("fewer than two typed entities found in: " + " | ".join(untyped))
    expected = dict(RAW_SAMPLES)

    def same(a: str, b: str) -> bool:
        return a in b or b in a

    correct = sum(
        any(same(head, h) and label == lab and same(tail, t) for h, lab, t in expected[r["text"]])
        for r in results for head, label, tail, _ in r["relations"]
    )
    if not correct:
        raise ValueError("no expected relation found in the raw samples: "
                         + " | ".join(f"{r['text']} -> {r['relations']}" for r in results))
    return correct


def find_pipeline_wheel(packages_dir: Path, name: str, version: str) -> Path:
    """The wheel ``spacy package --build wheel`` wrote for ``name`` (any language prefix)."""
    wheels = sorted(packages_dir.glob(f"*_{name}-{version}/dist/*_{name}-{version}-*.whl"))
    if not wheels:
        raise FileNotFoundError(
            f"no wheel for pipeline '{name}' {version} under {packages_dir}: run `package` first"
        )
    return wheels[-1]


def _run(cmd: List[str]) -> None:
    msg.text(" ".join(cmd))
    subprocess.run(cmd, check=True)


@app.command()
def main(
    packages_dir: Path = typer.Argument(..., exists=True, help="Output folder of `spacy package`"),
    name: str = typer.Option(..., "--name", help="Pipeline name given to `spacy package`"),
    version: str = typer.Option(..., "--version", help="Pipeline version"),
    plugin_wheels: Path = typer.Option(
        ..., "--plugin-wheels", exists=True, help="Folder holding the spacy-xlie wheel"
    ),
    venv_dir: Path = typer.Option(Path("packages/check-venv"), "--venv"),
    torch_spec: str = typer.Option("torch==2.13.0", "--torch", help="torch requirement first"),
) -> None:
    """Install a pipeline wheel in a fresh venv and extract relations from raw German and
    French sentences, entities found by the pipeline itself, without the plugin import.

    The spacy-xlie wheel comes from ``--plugin-wheels`` (the pipeline's requirements name
    it); everything else from the package index.
    """
    try:
        wheel = find_pipeline_wheel(packages_dir, name, version)
    except FileNotFoundError as err:
        msg.fail(str(err), exits=1)
    package_name = wheel.name.split("-")[0]
    if venv_dir.exists():
        shutil.rmtree(venv_dir)
    venv.create(venv_dir, with_pip=True)
    python = str(venv_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The CPU torch pin first: otherwise the plugin's `torch` requirement pulls a CUDA build.
    _run(pip + [torch_spec])
    _run(pip + ["--find-links", str(plugin_wheels), str(wheel)])
    try:
        results = check_pipeline(python, package_name,
                                 CHECK_SAMPLES + [text for text, _ in RAW_SAMPLES])
    except ValueError as err:
        msg.fail(str(err), exits=1)
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    n_rel = sum(len(r["relations"]) for r in results)
    msg.good(f"{package_name} loads by name in a fresh venv ({sys.platform}) and finds its "
             f"own entities: {n_rel} relations in {len(results)} raw sentences")


if __name__ == "__main__":
    app()
