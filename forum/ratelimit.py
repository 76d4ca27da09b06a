"""Rate limits, counted with the `limits` library.

Each named limit ("login_ip", "post", ...) holds one or more rules in the
`limits` notation ("10 per minute; 60 per hour") taken from the settings.
Counters live in memory for the single embedded process, or in Redis
(``FORUM_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379/0``) so that several
processes behind a proxy share them. Windows are moving windows: the N+1th
hit within any period refuses, and Retry-After says when the oldest hit in
the window expires.

Routes call ``await hit_or_429(request, "search", key)``; services that have
no request raise ``RateLimited`` from the limiter on ``app.state``. Either
way the answer is a 429 page (JSON under /api/) with a Retry-After header.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import cast

from babel.dates import format_timedelta
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request

from forum.config import Settings
from forum.errors import ForumError
from forum.i18n import get_locale, lazy
from forum.i18n import gettext as _

log = logging.getLogger("forum.ratelimit")

LIMIT_NAMES = (
    "login_ip",
    "login_account",
    "signup",
    "post",
    "flag",
    "search",
    "similar",
    "password_reset_ip",
    "password_reset_address",
)

MESSAGES = {
    "login_ip": lazy("Too many log-in attempts. Try again %(when)s."),
    "login_account": lazy("Too many log-in attempts. Try again %(when)s."),
    "signup": lazy("Too many sign-ups from your network. Try again %(when)s."),
    "post": lazy("You are posting too fast. Try again %(when)s."),
    "flag": lazy("You are flagging too fast. Try again %(when)s."),
    "search": lazy("Too many searches. Try again %(when)s."),
    "similar": lazy("Too many searches. Try again %(when)s."),
    "password_reset_ip": lazy("Too many password reset requests. Try again %(when)s."),
    "password_reset_address": lazy("Too many password reset requests. Try again %(when)s."),
}
DEFAULT_MESSAGE = lazy("Too many requests. Try again %(when)s.")


def wait_text(seconds: int) -> str:
    """'in 30 seconds' / '30초 후'."""
    return format_timedelta(
        timedelta(seconds=seconds), add_direction=True, granularity="second", threshold=1.5, locale=get_locale()
    )


class RateLimited(ForumError):
    """A limit refused the request; ``headers`` carries Retry-After."""

    status_code = 429

    def __init__(self, name: str, retry_after: int) -> None:
        self.name = name
        self.retry_after = max(1, retry_after)
        super().__init__(_(MESSAGES.get(name, DEFAULT_MESSAGE), when=wait_text(self.retry_after)))
        self.headers = {"Retry-After": str(self.retry_after)}


def storage_uri(uri: str) -> tuple[str, dict[str, str]]:
    """The async `limits` storage for a settings value: memory:// or redis://."""
    uri = uri.strip() or "memory://"
    scheme_uri = uri if uri.startswith("async+") else "async+" + uri
    options: dict[str, str] = {}
    if scheme_uri.startswith(("async+redis", "async+rediss")):
        # The `redis` package's asyncio client (coredis is the library's default).
        options["implementation"] = "redispy"
    return scheme_uri, options


class RateLimiter:
    """Named limits over one storage. Keys are hashed, so account names and
    addresses never sit in Redis in clear."""

    def __init__(self, storage: str, rules: Mapping[str, str], *, prefix: str = "forum") -> None:
        uri, options = storage_uri(storage)
        self.storage = cast(Storage, storage_from_string(uri, key_prefix=f"{prefix}:limits", **options))
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.prefix = prefix
        self.rules: dict[str, list[RateLimitItem]] = {name: parse_many(text) for name, text in rules.items() if text}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        rules = {name: getattr(settings, f"rate_limit_{name}") for name in LIMIT_NAMES}
        return cls(settings.rate_limit_storage, rules, prefix=settings.rate_limit_prefix)

    def _key(self, key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    async def hit(self, name: str, key: str) -> int | None:
        """Counts one attempt. None if allowed, else the seconds to wait.
        An unknown name, or a storage that is down, allows (and logs): a
        broken Redis must not lock everyone out of the forum."""
        items = self.rules.get(name)
        if not items:
            return None
        hashed = self._key(key)
        wait = 0.0
        try:
            for item in items:
                if not await self.strategy.hit(item, self.prefix, name, hashed):
                    stats = await self.strategy.get_window_stats(item, self.prefix, name, hashed)
                    wait = max(wait, stats.reset_time - time.time(), 1.0)
        except Exception:
            log.exception("rate limit storage failed; allowing %s", name)
            return None
        return math.ceil(wait) if wait else None

    async def check(self, name: str, key: str) -> None:
        """Counts one attempt and raises ``RateLimited`` if it is over a limit."""
        retry_after = await self.hit(name, key)
        if retry_after is not None:
            raise RateLimited(name, retry_after)

    async def clear(self, name: str, key: str) -> None:
        """Forgets the attempts counted for a key (after a successful log-in)."""
        hashed = self._key(key)
        try:
            for item in self.rules.get(name, []):
                await self.strategy.clear(item, self.prefix, name, hashed)
        except Exception:
            log.exception("rate limit storage failed while clearing %s", name)

    async def close(self) -> None:
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()
        timer = getattr(self.storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn puts the proxy's X-Forwarded-For here
    when it trusts the proxy)."""
    return request.client.host if request.client else "unknown"


def limiter_of(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


async def hit_or_429(request: Request, name: str, key: str | None = None) -> None:
    """Counts one attempt at ``name`` for ``key`` (default: the client's IP);
    raises ``RateLimited`` (a 429 page with Retry-After) when over the limit."""
    await limiter_of(request).check(name, key if key is not None else f"ip:{client_ip(request)}")


async def clear(request: Request, name: str, key: str) -> None:
    await limiter_of(request).clear(name, key)
