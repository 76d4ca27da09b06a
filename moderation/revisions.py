"""A post's edit history, as moderators see it: every version, who wrote
it, when, and the reason given for the edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum import markdown
from forum.models import Post, PostRevision, User


@dataclass(frozen=True)
class Version:
    number: int
    body: str
    title: str | None
    written_at: datetime
    # Who wrote this version: the author for the first, the editor after.
    written_by: User | None
    # The reason given for the edit that produced this version.
    reason: str
    current: bool

    @property
    def html(self) -> Markup:
        """Rendered like a post: Markdown with raw HTML off, sanitised."""
        return Markup(markdown.render(self.body))


async def load_history(session: AsyncSession, post: Post) -> list[Version]:
    """Newest first; one query. ``post.author`` and ``post.thread`` loaded."""
    revisions = (
        await session.scalars(
            select(PostRevision)
            .options(joinedload(PostRevision.editor))  # type: ignore[arg-type]
            .where(col(PostRevision.post_id) == post.id)
            .order_by(col(PostRevision.id))
        )
    ).all()
    versions: list[Version] = []
    writer: User | None = post.author
    reason = ""
    for number, rev in enumerate(revisions, start=1):
        versions.append(Version(number, rev.body, rev.title, rev.written_at, writer, reason, current=False))
        writer, reason = rev.editor, rev.reason
    versions.append(
        Version(
            len(revisions) + 1,
            post.body,
            post.thread.title if post.is_first else None,
            post.edited_at or post.created_at,
            writer,
            reason,
            current=True,
        )
    )
    versions.reverse()
    return versions
