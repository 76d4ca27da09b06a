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
from typing import Any

__all__ = ["OnnxGraph"]


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
