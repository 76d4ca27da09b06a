"""A graph the forum builds in memory and ONNX Runtime runs: e5 (:mod:`forum.topics.e5`)
and USE's query graph (:mod:`forum.topics.use_quick`).

The graph is built once, by :meth:`OnnxGraph.prepare` in a process that forks
(gunicorn's master), so that its children share the bytes; each process makes its
own session from it on its first call (ONNX Runtime does not promise to survive a
fork, and a session holds its own copy of the weights). A session runs on one
thread: a query is answered on the worker's own core.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["OnnxGraph", "int8_columns", "serialised"]


def int8_columns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float matrix ([in, out]) as ``DynamicQuantizeMatMul`` takes it: int8 weights
    and one scale per output column (an all-zero column gets scale 1)."""
    scale = np.abs(W).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.rint(W / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def serialised(
    nodes: Sequence[Any], weights: Sequence[Any], name: str, inputs: Sequence[Any], outputs: Sequence[Any]
) -> bytes:
    """The model of these nodes and weights (ONNX opset 18 and Microsoft's contrib ops),
    as the bytes a session is made from."""
    from onnx import helper

    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), initializer=list(weights))
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    )
    return bytes(model.SerializeToString())


class OnnxGraph:
    """Holds a graph (:meth:`_build`, the subclass's) and this process's session of it."""

    def __init__(self) -> None:
        self._graph: bytes | None = None
        self._session: Any = None
        self._pid = -1
        self._lock = threading.Lock()

    def _build(self) -> bytes:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def prepare(self) -> None:
        """Builds the graph (weights included) now: a process that forks calls it first,
        so that its workers share it."""
        with self._lock:
            if self._graph is None:
                self._graph = self._build()

    def _run(self) -> Any:
        """This process's session (made on its first call)."""
        if self._session is None or self._pid != os.getpid():
            with self._lock:
                if self._session is None or self._pid != os.getpid():
                    import onnxruntime as ort

                    options = ort.SessionOptions()
                    options.intra_op_num_threads = 1
                    options.inter_op_num_threads = 1
                    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                    options.log_severity_level = 3
                    graph = self._graph if self._graph is not None else self._build()
                    self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
                    self._pid = os.getpid()
        return self._session
