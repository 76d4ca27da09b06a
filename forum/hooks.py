"""Checks that forum services run without importing their owner.

``forum`` never imports ``moderation``; instead moderation registers hooks on
the app's ``Hooks`` when ``forum.app`` mounts it, and ``HooksMiddleware``
makes that set the active one for each request. Code outside a request (the
CLI, imports, test factories) runs with an empty set unless it opts in with
``using(hooks)``, so bulk imports are never held up by anti-spam rules.

The contract:

- ``before_post(session, attempt)`` runs in ``threads.ask``, ``threads.reply``
  and ``threads.edit_post`` after the forum's own validation and before
  anything is written. A hook refuses by raising a ``forum.errors``
  exception (``ValidationError({"body": msg})`` keeps the form and shows the
  message; ``RateLimited`` answers 429). It may instead call
  ``attempt.hold_for_review(note)``: the post is saved hidden with
  ``hidden_reason="review"`` (and a new thread hidden with it) so nobody but
  its author and moderators sees it until a moderator restores it.
- ``after_post(session, attempt, post)`` runs once the post is flushed (it has
  an id), in the same transaction: a failure rolls the post back too.
- ``on_request(scope)`` runs for every HTTP request after the user and locale
  are known (``scope["state"]``) and before the route; it may add values to
  ``scope["state"]`` for templates. Keep it to one cheap query at most.

- ``account_deleted(session, user_id)`` runs in
  ``forum.services.account_data.delete_account`` once the account is
  stripped, in the same transaction: the owner of other data about the
  person removes it there.

- ``audit(session, change)`` runs when a forum service changes something
  staff decide (tags, categories, banners: ``forum.services.tags``,
  ``forum.services.categories``, ``forum.services.banners``; a thread pinned
  as it is posted: ``forum.services.threads.ask``), in the same
  transaction: moderation writes it to its audit log, so the change and its
  entry are saved together or not at all. ``change`` is an ``AuditChange``.

Hooks run in registration order and share the caller's session; they flush,
never commit.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from forum.models import Category, Post, Thread, User


@dataclass
class PostAttempt:
    """What is about to be posted. ``thread`` is None when asking a new
    question; ``post`` is the post being edited (None for new posts)."""

    author: User
    body: str
    thread: Thread | None = None
    title: str | None = None
    category: Category | None = None
    post: Post | None = None
    held: bool = False
    hold_notes: list[str] = field(default_factory=list)

    @property
    def is_edit(self) -> bool:
        return self.post is not None

    @property
    def is_new_thread(self) -> bool:
        return self.thread is None and self.post is None

    def hold_for_review(self, note: str) -> None:
        self.held = True
        self.hold_notes.append(note)


@dataclass(frozen=True)
class AuditChange:
    """One staff change to record: ``action`` like "tag.rename" (the audit
    log's own names), what it changed (``target_type`` and ``target_id``),
    its state before and after, and the member it concerns (``subject_id``:
    a thread's author, as moderators' own entries name it)."""

    actor: User | None
    action: str
    target_type: str
    target_id: int | None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    subject_id: int | None = None


BeforePost = Callable[[AsyncSession, PostAttempt], Awaitable[None]]
AfterPost = Callable[[AsyncSession, PostAttempt, Post], Awaitable[None]]
OnRequest = Callable[[Scope], Awaitable[None]]
AccountDeleted = Callable[[AsyncSession, int], Awaitable[None]]
Audit = Callable[[AsyncSession, AuditChange], Awaitable[None]]


@dataclass
class Hooks:
    before_post: list[BeforePost] = field(default_factory=list)
    after_post: list[AfterPost] = field(default_factory=list)
    on_request: list[OnRequest] = field(default_factory=list)
    account_deleted: list[AccountDeleted] = field(default_factory=list)
    audit: list[Audit] = field(default_factory=list)


_EMPTY = Hooks()
_active: contextvars.ContextVar[Hooks] = contextvars.ContextVar("forum_hooks", default=_EMPTY)


def active() -> Hooks:
    return _active.get()


@contextmanager
def using(hooks: Hooks) -> Iterator[None]:
    token = _active.set(hooks)
    try:
        yield
    finally:
        _active.reset(token)


async def run_before_post(session: AsyncSession, attempt: PostAttempt) -> PostAttempt:
    for hook in active().before_post:
        await hook(session, attempt)
    return attempt


async def run_after_post(session: AsyncSession, attempt: PostAttempt, post: Post) -> None:
    for hook in active().after_post:
        await hook(session, attempt, post)


async def run_audit(session: AsyncSession, change: AuditChange) -> None:
    for hook in active().audit:
        await hook(session, change)


async def run_admin_change(
    session: AsyncSession,
    actor: User,
    action: str,
    target_type: str,
    target_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """A change to the forum's set-up (categories, banners) made by ``actor``: an audit change."""
    await run_audit(session, AuditChange(actor, action, target_type, target_id, before or {}, after or {}))


class HooksMiddleware:
    """Makes ``hooks`` the active set for each request and runs its
    ``on_request`` hooks. Mounted inside the request-context middleware, so
    the user is already known."""

    def __init__(self, app: ASGIApp, *, hooks: Hooks) -> None:
        self.app = app
        self.hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _active.set(self.hooks)
        try:
            if scope["type"] == "http":
                for hook in self.hooks.on_request:
                    await hook(scope)
            await self.app(scope, receive, send)
        finally:
            _active.reset(token)
