"""Give a trained pipeline the tokenizer of a training config, without retraining.

    python scripts/set_tokenizer.py training/e5small/model-best --config configs/e5small.cfg

A tokenizer has no weights: a pipeline trained before its config changed ``[nlp.tokenizer]``
(``spacy_xlie.Tokenizer.v1`` in place of spaCy's) can predict with the new one at once. The
pipeline is loaded with the config's ``[nlp.tokenizer]`` section and saved again (weights,
vocab and every other setting kept) beside itself, then swapped in, so an interrupted run
leaves the old pipeline whole.
"""

import os
import shutil
from pathlib import Path

import typer
from wasabi import msg

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def set_tokenizer(model: Path, config: Path) -> dict:
    """Save ``model`` with ``config``'s tokenizer section, in place; return the section."""
    import spacy
    from spacy.util import load_config

    if not (model / "config.cfg").exists():
        raise ValueError(f"{model}: not a saved pipeline (no config.cfg)")
    section = load_config(config, interpolate=False).get("nlp", {}).get("tokenizer")
    if not section:
        raise ValueError(f"{config}: no [nlp.tokenizer] section")
    nlp = spacy.load(model, config={"nlp": {"tokenizer": dict(section)}})
    fresh, old = model.with_name(f".{model.name}.new"), model.with_name(f".{model.name}.old")
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    nlp.to_disk(fresh)
    os.replace(model, old)
    os.replace(fresh, model)
    shutil.rmtree(old)
    return dict(section)


@app.command()
def main(
    model: Path = typer.Argument(..., help="A saved pipeline (model-best)"),
    config: Path = typer.Option(..., "--config", help="The training config whose "
                                "[nlp.tokenizer] the pipeline gets"),
) -> None:
    """Give a trained pipeline the tokenizer of a training config."""
    try:
        section = set_tokenizer(model, config)
    except (OSError, ValueError) as err:
        msg.fail(str(err), exits=1)
    msg.good(f"{model}: tokenizer {section.get('@tokenizers')}")


if __name__ == "__main__":
    app()
