"""Why a topic's threads were grouped, thread by thread: which of the topic's key
terms each contains, and how close it is to the rest (0–100: its mean cosine
similarity to the other members, from the STORED sentence vectors), with the
weakest member marked.

Pure: :mod:`forum.services.topic_explain` loads the stored terms and vectors;
nothing here analyses or encodes text (an English key term is only stemmed, as
the analyser stores it, to find it among a thread's stored terms).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forum.text import HANGUL_RUN, english_stem, is_english_word


@dataclass(frozen=True)
class MemberText:
    """What is stored about one member: its title, its analyser terms (title and
    opening post), and its sentence vector (float16 bytes) with the encoder key."""

    thread_id: int
    title: str
    terms: frozenset[str]
    vector: bytes | None
    vector_model: str | None


@dataclass(frozen=True)
class MemberExplanation:
    thread_id: int
    key_terms: tuple[str, ...]  # the topic's key terms this thread contains
    closeness: int | None  # 0–100; None: no stored vector comparable with the others
    weakest: bool = False


def _forms(word: str) -> set[str]:
    """How a key term's word may be stored: as it is, a Korean verb shown in its
    dictionary form (튕기다) by its stem (튕기), and an English word shown as the threads
    wrote it (accidentally) by its stem (accident), as the analyser keeps them."""
    word = word.lower()
    forms = {word}
    if HANGUL_RUN.fullmatch(word) and word.endswith("다") and len(word) > 2:
        forms.add(word[:-1])
    elif is_english_word(word):
        forms.add(english_stem(word))
    return forms


def contains_term(member: MemberText, term: str) -> bool:
    """Every word of ``term`` is among the member's stored terms, or the term is in its title."""
    if term.lower() in member.title.lower():
        return True
    words = term.split()
    return bool(words) and all(_forms(w) & member.terms for w in words)


def encoder_of(vector_model: str) -> str:
    """The encoder part of a stored vector's key ("encoders:text digest", see
    :func:`forum.topics.store.vector_key`): vectors with the same one compare."""
    return vector_model.split(":", 1)[0]


def closeness(vectors: Sequence[bytes | None], models: Sequence[str | None]) -> list[int | None]:
    """Each vector's mean cosine to the others (as 0–100, negatives as 0). Only
    vectors of the most common encoders (and width) are compared; the others,
    and missing ones, get None. Fewer than two comparable: all None."""
    keyed = [
        (encoder_of(m), len(v)) if v is not None and m is not None and len(v) % 2 == 0 and len(v) > 0 else None
        for v, m in zip(vectors, models, strict=True)
    ]
    counts = Counter(k for k in keyed if k is not None)
    out: list[int | None] = [None] * len(vectors)
    if not counts:
        return out
    key, n = counts.most_common(1)[0]
    if n < 2:
        return out
    rows = [i for i, k in enumerate(keyed) if k == key]
    V = np.stack([np.frombuffer(vectors[i], dtype=np.float16).astype(np.float64) for i in rows])  # type: ignore[arg-type]
    norms = np.linalg.norm(V, axis=1)
    norms[norms == 0] = 1.0
    V /= norms[:, None]
    G = V @ V.T
    mean = (G.sum(axis=1) - np.diag(G)) / (len(rows) - 1)
    for i, value in zip(rows, mean.tolist(), strict=True):
        out[i] = round(100 * min(1.0, max(0.0, value)))
    return out


def explain(members: Sequence[MemberText], key_terms: Sequence[str]) -> list[MemberExplanation]:
    """One explanation per member, in the given order. The weakest member (lowest
    closeness) is marked when at least three members have one."""
    scores = closeness([m.vector for m in members], [m.vector_model for m in members])
    scored = [(s, m.thread_id) for s, m in zip(scores, members, strict=True) if s is not None]
    weakest = min(scored)[1] if len(scored) >= 3 else None
    return [
        MemberExplanation(
            thread_id=m.thread_id,
            key_terms=tuple(t for t in key_terms if contains_term(m, t)),
            closeness=s,
            weakest=m.thread_id == weakest,
        )
        for m, s in zip(members, scores, strict=True)
    ]
