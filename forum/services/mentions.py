"""@mentions: which "@name" in a post are members, and the username
suggestions of the composer.

A post's HTML links the mentions of members who exist when it is saved
(:func:`render`); who hears of a mention is ``forum.services.notifications``'
business (``notify_mentions``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum import markdown
from forum.models import User
from forum.services import uploads

#: at most this many people hear of the mentions in one post
MAX_NOTIFIED = 10
#: suggestions offered while typing "@ab…"
MAX_SUGGESTIONS = 8


async def resolve(session: AsyncSession, body: str) -> dict[str, str]:
    """The "@name" of ``body`` that are members (case-folded name to username):
    one indexed query, none when the text mentions nobody."""
    candidates = markdown.mention_candidates(body)
    if not candidates:
        return {}
    rows = await session.execute(
        select(col(User.username_key), col(User.username)).where(
            col(User.username_key).in_(candidates), col(User.deleted_at).is_(None)
        )
    )
    return {key: username for key, username in rows}


async def render(session: AsyncSession, body: str) -> str:
    """A post's Markdown as HTML, its mentions of members linked to their
    profiles and its uploaded images carrying their size."""
    return markdown.render(body, mentions=await resolve(session, body), images=await uploads.image_sizes(session, body))


async def mentioned_users(session: AsyncSession, body: str, *, limit: int = MAX_NOTIFIED) -> list[User]:
    """The members ``body`` mentions, in the order they first appear, at most ``limit``."""
    known = await resolve(session, body)
    names = markdown.mentioned(body, known)[:limit]
    if not names:
        return []
    users = (await session.scalars(select(User).where(col(User.username_key).in_([n.casefold() for n in names])))).all()
    by_key = {u.username_key: u for u in users}
    return [by_key[n.casefold()] for n in names if n.casefold() in by_key]


async def suggest(session: AsyncSession, prefix: str, *, limit: int = MAX_SUGGESTIONS) -> Sequence[User]:
    """Members whose username starts with ``prefix`` (case-insensitive), a range
    scan of the unique index on ``username_key``."""
    key = prefix.strip().lstrip("@").casefold()
    if not key or len(key) > 30:
        return []
    # The range [key, key + U+FFFF) is the prefix match, and uses the index on
    # both databases whatever their collation (LIKE may not).
    return (
        await session.scalars(
            select(User)
            .where(
                col(User.username_key) >= key,
                col(User.username_key) < key + "\uffff",
                col(User.deleted_at).is_(None),
                col(User.banned_at).is_(None),
            )
            .order_by(col(User.username_key))
            .limit(limit)
        )
    ).all()
