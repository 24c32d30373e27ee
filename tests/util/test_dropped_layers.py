"""Loading a checkpoint with its top layers dropped: no unused-weights warning, and every
other unused weight still warned about."""

import logging
from typing import List

import spacy
from transformers import XLMRobertaModel

from spacy_xlie.util.dropped_layers import LOADING_LOGGER, dropped_layers_quiet


def unused_warnings(messages: List[str]) -> List[str]:
    return [m for m in messages if m.startswith("Some weights of the model checkpoint")]


def test_the_tiny_checkpoint_warns_when_its_top_layer_is_dropped(tiny_xlmr, transformers_warnings):
    # the premise of the tests below: without the filter, this load warns
    XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert "encoder.layer.1." in unused_warnings(transformers_warnings)[0]


def test_dropping_the_top_layers_loads_quietly(tiny_xlmr, transformers_warnings):
    with dropped_layers_quiet(1):
        XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert unused_warnings(transformers_warnings) == []


def test_an_unused_layer_below_the_kept_count_still_warns(tiny_xlmr, transformers_warnings):
    # the filter is told 2 layers are kept, but layer 1 goes unused: not the expected case
    with dropped_layers_quiet(2):
        XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert len(unused_warnings(transformers_warnings)) == 1


def test_unused_weights_outside_the_layers_still_warn(transformers_warnings):
    message = ("Some weights of the model checkpoint at m were not used when initializing "
               "BertModel: ['encoder.layer.9.output.dense.weight', 'cls.predictions.bias']\n"
               "- This IS expected if ...")
    with dropped_layers_quiet(8):
        logging.getLogger(LOADING_LOGGER).warning(message)
    assert unused_warnings(transformers_warnings) == [message]


def test_the_filter_is_removed_after_the_block(tiny_xlmr, transformers_warnings):
    with dropped_layers_quiet(1):
        pass
    XLMRobertaModel.from_pretrained(tiny_xlmr, num_hidden_layers=1)
    assert len(unused_warnings(transformers_warnings)) == 1


def test_initializing_a_pipe_that_keeps_fewer_layers_is_quiet(tiny_xlmr, transformers_warnings):
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_transformer", config={"model": {
        "name": str(tiny_xlmr), "mixed_precision": False,
        "transformer_config": {"num_hidden_layers": 1}}})
    nlp.initialize()
    assert unused_warnings(transformers_warnings) == []
    assert nlp.get_pipe("xlie_transformer").model.transformer.config.num_hidden_layers == 1
