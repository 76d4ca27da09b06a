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
Log-in attempts have rules of their own, built on these limits: see
:mod:`forum.login_throttle`.

Who the client is (:func:`client_ip`) is decided here and nowhere else: the
socket's peer address, unless that peer is one of the proxies named in
``FORUM_TRUSTED_PROXIES`` (IP addresses or CIDR networks, comma-separated;
none by default). Behind such a proxy the client is the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy (each proxy appends the
address it received the request from, so everything left of the last
untrusted hop may be made up by the client). ``X-Forwarded-Proto`` is believed
from trusted proxies only, too (:func:`forwarded_scheme`). The server's own
proxy-header handling (uvicorn's ``forwarded_allow_ips``) is off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, cast

from babel.dates import format_timedelta
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.storage.base import MovingWindowSupport
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import HTTPConnection, Request

from forum.config import ConfigError, Settings
from forum.errors import ForumError
from forum.i18n import get_locale, lazy
from forum.i18n import gettext as _
from forum.runtime import runtime_of

log = logging.getLogger("forum.ratelimit")

LIMIT_NAMES = (
    "login_ip",
    "login_account",
    "login_account_ip",
    "login_fresh",
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
    "login_account_ip": lazy("Too many log-in attempts. Try again %(when)s."),
    "login_fresh": lazy("Too many log-in attempts. Try again %(when)s."),
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


class MemoryWindows(Storage, MovingWindowSupport):
    """The in-process store of ``memory://``: moving windows (and the fixed-window
    counters `limits` asks every store for), each key's hits kept oldest first.

    `limits`' own ``MemoryStorage`` starts, after every hit, a task that walks every
    key it holds, handing each key's list to a thread to find its expired entries:
    a thread hop per key per hit. At 200 hits a second with 30-per-minute windows
    (``scripts/bench_ratelimit.py``) that took 61% of a core with 10 keys and 98% with
    10,000 (a public forum's visitors each have a key); this store 2-3%, the loop
    sending the hits alone about 2%. Here a key's expired
    hits are dropped when the key is used (they are the oldest, at the front), and
    keys nobody used for longer than their window are forgotten by a sweep at most
    once per ``sweep_every`` seconds, on the event loop: no thread, no task. Nothing
    in a call awaits, so calls need no lock (one event loop per process)."""

    STORAGE_SCHEME = None  # made by make_storage, not found by its URL

    def __init__(self, *, clock: Callable[[], float] = time.time, sweep_every: float = 60.0) -> None:
        super().__init__()
        self._clock = clock
        self._sweep_every = sweep_every
        self._next_sweep = clock() + sweep_every
        self._windows: dict[str, tuple[float, deque[float]]] = {}  # key: (window seconds, hit times)
        self._counters: dict[str, tuple[int, float]] = {}  # key: (count, expires at)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def __len__(self) -> int:
        """How many keys are held."""
        return len(self._windows) + len(self._counters)

    def _now(self) -> float:
        now = self._clock()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            self._windows = {k: w for k, w in self._windows.items() if w[1] and w[1][-1] > now - w[0]}
            self._counters = {k: c for k, c in self._counters.items() if c[1] > now}
        return now

    def _hits(self, key: str, expiry: float, now: float) -> deque[float] | None:
        """The key's hits within its window (older ones dropped), None if it has none."""
        found = self._windows.get(key)
        if found is None:
            return None
        hits = found[1]
        cutoff = now - expiry
        while hits and hits[0] < cutoff:
            hits.popleft()
        return hits

    # Moving windows (MovingWindowRateLimiter).

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self._now()
        hits = self._hits(key, expiry, now)
        if hits is None:
            hits = deque()
            self._windows[key] = (expiry, hits)
        if len(hits) + amount > limit:
            return False
        hits.extend([now] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest hit within the window, or now; how many hits it holds)."""
        now = self._now()
        hits = self._hits(key, expiry, now)
        return (hits[0], len(hits)) if hits else (now, 0)

    # Fixed-window counters (the abstract part of every `limits` store).

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._now()
        count, expires = self._counters.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + expiry
        self._counters[key] = (count + amount, expires)
        return count + amount

    async def get(self, key: str) -> int:
        count, expires = self._counters.get(key, (0, 0.0))
        return count if expires > self._now() else 0

    async def get_expiry(self, key: str) -> float:
        now = self._now()
        _count, expires = self._counters.get(key, (0, now))
        return expires if expires > now else now

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        held = len(self)
        self._windows.clear()
        self._counters.clear()
        return held

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)
        self._counters.pop(key, None)


def make_storage(storage: str, prefix: str) -> Storage:
    uri, options = storage_uri(storage)
    if uri == "async+memory://":
        return MemoryWindows()
    return cast(Storage, storage_from_string(uri, key_prefix=f"{prefix}:limits", **options))


class RateLimiter:
    """Named limits over one storage. Keys are hashed, so account names and
    addresses never sit in Redis in clear."""

    def __init__(self, storage: str, rules: Mapping[str, str], *, prefix: str = "forum") -> None:
        self.storage = make_storage(storage, prefix)
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
        return await self._wait(name, key, count=True)

    async def exhausted(self, name: str, key: str) -> int | None:
        """Without counting anything: None if one more attempt would be allowed,
        else the seconds to wait (as :meth:`hit` says when it refuses)."""
        return await self._wait(name, key, count=False)

    async def _wait(self, name: str, key: str, *, count: bool) -> int | None:
        items = self.rules.get(name)
        if not items:
            return None
        hashed = self._key(key)
        check = self.strategy.hit if count else self.strategy.test
        wait = 0.0
        try:
            for item in items:
                if not await check(item, self.prefix, name, hashed):
                    stats = await self.strategy.get_window_stats(item, self.prefix, name, hashed)
                    wait = max(wait, stats.reset_time - time.time(), 1.0)
        except Exception:
            log.exception("rate limit storage failed; allowing %s", name)
            return None
        return math.ceil(wait) if wait else None

    async def counted(self, name: str, key: str) -> bool:
        """Whether any attempt at ``name`` is counted for ``key`` in any of its windows."""
        hashed = self._key(key)
        try:
            for item in self.rules.get(name, []):
                stats = await self.strategy.get_window_stats(item, self.prefix, name, hashed)
                if stats.remaining < item.amount:
                    return True
        except Exception:
            log.exception("rate limit storage failed while reading %s", name)
        return False

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
TrustedProxies = tuple[Network, ...]


def parse_trusted_proxies(text: str) -> TrustedProxies:
    """``FORUM_TRUSTED_PROXIES``: IP addresses and CIDR networks, comma-separated."""
    networks: list[Network] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"FORUM_TRUSTED_PROXIES: {part!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)."
            ) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, trusted: TrustedProxies) -> bool:
    return address is not None and any(address in network for network in trusted)


def peer_is_trusted(scope: Mapping[str, Any], trusted: TrustedProxies) -> bool:
    """Whether the socket's peer is one of the trusted proxies."""
    client = scope.get("client")
    return bool(trusted) and client is not None and _trusted(_address(str(client[0])), trusted)


def _header_values(scope: Mapping[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == name]


def forwarded_client(scope: Mapping[str, Any], trusted: TrustedProxies) -> str:
    """The rule (see the module's docstring), from an ASGI scope."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not peer_is_trusted(scope, trusted):
        return peer
    hops: Iterable[str] = (hop for value in _header_values(scope, b"x-forwarded-for") for hop in value.split(","))
    chain = [hop.strip() for hop in hops if hop.strip()]
    client_address = peer
    for hop in reversed(chain):
        address = _address(hop)
        if address is None:
            # Not an address: written by whoever sent it to the proxy, so the
            # hop that passed it on is the last one known.
            break
        client_address = str(address)
        if not _trusted(address, trusted):
            break
    return client_address


def forwarded_scheme(scope: Mapping[str, Any], trusted: TrustedProxies) -> str | None:
    """``http`` or ``https`` as a trusted proxy says the client used, else None."""
    if not peer_is_trusted(scope, trusted):
        return None
    values = _header_values(scope, b"x-forwarded-proto")
    if not values:
        return None
    proto = values[-1].split(",")[-1].strip().lower()
    return proto if proto in ("http", "https") else None


def client_ip(request: HTTPConnection) -> str:
    """The client's address, by the rule in the module's docstring (computed
    once per request)."""
    scope = request.scope
    cached = scope.get("forum.client_ip")
    if cached is None:
        app = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None)  # none in a bare test app
        trusted = runtime.trusted_proxies if runtime is not None else ()
        cached = scope["forum.client_ip"] = forwarded_client(scope, trusted)
    return cast(str, cached)


def limiter_of(request: Request) -> RateLimiter:
    return runtime_of(request.app).rate_limiter


async def hit_or_429(request: Request, name: str, key: str | None = None) -> None:
    """Counts one attempt at ``name`` for ``key`` (default: the client's IP);
    raises ``RateLimited`` (a 429 page with Retry-After) when over the limit."""
    await limiter_of(request).check(name, key if key is not None else f"ip:{client_ip(request)}")


async def clear(request: Request, name: str, key: str) -> None:
    await limiter_of(request).clear(name, key)
