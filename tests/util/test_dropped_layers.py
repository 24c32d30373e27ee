"""Loading a checkpoint with its top layers dropped: no unused-weights warning, and every
other unused weight still warned about."""

import logging
from typing import Iterator, List

import pytest
import spacy
from transformers import XLMRobertaModel

from spacy_xlie.util.dropped_layers import LOADING_LOGGER, dropped_layers_quiet


@pytest.fixture
def loading_messages() -> Iterator[List[str]]:
    """Messages transformers logs while loading models (its loggers do not propagate to
    the root logger, which pytest's caplog reads)."""
    messages: List[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger(LOADING_LOGGER)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def unused_warnings(messages: List[str]) -> List[str]:
    return [m for m in messages if m.startswith("Some weights of the model checkpoint")]


def test_the_tiny_checkpoint_warns_when_its_top_layer_is_dropped(tiny_xlmr, loading_messages):
    # the premise of the tests below: without the filter, this load warns
    XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert "encoder.layer.1." in unused_warnings(loading_messages)[0]


def test_dropping_the_top_layers_loads_quietly(tiny_xlmr, loading_messages):
    with dropped_layers_quiet(1):
        XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert unused_warnings(loading_messages) == []


def test_an_unused_layer_below_the_kept_count_still_warns(tiny_xlmr, loading_messages):
    # the filter is told 2 layers are kept, but layer 1 goes unused: not the expected case
    with dropped_layers_quiet(2):
        XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert len(unused_warnings(loading_messages)) == 1


def test_unused_weights_outside_the_layers_still_warn(loading_messages):
    message = ("Some weights of the model checkpoint at m were not used when initializing "
               "BertModel: ['encoder.layer.9.output.dense.weight', 'cls.predictions.bias']\n"
               "- This IS expected if ...")
    with dropped_layers_quiet(8):
        logging.getLogger(LOADING_LOGGER).warning(message)
    assert unused_warnings(loading_messages) == [message]


def test_the_filter_is_removed_after_the_block(tiny_xlmr, loading_messages):
    with dropped_layers_quiet(1):
        pass
    XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert len(unused_warnings(loading_messages)) == 1


def test_initializing_a_pipe_that_keeps_fewer_layers_is_quiet(tiny_xlmr, loading_messages):
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_transformer", config={"model": {
        "name": str(tiny_xlmr), "mixed_precision": False,
        "transformer_config": {"num_hidden_layers": 1}}})
    nlp.initialize()
    assert unused_warnings(loading_messages) == []
    assert nlp.get_pipe("xlie_transformer").model.transformer.config.num_hidden_layers == 1
