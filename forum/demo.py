"""Loads the demo content (``forum.demo_content``) into a database."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from forum import demo_content
from forum.clock import utcnow
from forum.models import Role, User
from forum.services import accounts, categories, threads


def demo_password(username: str) -> str:
    # At least 12 characters, so that the password policy accepts it.
    return f"{username.split('_')[0]}-{secrets.token_hex(5)}"


async def load_demo(session: AsyncSession) -> list[tuple[User, str]]:
    """Fills an empty database; returns the accounts made with their passwords."""
    demo_content.check()
    made: list[tuple[User, str]] = []
    users: dict[str, User] = {}
    for spec in demo_content.USERS:
        password = demo_password(spec["username"])
        user = await accounts.do_signup(
            session,
            username=spec["username"],
            display_name=spec["display_name"],
            password=password,
            locale=spec["locale"],
            role=Role(spec["role"]),
        )
        users[user.username] = user
        made.append((user, password))
    cats = {}
    for position, spec in enumerate(demo_content.CATEGORIES):
        cats[spec["slug"]] = await categories.create_category(session, position=position, **spec)
    now = utcnow()
    for spec in demo_content.THREADS:
        asked_at = now - timedelta(days=spec["days_ago"])
        thread = await threads.ask(
            session,
            author=users[spec["author"]],
            category=cats[spec["category"]],
            title=spec["title"],
            body=spec["body"],
            kind=spec["kind"],
            created_at=asked_at,
        )
        thread.views = spec["views"]
        for reply_spec in spec["replies"]:
            at = asked_at + timedelta(hours=reply_spec["hours_after"])
            post = await threads.reply(
                session, thread, author=users[reply_spec["author"]], body=reply_spec["body"], created_at=at
            )
            post.thread = thread
            for voter in reply_spec.get("votes", []):
                await threads.vote(session, post, user=users[voter])
            if reply_spec.get("accepted"):
                await threads.accept(session, post, user=users[spec["author"]], at=at + timedelta(hours=2))
            if reply_spec.get("official"):
                staff = users[reply_spec["author"]]
                await threads.mark_official(session, post, user=staff, at=at)
    await session.flush()
    return made
