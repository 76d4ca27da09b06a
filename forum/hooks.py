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

- ``admin_change(session, change)`` runs when staff or an administrator
  changes the forum's set-up (categories, banners: ``forum.services.categories``
  and ``forum.services.banners``), in the same transaction, once the change is
  flushed: moderation writes it to the audit log. ``change`` is an
  :class:`AdminChange` (who, the action's name, the object, before and after).

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
class AdminChange:
    actor: User
    action: str  # "category.create", "banner.edit", ...
    target_type: str  # "category", "banner"
    target_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


BeforePost = Callable[[AsyncSession, PostAttempt], Awaitable[None]]
AfterPost = Callable[[AsyncSession, PostAttempt, Post], Awaitable[None]]
OnRequest = Callable[[Scope], Awaitable[None]]
AccountDeleted = Callable[[AsyncSession, int], Awaitable[None]]
OnAdminChange = Callable[[AsyncSession, AdminChange], Awaitable[None]]


@dataclass
class Hooks:
    before_post: list[BeforePost] = field(default_factory=list)
    after_post: list[AfterPost] = field(default_factory=list)
    on_request: list[OnRequest] = field(default_factory=list)
    account_deleted: list[AccountDeleted] = field(default_factory=list)
    admin_change: list[OnAdminChange] = field(default_factory=list)


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


async def run_admin_change(
    session: AsyncSession,
    actor: User,
    action: str,
    target_type: str,
    target_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    change = AdminChange(actor, action, target_type, target_id, before, after)
    for hook in active().admin_change:
        await hook(session, change)


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
