"""Recomputes the stored counters from the rows they count (``forum recount``).

The services keep every counter right in the transaction that changes what it
counts; this repairs them after anything that went around the services (a
hand-edited row, a bulk load written straight into the tables, a bug): the
categories' list sizes (``forum.services.categories``), each thread's
``reply_count`` (visible replies), each post's ``vote_count`` and each
tag's ``thread_count`` (visible threads).

It runs in one transaction and starts by writing every category row, which
takes the database's write lock on SQLite and the categories' row locks on
PostgreSQL: a thread created, hidden, moved... meanwhile waits for the
recount's commit, or was committed before the recount counts (read committed:
each statement sees what was committed before it started). Threads and posts
whose counter looks wrong are locked before being counted again and fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from forum.models import Post, Tag, Thread, ThreadTag, Vote
from forum.services.categories import CATEGORIES, SLOTS, slot_conditions

THREADS: Table = Thread.__table__  # type: ignore[attr-defined]
POSTS: Table = Post.__table__  # type: ignore[attr-defined]
VOTES: Table = Vote.__table__  # type: ignore[attr-defined]
TAGS: Table = Tag.__table__  # type: ignore[attr-defined]
THREAD_TAGS: Table = ThreadTag.__table__  # type: ignore[attr-defined]
CHUNK = 500


@dataclass(frozen=True)
class Fix:
    counter: str  # table.column
    row_id: int
    label: str  # how to tell the row: a category's slug, else ""
    stored: int
    actual: int


@dataclass
class RecountReport:
    categories: int = 0
    fixes: list[Fix] = field(default_factory=list)

    def fixed(self, counter: str) -> list[Fix]:
        return [f for f in self.fixes if f.counter == counter]


async def _recount_categories(session: AsyncSession, report: RecountReport) -> None:
    c = CATEGORIES.c
    # The lock (see the module's doc), before anything is counted.
    await session.execute(update(CATEGORIES).values(listed_threads=c.listed_threads))
    stored = {row.id: row for row in await session.execute(select(c.id, c.slug, *(c[s] for s in SLOTS)))}
    report.categories = len(stored)
    for slot in SLOTS:
        t = THREADS.c
        counted = select(t.category_id, func.count()).where(*slot_conditions(slot)).group_by(t.category_id)
        actual: dict[int, int] = {row[0]: row[1] for row in await session.execute(counted)}
        for category_id, row in stored.items():
            n = actual.get(category_id, 0)
            if row._mapping[slot] != n:
                report.fixes.append(Fix(f"categories.{slot}", category_id, row.slug, row._mapping[slot], n))
                await session.execute(update(CATEGORIES).where(c.id == category_id).values({slot: n}))


async def _recount_column(
    session: AsyncSession,
    report: RecountReport,
    *,
    table: Table,
    column: str,
    counted: FromClause,
    key: ColumnElement[Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> None:
    """Sets ``table.column`` to the number of ``counted`` rows (those meeting
    ``where``) whose ``key`` is the row's id, wherever they differ."""
    counts = (
        select(key.label("owner"), func.count().label("n")).select_from(counted).where(*where).group_by(key).subquery()
    )
    actual = func.coalesce(counts.c.n, 0)
    wrong = (
        select(table.c.id, table.c[column], actual)
        .select_from(table.outerjoin(counts, counts.c.owner == table.c.id))
        .where(table.c[column] != actual)
        .order_by(table.c.id)
    )
    suspects = [row.id for row in await session.execute(wrong)]
    for start in range(0, len(suspects), CHUNK):
        chunk = suspects[start : start + CHUNK]
        # Locked, then counted again: a reply or vote committed meanwhile is counted once.
        await session.execute(select(table.c.id).where(table.c.id.in_(chunk)).with_for_update())
        rows = (await session.execute(wrong.where(table.c.id.in_(chunk)))).all()
        if not rows:
            continue
        report.fixes.extend(Fix(f"{table.name}.{column}", row[0], "", row[1], row[2]) for row in rows)
        await session.execute(
            update(table).where(table.c.id == bindparam("row_id")).values({column: bindparam("actual")}),
            [{"row_id": row[0], "actual": row[2]} for row in rows],
        )


async def recount(session: AsyncSession) -> RecountReport:
    """Recomputes every stored counter; the caller commits. Says what it fixed."""
    report = RecountReport()
    await _recount_categories(session, report)
    p = POSTS.c
    await _recount_column(
        session,
        report,
        table=THREADS,
        column="reply_count",
        counted=POSTS,
        key=p.thread_id,
        where=[p.is_first.is_(False), p.hidden_at.is_(None), p.deleted_at.is_(None)],
    )
    await _recount_column(session, report, table=POSTS, column="vote_count", counted=VOTES, key=VOTES.c.post_id)
    t = THREADS.c
    await _recount_column(
        session,
        report,
        table=TAGS,
        column="thread_count",
        counted=THREAD_TAGS.join(THREADS, t.id == THREAD_TAGS.c.thread_id),
        key=THREAD_TAGS.c.tag_id,
        where=[t.hidden_at.is_(None), t.deleted_at.is_(None)],
    )
    return report
