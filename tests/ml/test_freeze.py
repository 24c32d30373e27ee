"""spacy_xlie.freeze_transformer.v1: frozen weights get no gradient and never move."""

import pytest
import spacy
import torch
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_xlie.ml.freeze import create_freeze_transformer
from tests.rel_examples import add_listening_extractor, make_examples


def transformer_nlp(model_dir) -> spacy.Language:
    nlp = spacy.blank("xx")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-transformers.TransformerModel.v3",
        "name": str(model_dir), "mixed_precision": False,
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1",
                      "window": 32, "stride": 24},
    }})
    return nlp


def hf_model(nlp):
    """The torch model, found independently of the code under test."""
    (shim,) = [s for node in nlp.get_pipe("transformer").model.walk() for s in node.shims]
    return shim._model


@pytest.fixture
def nlp(tiny_xlmr):
    nlp = transformer_nlp(tiny_xlmr)
    nlp.initialize()
    return nlp


def test_freezes_embeddings_and_lowest_layers(nlp):
    create_freeze_transformer(freeze_layers=1)(nlp)
    model = hf_model(nlp)
    assert not any(p.requires_grad for p in model.embeddings.parameters())
    assert not any(p.requires_grad for p in model.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in model.encoder.layer[1].parameters())


def test_layer_count_is_clamped_to_the_depth(nlp):
    create_freeze_transformer(freeze_embeddings=False, freeze_layers=99)(nlp)
    model = hf_model(nlp)
    assert all(p.requires_grad for p in model.embeddings.parameters())
    assert not any(p.requires_grad for layer in model.encoder.layer for p in layer.parameters())


def test_freezing_everything_is_refused(nlp):
    with pytest.raises(ValueError, match="leaves nothing to train"):
        create_freeze_transformer(freeze_layers=2)(nlp)


def test_unknown_component_is_named(nlp):
    with pytest.raises(ValueError, match="no component 'trf'"):
        create_freeze_transformer(component="trf")(nlp)


def extractor_nlp(tiny_xlmr):
    """The encoder with a relation extractor listening to it, initialized on the test
    examples: the pipeline, its examples and its optimizer."""
    nlp = transformer_nlp(tiny_xlmr)
    add_listening_extractor(nlp)
    examples = make_examples(nlp.vocab)
    return nlp, examples, nlp.initialize(lambda: examples)


def test_training_moves_only_unfrozen_weights(tiny_xlmr):
    """An update through the relation extractor leaves frozen weights bit-identical."""
    nlp, examples, optimizer = extractor_nlp(tiny_xlmr)
    create_freeze_transformer(freeze_layers=1)(nlp)
    model = hf_model(nlp)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(2):
        nlp.update([Example(eg.predicted.copy(), eg.reference) for eg in examples], sgd=optimizer)
    after = model.state_dict()
    frozen = [k for k in before if k.startswith(("embeddings.", "encoder.layer.0."))]
    trained = [k for k in before if k.startswith("encoder.layer.1.") and k.endswith("weight")]
    assert frozen and trained
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in trained)


def updated_weights(tiny_xlmr, gradient_checkpointing: bool) -> dict:
    """The encoder's weights after two updates through the relation extractor, with the
    lowest layer frozen, from one seed."""
    from spacy_xlie.ml.freeze import create_freeze_transformer_v2

    fix_random_seed(0)
    nlp, examples, optimizer = extractor_nlp(tiny_xlmr)
    create_freeze_transformer_v2(freeze_layers=1,
                                 gradient_checkpointing=gradient_checkpointing)(nlp)
    model = hf_model(nlp)
    assert model.encoder.gradient_checkpointing is gradient_checkpointing
    fix_random_seed(1)
    for _ in range(2):
        nlp.update([Example(eg.predicted.copy(), eg.reference) for eg in examples], sgd=optimizer)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_gradient_checkpointing_trains_the_same_weights(tiny_xlmr):
    """Checkpointing changes what backprop keeps, not what it computes: the layer above
    the frozen one (whose input needs no gradient) moves, and as far as without it."""
    plain = updated_weights(tiny_xlmr, gradient_checkpointing=False)
    checkpointed = updated_weights(tiny_xlmr, gradient_checkpointing=True)
    trained = [k for k in plain if k.startswith("encoder.layer.1.") and k.endswith("weight")]
    initial = transformer_nlp(tiny_xlmr)
    initial.initialize()
    start = hf_model(initial).state_dict()
    assert any(not torch.equal(start[k], checkpointed[k]) for k in trained)
    assert all(torch.allclose(plain[k], checkpointed[k], atol=1e-6) for k in plain)
