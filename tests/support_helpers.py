"""Hand-made support data: questions, replies and solutions at exact times,
made through the real services (so the thread counters are the real ones)."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from forum.models import Category, Post, Thread, ThreadKind, User
from forum.services import threads

_n = itertools.count(1)


async def ask_at(
    session: AsyncSession,
    *,
    author: User,
    category: Category,
    at: datetime,
    title: str | None = None,
    body: str = "How do I export my notes? I looked everywhere.",
    kind: ThreadKind = ThreadKind.question,
) -> Thread:
    return await threads.ask(
        session,
        author=author,
        category=category,
        title=title or f"Question number {next(_n)}",
        body=body,
        kind=kind.value,
        created_at=at,
    )


async def reply_at(
    session: AsyncSession, thread: Thread, *, author: User, at: datetime, body: str = "Try the export menu."
) -> Post:
    post = await threads.reply(session, thread, author=author, body=body, created_at=at)
    post.thread = thread
    return post


async def accept_at(session: AsyncSession, post: Post, *, user: User, at: datetime) -> None:
    await threads.accept(session, post, user=user, at=at)


async def official_at(session: AsyncSession, post: Post, *, user: User, at: datetime) -> None:
    await threads.mark_official(session, post, user=user, at=at)


class QueryCounter:
    """Counts the SQL statements an app's engines run inside a ``with`` block (the
    write engine and, on SQLite, the engine of read-only sessions)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        runtime = app.state.runtime
        self.engines = {runtime.engine.sync_engine}
        if runtime.read_engine.sync_engine.pool is not runtime.engine.sync_engine.pool:
            # On PostgreSQL the read engine is the write engine with options: its
            # statements reach the write engine's listeners already.
            self.engines.add(runtime.read_engine.sync_engine)
        self.statements: list[str] = []

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement != "BEGIN IMMEDIATE":  # how a write transaction starts on SQLite (forum.db), not a query
            self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._before)

    def __len__(self) -> int:
        return len(self.statements)
