"""Give a trained pipeline settings of a training config that need no retraining.

    python scripts/set_settings.py training/e5small/model-best --config configs/e5small.cfg \
        --section nlp.tokenizer --section components.xlie_relation_extractor.argument_types

Some settings have no weights and act at prediction only: the tokenizer
(``spacy_xlie.Tokenizer.v1`` in place of spaCy's), the relation extractor's argument-type
check. A pipeline trained before its config changed one of them can predict with the new
one at once. The pipeline is loaded with those sections of the config and saved again
(weights, vocab and every other setting kept) beside itself, then swapped in, so an
interrupted run leaves the old pipeline whole.

So can a component with nothing to train that the config has added
(``--add-component entity_filter``): it goes where the config's ``[nlp] pipeline`` puts
it. spaCy's config overrides change settings of existing sections and cannot add one.
"""

import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Sequence

import typer
from wasabi import msg

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def config_sections(config: Path, loaded: Dict[str, Any], sections: List[str]) -> Dict[str, Any]:
    """The sections of ``config`` (read as ``loaded``) named by dotted paths, as a nested
    override dict."""
    from spacy.util import dot_to_dict, dot_to_object

    found = {}
    for dotted in sections:
        try:
            found[dotted] = dot_to_object(loaded, dotted)
        except KeyError:
            raise ValueError(f"{config}: no [{dotted}] section") from None
    return dot_to_dict(found)


def add_component(nlp, config: Path, loaded: Dict[str, Any], name: str) -> None:
    """Add the component ``name`` of ``config`` (read as ``loaded``) to ``nlp`` before the
    component that follows it in the config's pipeline; only a component without weights
    to train."""
    from spacy.pipeline import TrainablePipe

    order = loaded["nlp"]["pipeline"]
    if name not in order or name not in loaded["components"]:
        raise ValueError(f"{config}: no component {name!r} in [nlp] pipeline and [components]")
    if name in nlp.pipe_names:
        raise ValueError(f"the pipeline has a component {name!r} already")
    settings = dict(loaded["components"][name])
    if "factory" not in settings:
        raise ValueError(f"{config}: [components.{name}] has no factory (a sourced one?)")
    factory = settings.pop("factory")
    following = [n for n in order[order.index(name) + 1:] if n in nlp.pipe_names]
    component = nlp.add_pipe(factory, name=name, config=settings,
                             before=following[0] if following else None)
    if isinstance(component, TrainablePipe):
        raise ValueError(f"{name!r} ({factory}) has weights: it needs training, not adding")


def set_settings(model: Path, config: Path, sections: List[str],
                 components: Sequence[str] = ()) -> None:
    """Save ``model`` with ``config``'s ``sections`` and added ``components``, in place."""
    import spacy
    from spacy.util import load_config

    if not (model / "config.cfg").exists():
        raise ValueError(f"{model}: not a saved pipeline (no config.cfg)")
    loaded = load_config(config, interpolate=False)
    nlp = spacy.load(model, config=config_sections(config, loaded, sections))
    for name in components:
        add_component(nlp, config, loaded, name)
    fresh, old = model.with_name(f".{model.name}.new"), model.with_name(f".{model.name}.old")
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    nlp.to_disk(fresh)
    os.replace(model, old)
    os.replace(fresh, model)
    shutil.rmtree(old)


@app.command()
def main(
    model: Path = typer.Argument(..., help="A saved pipeline (model-best)"),
    config: Path = typer.Option(..., "--config", help="The training config to read"),
    section: List[str] = typer.Option(["nlp.tokenizer"], "--section",
                                      help="Dotted path of a section to copy (repeatable)"),
    add_component: List[str] = typer.Option(
        [], "--add-component",
        help="A component of the config with nothing to train, added (repeatable)"),
) -> None:
    """Give a trained pipeline settings of a training config that need no retraining."""
    try:
        set_settings(model, config, section, add_component)
    except (OSError, ValueError) as err:
        msg.fail(str(err), exits=1)
    msg.good(f"{model}: {', '.join(section + add_component)} from {config}")


if __name__ == "__main__":
    app()
