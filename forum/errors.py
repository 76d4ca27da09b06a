"""Domain errors. Services raise them; ``forum.app`` maps them to pages in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def wants_json(scope: Mapping[str, Any]) -> bool:
    """Errors are answered in JSON under /api/ and by the editor's upload
    address (POST /uploads), as pages everywhere else."""
    path = str(scope["path"])
    return path.startswith("/api/") or (path == "/uploads" and scope.get("method") == "POST")


class ForumError(Exception):
    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(ForumError):
    status_code = 404


class NotAllowed(ForumError):
    """The user is known but may not do this."""

    status_code = 403


class FormExpired(ForumError):
    """A form's CSRF token is expired or not this browser's. The page that says
    so gives back what was typed (``fields``) in a fresh form, to send again."""

    status_code = 403

    def __init__(self, message: str, fields: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields


class LoginRequired(ForumError):
    status_code = 401


class Conflict(ForumError):
    status_code = 409


class ValidationError(ForumError):
    """Bad input: carries one translated message per form field."""

    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class AlreadySubmitted(ForumError):
    """The form was sent before (its one-use key is taken): answered with a 303 to
    what the first submission made (``url``), nothing new being made."""

    status_code = 303

    def __init__(self, url: str) -> None:
        super().__init__("")
        self.url = url
