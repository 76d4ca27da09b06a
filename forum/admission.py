"""Admission control: shed load instead of stalling, and answer 503 while the
database cannot be reached.

Each worker process serves at most ``settings.max_in_flight`` requests at once.
The next ones may wait for a slot, first come first served, but briefly: at most
``settings.admission_wait_ms`` (50 ms), and no more of them than the limit. Past
that they are answered with a 503 and Retry-After (a client retrying later is
better served than one waiting in a long queue behind a slow database), so a
refusal still comes within a few tens of milliseconds, while a burst of arrivals,
or a worker pausing for a moment (a collection, the database's write lock), is
carried rather than refused. A slot that frees goes to the oldest waiter. The
middleware sits outside all others, so a refusal costs no session lookup and no
query: its page is rendered once per language and kept.

A request that fails because the database is unreachable gets the same kind of
503. Then, for ``settings.db_retry_interval`` seconds, requests are refused
without trying the database (rather than each waiting for a connection to fail);
after that one request checks it with ``SELECT 1``, and the forum carries on as
soon as it answers. /healthz and /static/ are always let through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.config import Settings
from forum.errors import wants_json
from forum.i18n import gettext as _
from forum.i18n import lazy, using_locale
from forum.middleware import SECURITY_HEADERS, read_cookies, request_locale

log = logging.getLogger("forum.admission")

Reason = Literal["busy", "down"]

MESSAGES: dict[Reason, tuple[str, str]] = {
    "busy": (
        lazy("The forum is busy"),
        lazy("Too many people are using the forum right now. Please try again in a few seconds."),
    ),
    "down": (
        lazy("The forum is unavailable"),
        lazy("The forum can't reach its database right now. Please try again in a few seconds."),
    ),
}

# PostgreSQL error codes of a server that is going away or not ready yet.
_SERVER_GONE = ("57P01", "57P02", "57P03")


def database_trouble(exc: BaseException) -> Reason | None:
    """ "down" when the database cannot be reached, "busy" when it is reachable
    but cannot serve this request now (SQLite's lock, no free pooled connection),
    None for any other error (a bug: a 500)."""
    if isinstance(exc, sa_exc.TimeoutError):  # waited too long for a pooled connection
        return "busy"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    sqlite_error = getattr(exc.orig, "sqlite_errorname", "") or ""
    sqlstate = getattr(exc.orig, "sqlstate", "") or ""
    # SQLite reports a lock held too long as an OperationalError, as it does a
    # missing table: only the error code tells them apart.
    if sqlite_error.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or sqlstate == "53300":  # too many connections
        return "busy"
    if exc.connection_invalidated or sqlite_error.startswith("SQLITE_CANTOPEN"):
        return "down"
    if sqlstate.startswith("08") or sqlstate in _SERVER_GONE:
        return "down"
    # Failing to connect: SQLAlchemy wraps the driver's error with no statement
    # (asyncpg's refusals, such as a database that does not exist, come as its
    # generic Error, a plain DBAPIError here, not an OperationalError).
    generic = type(exc) is sa_exc.DBAPIError
    if exc.statement is None and (generic or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)):
        return "down"
    return None


@dataclass(frozen=True, slots=True)
class Refusal:
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Admission:
    """One per app, so one per worker process: the requests in flight, whether
    the database is known to be down, and the 503 answers."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        templates: Jinja2Templates,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = settings.max_in_flight
        self.wait = settings.admission_wait_ms / 1000
        self.retry_after = settings.retry_after
        self.retry_interval = settings.db_retry_interval
        self.default_locale = settings.default_locale
        self.engine = engine
        self.templates = templates
        self.clock = clock
        self.in_flight = 0
        # Requests waiting for a slot, oldest first: each future is set to True when a
        # finishing request hands it its slot, to False when its wait is over.
        self._waiting: deque[asyncio.Future[bool]] = deque()
        self.down_since: float | None = None
        self.next_check = 0.0
        self._refusals: dict[tuple[Reason, str, bool], Refusal] = {}

    # The slots.

    async def acquire(self) -> bool:
        """Takes a slot, waiting for one a little if the worker is full (see the module);
        False when none came: the request is refused."""
        if not self.limit or (self.in_flight < self.limit and not self.waiting):  # first come, first served
            self.in_flight += 1
            return True
        if self.wait <= 0 or len(self._waiting) >= self.limit:
            return False
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[bool] = loop.create_future()
        self._waiting.append(granted)
        timer = loop.call_later(self.wait, _give_up, granted)
        try:
            return await granted  # True: a finishing request handed over its slot
        except BaseException:
            if granted.done() and not granted.cancelled() and granted.result():
                self.release()  # handed over just as this request went away
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._waiting.remove(granted)

    @property
    def waiting(self) -> int:
        """How many requests wait for a slot now."""
        return sum(1 for waiter in self._waiting if not waiter.done())

    def release(self) -> None:
        """Gives the slot back: to the oldest request still waiting, else to the pool."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot changes hands: in_flight stays
                return
        self.in_flight -= 1

    # The database.

    async def check_database(self) -> bool:
        """SELECT 1. The first failure of an outage is logged, and so is the recovery."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # whatever the reason, it did not answer
            if database_trouble(exc) != "busy":  # a wait for a pooled connection is no outage
                self.database_failed(exc)
            return False
        if self.down_since is not None:
            log.warning("the database answers again, after %.0f s", self.clock() - self.down_since)
            self.down_since = None
        return True

    def database_failed(self, exc: BaseException) -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
            log.error("the database cannot be reached, answering 503 until it answers: %r", cause)
        self.next_check = now + self.retry_interval

    async def database_usable(self) -> bool:
        """False while the database is known to be down, except for the one
        request that checks it once the retry interval has passed."""
        if self.down_since is None:
            return True
        if self.clock() < self.next_check:
            return False
        self.next_check = self.clock() + self.retry_interval  # the others keep being refused meanwhile
        return await self.check_database()

    # The answer.

    def refusal(self, reason: Reason, scope: Scope) -> Refusal:
        headers = {k: v for k, v in scope["headers"] if k in (b"cookie", b"accept-language")}
        locale = request_locale(
            read_cookies(headers.get(b"cookie", b"").decode("latin-1")),
            headers.get(b"accept-language", b"").decode("latin-1"),
            self.default_locale,
        )
        key = (reason, locale, wants_json(scope))
        refusal = self._refusals.get(key)
        if refusal is None:
            refusal = self._refusals[key] = self._build_refusal(*key)
        return refusal

    def _build_refusal(self, reason: Reason, locale: str, as_json: bool) -> Refusal:
        title, message = MESSAGES[reason]
        with using_locale(locale):
            if as_json:
                body = json.dumps({"error": _(message), "status": 503}, ensure_ascii=False).encode()
                content_type = b"application/json"
            else:
                page = self.templates.get_template("errors/503.html").render(
                    status=503, title=_(title), message=_(message), locale=locale
                )
                body = page.encode()
                content_type = b"text/html; charset=utf-8"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.retry_after).encode()),
            (b"cache-control", b"no-store"),
            (b"vary", b"Cookie, Accept-Language"),
            *((name.encode(), value.encode()) for name, value in SECURITY_HEADERS),
        ]
        return Refusal(headers, body)


def _give_up(granted: asyncio.Future[bool]) -> None:
    """A waiting request's time is up (unless a slot came first)."""
    if not granted.done():
        granted.set_result(False)


def exempt(path: str) -> bool:
    """Always served and not counted: static files, and /healthz, which must
    report the truth even when the forum is full."""
    return path == "/healthz" or path.startswith("/static/")


class AdmissionMiddleware:
    """Outermost of the app's middleware (pure ASGI)."""

    def __init__(self, app: ASGIApp, *, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if not await admission.acquire():
            await self.refuse("busy", scope, send)
            return
        started = False

        async def watch_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if not await admission.database_usable():
                await self.refuse("down", scope, send)
                return
            await self.app(scope, receive, watch_start)
        except Exception as exc:
            reason = database_trouble(exc)
            if reason == "down":
                admission.database_failed(exc)
            elif reason == "busy":
                cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
                log.warning("database busy on %s %s: %r", scope["method"], scope["path"], cause)
            if reason is None or started:
                raise
            await self.refuse(reason, scope, send)
        finally:
            # Also when the handler raised or the client went away; a streamed
            # response is in flight until its last chunk is sent.
            admission.release()

    async def refuse(self, reason: Reason, scope: Scope, send: Send) -> None:
        refusal = self.admission.refusal(reason, scope)
        await send({"type": "http.response.start", "status": 503, "headers": refusal.headers})
        await send({"type": "http.response.body", "body": refusal.body})
