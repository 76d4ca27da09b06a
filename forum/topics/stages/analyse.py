"""Analyse (and encode): threads become documents the grouping reads.

Each thread's analyser terms and sentence embedding are computed once per text
and stored (:func:`forum.topics.store.ensure_terms`, :func:`~forum.topics.store.ensure_vectors`);
a run reads the stored ones and computes only what is missing or stale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Engine

from forum.text import Analyzer
from forum.topics import embed, store
from forum.topics.cluster import Doc, doc_features
from forum.topics.similarity import TextModel
from forum.topics.stages import load

#: a progress phase: (label, total) -> a context manager giving a bar (or None)
Phase = Callable[[str, int | None], AbstractContextManager[Any]]


def no_phase(label: str, total: int | None = None) -> AbstractContextManager[Any]:
    return nullcontext(None)


@dataclass(frozen=True, slots=True)
class Analysed:
    """Threads as documents (in the order given), their (title, body) terms by thread id,
    and their embeddings (a row per thread; None when embeddings are off or not asked for)."""

    docs: tuple[Doc, ...]
    terms: Mapping[int, store.Terms]
    vectors: np.ndarray | None


def to_docs(texts: Sequence[store.LoadedThread], terms: Mapping[int, store.Terms]) -> list[Doc]:
    """Documents with their cached terms (the title counted twice, see :class:`forum.text.ThreadText`)."""
    return [
        Doc(
            id=t.id,
            title=t.title,
            body=t.body,
            created_at=t.created_at,
            views=t.views,
            solved=t.solved,
            terms=t.text.terms(*terms[t.id]),
        )
        for t in texts
    ]


def terms_of(
    engine: Engine, texts: Sequence[store.LoadedThread], analyzer: Analyzer, phase: Phase = no_phase
) -> dict[int, store.Terms]:
    with phase("Analysing", len(texts)) as bar:
        return store.ensure_terms(engine, texts, analyzer, advance=bar.advance if bar else None)


def encode(engine: Engine, texts: Sequence[store.LoadedThread], phase: Phase = no_phase) -> np.ndarray | None:
    """Stored (or newly computed) sentence embeddings, a row per text; None when they are off."""
    if not embed.enabled():
        return None
    with phase("Encoding", len(texts)) as bar:
        return store.ensure_vectors(engine, texts, advance=bar.advance if bar else None)


def analyse(
    engine: Engine,
    texts: Sequence[store.LoadedThread],
    analyzer: Analyzer,
    *,
    encoded: bool = True,
    phase: Phase = no_phase,
) -> Analysed:
    terms = terms_of(engine, texts, analyzer, phase)
    vectors = encode(engine, texts, phase) if encoded else None
    return Analysed(tuple(to_docs(texts, terms)), terms, vectors)


def tfidf_rows(engine: Engine, model: TextModel, analyzer: Analyzer, ids: set[int]) -> dict[int, sp.csr_matrix]:
    """Each thread's tf-idf row in ``model``'s space (hidden threads too: their vectors
    leave their suggestion's centroid)."""
    if not ids:
        return {}
    texts = load.load_any_by_id(engine, ids)
    terms = store.ensure_terms(engine, texts, analyzer)
    docs = to_docs(texts, terms)
    X = model.tfidf(doc_features(docs, analyzer))
    return {d.id: X[i] for i, d in enumerate(docs)}
