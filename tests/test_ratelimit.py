"""Rate limits at their edges: the Nth attempt passes, the N+1th gets 429
with Retry-After, including two app processes sharing a Redis store."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.config import Settings
from forum.ratelimit import MemoryWindows, RateLimiter, hit_or_429, storage_uri
from tests.factories import PASSWORD, make_thread
from tests.moderation_helpers import app_with, client_for, unique_prefix

REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_available() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason=f"no Redis at {REDIS_URL}")


def _wrong(username: str) -> dict[str, str]:
    return {"login": username, "password": "not the password"}


async def test_login_attempts_per_address_edge(settings, member):
    async with app_with(settings, rate_limit_login_ip="3 per minute", rate_limit_prefix=unique_prefix()) as app:
        async with client_for(app, "10.0.0.1") as c:
            for _ in range(3):
                assert (await c.submit("/login", _wrong("someone"))).status_code == 422
            r = await c.submit("/login", {"login": member.username, "password": PASSWORD})
            assert r.status_code == 429
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert "Too many log-in attempts" in r.text
        async with client_for(app, "10.0.0.2") as other:
            r = await other.submit("/login", {"login": member.username, "password": PASSWORD})
            assert r.status_code == 303  # another address is not affected


async def test_the_memory_store_counts_a_moving_window():
    now = [1_000.0]
    store = MemoryWindows(clock=lambda: now[0])
    limiter = MovingWindowRateLimiter(store)
    item = parse("3 per minute")
    assert [await limiter.hit(item, "search", "a") for _ in range(4)] == [True, True, True, False]
    assert await limiter.hit(item, "search", "b")  # another key has its own window
    stats = await limiter.get_window_stats(item, "search", "a")
    assert stats.remaining == 0 and stats.reset_time == 1_060.0  # when the oldest hit leaves the window
    now[0] += 30
    assert not await limiter.hit(item, "search", "a")  # refused hits are not counted...
    now[0] += 30.5
    assert await limiter.hit(item, "search", "a")  # ...so the window is free again a minute after the first hits
    assert (await limiter.get_window_stats(item, "search", "a")).remaining == 2
    await limiter.clear(item, "search", "a")
    assert (await limiter.get_window_stats(item, "search", "a")).remaining == 3


async def test_the_memory_store_forgets_idle_keys_without_a_task_or_a_thread():
    """`limits`' own memory store started a task after every hit that walked every
    key, one thread hop per key: with a public forum's visitors each holding a key,
    that was most of a core. Here idle keys go in a sweep at most once a minute."""
    now = [1_000.0]
    store = MemoryWindows(clock=lambda: now[0], sweep_every=60)
    limiter = MovingWindowRateLimiter(store)
    item = parse("30 per minute")
    tasks = len(asyncio.all_tasks())
    for visitor in range(5_000):
        assert await limiter.hit(item, "search", str(visitor))
    assert len(asyncio.all_tasks()) == tasks
    assert len(store) == 5_000
    now[0] += 61  # every window has passed, and the sweep is due
    assert await limiter.test(item, "search", "someone new")  # reading counts nothing...
    assert len(store) == 0  # ...and the sweep dropped the idle keys
    assert await limiter.hit(item, "search", "0")
    assert len(store) == 1


async def test_the_memory_store_s_fixed_window_counters():
    now = [1_000.0]
    store = MemoryWindows(clock=lambda: now[0])
    assert await store.incr("k", 10) == 1 and await store.incr("k", 10, amount=2) == 3
    assert await store.get("k") == 3 and await store.get_expiry("k") == 1_010.0
    now[0] += 10
    assert await store.get("k") == 0 and await store.incr("k", 10) == 1
    assert await store.reset() == 1 and await store.get("k") == 0 and await store.check()


async def test_sign_ups_per_address_edge(settings):
    changes = {"rate_limit_signup": "2 per hour", "rate_limit_prefix": unique_prefix()}
    async with app_with(settings, **changes) as app, client_for(app, "10.0.2.1") as c:
        for name in ("민지", "jisoo"):
            r = await c.submit("/signup", {"username": name, "password": "long enough pw"})
            assert r.status_code == 303
            c.cookies.clear()
        r = await c.submit("/signup", {"username": "third", "password": "long enough pw"})
        assert r.status_code == 429 and "retry-after" in r.headers
        assert "Too many sign-ups" in r.text


async def test_posting_is_rate_limited_per_user(settings, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    changes = {
        "rate_limit_post": "2 per minute",
        "rate_limit_prefix": unique_prefix(),
        "new_account_post_interval": 0,
    }
    async with app_with(settings, **changes) as app, client_for(app) as c:
        await c.login_as(member)
        for i in range(2):
            assert (await c.submit(f"/t/{thread.id}/reply", {"body": f"Reply number {i}"})).status_code == 303
        r = await c.submit(f"/t/{thread.id}/reply", {"body": "Reply number 3"})
        assert r.status_code == 429 and "posting too fast" in r.text
        assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_the_429_page_is_translated(settings, member):
    changes = {"rate_limit_login_ip": "1 per minute", "rate_limit_prefix": unique_prefix()}
    async with app_with(settings, **changes) as app, client_for(app) as c:
        c.headers["accept-language"] = "ko"
        await c.submit("/login", _wrong("x"))
        r = await c.submit("/login", _wrong("x"))
        assert r.status_code == 429
        assert "로그인 시도가 너무 많습니다" in r.text and "후에 다시 시도해 주세요" in r.text


async def test_api_paths_get_json(settings):
    async def ping(request: Request) -> Response:
        await hit_or_429(request, "search")
        return JSONResponse({"ok": True})

    async with app_with(settings, rate_limit_search="1 per minute", rate_limit_prefix=unique_prefix()) as app:
        app.router.routes.insert(0, Route("/api/test-ping", ping))
        async with client_for(app) as c:
            assert (await c.get("/api/test-ping")).status_code == 200
            r = await c.get("/api/test-ping")
            assert r.status_code == 429 and "retry-after" in r.headers
            assert "Too many searches" in r.json()["error"]


async def test_each_process_counts_alone_in_memory(settings):
    """Why production needs shared storage: two in-memory apps double the limit."""
    prefix = unique_prefix()
    async with (
        app_with(settings, rate_limit_login_ip="2 per minute", rate_limit_prefix=prefix) as one,
        app_with(settings, rate_limit_login_ip="2 per minute", rate_limit_prefix=prefix) as two,
    ):
        for app in (one, two, one, two):
            async with client_for(app) as c:
                assert (await c.submit("/login", _wrong("x"))).status_code == 422


@needs_redis
async def test_two_app_processes_share_the_limit_through_redis(settings, member):
    changes = {
        "rate_limit_storage": REDIS_URL,
        "rate_limit_prefix": unique_prefix(),
        "rate_limit_login_ip": "3 per minute",
    }
    async with (
        app_with(settings, **changes) as one,
        app_with(settings, **changes) as two,
        client_for(one) as a,
        client_for(two) as b,
    ):
        assert (await a.submit("/login", _wrong("x"))).status_code == 422
        assert (await b.submit("/login", _wrong("x"))).status_code == 422
        assert (await a.submit("/login", _wrong("x"))).status_code == 422
        r = await b.submit("/login", {"login": member.username, "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert (await a.submit("/login", _wrong("x"))).status_code == 429


@needs_redis
async def test_a_different_prefix_keeps_apps_apart_in_redis(settings):
    base = {"rate_limit_storage": REDIS_URL, "rate_limit_login_ip": "1 per minute"}
    async with (
        app_with(settings, **base, rate_limit_prefix=unique_prefix()) as one,
        app_with(settings, **base, rate_limit_prefix=unique_prefix()) as two,
        client_for(one) as a,
        client_for(two) as b,
    ):
        assert (await a.submit("/login", _wrong("x"))).status_code == 422
        assert (await b.submit("/login", _wrong("x"))).status_code == 422


async def test_a_storage_that_is_down_lets_people_in():
    limiter = RateLimiter("redis://127.0.0.1:1/0", {"login_ip": "1 per minute"}, prefix=unique_prefix())
    try:
        assert await limiter.hit("login_ip", "k") is None
        assert await limiter.hit("login_ip", "k") is None
    finally:
        await limiter.close()


def test_storage_settings_map_to_the_async_storages():
    assert storage_uri("memory://") == ("async+memory://", {})
    assert storage_uri("redis://127.0.0.1:6379/0") == ("async+redis://127.0.0.1:6379/0", {"implementation": "redispy"})


def test_the_storage_comes_from_the_environment():
    settings = Settings.from_env(
        {
            "FORUM_SECRET_KEY": "s" * 40,
            "FORUM_DATABASE_URL": "sqlite:///x.db",
            "FORUM_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0",
            "FORUM_RATE_LIMIT_LOGIN_IP": "5 per minute",
            "FORUM_FLAG_THRESHOLD_MEMBERS": "4",
        }
    )
    assert settings.rate_limit_storage == "redis://127.0.0.1:6379/0"
    assert settings.rate_limit_login_ip == "5 per minute"
    assert settings.flag_threshold_members == 4


async def test_similar_question_lookups_are_rate_limited(settings):
    limited = app_with(settings, rate_limit_similar="2 per minute", rate_limit_prefix=unique_prefix())
    async with limited as app, client_for(app) as c:
        for _ in range(2):
            assert (await c.get("/api/similar?q=refund")).status_code == 200
        r = await c.get("/api/similar?q=refund")
        assert r.status_code == 429 and "retry-after" in r.headers
