"""Request ids, the access log, and where the forum's log lines go.

Every request gets ``request.state.request_id``: a fresh random id, or the
``X-Request-Id`` a trusted proxy (``FORUM_TRUSTED_PROXIES``) sent, if it is
1 to 100 letters, digits, ``.``, ``_``, ``-`` or ``:``. It is sent back in the
``X-Request-Id`` header (the 500 page shows it too), and it is on the request's
security-log lines (:mod:`forum.seclog`) and its access-log line, so the three
can be matched.

The access log (logger ``forum.access``) has one line per request, written by
the app rather than by the server so that it shows the client as
:func:`forum.ratelimit.client_ip` decides and the request id::

    2026-12-05T11:40:00.123Z 203.0.113.9 "GET /t/12/refunds HTTP/1.1" 200 5120 12ms 6f1c…

It leaves out the query string, and long mixed-case path segments (the tokens
of emailed links) are replaced by ``…``.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.ratelimit import TrustedProxies, forwarded_client, peer_is_trusted
from forum.warmup import WARM_UP

access_log = logging.getLogger("forum.access")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_TOKEN_SEGMENT = re.compile(r"^(?=[^/]*[A-Z])(?=[^/]*[a-z0-9])[A-Za-z0-9._~=-]{20,}$")


def new_request_id() -> str:
    return secrets.token_hex(12)


def incoming_request_id(scope: Scope, trusted: TrustedProxies) -> str | None:
    if not peer_is_trusted(scope, trusted):
        return None
    for key, value in scope.get("headers", ()):
        if key.lower() == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if REQUEST_ID_RE.match(text) else None
    return None


def loggable_path(path: str) -> str:
    return "/".join("…" if _TOKEN_SEGMENT.match(part) else part for part in path.split("/"))


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestLogMiddleware:
    """Outermost of the app's middleware: the id is there for everything inside,
    and refusals (503) and crashes (500) are logged too."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope, self.trusted) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO) and not scope["state"].get(WARM_UP):
                self.log(scope, status, size, started, request_id)

    def log(self, scope: Scope, status: int, size: int, started: float, request_id: str) -> None:
        client = forwarded_client(scope, self.trusted)
        line = f"{scope['method']} {loggable_path(scope['path'])} HTTP/{scope.get('http_version', '1.1')}"
        elapsed = (time.perf_counter() - started) * 1000
        access_log.info(f'{utc_timestamp()} {client} "{line}" {status} {size} {elapsed:.0f}ms {request_id}')


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def configure_logging(*, access: bool = True, stream: Any = None) -> None:
    """Where the forum's lines go when it serves (gunicorn's master calls it before
    forking; the workers inherit it): the security log and the access log, one line
    each as they are (both begin with their UTC time), on stderr; the forum's other
    warnings and errors with a UTC time, process and logger name. Without it nothing
    under INFO would be printed (Python's last-resort handler shows warnings only)."""
    stream = stream or sys.stderr
    configure_security_log(stream)
    logging.getLogger("forum.security").propagate = False  # not again through "forum" below
    access_log.handlers = [_plain_handler(stream)]
    access_log.propagate = False
    access_log.setLevel(logging.INFO if access else logging.WARNING)
    forum = logging.getLogger("forum")
    if not forum.handlers:
        detailed = logging.StreamHandler(stream)
        detailed.setFormatter(_UtcFormatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"))
        forum.addHandler(detailed)
        forum.propagate = False
    if forum.level == logging.NOTSET:
        forum.setLevel(logging.INFO)


def _plain_handler(stream: Any) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def configure_security_log(stream: Any = None) -> None:
    """The security log's JSON lines on stderr (``forum serve``, and every command:
    ``forum users create --role admin`` is a role change)."""
    logger = logging.getLogger("forum.security")
    logger.handlers = [_plain_handler(stream or sys.stderr)]
    logger.setLevel(logging.INFO)
    # Still propagates: nothing above it prints (the root logger has no handler
    # under gunicorn or a command), and a test's log capture sees it.


def configure_logging_if_unset() -> None:
    """For an app served by another ASGI server (``uvicorn --factory
    forum.app:create_app``, which configures only its own loggers): the same lines
    as under ``forum serve``, unless something configured logging already (``forum
    serve`` itself, a test run, an operator's logging config)."""
    if logging.getLogger().handlers or logging.getLogger("forum").handlers:
        return
    if logging.getLogger("forum.security").handlers or access_log.handlers:
        return
    configure_logging(access=True)
