"""xlie_transformer: fp32 while training, int8 once loaded on CPU, fp32 weights kept."""

import json
import shutil
from pathlib import Path

import numpy
import onnx
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from spacy_xlie.ml.onnx_encoder import DATA_FILE, GRAPH_FILE
from spacy_xlie.pipeline import transformer as transformer_module
from spacy_xlie.pipeline.transformer import INT8_SETTINGS_FILE, int8_components, set_quantize
from tests.rel_examples import add_listening_extractor, make_examples

TEXT = "Angela Merkel besuchte am Montag die Siemens AG in München."


def build(model_dir, quantize: str = "auto"):
    """A blank pipeline with only an ``xlie_transformer`` on the tiny XLM-R, initialized."""
    fix_random_seed(0)
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_transformer", name="transformer", config={
        "quantize": quantize,
        "model": {"name": str(model_dir), "mixed_precision": False,
                  "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1",
                                "window": 8, "stride": 6}},
    })
    nlp.initialize()
    return nlp


def vectors(nlp) -> numpy.ndarray:
    """The encoder's vectors of ``TEXT``'s wordpieces, padding left out (the int8 encoder
    leaves a padded position 0 when it runs a call's rows in length buckets)."""
    data = nlp(TEXT)._.trf_data
    return data.tensors[0][numpy.asarray(data.tokens["attention_mask"], dtype=bool)].copy()


def test_trained_pipeline_is_fp32_and_loaded_one_int8(tiny_xlmr, tmp_path):
    nlp = build(tiny_xlmr)
    assert int8_components(nlp) == []
    fp32 = vectors(nlp)
    nlp.to_disk(tmp_path / "model")

    loaded = spacy.load(tmp_path / "model")
    assert int8_components(loaded) == ["transformer"]
    int8 = vectors(loaded)
    assert not numpy.array_equal(int8, fp32)  # the int8 copy ran
    assert numpy.abs(int8 - fp32).mean() < 0.1 * numpy.abs(fp32).mean()

    off = spacy.load(tmp_path / "model", config={"components": {"transformer": {
        "quantize": "off"}}})
    assert int8_components(off) == []
    assert numpy.allclose(vectors(off), fp32, atol=1e-5)


def test_int8_per_channel_setting_reaches_the_quantiser(tiny_xlmr, tmp_path, monkeypatch):
    """``int8_per_channel`` (default on) is a config setting of the saved pipeline, and the
    int8 copy is made with it."""
    import spacy_xlie.pipeline.transformer as transformer_module

    seen = []
    real = transformer_module.onnx_int8_stack

    def spy(model, int8_down_projections=False, per_channel=True, **settings):
        seen.append(per_channel)
        return real(model, int8_down_projections, per_channel=per_channel, **settings)

    monkeypatch.setattr(transformer_module, "onnx_int8_stack", spy)
    build(tiny_xlmr).to_disk(tmp_path / "model")
    spacy.load(tmp_path / "model")
    spacy.load(tmp_path / "model", config={"components": {"transformer": {
        "int8_per_channel": False}}})
    assert seen == [True, False]


def test_onnx_session_settings_reach_the_session(tiny_xlmr, tmp_path):
    """``onnx_spinning`` and ``onnx_memory_pattern`` (default off) and
    ``onnx_length_buckets`` (default on) are config settings of the saved pipeline, and the
    int8 encoder runs with them, whether it is exported on load or loaded from a saved
    graph."""
    build(tiny_xlmr).to_disk(tmp_path / "model")
    saved_in_int8(tiny_xlmr, tmp_path / "int8")

    def session_settings(nlp) -> tuple:
        stack = nlp.get_pipe("transformer")._int8["encoder"]
        options = stack.session.get_session_options()
        return (options.get_session_config_entry("session.intra_op.allow_spinning"),
                options.enable_mem_pattern, stack.length_buckets)

    for folder in ("model", "int8"):
        assert session_settings(spacy.load(tmp_path / folder)) == ("0", False, True)
        assert session_settings(spacy.load(tmp_path / folder, config={"components": {
            "transformer": {"onnx_spinning": True, "onnx_memory_pattern": True,
                            "onnx_length_buckets": False}}})) == ("1", True, False)


def saved_in_int8(model_dir, path: Path) -> None:
    """Save the tiny pipeline, load it (int8 copy made on load) and save it at ``path``."""
    build(model_dir).to_disk(path.parent / "fp32")
    spacy.load(path.parent / "fp32").to_disk(path)


def test_a_pipeline_saved_in_int8_loads_its_graph_without_exporting(tiny_xlmr, tmp_path,
                                                                     monkeypatch):
    """A loaded int8 pipeline saves its int8 graph beside the weights; loading that folder
    runs the saved graph (the same vectors) and exports nothing."""
    saved_in_int8(tiny_xlmr, tmp_path / "int8")
    expected = vectors(spacy.load(tmp_path / "fp32"))
    refuse_export(monkeypatch)
    loaded = spacy.load(tmp_path / "int8")
    assert int8_components(loaded) == ["transformer"]
    assert numpy.array_equal(vectors(loaded), expected)


def refuse_export(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the saved graph was not used: the stack was exported again")

    monkeypatch.setattr(transformer_module, "onnx_int8_stack", refuse)


def test_an_int8_pipeline_saves_its_graph_after_its_folder_is_gone(tiny_xlmr, tmp_path,
                                                                   monkeypatch):
    """The graph's weights are a file of their own, and a loaded int8 pipeline still saves
    both files once the folder it was loaded from is deleted: the same vectors, no export."""
    saved_in_int8(tiny_xlmr, tmp_path / "int8")
    assert (tmp_path / "int8" / "transformer" / DATA_FILE).stat().st_size > 0
    refuse_export(monkeypatch)
    loaded = spacy.load(tmp_path / "int8")
    expected = vectors(loaded)
    shutil.rmtree(tmp_path / "int8")
    loaded.to_disk(tmp_path / "again")
    assert numpy.array_equal(vectors(spacy.load(tmp_path / "again")), expected)


def test_a_graph_saved_with_inline_weights_still_loads(tiny_xlmr, tmp_path, monkeypatch):
    """Packages saved before the graph's weights had a file of their own hold them inside
    ``int8.onnx``: they load without exporting, and save without a weights file (a stale
    one in the target folder is removed)."""
    saved_in_int8(tiny_xlmr, tmp_path / "int8")
    saved_in_int8(tiny_xlmr, tmp_path / "target")
    folder = tmp_path / "int8" / "transformer"
    expected = vectors(spacy.load(tmp_path / "int8"))
    onnx.save_model(onnx.load(str(folder / GRAPH_FILE)), str(folder / GRAPH_FILE))
    (folder / DATA_FILE).unlink()
    refuse_export(monkeypatch)
    loaded = spacy.load(tmp_path / "int8")
    assert numpy.array_equal(vectors(loaded), expected)
    loaded.to_disk(tmp_path / "target")
    assert not (tmp_path / "target" / "transformer" / DATA_FILE).exists()
    assert numpy.array_equal(vectors(spacy.load(tmp_path / "target")), expected)


def test_a_saved_int8_graph_is_used_only_with_its_settings(tiny_xlmr, tmp_path, monkeypatch):
    """A load whose int8 settings differ from those the saved graph was made with exports
    its own graph."""
    saved_in_int8(tiny_xlmr, tmp_path / "int8")
    exported = []
    real = transformer_module.onnx_int8_stack

    def spy(model, int8_down_projections=False, per_channel=True, smoothing=0.5,
            outlier_ratio=6.0, **settings):
        exported.append((int8_down_projections, per_channel, smoothing, outlier_ratio))
        return real(model, int8_down_projections, per_channel=per_channel,
                    smoothing=smoothing, outlier_ratio=outlier_ratio, **settings)

    monkeypatch.setattr(transformer_module, "onnx_int8_stack", spy)
    spacy.load(tmp_path / "int8")
    spacy.load(tmp_path / "int8", config={"components": {"transformer": {
        "int8_per_channel": False}}})
    spacy.load(tmp_path / "int8", config={"components": {"transformer": {
        "int8_down_projections": True}}})
    spacy.load(tmp_path / "int8", config={"components": {"transformer": {
        "int8_smoothing": 0.0}}})
    spacy.load(tmp_path / "int8", config={"components": {"transformer": {
        "int8_outlier_ratio": 4.0}}})
    assert exported == [(False, False, 0.5, 6.0), (True, True, 0.5, 6.0),
                        (False, True, 0.0, 6.0), (False, True, 0.5, 4.0)]


def test_a_saved_graphs_settings_file_names_the_config_settings(tiny_xlmr, tmp_path):
    """The settings beside a saved graph are recorded by their config names: packages
    saved earlier carry that file, and a load compares its own settings with it."""
    saved_in_int8(tiny_xlmr, tmp_path / "int8")
    recorded = json.loads((tmp_path / "int8" / "transformer" / INT8_SETTINGS_FILE).read_text())
    assert recorded == {"int8_down_projections": False, "int8_per_channel": True,
                        "int8_smoothing": 0.5, "int8_outlier_ratio": 6.0}


def test_saving_without_an_int8_copy_removes_a_saved_graph(tiny_xlmr, tmp_path):
    """Saving a pipe that has no int8 copy (one that trained: ``spacy train`` saves
    model-best over and over) over a folder holding an int8 graph removes the graph, which
    the new weights would not match: the folder loads the int8 copy of its new weights."""
    saved_in_int8(tiny_xlmr, tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    loaded.get_pipe("transformer").set_quantize("off")
    with torch.no_grad():
        for tensor in state(loaded).values():
            if tensor.is_floating_point():
                tensor.mul_(1.5)
    new_fp32 = vectors(loaded)
    loaded.to_disk(tmp_path / "model")
    for name in (GRAPH_FILE, DATA_FILE):
        assert not (tmp_path / "model" / "transformer" / name).exists()
    reloaded = vectors(spacy.load(tmp_path / "model"))
    assert numpy.abs(reloaded - new_fp32).mean() < 0.1 * numpy.abs(new_fp32).mean()


def test_saving_a_loaded_pipeline_keeps_the_fp32_weights(tiny_xlmr, tmp_path):
    nlp = build(tiny_xlmr)
    fp32 = vectors(nlp)
    nlp.to_disk(tmp_path / "first")
    spacy.load(tmp_path / "first").to_disk(tmp_path / "second")
    again = spacy.load(tmp_path / "second", config={"components": {"transformer": {
        "quantize": "off"}}})
    assert numpy.allclose(vectors(again), fp32, atol=1e-5)


def test_a_sourced_frozen_encoder_keeps_its_int8_copy(tiny_xlmr, tmp_path):
    """Sourced into another pipeline and never updated (a frozen, annotating encoder), the
    pipe predicts with the int8 copy its setting asks for."""
    build(tiny_xlmr).to_disk(tmp_path / "model")
    nlp = spacy.blank("xx")
    nlp.add_pipe("transformer", source=spacy.load(tmp_path / "model"))
    assert int8_components(nlp) == ["transformer"]


def test_update_drops_the_int8_copy(tiny_xlmr, tmp_path):
    build(tiny_xlmr).to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    loaded.update(make_examples(loaded.vocab), sgd=Adam(0.001))
    assert int8_components(loaded) == []


def test_from_bytes_makes_the_int8_copy(tiny_xlmr):
    nlp = build(tiny_xlmr)
    copy = build(tiny_xlmr, quantize="int8")
    copy.from_bytes(nlp.to_bytes())
    assert int8_components(copy) == ["transformer"]


def test_int8_on_gpu_is_refused_and_auto_stays_fp32(tiny_xlmr, monkeypatch):
    nlp = build(tiny_xlmr)
    data = nlp.to_bytes()
    monkeypatch.setattr(transformer_module, "on_cpu", lambda model: False)
    auto = build(tiny_xlmr).from_bytes(data)
    assert int8_components(auto) == []
    with pytest.raises(ValueError, match="CPU only"):
        build(tiny_xlmr, quantize="int8").from_bytes(data)


def test_unknown_quantize_value_is_refused(tiny_xlmr):
    with pytest.raises(ValueError, match="quantize must be one of"):
        build(tiny_xlmr, quantize="fp16")


@pytest.mark.parametrize("setting,value,message", [
    ("int8_smoothing", -0.1, "int8_smoothing must be between 0"),
    ("int8_smoothing", 1.5, "int8_smoothing must be between 0"),
    ("int8_outlier_ratio", -1.0, "int8_outlier_ratio must be 0"),
])
def test_int8_rewrite_settings_out_of_range_are_refused(setting, value, message):
    nlp = spacy.blank("xx")
    with pytest.raises(ValueError, match=message):
        nlp.add_pipe("xlie_transformer", config={setting: value})


TEXTS = ["Kurz.", "Ein etwas längerer Satz über die Siemens AG in München.",
         "Noch einer.", "Angela Merkel besuchte am Montag die Siemens AG in München und "
         "sprach dort mit dem Vorstand über die Zukunft des Standorts.", "Ja."] * 3


def test_sub_batches_by_wordpieces_stay_within_the_budget_and_change_no_vector(tiny_xlmr):
    nlp = build(tiny_xlmr, quantize="off")
    pipe = nlp.get_pipe("transformer")
    docs = [nlp.make_doc(text) for text in TEXTS]
    pieces = [len(ids) for ids in pipe.model.tokenizer(
        TEXTS, add_special_tokens=False)["input_ids"]]
    pipe.max_batch_pieces = 40
    batches = pipe._sub_batches(docs, pipe.max_batch_pieces)
    assert sorted(i for batch in batches for i in batch) == list(range(len(docs)))
    for batch in batches:
        assert len(batch) == 1 or max(pieces[i] for i in batch) * len(batch) <= 40
    assert len(batches) > 1
    by_pieces = [unpadded(doc) for doc in pipe.pipe([d.copy() for d in docs], batch_size=8)]
    pipe.max_batch_pieces = None  # spacy-transformers' batching by tokens
    by_tokens = [unpadded(doc) for doc in pipe.pipe([d.copy() for d in docs], batch_size=8)]
    for a, b in zip(by_pieces, by_tokens):
        assert a.shape == b.shape and numpy.allclose(a, b, atol=1e-4)


def unpadded(doc) -> numpy.ndarray:
    """The doc's wordpiece vectors without the padding of its encoder call."""
    data = doc._.trf_data
    return numpy.concatenate([data.tensors[0][i, :length]
                              for i, length in enumerate(data.wordpieces.lengths)])


def test_set_quantize_on_a_loaded_pipeline(tiny_xlmr, tmp_path):
    build(tiny_xlmr).to_disk(tmp_path / "model")
    nlp = spacy.load(tmp_path / "model")
    fp32 = spacy.load(tmp_path / "model", config={"components": {"transformer": {
        "quantize": "off"}}})
    assert set_quantize(nlp, "off") == ["transformer"] and int8_components(nlp) == []
    assert numpy.allclose(vectors(nlp), vectors(fp32), atol=1e-5)
    set_quantize(nlp, "auto")
    assert int8_components(nlp) == ["transformer"]
    with pytest.raises(ValueError, match="quantize must be one of"):
        set_quantize(nlp, "fp16")
    assert set_quantize(spacy.blank("en"), "off") == []


def test_fp32_unless_asked(tiny_xlmr, tmp_path):
    """int8 is opt-in: a pipeline that does not set quantize loads with its fp32 encoder."""
    fix_random_seed(0)
    nlp = spacy.blank("xx")
    nlp.add_pipe("xlie_transformer", name="transformer", config={
        "model": {"name": str(tiny_xlmr), "mixed_precision": False}})
    nlp.initialize()
    nlp.to_disk(tmp_path / "model")
    assert int8_components(spacy.load(tmp_path / "model")) == []


def state(nlp) -> dict:
    return nlp.get_pipe("transformer").model.transformer.state_dict()


def test_weights_are_saved_in_their_own_file(tiny_xlmr, tmp_path):
    """The model file holds no weights (they are streamed to weights.pt), and the pipeline
    loads back with every tensor and vector as it was, warning about nothing."""
    import warnings

    import torch
    from spacy_transformers.pipeline_component import Transformer as SpacyTransformer

    nlp = build(tiny_xlmr, quantize="off")
    nlp.to_disk(tmp_path / "model")
    folder = tmp_path / "model" / "transformer"
    saved = torch.load(folder / "weights.pt", weights_only=True)
    assert set(saved) == set(state(nlp))
    weight_bytes = sum(t.numel() * t.element_size() for t in saved.values())
    SpacyTransformer.to_disk(nlp.get_pipe("transformer"), tmp_path / "layout_with_weights")
    with_weights = (tmp_path / "layout_with_weights" / "model").stat().st_size
    assert with_weights - (folder / "model").stat().st_size > 0.9 * weight_bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = spacy.load(tmp_path / "model")
    assert all(torch.equal(state(loaded)[k], v) for k, v in state(nlp).items())
    assert numpy.array_equal(vectors(loaded), vectors(nlp))


def test_the_same_weights_are_saved_in_the_same_bytes(tiny_xlmr, tmp_path):
    """Two saves of one pipeline write the same weights.pt, byte for byte (torch once named
    the file's inner folder after the temporary file it was written to)."""
    nlp = build(tiny_xlmr, quantize="off")
    nlp.to_disk(tmp_path / "a")
    nlp.to_disk(tmp_path / "b")
    saved = [(tmp_path / name / "transformer" / "weights.pt").read_bytes() for name in "ab"]
    assert saved[0] == saved[1]


def test_a_loaded_pipeline_saves_the_same_bytes_each_time(tiny_xlmr, tmp_path):
    """Two loads of one saved pipeline save the same files (the encoder's config once
    named the temporary folder each load read it from)."""
    build(tiny_xlmr, quantize="off").to_disk(tmp_path / "model")
    for name in "ab":
        spacy.load(tmp_path / "model").to_disk(tmp_path / name)
    folders = [tmp_path / name / "transformer" for name in "ab"]
    files = sorted(p.name for p in folders[0].iterdir())
    assert files == sorted(p.name for p in folders[1].iterdir())
    assert all((folders[0] / f).read_bytes() == (folders[1] / f).read_bytes() for f in files)


def test_pipelines_saved_in_spacy_transformers_layout_still_load(tiny_xlmr, tmp_path):
    """A folder written before weights.pt (spacy-transformers' own to_disk) loads as before."""
    import torch
    from spacy_transformers.pipeline_component import Transformer as SpacyTransformer

    nlp = build(tiny_xlmr, quantize="off")
    nlp.to_disk(tmp_path / "model")
    folder = tmp_path / "model" / "transformer"
    (folder / "weights.pt").unlink()
    SpacyTransformer.to_disk(nlp.get_pipe("transformer"), folder)
    loaded = spacy.load(tmp_path / "model")
    assert all(torch.equal(state(loaded)[k], v) for k, v in state(nlp).items())


def test_a_failed_save_keeps_the_weights_written_before(tiny_xlmr, tmp_path, monkeypatch):
    """``weights.pt`` is replaced only once it is written whole; a save that fails halfway
    leaves the earlier file and no partial one beside it."""
    pipe = build(tiny_xlmr).get_pipe("transformer")
    folder = tmp_path / "transformer"
    pipe.to_disk(folder)
    weights = folder / transformer_module.WEIGHTS_FILE
    before, names = weights.read_bytes(), sorted(f.name for f in folder.iterdir())

    real_save = torch.save

    def failing_save(obj, f, *args, **kwargs):
        if not isinstance(getattr(f, "name", None), str):  # spacy-transformers' own bytes
            return real_save(obj, f, *args, **kwargs)
        f.write(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        pipe.to_disk(folder)
    assert weights.read_bytes() == before
    assert sorted(f.name for f in folder.iterdir()) == names


def test_saving_over_the_folder_it_was_loaded_from(tiny_xlmr, tmp_path):
    """The loaded weights are mapped from ``weights.pt``; saving the pipeline over the same
    folder writes the weights it read, and the folder loads back the same vectors."""
    nlp = build(tiny_xlmr, quantize="off")
    expected = vectors(nlp)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    loaded.to_disk(tmp_path / "model")
    assert numpy.array_equal(vectors(loaded), expected)
    assert numpy.array_equal(vectors(spacy.load(tmp_path / "model")), expected)


def test_training_a_loaded_pipeline_leaves_its_weights_file_alone(tiny_xlmr, tmp_path):
    """The weights are mapped copy-on-write: updating a loaded pipeline changes its tensors
    in memory, never the file it was loaded from."""
    build(tiny_xlmr, quantize="off").to_disk(tmp_path / "model")
    weights = tmp_path / "model" / "transformer" / transformer_module.WEIGHTS_FILE
    before = weights.read_bytes()
    loaded = spacy.load(tmp_path / "model")
    with torch.no_grad():
        for tensor in state(loaded).values():
            tensor.add_(1.0)
    loaded.update(make_examples(loaded.vocab), sgd=Adam(0.001))
    assert weights.read_bytes() == before


def weights_after_updates(model_dir, max_update_pieces) -> dict:
    """The encoder's weights after two updates (no dropout) through a relation extractor
    listening to it, from one seed, with the given ``max_update_pieces``; each batch also
    holds a doc of no tokens."""
    fix_random_seed(0)
    nlp = build(model_dir, quantize="off")
    nlp.get_pipe("transformer").max_update_pieces = max_update_pieces
    for module in nlp.get_pipe("transformer").model.transformer.modules():
        # the encoder's own dropout draws differ with the calls' shapes
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_prob"):
            module.dropout_prob = 0.0
    add_listening_extractor(nlp)
    examples = make_examples(nlp.vocab)
    optimizer = nlp.initialize(lambda: examples)
    empty = Doc(nlp.vocab, words=[])  # a doc of no tokens, which no call encodes alone
    for _ in range(2):
        nlp.update([Example(eg.predicted.copy(), eg.reference) for eg in examples]
                   + [Example(empty, empty.copy())], sgd=optimizer, drop=0.0)
    return {k: v.clone() for k, v in state(nlp).items()}


def test_updates_in_calls_cut_by_wordpieces_train_the_same_weights(tiny_xlmr):
    """``max_update_pieces`` changes how the batch is padded, not the gradients: the
    encoder moves as far as in one call per batch, though the batch took several."""
    from spacy_transformers.util import batch_by_length

    texts = [eg.predicted.text for eg in make_examples(spacy.blank("xx").vocab)]
    tokenizer = build(tiny_xlmr, quantize="off").get_pipe("transformer").model.tokenizer
    pieces = tokenizer(texts, add_special_tokens=False)["input_ids"]
    assert len(batch_by_length(pieces, 16)) > 2
    one_call = weights_after_updates(tiny_xlmr, None)
    cut = weights_after_updates(tiny_xlmr, 16)
    start = state(build(tiny_xlmr, quantize="off"))
    assert any(not torch.equal(start[k], cut[k]) for k in cut)
    assert all(torch.allclose(one_call[k], cut[k], atol=1e-5) for k in one_call)


def test_counting_a_long_docs_pieces_does_not_warn_of_indexing_errors(tiny_xlmr,
                                                                      transformers_warnings):
    """The sub-batches count each doc's wordpieces whole, but the encoder reads its
    windows: the tokenizer's warning that a sequence over the model's maximum "will result
    in indexing errors" would be false (the e5small pipeline met it on a 527-piece doc)."""
    nlp = build(tiny_xlmr)
    trf = nlp.get_pipe("transformer")
    trf.model.tokenizer.model_max_length = 100
    long_doc = nlp.make_doc(" ".join(["Angela Merkel besuchte München."] * 60))
    assert len(trf.model.tokenizer(long_doc.text, verbose=False)["input_ids"]) > 100
    list(trf.pipe([long_doc]))
    assert not [m for m in transformers_warnings if "indexing errors" in m]
    assert long_doc._.trf_data.tensors[0].shape[0] > 1  # encoded, window by window
