"""The security log: one JSON line per security-relevant event, on the
``forum.security`` logger.

Each line holds the UTC time, the event name, the user id (or null), the
client's address, the request id and the event's own fields. Callers pass
ids and names, never a password, token, cookie or email body: ``event``
refuses field names that look like secrets, so a careless caller fails in the
tests instead of leaking in production.

Events (one owner each; grep for the name): ``login.ok``, ``login.failed``,
``logout``, ``password.reset_asked``, ``password.reset_used``,
``password.changed``, ``role.changed``, ``sanction``, ``forbidden``,
``csrf.failed``, ``rate_limited``, ``account.deleted``, ``account.exported``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.requests import HTTPConnection

log = logging.getLogger("forum.security")

_SECRET_WORDS = ("password", "token", "cookie", "secret", "csrf_token")


def client_address(request: HTTPConnection | None) -> str | None:
    if request is None:
        return None
    # imported here: forum.ratelimit owns the rule for who the client is
    from forum.ratelimit import client_ip

    return client_ip(request)  # type: ignore[arg-type]


def request_id(request: HTTPConnection | None) -> str | None:
    if request is None:
        return None
    return getattr(request.state, "request_id", None)


def event(name: str, *, request: HTTPConnection | None = None, user_id: int | None = None, **fields: Any) -> None:
    """Writes one security-log line for ``name``."""
    for key in fields:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ValueError(f"security log field {key!r} looks like a secret")
    line: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": name,
        "user_id": user_id,
        "ip": client_address(request),
        "request_id": request_id(request),
    }
    line.update(fields)
    log.info(json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":")))
