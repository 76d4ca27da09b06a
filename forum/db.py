"""Engines and sessions. SQLite (WAL) by default, PostgreSQL in production."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import registry
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped
from sqlmodel import col

from forum.direct import READING
from forum.sqlite_inline import begin_immediate

registry.register("sqlite.forum_inline", "forum.sqlite_inline", "InlineSQLiteDialect")


def id_col(column: int | None) -> Mapped[int]:
    """``col()`` for a primary key: the models say ``id: int | None`` (None
    until the row is flushed), but a row read back always has one, so what a
    query selects through this is typed ``int``."""
    return cast("Mapped[int]", col(column))


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def async_url(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return url


def ensure_sqlite_folder(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_read_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # In WAL mode a reader does not wait for writers; the short busy timeout only
    # covers the rare moments SQLite itself needs (opening the WAL index), since a
    # wait here holds up the event loop.
    # query_only: nothing can write through a reading connection, so none ever
    # holds a transaction open (the driver opens one only to write), and the pool
    # need not roll one back when a page is done (make_read_engine).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=1000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def make_sync_engine(url: str, **kwargs: Any) -> Engine:
    ensure_sqlite_folder(url)
    engine = create_engine(sync_url(url), **kwargs)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


async def _asyncpg_connect(*args: Any, **kwargs: Any) -> Any:
    """asyncpg's connect, whose refused or timed-out socket (an OSError, which
    SQLAlchemy passes on untranslated) becomes asyncpg's connection failure
    (SQLSTATE 08006): failing to connect then reads as the database down
    (:func:`forum.admission.database_trouble`), as with psycopg."""
    import asyncpg

    try:
        return await asyncpg.connect(*args, **kwargs)
    except OSError as exc:  # TimeoutError is one too
        raise asyncpg.exceptions.ConnectionFailureError(str(exc)) from exc


# A pooled PostgreSQL connection idle for longer than this is checked with a
# round trip before it is used again: one the server dropped meanwhile (a
# restart, an idle timeout) is replaced rather than failing a request.
# SQLAlchemy's pool_pre_ping checks every checkout, that is every request:
# with asyncpg three round trips (BEGIN, ";", ROLLBACK) beside a thread
# page's four statements. A connection in steady use is not checked: if the
# server went away, the request fails as the database being down (a 503) and
# the pool is renewed (forum.admission).
PING_AFTER_IDLE_S = 5.0


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.pop("idle_since", None)
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:  # any failure: the pool replaces the connection
        raise sa_exc.DisconnectionError(str(exc)) from exc


def pool_options(max_in_flight: int) -> dict[str, int]:
    """A web process's pool, for the requests its admission gate lets in at once
    (``max_in_flight``; 0: no limit, SQLAlchemy's defaults): that many kept
    connections, plus two (a request may hold a reading and a writing session,
    and the view counter writes beside them), and as many again allowed beyond
    them. With SQLAlchemy's 5 kept, a burst of more requests opened connections
    that were closed again as soon as it passed, and the next burst paid for
    opening them (and preparing its statements on them) again."""
    if max_in_flight <= 0:
        return {}
    return {"pool_size": max_in_flight + 2, "max_overflow": max_in_flight}


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """The engine of sessions that write (and of those that must read what the
    request just wrote). On SQLite, sqlite3 runs on the event loop's thread as
    for reads (:mod:`forum.sqlite_inline`): a transaction takes the write lock
    when it begins, waiting for another process's without stopping the loop,
    and then runs to its commit without a thread hand-off per statement."""
    ensure_sqlite_folder(url)
    if not is_sqlite(url):
        connect_args = {"async_creator_fn": _asyncpg_connect, **kwargs.pop("connect_args", {})}
        engine = create_async_engine(async_url(url), connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine.pool, "checkin", _note_idle)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
        return engine
    u = make_url(url).set(drivername="sqlite+forum_inline")
    engine = create_async_engine(u.render_as_string(hide_password=False), **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_write_pragmas)
    event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_write_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Never wait inside SQLite: it would stop the event loop. The one wait a
    # transaction has, for the write lock, is at its BEGIN (below).
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()
    # The driver would start a transaction only at the first write; we start it ourselves.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(conn: Any) -> None:
    """A transaction takes SQLite's write lock when it starts. Started as a reader
    (the driver's default), a transaction that then writes fails at once with
    "database is locked" when another process wrote since its first read (WAL
    snapshots cannot be upgraded), which under a few replies a second was common."""
    begin_immediate(conn.connection.driver_connection.sqlite_connection)


def make_read_engine(url: str, write_engine: AsyncEngine, **kwargs: Any) -> AsyncEngine:
    """The engine of sessions that only read. On SQLite: sqlite3 run on the event
    loop's thread (:mod:`forum.sqlite_inline`), no thread hand-off per query. On
    PostgreSQL: the write engine's pool (asyncpg has no hand-off)
    in autocommit. Under READ COMMITTED each statement reads its own snapshot
    whether or not a transaction surrounds them, so a transaction around a
    page's reads only cost a BEGIN and a ROLLBACK: two of a thread page's seven
    round trips. What needs a transaction to read opens one with
    :func:`read_transaction`; nothing may write through such a session (each
    statement would be committed on its own). ``kwargs``: the options of
    SQLite's reading pool (:func:`pool_options`)."""
    if not is_sqlite(url):
        return write_engine.execution_options(isolation_level="AUTOCOMMIT")
    u = make_url(url).set(drivername="sqlite+forum_inline")
    # No ROLLBACK as a connection goes back to the pool: a reading connection
    # cannot write (query_only), so it never has a transaction to end (the
    # rollback's path through the pool was ~3% of a list page's CPU).
    engine = create_async_engine(u.render_as_string(hide_password=False), pool_reset_on_return=None, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_read_pragmas)
    return engine


@contextlib.asynccontextmanager
async def read_transaction(session: AsyncSession) -> AsyncIterator[bool]:
    """The statements inside share one transaction, on a reading session too:
    for reads that set transaction-local settings (``SET LOCAL``) or stream
    through a server-side cursor. A PostgreSQL reading session is in
    autocommit (:func:`make_read_engine`): a transaction is opened for the
    block and ended with COMMIT (it wrote nothing), which also forgets its local
    settings; the block is told True. Any other session already has one:
    nothing is done, and the block is told False."""
    if session.get_bind().dialect.name != "postgresql":
        yield False
        return
    connection = await session.connection()
    if not (await connection.get_raw_connection()).dbapi_connection.autocommit:  # type: ignore[union-attr]
        yield False
        return
    await session.execute(text("BEGIN"))
    try:
        yield True
    finally:
        # Cancelled before this COMMIT, the pool's reset on return rolls it back.
        await session.execute(text("COMMIT"))


def make_sessionmaker(engine: AsyncEngine, *, reading: bool = False) -> async_sessionmaker[AsyncSession]:
    """``reading``: sessions that only read (from :func:`make_read_engine`), in
    which :class:`forum.direct.DirectRead` statements go straight to the driver."""
    info = {READING: True} if reading else None
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, info=info)
