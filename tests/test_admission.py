"""Admission control (forum.admission): a full worker answers 503 at once
instead of queueing, and so does a forum whose database cannot be reached,
until it can again; /healthz tells the truth either way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from forum.app import close_app, create_app
from forum.config import ConfigError, Settings
from forum.middleware import LOCALE_COOKIE
from forum.services.tokens import TOKEN_PREFIX
from forum.web import reading, writing
from tests.conftest import PG_URL, _pg_exec

BUSY_EN = "Too many people are using the forum right now. Please try again in a few seconds."
BUSY_KO = "지금 포럼에 접속한 사람이 너무 많습니다. 몇 초 뒤에 다시 시도해 주세요."
DOWN_EN = "The forum can't reach its database right now. Please try again in a few seconds."
DOWN_KO = "지금 포럼이 데이터베이스에 연결할 수 없습니다. 몇 초 뒤에 다시 시도해 주세요."


@pytest.fixture(autouse=True)
async def aiosqlite_threads_finish() -> AsyncIterator[None]:
    """When a connection fails to open, aiosqlite stops its thread without
    waiting for it, and the thread then answers on the event loop: wait for
    those threads while this test's loop is still open."""
    yield
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            thread.join(timeout=1)


class Gate:
    """A test route whose requests wait until released."""

    def __init__(self) -> None:
        self.inside = 0
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def endpoint(self, request: Request) -> Response:
        self.inside += 1
        self.arrived.set()
        await self.release.wait()
        return PlainTextResponse("done")

    async def entered(self, count: int = 1) -> None:
        async with asyncio.timeout(5):
            while self.inside < count:
                self.arrived.clear()
                await self.arrived.wait()


def client_for(app: Starlette) -> httpx.AsyncClient:
    # A 500 comes back as a response, as it would from a server, rather than raised.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def at_once(request: Awaitable[httpx.Response]) -> httpx.Response:
    """A refusal must not wait for anything: fail rather than hang if it does."""
    async with asyncio.timeout(5):
        return await request


def add_route(app: Starlette, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
    app.router.routes.insert(0, Route(path, endpoint))


@contextlib.asynccontextmanager
async def holding_app(
    settings: Settings, gate: Gate, **changes: Any
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An app with these settings changed and /test/hold waiting for the gate, and its client."""
    app = create_app(settings.with_(**changes))
    add_route(app, "/test/hold", gate.endpoint)
    try:
        async with client_for(app) as client:
            yield app, client
    finally:
        await close_app(app)


async def boom(request: Request) -> Response:
    raise RuntimeError("a bug")


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
async def full_app(settings: Settings, gate: Gate) -> AsyncIterator[Starlette]:
    """One request at a time, no waiting for a slot; /test/hold and /api/test/hold wait
    for the gate."""
    app = create_app(settings.with_(max_in_flight=1, admission_wait_ms=0))
    add_route(app, "/test/hold", gate.endpoint)
    add_route(app, "/api/test/hold", gate.endpoint)
    add_route(app, "/test/boom", boom)
    yield app
    await close_app(app)


@pytest.fixture
async def client(full_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(full_app) as c:
        yield c


@pytest.fixture
async def held(client: httpx.AsyncClient, gate: Gate) -> AsyncIterator[asyncio.Task[httpx.Response]]:
    """The only slot taken by a request that waits for the gate."""
    task = asyncio.create_task(client.get("/test/hold"))
    await gate.entered()
    yield task
    gate.release.set()
    await task


# A full worker.


async def test_a_request_beyond_the_limit_is_refused_at_once_with_503_and_retry_after(client, held):
    response = await at_once(client.get("/"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="en" data-theme="system">' in response.text
    assert "<h1>The forum is busy</h1>" in response.text
    assert escape(BUSY_EN) in response.text
    assert 'href="/static/style.css"' in response.text
    assert not held.done()


async def test_the_busy_page_speaks_the_language_of_the_cookie_then_of_accept_language(client, held):
    by_cookie = await at_once(client.get("/", headers={"cookie": f"{LOCALE_COOKIE}=ko"}))
    by_header = await at_once(client.get("/", headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.5"}))
    cookie_wins = await at_once(client.get("/", headers={"accept-language": "ko", "cookie": f"{LOCALE_COOKIE}=en"}))
    for response in (by_cookie, by_header):
        assert response.status_code == 503
        assert '<html lang="ko" data-theme="system">' in response.text
        assert "<h1>지금은 포럼 이용자가 많습니다</h1>" in response.text
        assert escape(BUSY_KO) in response.text
    assert cookie_wins.status_code == 503 and escape(BUSY_EN) in cookie_wins.text


async def test_api_requests_beyond_the_limit_get_a_json_503(client, held):
    english = await at_once(client.get("/api/metrics"))
    korean = await at_once(client.get("/api/metrics", headers={"accept-language": "ko"}))
    assert english.status_code == korean.status_code == 503
    assert english.headers["retry-after"] == "5"
    assert english.headers["content-type"] == "application/json"
    assert english.json() == {"error": BUSY_EN, "status": 503}
    assert korean.json() == {"error": BUSY_KO, "status": 503}


async def test_requests_are_admitted_again_once_the_request_in_flight_has_finished(client, gate, full_app):
    task = asyncio.create_task(client.get("/test/hold"))
    await gate.entered()
    assert (await at_once(client.get("/"))).status_code == 503
    gate.release.set()
    assert (await task).text == "done"
    assert full_app.state.runtime.admission.in_flight == 0
    assert (await client.get("/")).status_code == 200


async def test_healthz_and_static_files_are_served_while_the_worker_is_full(client, held, full_app):
    health = await at_once(client.get("/healthz"))
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok"}
    assert health.headers["cache-control"] == "no-store"
    assert (await at_once(client.get("/static/style.css"))).status_code == 200
    assert full_app.state.runtime.admission.in_flight == 1  # neither was counted


async def test_a_request_beyond_the_limit_waits_briefly_for_a_slot_first_come_first_served(settings, gate):
    async with holding_app(settings, gate, max_in_flight=1, admission_wait_ms=10_000) as (app, client):
        admission = app.state.runtime.admission
        held = asyncio.create_task(client.get("/test/hold"))
        await gate.entered()
        waiting = asyncio.create_task(client.get("/"))
        while not admission.waiting:  # noqa: ASYNC110 (the queue has no event to wait on)
            await asyncio.sleep(0.01)
        # As many may wait as may run (one here): the next is refused at once.
        assert (await at_once(client.get("/"))).status_code == 503
        assert not waiting.done() and admission.in_flight == 1
        gate.release.set()
        assert (await held).text == "done"
        assert (await waiting).status_code == 200  # the finished request's slot went to it
        assert admission.in_flight == 0 and not admission.waiting


async def test_a_request_that_waited_its_time_for_a_slot_gets_the_503(settings, gate):
    async with holding_app(settings, gate, max_in_flight=1, admission_wait_ms=30) as (app, client):
        held = asyncio.create_task(client.get("/test/hold"))
        await gate.entered()
        refused = await at_once(client.get("/", headers={"accept": "application/json"}))
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert not app.state.runtime.admission.waiting
        gate.release.set()
        await held
        assert app.state.runtime.admission.in_flight == 0
        assert (await client.get("/")).status_code == 200


async def test_the_retry_after_header_follows_the_setting(settings, gate):
    async with holding_app(settings, gate, max_in_flight=1, retry_after=30) as (_app, client):
        task = asyncio.create_task(client.get("/test/hold"))
        await gate.entered()
        assert (await at_once(client.get("/"))).headers["retry-after"] == "30"
        gate.release.set()
        await task


async def test_a_limit_of_zero_admits_every_request(settings, gate):
    async with holding_app(settings, gate, max_in_flight=0) as (_app, client):
        tasks = [asyncio.create_task(client.get("/test/hold")) for _ in range(20)]
        await gate.entered(20)
        assert (await client.get("/")).status_code == 200
        gate.release.set()
        assert [(await t).status_code for t in tasks] == [200] * 20


# Counting.


async def test_a_request_whose_handler_raises_is_no_longer_counted(client, full_app):
    response = await client.get("/test/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert full_app.state.runtime.admission.in_flight == 0
    assert (await client.get("/")).status_code == 200


async def test_a_request_whose_client_goes_away_is_no_longer_counted(client, gate, full_app):
    task = asyncio.create_task(client.get("/test/hold"))
    await gate.entered()
    assert full_app.state.runtime.admission.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert full_app.state.runtime.admission.in_flight == 0
    assert (await client.get("/")).status_code == 200


async def test_a_streamed_response_is_in_flight_until_its_last_chunk_is_sent(client, full_app):
    first_sent = asyncio.Event()
    release = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first "
        first_sent.set()
        await release.wait()
        yield b"last"

    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks(), media_type="text/plain")

    add_route(full_app, "/test/stream", stream)
    task = asyncio.create_task(client.get("/test/stream"))
    async with asyncio.timeout(5):
        await first_sent.wait()
    assert full_app.state.runtime.admission.in_flight == 1
    assert (await at_once(client.get("/"))).status_code == 503
    release.set()
    assert (await task).text == "first last"
    assert full_app.state.runtime.admission.in_flight == 0


# The database.


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Unreachable:
    """A database URL the app cannot reach; ``prepare`` runs after the app is
    created (which makes a SQLite database's folder) and before its first request."""

    def __init__(self, url: str, prepare: Callable[[], None] = lambda: None) -> None:
        self.url = url
        self.prepare = prepare


@pytest.fixture(params=["sqlite-missing-folder", "sqlite-unopenable-file", "postgresql-closed-port"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Unreachable:
    if request.param == "sqlite-missing-folder":
        return Unreachable(f"sqlite:///{tmp_path / 'gone' / 'forum.db'}", (tmp_path / "gone").rmdir)
    if request.param == "sqlite-unopenable-file":
        (tmp_path / "forum.db").mkdir()  # a folder where the database file should be
        return Unreachable(f"sqlite:///{tmp_path / 'forum.db'}")
    if not PG_URL:
        pytest.skip("PostgreSQL: set FORUM_TEST_DATABASE_URL")
    return Unreachable(make_url(PG_URL).set(host="127.0.0.1", port=1).render_as_string(hide_password=False))


@pytest.fixture
async def down_app(unreachable: Unreachable, tmp_path: Path) -> AsyncIterator[Starlette]:
    settings = Settings(database_url=unreachable.url, secret_key="test-secret-" + "x" * 32, data_dir=tmp_path)
    app = create_app(settings)
    unreachable.prepare()
    yield app
    await close_app(app)


async def test_pages_answer_a_styled_503_when_the_database_cannot_be_reached(down_app):
    async with client_for(down_app) as client:
        english = await client.get("/")
        korean = await client.get("/", headers={"cookie": f"{LOCALE_COOKIE}=ko"})
    assert english.status_code == korean.status_code == 503
    assert english.headers["retry-after"] == "5"
    assert english.headers["cache-control"] == "no-store"
    assert "<h1>The forum is unavailable</h1>" in english.text and escape(DOWN_EN) in english.text
    assert "<h1>지금은 포럼을 이용할 수 없습니다</h1>" in korean.text and escape(DOWN_KO) in korean.text


async def test_a_signed_in_visitor_gets_the_503_too(down_app):
    # The session lookup is the first query, in the request-context middleware.
    from forum.middleware import SESSION_COOKIE, session_signer

    cookie = session_signer(down_app.state.runtime.settings).sign("some-session-token").decode()
    async with client_for(down_app) as client:
        response = await client.get("/", headers={"cookie": f"{SESSION_COOKIE}={cookie}"})
    assert response.status_code == 503 and escape(DOWN_EN) in response.text


async def test_the_api_answers_a_json_503_when_the_database_cannot_be_reached(down_app):
    async with client_for(down_app) as client:
        response = await client.get("/api/metrics", headers={"authorization": f"Bearer {TOKEN_PREFIX}abc"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"error": DOWN_EN, "status": 503}


async def test_healthz_answers_503_when_the_database_cannot_be_reached(down_app):
    async with client_for(down_app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"


class Outage:
    """Takes the test's database away and brings it back: SQLite's folder is
    renamed, PostgreSQL's database is renamed (before the app connects)."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.sqlite = make_url(database_url).get_backend_name() == "sqlite"
        self.hidden = False
        if self.sqlite:
            self.folder = tmp_path / "live"
            self.folder.mkdir()
            Path(make_url(database_url).database or "").rename(self.folder / "forum.db")
            self.url = f"sqlite:///{self.folder / 'forum.db'}"
        else:
            self.url = database_url
            self.name = make_url(database_url).database

    def begin(self) -> None:
        if self.sqlite:
            self.folder.rename(self.folder.with_name("away"))
        else:
            _pg_exec(self.url, f'ALTER DATABASE "{self.name}" RENAME TO "{self.name}_away"')
        self.hidden = True

    def end(self) -> None:
        if self.sqlite:
            self.folder.with_name("away").rename(self.folder)
        else:
            _pg_exec(self.url, f'ALTER DATABASE "{self.name}_away" RENAME TO "{self.name}"')
        self.hidden = False


@pytest.fixture
def outage(database_url: str, tmp_path: Path) -> Iterator[Outage]:
    outage = Outage(database_url, tmp_path)
    yield outage
    if outage.hidden:
        outage.end()  # so that the database fixture finds its database to drop


class Connects:
    """Counts the app's attempts to open a database connection."""

    def __init__(self, app: Starlette) -> None:
        self.count = 0
        runtime = app.state.runtime
        engines = {runtime.engine.sync_engine}
        if runtime.read_engine.sync_engine.pool is not runtime.engine.sync_engine.pool:
            # On PostgreSQL the read engine shares the write engine's pool and listeners.
            engines.add(runtime.read_engine.sync_engine)
        for engine in engines:
            event.listen(engine, "do_connect", self.attempt)

    def attempt(self, *args: Any) -> None:
        self.count += 1


@pytest.fixture
async def outage_app(settings: Settings, outage: Outage) -> AsyncIterator[Starlette]:
    app = create_app(settings.with_(database_url=outage.url))
    outage.begin()
    yield app
    await close_app(app)


async def test_while_the_database_is_down_requests_are_refused_without_trying_it_until_the_retry_interval(
    outage_app, outage
):
    clock = FakeClock()
    outage_app.state.runtime.admission.clock = clock
    connects = Connects(outage_app)
    async with client_for(outage_app) as client:
        assert (await client.get("/")).status_code == 503
        tried = connects.count
        assert tried >= 1
        for path in ("/", "/kb", "/t/1/x", "/api/metrics"):
            assert (await client.get(path)).status_code == 503
        assert connects.count == tried  # refused without a connection attempt

        clock.now += 5  # the retry interval: one request checks the database
        assert (await client.get("/")).status_code == 503
        assert connects.count == tried + 1
        assert (await client.get("/")).status_code == 503
        assert connects.count == tried + 1

        outage.end()
        assert (await client.get("/")).status_code == 503  # not checked again yet
        clock.now += 5
        page = await client.get("/")
        assert page.status_code == 200 and "Cloudnote Community" in page.text
        assert (await client.get("/healthz")).json() == {"status": "ok", "database": "ok"}
    assert outage_app.state.runtime.admission.down_since is None


async def test_healthz_notices_the_database_is_back_before_any_page_does(outage_app, outage):
    clock = FakeClock()
    outage_app.state.runtime.admission.clock = clock
    async with client_for(outage_app) as client:
        assert (await client.get("/")).status_code == 503
        outage.end()
        assert (await client.get("/healthz")).status_code == 200  # it always checks
        assert (await client.get("/")).status_code == 200  # no need to wait for the interval


async def test_an_outage_is_logged_once_and_so_is_the_recovery(settings, outage, caplog):
    app = create_app(settings.with_(database_url=outage.url, db_retry_interval=0))  # every request tries
    outage.begin()
    caplog.set_level(logging.WARNING, logger="forum.admission")
    try:
        async with client_for(app) as client:
            for _ in range(5):
                assert (await client.get("/")).status_code == 503
            assert (await client.get("/healthz")).status_code == 503
            outage.end()
            for _ in range(3):
                assert (await client.get("/")).status_code == 200
    finally:
        await close_app(app)
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "forum.admission"]
    assert [level for level, _message in records] == ["ERROR", "WARNING"]
    assert "cannot be reached" in records[0][1] and "answers again" in records[1][1]


async def test_a_programming_error_is_still_a_500_and_no_outage(app):
    async def bad_sql(request: Request) -> Response:
        async with reading(request) as session:
            await session.execute(text("SELECT no_such_column FROM no_such_table"))
        return PlainTextResponse("unreachable")

    add_route(app, "/test/bad-sql", bad_sql)
    async with client_for(app) as client:
        response = await client.get("/test/bad-sql")
        assert response.status_code == 500
        assert "Something went wrong" in response.text
        assert "retry-after" not in response.headers
        assert app.state.runtime.admission.down_since is None
        assert (await client.get("/")).status_code == 200


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")
async def test_a_locked_sqlite_database_answers_busy_503_without_an_outage(app, database_url):
    async def write(request: Request) -> Response:
        async with writing(request) as session:
            await session.execute(text("PRAGMA busy_timeout=0"))  # fail now rather than after ten seconds
            await session.execute(text("DELETE FROM users WHERE id = -1"))
        return PlainTextResponse("written")

    add_route(app, "/test/write", write)
    lock = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        async with client_for(app) as client:
            lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            response = await client.get("/test/write")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert escape(BUSY_EN) in response.text
            assert app.state.runtime.admission.down_since is None  # pages that only read carry on
            assert (await client.get("/")).status_code == 200
            lock.execute("ROLLBACK")
            assert (await client.get("/test/write")).text == "written"
    finally:
        lock.close()


# Settings.


def test_admission_settings_are_read_from_the_environment_and_checked(tmp_path):
    env = {"FORUM_SECRET_KEY": "k" * 40, "FORUM_DATA_DIR": str(tmp_path)}
    defaults = Settings.from_env(env)
    assert (defaults.max_in_flight, defaults.retry_after, defaults.db_retry_interval) == (8, 5, 5)
    tuned = Settings.from_env(
        {**env, "FORUM_MAX_IN_FLIGHT": "0", "FORUM_RETRY_AFTER": "10", "FORUM_DB_RETRY_INTERVAL": "2"}
    )
    assert (tuned.max_in_flight, tuned.retry_after, tuned.db_retry_interval) == (0, 10, 2)
    for name in ("FORUM_MAX_IN_FLIGHT", "FORUM_RETRY_AFTER", "FORUM_DB_RETRY_INTERVAL"):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**env, name: "-1"})
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**env, name: "many"})
