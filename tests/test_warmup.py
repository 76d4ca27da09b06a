"""A worker's warm-up (forum.warmup): the hot pages rendered in both languages
before the first request, and nothing they do counted."""

import logging

from sqlalchemy import func, select

from forum.models import FailedSearch, Thread
from forum.runtime import runtime_of
from forum.warmup import paths, warm_up
from tests.factories import make_thread


async def test_an_empty_forum_warms_its_home_page_only(app):
    assert await paths(app) == ["/"]
    assert await warm_up(app) == [("/", "en", 200), ("/", "ko", 200)]


async def test_warm_up_renders_the_hot_pages_and_counts_nothing(app, db, caplog):
    async with db.begin() as s:
        thread = await make_thread(s, title="Zyxwv refund never arrived", replies=2)
    wanted = await paths(app)
    lookup = "/api/similar?q=Zyxwv%20refund%20never%20arrived"
    assert wanted == ["/", "/?page=2", f"/t/{thread.id}/{thread.slug}", "/search?q=Zyxwv", lookup]
    with caplog.at_level(logging.INFO, logger="forum.access"):
        done = await warm_up(app)
    # The second page of a one-thread list is not found; every other page renders.
    assert [(p, lang) for p, lang, _ in done] == [(p, lang) for lang in ("en", "ko") for p in wanted]
    assert {p: status for p, _, status in done} == {
        "/": 200,
        "/?page=2": 404,
        f"/t/{thread.id}/{thread.slug}": 200,
        "/search?q=Zyxwv": 200,
        lookup: 200,
    }
    assert runtime_of(app).views.pending(thread.id) == 0  # no view counted
    assert not [r for r in caplog.records if r.name == "forum.access"]  # no access log line
    async with db() as s:
        assert (await s.scalar(select(Thread.views).where(Thread.id == thread.id))) == 0
        assert await s.scalar(select(func.count()).select_from(FailedSearch)) == 0


async def test_a_search_that_finds_nothing_in_the_warm_up_is_not_recorded(app, db, client, monkeypatch, caplog):
    async with db.begin() as s:
        await make_thread(s, title="Qqqqzz nothing")
    from forum import warmup

    async def nowhere(app):  # type: ignore[no-untyped-def]
        return ["/search?q=" + "absentword"]

    monkeypatch.setattr(warmup, "paths", nowhere)
    assert [status for *_, status in await warm_up(app)] == [200, 200]
    assert runtime_of(app).failed_searches.pending() == 0
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(FailedSearch)) == 0
    # A reader's same search is recorded, and logged.
    with caplog.at_level(logging.INFO, logger="forum.access"):
        assert (await client.get("/search?q=absentword")).status_code == 200
    assert [r for r in caplog.records if r.name == "forum.access"]
    assert await runtime_of(app).failed_searches.flush(db) == 1
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(FailedSearch)) == 1


async def test_a_failing_warm_up_lets_the_worker_start(app, monkeypatch, caplog):
    from forum import warmup

    async def broken(app):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(warmup, "paths", broken)
    with caplog.at_level(logging.WARNING, logger="forum.warmup"):
        assert await warm_up(app) == []
    assert "warm-up skipped: ConnectionRefusedError: database down" in caplog.text


async def test_warm_up_opens_the_connections_admitted_requests_will_hold(app):
    from forum.warmup import open_connections

    runtime = runtime_of(app)
    pool = runtime.read_engine.sync_engine.pool
    assert await open_connections(runtime.read_engine, 3) == 3
    assert pool.checkedin() >= 3 and pool.checkedout() == 0  # back in the pool, kept
    assert await open_connections(runtime.read_engine, 1000) == pool.size()  # never past the pool's size
