"""Related questions on a thread page: stored lists, read with one query.

The list is computed by a background job (``forum.topics.related``), never in
a request: computing it runs the sentence encoders. A thread is queued for
(re)computation in the transaction that creates or edits it; until the job
has run, its page shows the list it had, or none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Table, and_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from forum.clock import utcnow
from forum.direct import DirectRead
from forum.models import Article, ArticleStatus, Post, RelatedItem, RelatedList, Thread
from forum.services.similar import Match, article_path, thread_path

#: entries shown on a thread page
SHOWN = 5


def queue_statement(dialect: str):  # type: ignore[no-untyped-def]
    """INSERT ... ON CONFLICT that (re)queues threads' lists (``thread_id``, ``at``)."""
    table = RelatedList.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(thread_id=bindparam("thread_id"), queued_at=bindparam("at"))
    return stmt.on_conflict_do_update(index_elements=[table.c.thread_id], set_={"queued_at": stmt.excluded.queued_at})


async def queue(session: AsyncSession, thread_ids: Iterable[int], *, at: datetime | None = None) -> None:
    """Asks the job to compute these threads' related questions (again), in the
    caller's transaction: a thread that is committed is queued."""
    rows = [{"thread_id": tid, "at": at or utcnow()} for tid in thread_ids]
    if rows:
        await session.execute(queue_statement(session.get_bind().dialect.name), rows)


_ITEMS: Table = RelatedItem.__table__  # type: ignore[attr-defined]
_THREADS: Table = Thread.__table__  # type: ignore[attr-defined]
_POSTS: Table = Post.__table__  # type: ignore[attr-defined]
_ARTICLES: Table = Article.__table__  # type: ignore[attr-defined]

_LIST = DirectRead(
    select(
        _ITEMS.c.target_thread_id,
        _THREADS.c.title,
        _THREADS.c.slug,
        _THREADS.c.solved_at,
        _ITEMS.c.target_article_id,
        _ARTICLES.c.title,
        _ARTICLES.c.slug,
        _ITEMS.c.score,
        _POSTS.c.id,
    )
    .select_from(_ITEMS)
    .outerjoin(
        _THREADS,
        and_(
            _THREADS.c.id == _ITEMS.c.target_thread_id,
            _THREADS.c.hidden_at.is_(None),
            _THREADS.c.deleted_at.is_(None),
        ),
    )
    .outerjoin(
        _POSTS,
        and_(
            _POSTS.c.thread_id == _THREADS.c.id,
            _POSTS.c.is_first.is_(True),
            _POSTS.c.hidden_at.is_(None),
            _POSTS.c.deleted_at.is_(None),
        ),
    )
    .outerjoin(
        _ARTICLES,
        and_(_ARTICLES.c.id == _ITEMS.c.target_article_id, _ARTICLES.c.status == ArticleStatus.published.value),
    )
    .where(_ITEMS.c.thread_id == bindparam("thread_id"))
    .order_by(_ITEMS.c.position)
)


async def related_for(session: AsyncSession, thread_id: int, *, limit: int = SHOWN) -> list[Match]:
    """The stored related questions of a thread that readers may see now, best
    first (one query on the primary key; threads hidden or deleted and articles
    unpublished since the list was computed are left out)."""
    rows = await _LIST.rows(session, {"thread_id": thread_id})
    out: list[Match] = []
    for tid, title, slug, solved_at, aid, a_title, a_slug, score, first_post in rows:
        if tid is not None and title is not None and first_post is not None:
            out.append(Match("thread", tid, title, thread_path(tid, slug), score, solved_at is not None))
        elif aid is not None and a_title is not None:
            out.append(Match("article", aid, a_title, article_path(aid, a_slug), score, True))
        if len(out) >= limit:
            break
    return out
