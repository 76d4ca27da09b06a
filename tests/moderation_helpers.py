"""Helpers for the moderation tests: extra apps with their own settings,
reading rows back, and seeding posts at chosen times."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from forum.app import close_app, create_app
from forum.clock import utcnow
from forum.config import Settings
from forum.models import Post, Thread, User
from forum.services import threads
from tests.webclient import WebClient

T = TypeVar("T")


def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def app_with(settings: Settings, **changes: Any) -> AsyncIterator[Starlette]:
    """Another app on the same database, with changed settings."""
    app = create_app(settings.with_(**changes))
    try:
        yield app
    finally:
        await close_app(app)


class ClientFrom(WebClient):
    """A browser-like client whose requests come from address ``ip``."""

    def __init__(self, app: Starlette, ip: str, *, raise_app_exceptions: bool = True) -> None:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000), raise_app_exceptions=raise_app_exceptions)
        httpx.AsyncClient.__init__(self, transport=transport, base_url="http://testserver")
        self.app = app


@asynccontextmanager
async def client_for(
    app: Starlette, ip: str = "127.0.0.1", *, raise_app_exceptions: bool = True
) -> AsyncIterator[WebClient]:
    """``raise_app_exceptions=False`` shows a crash as the 500 page a browser gets."""
    async with ClientFrom(app, ip, raise_app_exceptions=raise_app_exceptions) as client:
        yield client


async def get(db, model: type[T], ident: int) -> T:  # type: ignore[no-untyped-def]
    async with db() as s:
        row = await s.get(model, ident)
        assert row is not None
        return row


async def count(db, model: type, *where: Any) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def age(db, user: User, *, days: float) -> User:  # type: ignore[no-untyped-def]
    """Makes an account ``days`` old."""
    async with db.begin() as s:
        row = await s.get(User, user.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=days)
        s.add(row)
    return row


async def post_at(db, thread: Thread, author: User, *, ago: timedelta, body: str | None = None) -> Post:  # type: ignore[no-untyped-def]
    """A reply written ``ago`` before now (no hooks: seeding, not posting)."""
    async with db.begin() as s:
        fresh = await s.get(Thread, thread.id)
        assert fresh is not None
        at: datetime = utcnow() - ago
        return await threads.reply(
            s, fresh, author=author, body=body or f"Earlier reply {uuid.uuid4().hex[:8]}", created_at=at
        )


async def first_post(db, thread: Thread) -> Post:  # type: ignore[no-untyped-def]
    async with db() as s:
        post = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first == True))  # noqa: E712
        assert post is not None
        return post
