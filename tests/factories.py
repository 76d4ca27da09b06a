"""Small factories with keyword options. They flush; the caller's transaction commits."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from forum.clock import utcnow
from forum.models import Category, Post, Role, Thread, ThreadKind, User
from forum.security import hash_password
from forum.services import threads
from forum.services.accounts import username_key

_counter = itertools.count(1)
# Hashing is deliberately slow; factories share one hash of this password.
PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


def _n() -> int:
    return next(_counter)


async def make_user(
    session: AsyncSession,
    *,
    username: str | None = None,
    role: Role = Role.member,
    display_name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
    email_confirmed: bool = True,
) -> User:
    """A user; an ``email`` given counts as confirmed unless ``email_confirmed=False``."""
    username = username or f"user{_n()}"
    user = User(
        username=username,
        username_key=username_key(username),
        display_name=display_name or username.title(),
        email=email,
        email_key=email.casefold() if email else None,
        email_confirmed_at=utcnow() if email and email_confirmed else None,
        password_hash=_HASH,
        role=role.value,
        locale=locale,
    )
    session.add(user)
    await session.flush()
    return user


async def make_category(
    session: AsyncSession, *, slug: str | None = None, name_en: str | None = None, name_ko: str | None = None
) -> Category:
    n = _n()
    category = Category(
        slug=slug or f"category-{n}",
        name_en=name_en or f"Category {n}",
        name_ko=name_ko or f"카테고리 {n}",
        position=n,
    )
    session.add(category)
    await session.flush()
    return category


async def make_thread(
    session: AsyncSession,
    *,
    author: User | None = None,
    category: Category | None = None,
    title: str | None = None,
    body: str = "How do I do this? I tried everything.",
    kind: ThreadKind = ThreadKind.question,
    replies: int = 0,
    solved: bool = False,
    created_at: datetime | None = None,
) -> Thread:
    author = author or await make_user(session)
    category = category or await make_category(session)
    thread = await threads.ask(
        session,
        author=author,
        category=category,
        title=title or f"Question number {_n()}",
        body=body,
        kind=kind.value,
        created_at=created_at,
    )
    answer = None
    for i in range(replies):
        answer = await make_reply(session, thread, body=f"Try this, attempt {i + 1}.")
    if solved:
        answer = answer or await make_reply(session, thread)
        answer.thread = thread
        await threads.accept(session, answer, user=author)
    return thread


async def make_reply(
    session: AsyncSession,
    thread: Thread,
    *,
    author: User | None = None,
    body: str = "Have you tried turning it off and on again?",
) -> Post:
    author = author or await make_user(session)
    post = await threads.reply(session, thread, author=author, body=body)
    post.thread = thread
    return post
