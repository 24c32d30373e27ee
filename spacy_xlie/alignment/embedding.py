"""SimAlign-style word alignment from a multilingual encoder's contextual vectors.

Each spaCy token gets the mean of its subword vectors from one encoder layer (SimAlign
and awesome-align find a middle layer, 8 of 12, aligns best). Tokens are linked by the
cosine similarity matrix of the two sentences: ``argmax`` keeps the pairs that are each
other's best match in both directions; ``itermax`` repeats that on the still-unaligned
rows and columns (SimAlign, Jalili Sabet et al. 2020). A source span's linked target
tokens become contiguous blocks (:func:`~spacy_xlie.alignment.base.blocks_from_links`).

Vectors come from the pipeline's spacy-transformers output (``doc._.trf_data``) when
both docs carry it, else from a Hugging Face model loaded by name or path (set
``HF_HUB_OFFLINE=1`` where no hub can be reached). Sentences longer than the encoder's
window are split into overlapping windows. torch and transformers are imported on first
use, so importing this module stays cheap.

The quality of this method depends entirely on the encoder's weights: with random
weights (tests, benchmarks here) only identical contexts align reliably.
"""

from typing import Any, List, Optional, Sequence, Tuple

import numpy

from ..ml.quantize import quantize_linear
from .base import AlignmentTask, Candidate, SpanAligner, blocks_from_links

METHODS = ("argmax", "itermax")


def argmax_links(sim: numpy.ndarray) -> numpy.ndarray:
    """Boolean matrix of pairs that are each other's best match (bidirectional argmax)."""
    if sim.size == 0:
        return numpy.zeros(sim.shape, dtype=bool)
    forward = numpy.zeros(sim.shape, dtype=bool)
    forward[numpy.arange(sim.shape[0]), sim.argmax(axis=1)] = True
    backward = numpy.zeros(sim.shape, dtype=bool)
    backward[sim.argmax(axis=0), numpy.arange(sim.shape[1])] = True
    return forward & backward


def itermax_links(sim: numpy.ndarray, max_count: int = 2, alpha: float = 0.9) -> numpy.ndarray:
    """SimAlign's ``itermax``: argmax, then argmax again among still-unaligned words."""
    links = argmax_links(sim)
    rows, cols = sim.shape
    if min(rows, cols) <= 2:
        return links
    for _ in range(max_count - 1):
        free_rows = ~links.any(axis=1)
        free_cols = ~links.any(axis=0)
        if not free_rows.any() or not free_cols.any():
            break
        # Down-weight pairs where one side is aligned; pairs aligned on both sides are out.
        weight = numpy.clip(alpha * free_rows[:, None] + alpha * free_cols[None, :], 0, 1)
        allowed = free_rows[:, None] | free_cols[None, :]
        new = argmax_links(numpy.where(allowed, sim * weight, -numpy.inf)) & allowed
        if not (new & ~links).any():
            break
        links |= new
    return links


def _cosine(src: numpy.ndarray, tgt: numpy.ndarray) -> numpy.ndarray:
    src = src / numpy.maximum(numpy.linalg.norm(src, axis=1, keepdims=True), 1e-12)
    tgt = tgt / numpy.maximum(numpy.linalg.norm(tgt, axis=1, keepdims=True), 1e-12)
    return src @ tgt.T


#: A doc's subword vectors and, per spaCy token, the rows of its subwords.
Encoded = Tuple[numpy.ndarray, List[List[int]]]


def _compact(vectors: numpy.ndarray, token_rows: Sequence[Sequence[int]]) -> Encoded:
    """Keep only subword rows that belong to a token (no padding, specials, lone spaces)."""
    used = sorted({int(r) for rows in token_rows for r in rows})
    index = {r: k for k, r in enumerate(used)}
    return vectors[used], [[index[int(r)] for r in rows] for rows in token_rows]


class HFEncoder:
    """Token vectors from a Hugging Face encoder, one layer, long texts in windows.

    Only the layers up to the one read are loaded and run (``num_hidden_layers=layer``:
    layer 8 of 12 costs two thirds of the model). Sentences are tokenised in one call of
    the fast tokenizer, whose character offsets map subwords to spaCy tokens, and
    encoded in batches of similar length (little padding).
    """

    def __init__(
        self, name: str, *, layer: int = 8, batch_size: int = 16, stride: int = 64,
        device: Optional[str] = None, quantize: bool = False,
    ) -> None:
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(name)
        config = AutoConfig.from_pretrained(name)
        depth = config.num_hidden_layers
        self.layer = max(0, min(layer, depth))
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the layers left out are "unused weights"
        try:
            self.model = AutoModel.from_pretrained(
                name, num_hidden_layers=max(self.layer, 1), add_pooling_layer=False
            )
        except TypeError:  # a model class without a pooling option
            self.model = AutoModel.from_pretrained(name, num_hidden_layers=max(self.layer, 1))
        finally:
            hf_logging.set_verbosity(verbosity)
        self.model.eval()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device)
        if quantize and self.device.type == "cpu":
            self.model = quantize_linear(self.model)
        limit = getattr(config, "max_position_embeddings", 514)
        if config.model_type in ("roberta", "xlm-roberta", "camembert"):
            # RoBERTa positions start after the padding index: 514 -> 512 usable.
            limit -= (getattr(config, "pad_token_id", None) or 0) + 1
        limit = min(limit, self.tokenizer.model_max_length or limit)
        self.window = max(8, limit - self.tokenizer.num_special_tokens_to_add())
        self.stride = min(stride, self.window // 2)
        self.batch_size = batch_size

    def _pieces(self, docs: Sequence[Any]) -> List[Tuple[List[int], List[List[int]]]]:
        """Subword ids per doc and, per spaCy token, the subwords it overlaps."""
        encoded = self.tokenizer(
            [doc.text for doc in docs], add_special_tokens=False, return_offsets_mapping=True
        )
        out = []
        for doc, ids, offsets in zip(docs, encoded["input_ids"], encoded["offset_mapping"]):
            starts = numpy.array([token.idx for token in doc], dtype=numpy.int64)
            ends = starts + numpy.array([len(token) for token in doc], dtype=numpy.int64)
            token_rows: List[List[int]] = [[] for _ in range(len(doc))]
            for row, (start, end) in enumerate(offsets):
                if end <= start:
                    continue
                first = int(numpy.searchsorted(ends, start, side="right"))
                last = int(numpy.searchsorted(starts, end, side="left"))
                for token in range(first, last):
                    token_rows[token].append(row)
            out.append((list(ids), token_rows))
        return out

    def _windows(self, n: int) -> List[Tuple[int, int]]:
        if n <= self.window:
            return [(0, n)]
        step = self.window - self.stride
        starts = list(range(0, n - self.window, step)) + [n - self.window]
        return [(s, s + self.window) for s in starts]

    def encode(self, docs: Sequence[Any]) -> List[Encoded]:
        """Subword vectors and the token-to-subword map, per doc."""
        torch = self.torch
        items = self._pieces(docs)
        with_specials = self.tokenizer.build_inputs_with_special_tokens
        chunks = []  # (doc index, piece offset, ids with specials)
        for d, (ids, _) in enumerate(items):
            for start, end in self._windows(len(ids)):
                chunks.append((d, start, with_specials(ids[start:end])))
        chunks.sort(key=lambda chunk: len(chunk[2]))
        width = self.model.config.hidden_size
        sums = [numpy.zeros((len(ids), width), "float32") for ids, _ in items]
        counts = [numpy.zeros((len(ids), 1), "float32") for ids, _ in items]
        n_special = len(with_specials([]))
        n_special_front = n_special // 2
        for b in range(0, len(chunks), self.batch_size):
            batch = chunks[b : b + self.batch_size]
            longest = max(len(c[2]) for c in batch)
            input_ids = torch.full((len(batch), longest), self.tokenizer.pad_token_id)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, (_, _, ids) in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                mask[row, : len(ids)] = 1
            with torch.inference_mode():
                out = self.model(
                    input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                    output_hidden_states=self.layer == 0,
                )
            states = out.hidden_states[0] if self.layer == 0 else out.last_hidden_state
            hidden = states.float().cpu().numpy()
            for row, (d, start, ids) in enumerate(batch):
                n = len(ids) - n_special
                sums[d][start : start + n] += hidden[row, n_special_front : n_special_front + n]
                counts[d][start : start + n] += 1
        return [
            _compact(s / numpy.maximum(c, 1), word_to_piece)
            for (_, word_to_piece), s, c in zip(items, sums, counts)
        ]


def trf_vectors(doc: Any, layer: int) -> Optional[Encoded]:
    """Subword vectors and token-to-subword map from ``doc._.trf_data``, or ``None``.

    Uses ``hidden_states[layer]`` when the transformer was configured to output hidden
    states, else the last hidden state.
    """
    if not doc.has_extension("trf_data") or doc._.trf_data is None:
        return None
    data = doc._.trf_data
    output = data.model_output
    states = output.get("hidden_states") if hasattr(output, "get") else None
    if states:
        tensor = states[max(0, min(layer, len(states) - 1))]
    else:
        tensor = output.last_hidden_state
    tensor = numpy.asarray(getattr(tensor, "get", lambda: tensor)())
    flat = tensor.reshape(-1, tensor.shape[-1])
    align = data.align
    lengths = numpy.asarray(getattr(align.lengths, "get", lambda: align.lengths)())
    indices = numpy.asarray(getattr(align.dataXd, "get", lambda: align.dataXd)()).ravel()
    rows, offset = [], 0
    for length in lengths:
        rows.append(indices[offset : offset + int(length)])
        offset += int(length)
    return _compact(flat, rows)


def _row_tokens(token_rows: Sequence[Sequence[int]], n_rows: int) -> List[List[int]]:
    """Invert a token-to-subword map: the tokens of each subword row."""
    out: List[List[int]] = [[] for _ in range(n_rows)]
    for token, rows in enumerate(token_rows):
        for row in rows:
            out[row].append(token)
    return out


class EmbeddingAligner(SpanAligner):
    """Span aligner from contextual word alignment (see the module docstring).

    model (Optional[str]): Hugging Face name or path; ``None`` uses ``doc._.trf_data``.
    layer (int): encoder layer (0 = embeddings), clamped to the model's depth.
    method (str): ``argmax`` or ``itermax``.
    max_gap (int): unaligned target tokens bridged inside one span.
    """

    name = "embedding"

    def __init__(
        self, model: Optional[str] = None, *, layer: int = 8, method: str = "itermax",
        max_gap: int = 1, batch_size: int = 16, device: Optional[str] = None,
        max_candidates: int = 3, quantize: bool = False,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.model_name = model
        self.layer = layer
        self.method = method
        self.max_gap = max_gap
        self.batch_size = batch_size
        self.device = device
        self.max_candidates = max_candidates
        self.quantize = quantize
        self._encoder: Optional[HFEncoder] = None

    @property
    def encoder(self) -> HFEncoder:
        if self._encoder is None:
            if self.model_name is None:
                raise ValueError(
                    "The embedding aligner has no model: give a Hugging Face name or path, "
                    "or run a spacy-transformers component on both docs (doc._.trf_data)"
                )
            self._encoder = HFEncoder(
                self.model_name, layer=self.layer, batch_size=self.batch_size,
                device=self.device, quantize=self.quantize,
            )
        return self._encoder

    def available(self, docs: Sequence[Any]) -> bool:
        """Whether vectors can be had for ``docs``: a model is set, or all carry trf_data."""
        if self.model_name is not None:
            return True
        return all(
            doc.has_extension("trf_data") and doc._.trf_data is not None for doc in docs
        )

    def vectors(self, docs: Sequence[Any]) -> List[Encoded]:
        """Subword vectors per doc: ``doc._.trf_data`` when all docs have it, else the model."""
        if self.model_name is None:
            found = [trf_vectors(doc, self.layer) for doc in docs]
            if all(v is not None for v in found):
                return found  # type: ignore[return-value]
        return self.encoder.encode(docs)

    def links(self, src: Encoded, tgt: Encoded) -> List[Tuple[int, int, float]]:
        """Token alignment ``(src_i, tgt_j, cosine)`` between two encoded sentences.

        Subwords are aligned (as SimAlign does: every subword is a distinct position, so
        even a subword shared by two tokens aligns unambiguously); two tokens are linked
        when any of their subwords are, with the best such similarity.
        """
        (src_vec, src_rows), (tgt_vec, tgt_rows) = src, tgt
        if not len(src_vec) or not len(tgt_vec):
            return []
        sim = _cosine(src_vec, tgt_vec)
        matrix = argmax_links(sim) if self.method == "argmax" else itermax_links(sim)
        src_tokens = _row_tokens(src_rows, len(src_vec))
        tgt_tokens = _row_tokens(tgt_rows, len(tgt_vec))
        best: dict = {}
        for p, q in zip(*numpy.nonzero(matrix)):
            for i in src_tokens[p]:
                for j in tgt_tokens[q]:
                    best[(i, j)] = max(float(sim[p, q]), best.get((i, j), -1.0))
        return sorted((i, j, score) for (i, j), score in best.items())

    def align(self, src_doc: Any, tgt_doc: Any) -> List[Tuple[int, int, float]]:
        """Token alignment of one sentence pair."""
        src, tgt = self.vectors([src_doc, tgt_doc])
        return self.links(src, tgt)

    def candidates_batch(self, tasks: Sequence[AlignmentTask]) -> List[List[List[Candidate]]]:
        docs = [doc for src, tgt, _ in tasks for doc in (src, tgt)]
        encoded = self.vectors(docs) if docs else []
        out = []
        for k, (_src, _tgt, spans) in enumerate(tasks):
            links = self.links(encoded[2 * k], encoded[2 * k + 1])
            out.append([self._span_candidates(links, start, end) for start, end in spans])
        return out

    def _span_candidates(
        self, links: Sequence[Tuple[int, int, float]], start: int, end: int
    ) -> List[Candidate]:
        linked = [(j, sim) for i, j, sim in links if start <= i < end]
        aligned_src = {i for i, _, _ in links if start <= i < end}
        coverage = len(aligned_src) / (end - start)
        cands = []
        for b_start, b_end, mean_sim, _n in blocks_from_links(linked, max_gap=self.max_gap):
            score = max(0.0, min(1.0, mean_sim)) * coverage
            cands.append(Candidate(b_start, b_end, score, f"embedding:{self.method}"))
        return cands[: self.max_candidates]


def create_embedding_aligner(
    model: Optional[str] = None,
    layer: int = 8,
    method: str = "itermax",
    max_gap: int = 1,
    batch_size: int = 16,
    device: Optional[str] = None,
) -> EmbeddingAligner:
    """Registered as ``spacy_xlie.embedding_aligner.v1`` (spacy_misc)."""
    return EmbeddingAligner(
        model, layer=layer, method=method, max_gap=max_gap, batch_size=batch_size, device=device
    )


def create_embedding_aligner_v2(
    model: Optional[str] = None,
    layer: int = 8,
    method: str = "itermax",
    max_gap: int = 1,
    batch_size: int = 16,
    device: Optional[str] = None,
    quantize: bool = True,
) -> EmbeddingAligner:
    """Registered as ``spacy_xlie.embedding_aligner.v2``: adds ``quantize`` (int8 linear
    layers on CPU, on by default: several times faster, nearly the same alignments)."""
    return EmbeddingAligner(
        model, layer=layer, method=method, max_gap=max_gap, batch_size=batch_size,
        device=device, quantize=quantize,
    )
