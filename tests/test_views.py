"""Thread views are counted without a write per view and reach the database in batches."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from sqlalchemy import select

from forum.db import make_sync_engine
from forum.models import FailedSearch, Thread
from forum.search import FailedSearches
from forum.views import ViewCounter, flush_forever, flush_redis
from tests.factories import make_thread
from tests.moderation_helpers import app_with, client_for
from tests.support_helpers import QueryCounter

REDIS_URL = "redis://127.0.0.1:6379/15"


async def _views(db, thread_id: int) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return (await s.get(Thread, thread_id)).views


async def test_a_page_view_writes_nothing_and_the_views_reach_the_database_in_one_batch(client, db, app):
    async with db.begin() as s:
        one, two = await make_thread(s), await make_thread(s)
    with QueryCounter(app) as counter:
        for thread in (one, two, one):
            assert (await client.get(f"/t/{thread.id}/{thread.slug}")).status_code == 200
    assert not [q for q in counter.statements if q.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert await _views(db, one.id) == 0
    with QueryCounter(app) as counter:
        assert await app.state.runtime.views.flush(db) == 3
    assert len(counter) == 1  # one statement for every thread viewed
    assert (await _views(db, one.id), await _views(db, two.id)) == (2, 1)
    assert await app.state.runtime.views.flush(db) == 0


async def test_a_stopping_process_writes_the_views_and_failed_searches_it_kept(db):
    async with db.begin() as s:
        thread = await make_thread(s)
    counter, failed = ViewCounter(), FailedSearches()
    flusher = asyncio.create_task(flush_forever([counter, failed], db, every=3600))
    await counter.hit(thread.id)
    failed.add("고양이 사료", locale="ko")
    await asyncio.sleep(0)
    flusher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flusher
    assert await _views(db, thread.id) == 1
    async with db() as session:
        assert (await session.scalars(select(FailedSearch.query))).all() == ["고양이 사료"]


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        pytest.skip("no Redis at 127.0.0.1:6379")
    return client


async def test_views_counted_in_redis_by_several_processes_are_written_once(db, settings):
    client = _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    async with db.begin() as s:
        thread = await make_thread(s)
    try:
        shared = {"views_storage": REDIS_URL, "rate_limit_prefix": prefix}
        async with app_with(settings, **shared) as first, app_with(settings, **shared) as second:
            for app in (first, second, first):
                async with client_for(app) as web:
                    assert (await web.get(f"/t/{thread.id}/{thread.slug}")).status_code == 200
        assert int(client.hget(f"{prefix}:views", str(thread.id))) == 3
        assert await _views(db, thread.id) == 0
        engine = make_sync_engine(settings.database_url)
        try:
            assert await asyncio.to_thread(flush_redis, engine, REDIS_URL, prefix) == 3
            assert await asyncio.to_thread(flush_redis, engine, REDIS_URL, prefix) == 0
        finally:
            engine.dispose()
        assert await _views(db, thread.id) == 3
        assert not client.exists(f"{prefix}:views") and not client.exists(f"{prefix}:views:flushing")
    finally:
        client.delete(f"{prefix}:views", f"{prefix}:views:flushing")
        client.close()
