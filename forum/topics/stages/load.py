"""Load: what a run works on, read from the database.

The threads the job groups (public, in the window, not linked to an article, not
taken out of a suggestion by staff), the stored suggestions with their members,
the published articles, the earlier runs and the members' vectors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, and_, func, or_, select
from sqlalchemy.orm import Mapped
from sqlmodel import col

from forum.db import id_col
from forum.models import Post, Thread, TopicMember, TopicRemoval, TopicRun, TopicSuggestion
from forum.topics import embed, similar_index, store
from forum.topics.similarity import SimilarityIndex

#: the stored model of the last full run (vocabulary and idf), which incremental runs reuse
MODEL_BLOB = "cluster_model"


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored suggestion as a run reads it."""

    id: int
    state: str
    title: str
    article_id: int | None
    dismissed_size: int | None
    thread_count: int
    centroid: Mapping[str, float]
    cohesion: float
    key_terms: tuple[str, ...]
    members: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class History:
    """The staff's synonym lines and the last finished runs (rows of ``topic_runs``)."""

    synonym_lines: tuple[str, ...]
    last: Any
    last_full: Any


@dataclass(frozen=True, slots=True)
class FullInput:
    """A full run's input: every eligible thread up to ``high_water``."""

    high_water: int
    texts: tuple[store.LoadedThread, ...]
    articles: tuple[store.ArticleText, ...]


@dataclass(frozen=True, slots=True)
class Changes:
    """An incremental run's input: what changed since the last run."""

    high_water: int
    window_count: int
    new_texts: tuple[store.LoadedThread, ...]
    #: threads edited since the last run, still in the window
    edited: tuple[store.LoadedThread, ...]
    #: members that must leave (see :func:`ineligible_members`)
    gone: Mapping[int, str]
    stored: Mapping[int, Stored]
    articles: tuple[store.ArticleText, ...]
    model_blob: bytes | None


def eligible(window_start: datetime) -> list:  # type: ignore[type-arg]
    """Threads the job groups: in the window, not linked to an article, not taken out of a
    suggestion by staff (a removal is remembered)."""
    return [
        col(Thread.created_at) >= window_start,
        col(Thread.article_id).is_(None),
        col(Thread.id).not_in(select(col(TopicRemoval.thread_id))),
    ]


def last_run(conn: Connection, *, mode: str | None = None) -> Any:
    stmt = select(TopicRun).where(col(TopicRun.status) == "done")
    if mode:
        stmt = stmt.where(col(TopicRun.mode) == mode)
    return conn.execute(stmt.order_by(col(TopicRun.id).desc()).limit(1)).first()


def history(engine: Engine) -> History:
    with engine.connect() as conn:
        return History(tuple(store.synonym_lines(conn)), last_run(conn), last_run(conn, mode="full"))


def has_model(engine: Engine) -> bool:
    with engine.connect() as conn:
        return store.blob_info(conn, MODEL_BLOB) is not None


def load_stored(conn: Connection, *, with_centroids: bool) -> dict[int, Stored]:
    # Columns of several types, read back by position.
    cols: list[Mapped[Any]] = [
        col(TopicSuggestion.id),
        col(TopicSuggestion.state),
        col(TopicSuggestion.title),
        col(TopicSuggestion.article_id),
        col(TopicSuggestion.dismissed_size),
        col(TopicSuggestion.thread_count),
        col(TopicSuggestion.cohesion),
        col(TopicSuggestion.key_terms),
    ]
    if with_centroids:
        cols.append(col(TopicSuggestion.centroid))
    members: dict[int, set[int]] = {}
    for thread_id, suggestion_id in conn.execute(select(col(TopicMember.thread_id), col(TopicMember.suggestion_id))):
        members.setdefault(suggestion_id, set()).add(thread_id)
    return {
        row[0]: Stored(
            id=row[0],
            state=row[1],
            title=row[2],
            article_id=row[3],
            dismissed_size=row[4],
            thread_count=row[5],
            cohesion=row[6] or 0.0,
            key_terms=tuple(json.loads(row[7] or "[]")),
            centroid=json.loads(row[8] or "{}") if with_centroids else {},
            members=frozenset(members.get(row[0], ())),
        )
        for row in conn.execute(select(*cols))
    }


def ineligible_members(conn: Connection, window_start: datetime) -> dict[int, str]:
    """Members that must leave their suggestion: "hidden" (hidden or deleted:
    they leave any suggestion) or "out" (linked to an article, or older than
    the window: they leave open, dismissed and expired ones)."""
    out: dict[int, str] = {}
    rows = conn.execute(
        select(
            id_col(Thread.id), col(Thread.hidden_at), col(Thread.deleted_at), col(Post.hidden_at), col(Post.deleted_at)
        )
        .join(TopicMember, col(TopicMember.thread_id) == col(Thread.id))
        .join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
        .where(
            or_(
                col(Thread.hidden_at).is_not(None),
                col(Thread.deleted_at).is_not(None),
                col(Post.hidden_at).is_not(None),
                col(Post.deleted_at).is_not(None),
                col(Thread.article_id).is_not(None),
                col(Thread.created_at) < window_start,
            )
        )
    )
    for tid, th, td, ph, pd in rows:
        out[tid] = "hidden" if (th or td or ph or pd) else "out"
    return out


def load_full(engine: Engine, window_start: datetime) -> FullInput:
    with engine.connect() as conn:
        high_water = store.max_thread_id(conn)
        texts = store.load_texts(conn, col(Thread.id) <= high_water, *eligible(window_start))
        articles = store.published_articles(conn)
    return FullInput(high_water, tuple(texts), tuple(articles))


def load_changes(engine: Engine, window_start: datetime, last: Any) -> Changes:
    """Threads above the last run's high-water mark, threads edited since it started,
    members that must leave, the stored suggestions (with centroids) and the model."""
    with engine.connect() as conn:
        high_water = store.max_thread_id(conn)
        window_count = (
            conn.execute(
                select(func.count()).select_from(Thread).where(col(Thread.created_at) >= window_start)
            ).scalar()
            or 0
        )
        new_texts = store.load_texts(
            conn, col(Thread.id) > last.high_water, col(Thread.id) <= high_water, *eligible(window_start)
        )
        edited_ids = set(
            conn.execute(
                select(col(Post.thread_id)).where(
                    col(Post.is_first).is_(True),
                    col(Post.edited_at) > last.started_at,
                    col(Post.thread_id) <= last.high_water,
                )
            ).scalars()
        )
        edited = (
            [t for t in store.load_texts_by_id(conn, edited_ids) if t.created_at >= window_start] if edited_ids else []
        )
        gone = ineligible_members(conn, window_start)
        stored = load_stored(conn, with_centroids=True)
        articles = store.published_articles(conn)
        blob = store.load_blob(conn, MODEL_BLOB)
    return Changes(
        high_water=high_water,
        window_count=window_count,
        new_texts=tuple(new_texts),
        edited=tuple(edited),
        gone=gone,
        stored=stored,
        articles=tuple(articles),
        model_blob=blob.data if blob is not None else None,
    )


def load_pool(engine: Engine, window_start: datetime, after: int, upto: int) -> list[store.LoadedThread]:
    """Eligible threads with ids in (after, upto]: those that arrived since the last full run."""
    with engine.connect() as conn:
        return store.load_texts(conn, col(Thread.id) > after, col(Thread.id) <= upto, *eligible(window_start))


def load_any_by_id(engine: Engine, ids: set[int]) -> list[store.LoadedThread]:
    """Threads by id, hidden ones too (their vectors leave their suggestion's centroid)."""
    with engine.connect() as conn:
        return store.load_texts_by_id(conn, ids, public=False)


def member_vectors(
    engine: Engine, new_vectors: np.ndarray, member_ids: set[int]
) -> tuple[np.ndarray, tuple[list[int], np.ndarray]]:
    """(the new threads' vectors, (member ids, their vectors)) in one space, for the
    nearest-member joins. The similar-questions index keeps every thread's vector in
    its 256 leading directions (rebuilt by the last full run, kept current by the
    web processes): at 100,000 threads reading those takes 0.5 s, reading every
    member's stored vector 1 to 2 s. Members it lacks are read from ``thread_terms``."""
    with engine.connect() as conn:
        blob = store.load_blob(conn, similar_index.BLOB)
        kept = SimilarityIndex.stored_embeddings(blob.data) if blob is not None else None
        ids, E, P = kept if kept is not None else (None, None, None)
        if E is None or (P is None and E.shape[1] != embed.dim()) or (P is not None and P.shape[0] != embed.dim()):
            return new_vectors, store.stored_vectors(conn, member_ids)  # no index, or an older encoder's
        assert ids is not None  # stored with E
        del blob
        keep = np.flatnonzero(np.isin(ids, np.fromiter(member_ids, dtype=np.int64, count=len(member_ids))))
        found = ids[keep].tolist()
        vectors = np.asarray(E[keep], dtype=np.float32)
        del E
        missing = member_ids - set(found)
        if missing:
            more_ids, more = store.stored_vectors(conn, missing)
            found += more_ids
            vectors = np.vstack([vectors, embed.project(more, P)])
    return embed.project(new_vectors, P), (found, vectors)
