"""DirectRead (forum.direct): built-once reads run by the driver in reading
sessions give what SQLAlchemy gives, and SQLAlchemy's errors when they fail."""

from datetime import datetime

import pytest
from sqlalchemy import bindparam, column, select, table
from sqlalchemy import exc as sa_exc

from forum import read
from forum.direct import READING, DirectRead
from forum.runtime import runtime_of
from forum.services import tags as tag_service
from tests.factories import make_thread, make_user
from tests.support_helpers import QueryCounter


async def test_rows_are_those_sqlalchemy_reads_with_the_same_types(app, db):
    async with db.begin() as s:
        thread = await make_thread(s, title="Refund arrived twice", replies=3, solved=True)
    reading = runtime_of(app).read_sessionmaker
    async with reading() as session:
        assert session.info.get(READING)
        direct = await read.POSTS_OF_THREAD.rows(session, {"thread_id": thread.id})
        through_sqlalchemy = [
            tuple(r) for r in await session.execute(read.POSTS_OF_THREAD.statement, {"thread_id": thread.id})
        ]
    assert direct == through_sqlalchemy and len(direct) == 4
    post = (await _posts(app, thread.id))[0]
    assert isinstance(post.created_at, datetime)  # a datetime on SQLite too (its text parsed)
    assert post.is_first is True  # a bool, not SQLite's 1
    assert isinstance(direct[0], tuple)  # run by the driver, not SQLAlchemy's row


async def _posts(app, thread_id):  # type: ignore[no-untyped-def]
    async with runtime_of(app).read_sessionmaker() as session:
        return await read.posts_of(session, thread_id)


async def test_expanding_parameters_and_the_page_s_statement_watchers(app, db):
    async with db.begin() as s:
        user = await make_user(s)
        one = await make_thread(s, author=user)
        two = await make_thread(s, author=user)
        await tag_service.set_thread_tags(s, one, ["billing", "refunds"], user=None, check_category=False)
    reading = runtime_of(app).read_sessionmaker
    with QueryCounter(app) as counter:
        async with reading() as session:
            chips = await tag_service.chips_for(session, [one.id, two.id, one.id])
    assert sum("thread_tags" in q for q in counter.statements) == 1  # watchers see a direct read too
    assert {k: [c.name for c in v] for k, v in chips.items()} == {one.id: ["billing", "refunds"]}


async def test_outside_a_reading_session_it_is_sqlalchemy_s_execute(app, db):
    async with db.begin() as s:
        thread = await make_thread(s)
    async with db() as session:  # the writing sessionmaker
        assert not session.info.get(READING)
        row = await read.THREAD_BY_ID.first(session, {"thread_id": thread.id})
    assert row is not None and row.id == thread.id  # a SQLAlchemy row (attributes), not a tuple


async def test_a_failing_statement_raises_sqlalchemy_s_error(app):
    missing = DirectRead(select(column("x")).select_from(table("no_such_table")).where(column("x") == bindparam("x")))
    reading = runtime_of(app).read_sessionmaker
    async with reading() as session:
        with pytest.raises(sa_exc.DBAPIError):
            await missing.rows(session, {"x": 1})


async def test_sqlite_reading_sessions_share_one_connection_that_a_failure_renews(app, db):
    from forum import direct

    if runtime_of(app).read_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL reads on each session's own connection")
    async with db.begin() as s:
        thread = await make_thread(s)
    reading = runtime_of(app).read_sessionmaker
    engine = runtime_of(app).read_engine
    async with reading() as one, reading() as two:
        assert (await read.thread_by_id(one, thread.id)).id == thread.id
        assert (await read.thread_by_id(two, thread.id)).id == thread.id
        shared = direct._SHARED[engine.sync_engine][1]
        assert not one.in_transaction() and not two.in_transaction()  # no pooled connection of their own
    # a write committed since is read at once (the shared connection holds no transaction)
    async with db.begin() as s:
        await s.execute(read.THREADS.update().where(read.THREADS.c.id == thread.id).values(title="Renamed"))
    async with reading() as session:
        assert (await read.thread_by_id(session, thread.id)).title == "Renamed"
        missing = DirectRead(select(column("x")).select_from(table("no_such_table")))
        with pytest.raises(sa_exc.DBAPIError):
            await missing.rows(session)
        assert engine.sync_engine not in direct._SHARED  # dropped after the failure
        assert (await read.thread_by_id(session, thread.id)).title == "Renamed"
    assert direct._SHARED[engine.sync_engine][1] is not shared
