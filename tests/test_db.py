"""PostgreSQL's pooled connections: one the server dropped while it sat idle is
replaced unseen; one dropped while in steady use fails its request as the
database being down (a 503 upstream), and the next request gets a new one."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from forum import db
from forum.admission import database_trouble


def _drop_connections(url: str) -> None:
    """What a server restart does to the forum's connections."""
    name = make_url(url).database
    admin = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


async def _backend_pid(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.fixture
async def engine(database_url: str):  # type: ignore[no-untyped-def]
    if not db.is_sqlite(database_url):
        engine = db.make_async_engine(database_url, pool_size=1, max_overflow=0)
        yield engine
        await engine.dispose()
    else:
        pytest.skip("PostgreSQL's connection pool")


async def test_a_connection_dropped_while_idle_is_replaced_unseen(engine, database_url, monkeypatch):
    first = await _backend_pid(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as after a long idle
    _drop_connections(database_url)
    second = await _backend_pid(engine)
    assert second != first


async def test_a_connection_dropped_in_use_fails_as_the_database_down_then_is_replaced(engine, database_url):
    first = await _backend_pid(engine)
    _drop_connections(database_url)  # at once: not idle long enough to be checked
    with pytest.raises(Exception) as failed:
        await _backend_pid(engine)
    assert database_trouble(failed.value) == "down"
    assert await _backend_pid(engine) != first
