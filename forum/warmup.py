"""A web worker's first pages, rendered before it takes its first request.

The first page of each kind a new worker serves cost 60-90 ms against 2-4 ms
later (this machine, 1,000 threads; Babel's locale data and the translations of
each language, Jinja's imported macros, the first database connection and its
statements), and a worker starting beside another under load answered its first
requests so slowly that they piled up past the admission limit: the few 503s of
150 reads + 15 replies a second on PostgreSQL all came in its first seconds. So
each worker renders the pages readers ask for most, in both languages, before it
accepts connections (``forum.app``'s lifespan: uvicorn opens the socket after
it), having first opened the connections its admitted requests will hold. They
are the app's own requests, marked so that nothing they do is counted: no view,
no search that found nothing, no access log line. A failure is logged and the
worker starts anyway (an unreachable database is then each request's 503).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.types import ASGIApp, Message

from forum.i18n import LOCALES

log = logging.getLogger("forum.warmup")

#: ``request.state`` flag of a warm-up request
WARM_UP = "warm_up"
#: the longest a worker waits for its warm-up before it starts serving anyway
TIMEOUT_S = 10.0


def is_warm_up(request: Request) -> bool:
    """Whether this request is a worker's warm-up (nothing it does is counted)."""
    state: dict[str, Any] = request.scope.get("state") or {}
    return bool(state.get(WARM_UP))


async def get(app: ASGIApp, path: str, locale: str) -> int:
    """The status of ``GET path`` asked of the app itself, in ``locale``."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": quote(route).encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"accept-language", locale.encode())],
        "client": ("127.0.0.1", 0),
        "server": ("localhost", 80),
        "state": {WARM_UP: True},
    }
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def paths(app: Any) -> list[str]:
    """The home page, the list's second page, the newest thread, a search for the
    first word of its title, and a similar-questions lookup of the title (only the
    home page on an empty forum). The lookup loads the stored similar-questions
    index and makes the query encoders' sessions: a new worker's first lookup took
    ~190 ms against ~11 ms after (1,000 threads)."""
    from forum.runtime import runtime_of
    from forum.services import threads

    async with runtime_of(app).read_sessionmaker() as session:
        listed = await threads.latest(session, page=1, size=1)
    found = [*listed.pinned, *listed.page.items]
    if not found:
        return ["/"]
    thread = found[0]
    word = next((w for w in thread.title.split() if len(w) > 1), thread.title.strip())
    lookup = "/api/similar?q=" + quote(thread.title[:200])
    return ["/", "/?page=2", f"/t/{thread.id}/{thread.slug}", "/search?q=" + quote(word), lookup]


async def open_connections(engine: AsyncEngine, n: int) -> int:
    """Opens up to ``n`` of the pool's connections at once and gives them back
    (the pool keeps them): the connections a worker's admitted requests will
    hold. Opened under load instead, each took ~10 ms alone and 25-40 ms when
    eight opened together (asyncpg's connection and SQLAlchemy's set-up of it),
    while the requests waiting for them piled up. Says how many it opened."""
    pool_size = getattr(engine.sync_engine.pool, "size", None)
    if callable(pool_size):
        n = min(n, pool_size())
    opened = await asyncio.gather(*(engine.connect() for _ in range(max(n, 1))), return_exceptions=True)
    connections = [c for c in opened if not isinstance(c, BaseException)]
    for connection in connections:  # those that opened go back to the pool, whatever the others did
        await connection.close()
    failed = next((c for c in opened if isinstance(c, BaseException)), None)
    if failed is not None:
        raise failed
    return len(connections)


async def warm_up(app: Any) -> list[tuple[str, str, int]]:
    """Opens the reading pool's connections (not SQLite's), then renders :func:`paths` once in
    each language (see the module): each page's path, language and status
    (none when it was skipped)."""
    from forum.runtime import runtime_of

    started = time.perf_counter()
    runtime = runtime_of(app)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            if runtime.read_engine.dialect.name != "sqlite":  # SQLite's open in microseconds
                await open_connections(runtime.read_engine, runtime.settings.max_in_flight)
            wanted = await paths(app)
            done = [(path, locale, await get(app, path, locale)) for locale in LOCALES for path in wanted]
    except Exception as exc:  # the worker serves anyway
        log.warning("warm-up skipped: %s: %s", type(exc).__name__, exc)
        return []
    log.debug("warm-up: %s pages in %.0f ms", len(done), (time.perf_counter() - started) * 1000)
    return done
