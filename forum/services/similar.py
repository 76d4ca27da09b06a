"""Similar questions for the web: the ask page, "Related questions", ``GET /api/similar``.

The index itself (what it covers, how it is stored, rebuilt and kept current) is
:mod:`forum.topics.similar_index`; this module is the service the routes and other
services call: a lookup checked against the database, and each app's own index.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.applications import Starlette

from forum.db import id_col
from forum.direct import DirectRead
from forum.models import Article, ArticleStatus, Post, Thread
from forum.runtime import runtime_of
from forum.topics import store
from forum.topics.similar_index import (
    BLOB,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    Match,
    SimilarIndex,
    article_path,
    build_index,
    needs_rebuild,
    rebuild,
    thread_path,
    topic_groups,
)

__all__ = [
    "BLOB",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "Match",
    "SimilarIndex",
    "article_path",
    "build_index",
    "find_similar",
    "index_of",
    "needs_rebuild",
    "parse_limit",
    "rebuild",
    "schedule_refresh",
    "thread_path",
    "topic_groups",
    "verified",
]

log = logging.getLogger("forum.similar")


def parse_limit(raw: str | None, default: int = 5) -> int | None:
    """The ``limit`` query parameter: None when it is not a positive number."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return min(value, MAX_LIMIT) if value >= 1 else None


async def find_similar(
    session: AsyncSession,
    app,  # type: ignore[no-untyped-def]
    text: str,
    *,
    limit: int = 5,
    solved_only: bool = False,
) -> list[Match]:
    """Matches for the web, checked against the database so that nothing
    hidden, deleted or unpublished since the last refresh slips through. The
    first lookup of a process loads the stored index; later ones use what is
    loaded while it catches up in the background."""
    index = index_of(app)
    if not index.loaded:
        await asyncio.to_thread(index.ensure)
    else:
        schedule_refresh(app)
    found = await asyncio.to_thread(index.search, text, limit + 5, solved_only=solved_only)
    return (await verified(session, found))[:limit]


_PUBLIC_THREADS = DirectRead(
    select(id_col(Thread.id), col(Thread.title), col(Thread.slug), col(Thread.solved_at))
    .join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
    .where(col(Thread.id).in_(bindparam("ids", expanding=True)), *store.public_thread_conditions())
)
_PUBLISHED_ARTICLES = DirectRead(
    select(id_col(Article.id), col(Article.title), col(Article.slug)).where(
        col(Article.id).in_(bindparam("ids", expanding=True)),
        col(Article.status) == ArticleStatus.published.value,
    )
)


async def verified(session: AsyncSession, found: Sequence[Match]) -> list[Match]:
    """The matches readers may still open, with their current titles and paths (one
    query for threads, one for articles, each run by the driver)."""
    thread_ids = [m.id for m in found if m.type == "thread"]
    article_ids = [m.id for m in found if m.type == "article"]
    threads: dict[int, tuple[str, str, bool]] = {}
    if thread_ids:
        rows = await _PUBLIC_THREADS.rows(session, {"ids": thread_ids})
        threads = {r[0]: (r[1], r[2], r[3] is not None) for r in rows}
    articles: dict[int, tuple[str, str]] = {}
    if article_ids:
        rows = await _PUBLISHED_ARTICLES.rows(session, {"ids": article_ids})
        articles = {r[0]: (r[1], r[2]) for r in rows}
    out: list[Match] = []
    for m in found:
        if m.type == "thread" and m.id in threads:
            title, slug, solved = threads[m.id]
            if m.solved and not solved:
                # Solved when the index was refreshed, not any more: the caller asked for solved ones.
                continue
            out.append(Match("thread", m.id, title, thread_path(m.id, slug), m.score, solved, m.external_id))
        elif m.type == "article" and m.id in articles:
            title, slug = articles[m.id]
            out.append(Match("article", m.id, title, article_path(m.id, slug), m.score, True))
    return out


def index_of(app: Starlette) -> SimilarIndex:
    """The app's index, made on first use (a sync engine of its own: the index
    loads and refreshes in worker threads)."""
    runtime = runtime_of(app)
    found = runtime.similar_index
    if found is None:
        from forum.db import make_sync_engine

        settings = runtime.settings
        engine = (
            make_sync_engine(settings.database_url, pool_size=2)
            if not settings.database_url.startswith("sqlite")
            else make_sync_engine(settings.database_url)
        )
        found = runtime.similar_index = SimilarIndex(engine, refresh_every=settings.similar_refresh, in_web=True)
    return found


def schedule_refresh(app: Starlette) -> None:
    """Catches the app's loaded index up in the background if it is stale (a
    lookup never waits for that)."""
    runtime = runtime_of(app)
    index = runtime.similar_index
    if index is None or not index.loaded or not index.stale():
        return
    if runtime.similar_refreshing is not None:
        return

    async def run() -> None:
        try:
            await asyncio.to_thread(index.ensure)
        except Exception:
            log.exception("refreshing the similar-questions index failed")
        finally:
            runtime.similar_refreshing = None

    runtime.similar_refreshing = asyncio.get_running_loop().create_task(run())
