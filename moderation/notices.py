"""What a user is told about moderation: notices about their posts, the
warnings they must acknowledge, and their own moderation page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import NotFound
from forum.i18n import gettext as _
from forum.models import Post, User
from forum.permissions import is_moderator
from moderation.models import Flag, Notice, NoticeKind, Sanction, SanctionKind


async def notify(session: AsyncSession, post: Post, *, kind: NoticeKind, reason: str = "") -> Notice:
    """Tells a post's author what happened to it, and why."""
    notice = Notice(user_id=post.author_id, kind=kind.value, post_id=post.id, reason=reason)
    session.add(notice)
    await session.flush()
    return notice


def _unacknowledged_warning(user_id):  # type: ignore[no-untyped-def]
    return (
        col(Sanction.user_id) == user_id,
        col(Sanction.kind) == SanctionKind.warning.value,
        col(Sanction.acknowledged_at).is_(None),
    )


def _counts(queue):  # type: ignore[no-untyped-def]
    """Unread notices, the review queue's size (moderators) and unacknowledged
    warnings of the user ``:user_id``, in one statement built once."""
    return select(
        select(func.count())
        .select_from(Notice)
        .where(col(Notice.user_id) == bindparam("user_id"), col(Notice.read_at).is_(None))
        .scalar_subquery(),
        queue,
        select(func.count())
        .select_from(Sanction)
        .where(*_unacknowledged_warning(bindparam("user_id")))  # type: ignore[arg-type]
        .scalar_subquery(),
    )


_COUNTS = _counts(literal(None))
_COUNTS_FOR_MODERATOR = _counts(
    select(func.count(func.distinct(Flag.post_id))).where(col(Flag.resolved_at).is_(None)).scalar_subquery()
)


@dataclass
class Banner:
    """What every page shows a signed-in user: warnings to acknowledge, unread
    notices, and for moderators the size of the review queue."""

    unread_notices: int = 0
    queue_size: int | None = None
    warnings: Sequence[Sanction] = field(default_factory=list)
    silenced_until: datetime | None = None


async def load_banner(session: AsyncSession, user: User) -> Banner:
    """One query of indexed counts; a second only while a warning waits."""
    statement = _COUNTS_FOR_MODERATOR if is_moderator(user) else _COUNTS
    unread, queue_size, warnings = (await session.execute(statement, {"user_id": user.id})).one()
    silenced = user.silenced_until if user.silenced_until and user.silenced_until > utcnow() else None
    banner = Banner(unread_notices=unread or 0, queue_size=queue_size, silenced_until=silenced)
    if warnings:
        banner.warnings = (
            await session.scalars(
                select(Sanction)
                .where(*_unacknowledged_warning(user.id))  # type: ignore[arg-type]
                .order_by(col(Sanction.created_at))
            )
        ).all()
    return banner


async def acknowledge_warning(session: AsyncSession, sanction_id: int, *, user: User) -> bool:
    """The user has read a warning; it stops showing on every page."""
    sanction = await session.get(Sanction, sanction_id)
    if sanction is None or sanction.user_id != user.id or sanction.kind != SanctionKind.warning.value:
        raise NotFound(_("No such warning."))
    if sanction.acknowledged_at is not None:
        return False
    sanction.acknowledged_at = utcnow()
    session.add(sanction)
    await session.flush()
    return True


@dataclass
class MyModeration:
    user: User
    sanctions: Sequence[Sanction]
    notices: Sequence[Notice]


async def load_my_moderation(session: AsyncSession, user: User, *, limit: int = 100) -> MyModeration:
    """A user's own warnings, sanctions (reason, end) and notices, newest first."""
    sanctions = (
        await session.scalars(
            select(Sanction)
            .where(col(Sanction.user_id) == user.id)
            .order_by(col(Sanction.created_at).desc(), col(Sanction.id).desc())
            .limit(limit)
        )
    ).all()
    notices = (
        await session.scalars(
            select(Notice)
            .options(joinedload(Notice.post).joinedload(Post.thread))  # type: ignore[arg-type]
            .where(col(Notice.user_id) == user.id)
            .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
            .limit(limit)
        )
    ).all()
    return MyModeration(user=user, sanctions=sanctions, notices=notices)


async def mark_notices_read(session: AsyncSession, *, user: User) -> int:
    result = await session.execute(
        update(Notice).where(col(Notice.user_id) == user.id, col(Notice.read_at).is_(None)).values(read_at=utcnow())
    )
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


async def forget_user(session: AsyncSession, user_id: int) -> None:
    """An account was deleted: the notices addressed to the person go. Sanctions
    and the audit log stay (they hold ids and the moderators' reasons, not the
    person's name), as the record of what moderators did."""
    await session.execute(delete(Notice).where(col(Notice.user_id) == user_id))
