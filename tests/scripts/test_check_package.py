"""``python scripts/check_package.py``: its wheel lookup and its checks of the pipeline's
output (the full run, on a pipeline with a gazetteer, is in tests/cli/test_gazetteer.py)."""

import pytest

from . import failure, load_script


def test_find_pipeline_wheel(tmp_path):
    find_pipeline_wheel = load_script("check_package").find_pipeline_wheel
    dist = tmp_path / "en_xlie_cpu-0.1.0" / "dist"
    dist.mkdir(parents=True)
    (dist / "en_xlie_cpu-0.1.0-py3-none-any.whl").write_bytes(b"")
    assert find_pipeline_wheel(tmp_path, "xlie_cpu", "0.1.0").name.startswith("en_xlie_cpu")
    with pytest.raises(FileNotFoundError, match="run `package` first"):
        find_pipeline_wheel(tmp_path, "xlie_cpu", "9.9.9")


def test_missing_wheel_fails_in_one_line(tmp_path):
    venv_dir = tmp_path / "venv"
    out = failure("check_package", tmp_path, "--name", "xlie_cpu", "--version", "0.1.0",
                  "--plugin-wheels", tmp_path, "--venv", venv_dir)
    assert "no wheel for pipeline 'xlie_cpu' 0.1.0" in out
    assert not venv_dir.exists()


def test_check_results_need_an_entity_source_and_two_entities():
    check_results = load_script("check_package").check_results
    header = '{"pipeline": ["tok2vec", "xlie_relation_extractor"], "entity_pipes": []}\n'
    with pytest.raises(ValueError, match="no component that sets doc.ents.*kb attach"):
        check_results("xx_xlie_cpu", header)
    header = '{"pipeline": ["xlie_entities"], "entity_pipes": ["xlie_entities"]}\n'
    found = '{"text": "A B", "entities": [["A", "ENT", ""], ["B", "ENT", ""]], "relations": []}\n'
    alone = '{"text": "Nichts hier", "entities": [["A", "ENT", ""]], "relations": []}\n'
    assert len(check_results("p", "some warning\n" + header + found)) == 1
    with pytest.raises(ValueError, match=r"fewer than two entities .* in: Nichts hier$"):
        check_results("p", header + found + alone)


def test_a_pipeline_with_a_recognizer_needs_typed_entities_and_a_correct_relation():
    script = load_script("check_package")
    text, expected = script.RAW_SAMPLES[0]
    head, label, tail = expected[0]
    header = ('{"pipeline": ["transformer", "ner", "xlie_relation_extractor"], '
              '"entity_pipes": ["ner"], "entity_factories": {"ner": "ner"}}\n')

    def result(t, ents, rels):
        import json
        return json.dumps({"text": t, "entities": ents, "relations": rels}) + "\n"

    typed = [[head, "ORG", ""], [tail, "LOC", ""]]
    right = result(text, typed, [[head, label, tail, 0.9]])
    wrong = result(text, typed, [[tail, label, head, 0.9]])
    untyped = result(text, [[head, "ENT", ""], [tail, "LOC", ""]], [[head, label, tail, 0.9]])
    assert len(script.check_results("p", header + right)) == 1
    with pytest.raises(ValueError, match="no expected relation"):
        script.check_results("p", header + wrong)
    with pytest.raises(ValueError, match="fewer than two typed entities"):
        script.check_results("p", header + untyped)


def test_a_quantizable_encoder_must_load_as_int8():
    script = load_script("check_package")
    found = '{"text": "A B", "entities": [["A", "ENT", ""], ["B", "ENT", ""]], "relations": []}\n'
    header = ('{"pipeline": ["transformer", "xlie_entities"], "entity_pipes": ["xlie_entities"],'
              ' "int8_expected": ["transformer"], "int8": %s}\n')
    assert len(script.check_results("p", header % '["transformer"]' + found)) == 1
    with pytest.raises(ValueError, match="transformer loaded without its int8 encoder"):
        script.check_results("p", header % "[]" + found)


def test_an_fp32_encoder_must_load_as_int8_when_asked():
    script = load_script("check_package")
    found = '{"text": "A B", "entities": [["A", "ENT", ""], ["B", "ENT", ""]], "relations": []}\n'
    header = ('{"pipeline": ["transformer", "xlie_entities"], "entity_pipes": ["xlie_entities"],'
              ' "int8_expected": [], "int8": [], "int8_opt_in_expected": ["transformer"],'
              ' "int8_opt_in": %s}\n')
    assert len(script.check_results("p", header % '["transformer"]' + found)) == 1
    with pytest.raises(ValueError, match="without an int8 encoder on CPU with quantize = 'auto'"):
        script.check_results("p", header % "[]" + found)
