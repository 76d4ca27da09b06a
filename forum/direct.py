"""The hottest reads, run on the driver's own connection.

SQLAlchemy's asyncio session costs ~50 µs a statement before the database does
anything (a greenlet for the call, the ORM session's execute, the result's
machinery), where SQLite answers a thread page's statements in a few µs each:
on this machine, ``session.execute`` of ``SELECT 1`` took 56 µs against
0.8 µs for sqlite3 itself, and a thread's posts 78 µs against 40 µs read this
way. A :class:`DirectRead` is a Core SELECT compiled once per dialect. In a
reading session (``forum.web.reading``; see :data:`READING`) it is run by the
driver: on SQLite by sqlite3, on the process's one shared reading connection (on
the event loop's thread, as ``forum.sqlite_inline`` runs every statement anyway;
see :func:`_shared_sqlite`), on PostgreSQL by asyncpg on the session's own
connection (in autocommit, as the reading engine is; asyncpg keeps the prepared
statement). Its rows are
tuples holding what SQLAlchemy's result processors would give (datetimes from
SQLite's text, booleans). Anywhere else, and whenever the driver raises, it is
an ordinary ``session.execute``, so that errors reach the app as SQLAlchemy's
(a database that went away is then a 503: ``forum.admission``).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, TextualSelect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

__all__ = ["READING", "DirectRead"]

#: set in ``session.info`` by the reading sessionmaker (``forum.app``): nothing
#: writes through such a session, so a statement may go around SQLAlchemy
READING = "forum.reading"
# session.info: (the session's transaction, the driver's connection, its kind)
_DRIVER = "forum.direct.driver"


@dataclass(frozen=True, slots=True)
class _Compiled:
    compiled: Any  # SQLAlchemy's Compiled
    # (column index, result processor) of the columns that have one
    results: tuple[tuple[int, Callable[[Any], Any]], ...]


class DirectRead:
    """A SELECT run directly by the driver in a reading session (see the module)."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Select[*tuple[Any, ...]] | TextualSelect) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            results = []
            for i, column in enumerate(self.statement.selected_columns):
                try:
                    process = column.type._cached_result_processor(dialect, None)
                except (sa_exc.InvalidRequestError, TypeError):
                    # asyncpg's numbers choose by the type the server sends:
                    # a float column comes as a float, which needs nothing.
                    process = None
                if process is not None:
                    results.append((i, process))
            found = self._compiled[dialect.name] = _Compiled(self.statement.compile(dialect=dialect), tuple(results))
        return found

    async def rows(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
        """The statement's rows (tuples, or SQLAlchemy's rows where it ran it)."""
        params = params or {}
        driver = await _driver(session)
        if driver is None:
            return list((await session.execute(self.statement, params)).all())
        dialect, connection, kind, sync = driver
        compiled = self._for(dialect)
        state = compiled.compiled.construct_expanded_state(params)
        processors = state.processors
        values = state.parameters
        args = [
            processors[name](values[name]) if name in processors else values[name] for name in state.positiontup or ()
        ]
        if sync is not None and (sync._has_events or sync.engine._has_events):
            # Those watching statements (tests counting a page's queries) see this one too.
            sync.dispatch.before_cursor_execute(sync, None, state.statement, args, None, False)
        try:
            if kind == "sqlite":
                raw = connection.execute(state.statement, args).fetchall()
            else:
                raw = await connection.fetch(state.statement, *args)
        except Exception:
            if sync is None:  # the shared connection: a new one next time
                _forget_shared(session.bind)
            # Again through SQLAlchemy, which raises its own error for it (or
            # answers, if the trouble has passed).
            return list((await session.execute(self.statement, params)).all())
        if not compiled.results:
            return [tuple(r) for r in raw]
        out: list[Sequence[Any]] = []
        for r in raw:
            row = list(r)
            for i, process in compiled.results:
                if row[i] is not None:
                    row[i] = process(row[i])
            out.append(tuple(row))
        return out

    async def first(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None:
        rows = await self.rows(session, params)
        return rows[0] if rows else None


async def _driver(session: AsyncSession) -> tuple[Dialect, Any, str, Connection | None] | None:
    """The reading session's driver connection (sqlite3's or asyncpg's), kept
    for as long as the session holds the same transaction; None outside a
    reading session or with another driver. On SQLite, the process's shared
    reading connection (:func:`_shared_sqlite`) while nothing watches statements."""
    if not session.info.get(READING):
        return None
    bind = session.bind
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "sqlite" and not bind.sync_engine._has_events:
        shared = await _shared_sqlite(bind)
        if shared is not None:
            return shared
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_DRIVER)
    if kept is not None and transaction is not None and kept[0] is transaction and transaction.is_active:
        return kept[1]
    connection = await session.connection()
    dialect = connection.dialect
    sync = connection.sync_connection
    # The pooled connection's adapted driver connection, read off the checked-out
    # connection (AsyncConnection.get_raw_connection would spawn a greenlet for it).
    adapted = sync.connection.dbapi_connection if sync is not None else None
    inner: Any = getattr(adapted, "_connection", None)
    driver: tuple[Dialect, Any, str, Connection | None] | None = None
    if sync is None:
        pass
    elif dialect.name == "sqlite" and hasattr(inner, "sqlite_connection"):
        driver = (dialect, inner.sqlite_connection, "sqlite", sync)
    elif dialect.driver == "asyncpg" and inner is not None:
        driver = (dialect, inner, "asyncpg", sync)
    session.info[_DRIVER] = (session.sync_session.get_transaction(), driver)
    return driver


# The shared reading connection of each SQLite reading engine, per process: its
# pooled connection (kept checked out) and the driver tuple of _driver.
_SHARED: weakref.WeakKeyDictionary[Engine, tuple[int, Any, tuple[Dialect, Any, str, None]]] = (
    weakref.WeakKeyDictionary()
)


async def _shared_sqlite(engine: AsyncEngine) -> tuple[Dialect, Any, str, None] | None:
    """One sqlite3 connection of the reading engine's pool, kept checked out by
    this process for every reading session's DirectReads. Checking a connection
    out of the pool for a session and back in (SQLAlchemy's session transaction,
    the pool's bookkeeping) cost more than a thread page's four statements. It can
    be shared: a DirectRead on SQLite runs from its execute to its last row
    without giving way to another task (nothing in it awaits), the connection is
    read-only (``query_only``) and never holds a transaction (sqlite3 opens none
    to read), so each statement reads the latest commit, as on a session's own
    connection. Released with the engine (:func:`release`)."""
    sync_engine = engine.sync_engine
    found = _SHARED.get(sync_engine)
    if found is not None and found[0] == os.getpid():
        return found[2]
    pooled = await engine.raw_connection()
    found = _SHARED.get(sync_engine)
    if found is not None and found[0] == os.getpid():  # another task's, made meanwhile
        pooled.close()
        return found[2]
    inner: Any = getattr(pooled.dbapi_connection, "_connection", None)
    if not hasattr(inner, "sqlite_connection"):
        pooled.close()
        return None
    driver = (sync_engine.dialect, inner.sqlite_connection, "sqlite", None)
    _SHARED[sync_engine] = (os.getpid(), pooled, driver)
    return driver


def _take_shared(engine: Any) -> Any:
    """This process's shared connection of ``engine``, no longer shared (None if it has none)."""
    found = _SHARED.pop(engine.sync_engine, None) if isinstance(engine, AsyncEngine) else None
    return found[1] if found is not None and found[0] == os.getpid() else None


def _forget_shared(engine: Any) -> None:
    if (pooled := _take_shared(engine)) is not None:
        pooled.invalidate()


def release(engine: AsyncEngine) -> None:
    """Gives the shared reading connection back to ``engine``'s pool (before it is disposed)."""
    if (pooled := _take_shared(engine)) is not None:
        pooled.close()
