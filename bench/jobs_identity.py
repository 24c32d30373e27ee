"""Do ``predict``, ``label`` and ``project`` write the same bytes as at an earlier commit?

    python bench/jobs_identity.py --before 7852b61 --out bench/results

Checks out ``--before`` in a temporary git worktree, installs it (editable, so that its
entry points are the ones spaCy reads) and runs each job there, then reinstalls this tree
and runs them here, one process each, on the same real inputs (RELX DE/FR and RELX-Distant, from the
workflow's ``corpus/`` and ``assets/``): ``label`` of the RELX-Distant raw sentences with
the workflow's KB, ``project`` of RELX EN onto DE and FR (``scripts/project_relx.py``),
and ``predict`` with the e5small pipeline on RELX DE as plain text, JSONL and ``.spacy``
and on KBP37 test (``.spacy``). ``--jobs`` runs only the jobs whose names start with one
of its words (a commit from before the e5small pipeline existed cannot run ``predict``).
Every output file is compared byte for byte (sha256). Writes ``REPORT.{json,md}``.
"""

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent


def jobs(data: Path, out: Path, model: Path) -> Dict[str, List[str]]:
    """Each job's command (run in a tree) by name; outputs go under ``out``."""
    kb, raw = REPO / "training" / "kb_relx_distant", REPO / "corpus" / "relx_distant_raw.jsonl"
    relx = REPO / "assets" / "relx"
    commands = {
        "label": ["-m", "spacy_xlie", "label", kb, raw, out / "label",
                  "--label-map", "wikidata-kbp37", "--drop-unmapped"],
    }
    for lang in ("de", "fr"):
        commands[f"project {lang}"] = ["scripts/project_relx.py", relx / "RELX_en.txt",
                                       relx / f"RELX_{lang}.txt", out / f"project_{lang}.spacy",
                                       "--tgt-lang", lang, "--method", "lexical"]
    for name, path in (("text", data / "relx_de.txt"), ("jsonl", data / "relx_de.jsonl"),
                       ("spacy", REPO / "corpus" / "eval" / "relx_de.spacy"),
                       ("kbp37", REPO / "corpus" / "eval" / "kbp37_test.spacy")):
        commands[f"predict {name}"] = ["-m", "spacy_xlie", "predict", model, path,
                                       out / f"predict_{name}.jsonl"]
    return {name: [sys.executable, *map(str, args)] for name, args in commands.items()}


def write_inputs(data: Path) -> None:
    """RELX DE's sentences as plain text and as JSONL records with ids."""
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(REPO / "corpus" / "eval" / "relx_de.spacy").get_docs(
        spacy.blank("de").vocab)
    texts = [doc.text for doc in docs]
    (data / "relx_de.txt").write_text("".join(t + "\n" for t in texts), encoding="utf8")
    (data / "relx_de.jsonl").write_text("".join(
        json.dumps({"id": f"de-{i}", "text": t}, ensure_ascii=False) + "\n"
        for i, t in enumerate(texts)), encoding="utf8")


def digests(folder: Path) -> Dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".json"}


def install(tree: Path) -> None:
    """Install ``tree`` in this environment (editable, no dependencies): spaCy finds the
    package's components through its installed entry points, which must be the tree's."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e",
                    str(tree)], check=True, capture_output=True)


def run_tree(tree: Path, commands: Dict[str, List[str]]) -> Dict[str, int]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    codes = {}
    for name, command in commands.items():
        codes[name] = subprocess.run(command, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode
    return codes


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--model", type=Path, default=REPO / "training/e5small/model-best")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--jobs", nargs="*", help="label, project, predict (default: all)")
    parser.add_argument("--report", default="jobs_identity")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xlie-identity-") as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "data"
        data.mkdir()
        write_inputs(data)
        before_tree = tmp_path / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before_tree), args.before],
                       cwd=REPO, check=True, capture_output=True)
        try:
            results = {}
            for side, tree in (("before", before_tree), ("after", REPO)):
                out = tmp_path / f"out-{side}"
                out.mkdir()
                install(tree)
                commands = {name: command for name, command
                            in jobs(data, out, args.model.resolve()).items()
                            if not args.jobs or name.split()[0] in args.jobs}
                codes = run_tree(tree, commands)
                results[side] = {"exit_codes": codes, "files": digests(out)}
        finally:
            install(REPO)
            subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)],
                           cwd=REPO, capture_output=True)
    before, after = results["before"]["files"], results["after"]["files"]
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python bench/jobs_identity.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "before": args.before,
        "after": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip(),
        "exit_codes": {side: results[side]["exit_codes"] for side in results},
        "files": {name: {"before": before.get(name), "after": after.get(name),
                         "identical": before.get(name) == after.get(name)}
                  for name in sorted(set(before) | set(after))},
    }
    report["all_identical"] = bool(report["files"]) and all(
        row["identical"] for row in report["files"].values()) and all(
        code == 0 for side in report["exit_codes"].values() for code in side.values())
    from spacy_xlie.util.io import write_json, write_text

    write_json(report, args.out / f"{args.report}.json")
    lines = ["# Corpus jobs: the same bytes before and after", "",
             f"`{report['command']}` ({report['date'][:16]}): {report['before']} against "
             f"{report['after']}, one process each, outputs compared by sha256 (reports, "
             "which hold paths and timings, left out).", "",
             "| output | identical |", "|---|---|"]
    lines += [f"| {name} | {'yes' if row['identical'] else '**no**'} |"
              for name, row in report["files"].items()]
    lines += ["", f"Exit codes: {report['exit_codes']}", "",
              f"All identical: {report['all_identical']}."]
    write_text("\n".join(lines) + "\n", args.out / f"{args.report}.md")
    print("\n".join(lines))
    return 0 if report["all_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
