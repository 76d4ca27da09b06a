"""all-MiniLM-L6-v2, the English sentence encoder, run on numpy.

sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0; a 6-layer BERT with 384
dimensions, trained on a billion English sentence pairs: questions and their
duplicates among them) tells English paraphrases apart better than the two
multilingual encoders do, and knows no Korean. :mod:`forum.topics.embed` puts it
beside them for text that is not Korean.

Its weights ship with the forum in 8 bits (``forum/data/minilm-l6.npz``, 23 MB,
written by ``scripts/minilm_weights.py``); this module is the BERT tokenizer
(lower case, accents stripped, punctuation split, WordPiece) and the forward pass
(mean of the last layer over the tokens, unit length), in plain numpy: no
PyTorch. The 8-bit matrices are turned back into float32 once, at load (about
45 MB); the token table stays 8-bit and only the rows a batch needs are.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["DIM", "available", "encode", "tokenize"]

DIM = 384
LAYERS = 6
HEADS = 12
#: tokens read at most, [CLS] and [SEP] included (the model was trained on 128)
MAX_TOKENS = 128
#: a word longer than this is one unknown token (as in BERT's tokenizer)
_MAX_WORD = 100
WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "data" / "minilm-l6.npz"
_lock = threading.Lock()
_model: _Model | None = None


@functools.cache
def available() -> bool:
    return WEIGHTS_PATH.exists()


class _Model:
    def __init__(self, path: Path):
        z = np.load(path)
        self.vocab = {w: i for i, w in enumerate(bytes(z["vocab"]).decode("utf-8").splitlines())}
        self.unk, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.tokens_q = z["embeddings.word_embeddings.weight.q"]
        self.tokens_scale = z["embeddings.word_embeddings.weight.scale"]
        self.positions = self._matrix(z, "embeddings.position_embeddings.weight")
        self.segment = self._matrix(z, "embeddings.token_type_embeddings.weight")[0]
        self.norm = (z["embeddings.LayerNorm.weight"], z["embeddings.LayerNorm.bias"])
        self.layers = []
        for n in range(LAYERS):
            p = f"encoder.layer.{n}."
            qkv = np.vstack([self._matrix(z, f"{p}attention.self.{part}.weight") for part in ("query", "key", "value")])
            self.layers.append(
                (
                    np.ascontiguousarray(qkv.T),
                    np.concatenate([z[f"{p}attention.self.{part}.bias"] for part in ("query", "key", "value")]),
                    np.ascontiguousarray(self._matrix(z, f"{p}attention.output.dense.weight").T),
                    z[f"{p}attention.output.dense.bias"],
                    (z[f"{p}attention.output.LayerNorm.weight"], z[f"{p}attention.output.LayerNorm.bias"]),
                    np.ascontiguousarray(self._matrix(z, f"{p}intermediate.dense.weight").T),
                    z[f"{p}intermediate.dense.bias"],
                    np.ascontiguousarray(self._matrix(z, f"{p}output.dense.weight").T),
                    z[f"{p}output.dense.bias"],
                    (z[f"{p}output.LayerNorm.weight"], z[f"{p}output.LayerNorm.bias"]),
                )
            )

    @staticmethod
    def _matrix(z, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
        return z[name + ".q"].astype(np.float32) * z[name + ".scale"][:, None]

    # ------------------------------------------------------------ tokenizer
    def wordpiece(self, word: str) -> list[int]:
        if len(word) > _MAX_WORD:
            return [self.unk]
        out: list[int] = []
        start = 0
        while start < len(word):
            stop = len(word)
            piece = None
            while start < stop:
                sub = word[start:stop] if start == 0 else "##" + word[start:stop]
                piece = self.vocab.get(sub)
                if piece is not None:
                    break
                stop -= 1
            if piece is None:
                return [self.unk]
            out.append(piece)
            start = stop
        return out

    def ids(self, text: str) -> list[int]:
        pieces = [p for word in _words(text) for p in self.wordpiece(word)]
        return [self.cls, *pieces[: MAX_TOKENS - 2], self.sep]

    # ------------------------------------------------------------ forward pass
    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        B, L = ids.shape
        x = self.tokens_q[ids].astype(np.float32)
        x *= self.tokens_scale[ids][..., None]
        x += self.positions[:L]
        x += self.segment
        x = _layer_norm(x.reshape(B * L, DIM), *self.norm)  # rows: every token of the batch
        away = ((mask - 1.0) * 1e9)[:, None, None, :].astype(np.float32)
        head = DIM // HEADS
        for qkv_w, qkv_b, out_w, out_b, norm1, up_w, up_b, down_w, down_b, norm2 in self.layers:
            qkv = x @ qkv_w
            qkv += qkv_b
            q, k, v = (
                qkv[:, i * DIM : (i + 1) * DIM].reshape(B, L, HEADS, head).transpose(0, 2, 1, 3) for i in range(3)
            )
            a = q @ k.transpose(0, 1, 3, 2)
            a *= np.float32(1.0 / np.sqrt(head))
            a += away
            a -= a.max(axis=-1, keepdims=True)
            np.exp(a, out=a)
            a /= a.sum(axis=-1, keepdims=True)
            context = (a @ v).transpose(0, 2, 1, 3).reshape(B * L, DIM)
            h = context @ out_w
            h += out_b
            h += x
            x = _layer_norm(h, *norm1)
            h = x @ up_w
            h += up_b
            h = _gelu(h)
            h = h @ down_w
            h += down_b
            h += x
            x = _layer_norm(h, *norm2)
        x = x.reshape(B, L, DIM)
        pooled = (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (pooled / norms).astype(np.float32)


def _gelu(h: np.ndarray) -> np.ndarray:
    """BERT's activation, h·Φ(h), in its tanh form (within 0.001 of the exact one, and
    several times faster than erf in numpy)."""
    inner = h * h
    inner *= np.float32(0.044715)
    inner += np.float32(1.0)
    inner *= h
    inner *= np.float32(np.sqrt(2.0 / np.pi))
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= h
    inner *= np.float32(0.5)
    return inner


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    x = x - mean
    var = (x * x).mean(axis=-1, keepdims=True)
    x /= np.sqrt(var + np.float32(eps))
    x *= weight
    x += bias
    return x


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _words(text: str) -> list[str]:
    """BERT's basic tokenizer (uncased): lower case, accents stripped, whitespace and
    control characters split words, punctuation and CJK ideographs are words of their own."""
    text = unicodedata.normalize("NFD", text.lower())
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Mn" or ch == "\ufffd" or ord(ch) == 0:
            continue
        if ch.isspace() or cat in ("Cc", "Cf"):
            if word:
                out.append("".join(word))
                word = []
        elif _is_punctuation(ch) or _is_cjk(ord(ch)):
            if word:
                out.append("".join(word))
                word = []
            out.append(ch)
        else:
            word.append(ch)
    if word:
        out.append("".join(word))
    return out


def _loaded() -> _Model:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _Model(WEIGHTS_PATH)
    return _model


def tokenize(text: str) -> list[int]:
    """Token ids of ``text`` as the model reads it ([CLS] … [SEP], at most MAX_TOKENS)."""
    return _loaded().ids(text)


def encode(texts: Sequence[str], *, batch: int = 64) -> np.ndarray:
    """Unit-length float32 embeddings, one row of DIM numbers per text. Texts of similar
    length are run together, so that little of a batch is padding."""
    model = _loaded()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if not len(texts):
        return out
    ids = [model.ids(t) for t in texts]
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        width = max(len(ids[i]) for i in rows)
        tokens = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.float32)
        for r, i in enumerate(rows):
            tokens[r, : len(ids[i])] = ids[i]
            mask[r, : len(ids[i])] = 1.0
        out[rows] = model.forward(tokens, mask)
    return out
