"""The demo forum looks like one that has lived: members joined before they
posted, regulars are trusted, notifications are as old as what they tell of."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.clock import utcnow
from forum.demo import load_demo
from forum.models import Notification, Post, User
from moderation import spam


async def test_demo_members_and_notifications_have_realistic_ages(db, settings):
    async with db.begin() as s:
        await load_demo(s)
    now = utcnow()
    async with db() as s:
        users = {u.username: u for u in await s.scalars(select(User))}
        posts = list(await s.scalars(select(Post)))
        notes = list(await s.scalars(select(Notification)))
        tom = users["tom_h"]
        assert tom.created_at < now - timedelta(days=settings.trusted_after_days)
        assert await spam.is_trusted(s, tom, settings)
    for post in posts:
        assert users_by_id(users)[post.author_id].created_at <= post.created_at
    assert len({u.created_at.date() for u in users.values()}) > 3  # not all "member since" today
    assert notes and all(n.created_at < now - timedelta(minutes=30) for n in notes if n.post_id is not None)
    unread = [n for n in notes if n.read_at is None]
    assert len(unread) < len(notes) / 2
    assert all(n.created_at >= now - timedelta(days=2) for n in unread)


def users_by_id(users: dict[str, User]) -> dict[int, User]:
    return {u.id: u for u in users.values() if u.id is not None}
