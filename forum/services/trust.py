"""Whether an account is trusted yet: the one rule behind every limit on new
accounts (links and posting pace in ``moderation.spam``, uploads in
``forum.services.uploads``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.models import Post, User


async def is_trusted(session: AsyncSession, user: User, settings: Settings) -> bool:
    """Staff are trusted by role; members once their account is old enough
    (``trusted_after_days``) and enough of their posts are visible
    (``trusted_after_posts``)."""
    if user.is_staff:
        return True
    if user.created_at > utcnow() - timedelta(days=settings.trusted_after_days):
        return False
    if settings.trusted_after_posts <= 0:
        return True
    visible = (
        select(col(Post.id))
        .where(
            col(Post.author_id) == user.id,
            col(Post.hidden_at).is_(None),
            col(Post.deleted_at).is_(None),
        )
        .limit(settings.trusted_after_posts)
        .subquery()
    )
    return (await session.scalar(select(func.count()).select_from(visible)) or 0) >= settings.trusted_after_posts
