"""Quiet transformers' warning about a checkpoint's unused weights when they are only the
top layers that a config chose not to keep.

A ``num_hidden_layers`` below the checkpoint's is deliberate (``configs/e5small.cfg`` keeps
the bottom 8 of multilingual-e5-small's 12 layers), but transformers' ``from_pretrained``
then warns that the top layers' weights "were not used", lists every one of them, and says
this "IS NOT expected" if the two models should be identical: a screenful at the start of
every ``spacy train`` that reads like a broken checkpoint. :class:`DroppedLayersFilter`
drops exactly that message when every unused weight belongs to a layer at or past the kept
count; any other unused weight (a head, a misnamed layer, a layer below the count) keeps
the whole warning.

Why a logging filter: transformers has no setting for one message, and lowering its
logger's level would also hide the warnings that do matter (missing weights, mismatched
shapes).
"""

import ast
import logging
import re
from contextlib import contextmanager
from typing import Iterator, List, Optional

#: The logger through which ``from_pretrained`` warns about unused checkpoint weights.
LOADING_LOGGER = "transformers.modeling_utils"

_UNUSED_WEIGHTS = re.compile(
    r"^Some weights of the model checkpoint at .* were not used when initializing \w+: "
    r"(\[.*?\])\n", re.DOTALL)
_LAYER_INDEX = re.compile(r"(?:^|\.)encoder\.layer\.(\d+)\.")


class DroppedLayersFilter(logging.Filter):
    """Drops the unused-weights warning when it names only layers ``kept_layers`` and up
    (a BERT-style model's ``encoder.layer.N``, numbered from 0)."""

    def __init__(self, kept_layers: int) -> None:
        super().__init__()
        self.kept_layers = kept_layers

    def filter(self, record: logging.LogRecord) -> bool:
        keys = unused_weights(record.getMessage())
        return not (keys and all(_is_dropped(key, self.kept_layers) for key in keys))


def unused_weights(message: str) -> List[str]:
    """The weight names of transformers' unused-weights warning; empty for any other
    message."""
    match = _UNUSED_WEIGHTS.match(message)
    if match is None:
        return []
    try:
        keys = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return []
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []


def _is_dropped(key: str, kept_layers: int) -> bool:
    match = _LAYER_INDEX.search(key)
    return match is not None and int(match.group(1)) >= kept_layers


@contextmanager
def dropped_layers_quiet(kept_layers: Optional[int]) -> Iterator[None]:
    """Inside the block, checkpoints loaded with their top layers dropped (only the bottom
    ``kept_layers`` kept) load without the unused-weights warning; None changes nothing."""
    if kept_layers is None:
        yield
        return
    logger = logging.getLogger(LOADING_LOGGER)
    quiet = DroppedLayersFilter(kept_layers)
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
