"""SQLite under SQLAlchemy's asyncio API, run on the event loop's own thread.

aiosqlite hands every statement to a thread of its own and waits for the answer:
on a thread page that hand-off cost more CPU than the queries (31% of the page in a
profile). SQLite answers a read from the page cache in microseconds and, in WAL mode,
a reader never waits for a writer, so a read runs inline here instead: the same
sqlite3 calls, wrapped in coroutines that complete without suspending (SQLAlchemy's
async layer needs them to be awaitable), at the cost of a greenlet switch.

Writes use it too (``forum.db.make_async_engine``): their one wait, for another
process's write lock, is at the transaction's start (:func:`begin_immediate`),
where it sleeps on the event loop between attempts instead of blocking it; once
the transaction holds the lock, no statement of it waits, and it runs to its
commit without giving way to other requests at every statement (which, under
load, made other processes wait for the lock while this one served pages).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import await_


class _Cursor:
    """An sqlite3 cursor with aiosqlite's awaitable methods, run at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, operation: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq_of_parameters: Any) -> _Cursor:
        self._cursor.executemany(operation, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def nextset(self) -> None:
        return None


class _Connection:
    """An sqlite3 connection with aiosqlite's awaitable methods, run at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection = conn  # what SQLAlchemy's adapter checks before commit / rollback

    @property
    def sqlite_connection(self) -> sqlite3.Connection:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        return _Cursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    def stop(self) -> None:
        self._conn.close()


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._conn.isolation_level = value


class _Module(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self) -> None:
        super().__init__(sqlite3, sqlite3)
        self.has_stop = True

    def connect(self, *arg: Any, **kw: Any) -> _AdaptedConnection:  # type: ignore[override]
        kw.pop("async_creator_fn", None)
        # Connections move between the tasks of one event loop, never between threads at
        # once; the pool hands each to one user at a time.
        kw["check_same_thread"] = False
        conn = sqlite3.connect(*arg, **kw)
        return _AdaptedConnection(self, _Connection(conn))  # type: ignore[arg-type]


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = "forum_inline"
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> _Module:  # type: ignore[override]
        return _Module()

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return None


#: how long a transaction waits for another process's write lock
LOCK_WAIT = 10.0


def begin_immediate(conn: sqlite3.Connection, wait: float = LOCK_WAIT) -> None:
    """``BEGIN IMMEDIATE``: the write lock, or "database is locked" after ``wait``
    seconds. Between attempts it sleeps on the event loop (from SQLAlchemy's
    greenlet), so the process serves other requests meanwhile."""
    deadline = time.monotonic() + wait
    delay = 0.0005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise sa_exc.OperationalError("BEGIN IMMEDIATE", None, exc) from exc
        await_(asyncio.sleep(delay))
        delay = min(delay * 2, 0.02)
