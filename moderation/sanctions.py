"""Warnings, silences, suspensions and bans, and admins granting roles.

A sanction is a row the user can read (kind, reason, end) plus the state on
their account that forum enforces: ``silenced_until`` (can read, cannot
post), ``suspended_until`` (cannot log in; every open session ends at once)
and ``banned_at``. Each is audited in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import ValidationError
from forum.i18n import gettext as _
from forum.i18n import lazy
from forum.models import Post, User
from forum.services import state
from forum.textutil import one_line
from moderation import audit
from moderation.models import Flag, Resolution, Sanction, SanctionKind
from moderation.permissions import check_sanction, check_set_role

REASON_MAX = 1000
# Offered durations, in hours, with their labels.
DURATIONS: dict[int, str] = {
    1: lazy("1 hour"),
    24: lazy("1 day"),
    72: lazy("3 days"),
    168: lazy("1 week"),
    720: lazy("30 days"),
    8760: lazy("1 year"),
}
KIND_LABELS: dict[str, str] = {
    SanctionKind.warning.value: lazy("Warning"),
    SanctionKind.silence.value: lazy("Silenced"),
    SanctionKind.suspension.value: lazy("Suspended"),
    SanctionKind.ban.value: lazy("Banned"),
}
LIFTABLE = (SanctionKind.silence.value, SanctionKind.suspension.value, SanctionKind.ban.value)


def check_reason(reason: str) -> str:
    reason = one_line(reason)
    if not reason:
        raise ValidationError({"reason": _("Give a reason: the user will see it.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("Reasons can have at most %(n)s characters.", n=REASON_MAX)})
    return reason


def check_hours(hours: int | None) -> int:
    if hours not in DURATIONS:
        raise ValidationError({"hours": _("Choose how long it lasts.")})
    return hours


async def _record(
    session: AsyncSession,
    user: User,
    *,
    actor: User,
    kind: SanctionKind,
    reason: str,
    post: Post | None,
    before: dict[str, object],
    hours: int | None = None,
) -> Sanction:
    now = utcnow()
    assert user.id is not None
    sanction = Sanction(
        user_id=user.id,
        kind=kind.value,
        reason=reason,
        moderator_id=actor.id,
        post_id=post.id if post is not None else None,
        created_at=now,
        ends_at=now + timedelta(hours=hours) if hours else None,
    )
    session.add(sanction)
    await session.flush()
    action = {
        SanctionKind.warning: "user.warn",
        SanctionKind.silence: "user.silence",
        SanctionKind.suspension: "user.suspend",
        SanctionKind.ban: "user.ban",
    }[kind]
    await audit.record(
        session,
        actor=actor,
        action=action,
        target=user,
        subject=user,
        reason=reason,
        before=before,
        after={**audit.user_snapshot(user), "sanction_id": sanction.id, "ends_at": sanction.ends_at},
    )
    return sanction


async def warn(
    session: AsyncSession, user: User, *, actor: User | None, reason: str, post: Post | None = None
) -> Sanction:
    """A message the user sees on every page until they acknowledge it."""
    moderator = check_sanction(actor, user)
    reason = check_reason(reason)
    before = audit.user_snapshot(user)
    return await _record(
        session, user, actor=moderator, kind=SanctionKind.warning, reason=reason, post=post, before=before
    )


async def silence(
    session: AsyncSession, user: User, *, actor: User | None, reason: str, hours: int | None, post: Post | None = None
) -> Sanction:
    """The user can read but not post until the end."""
    moderator = check_sanction(actor, user)
    reason = check_reason(reason)
    hours = check_hours(hours)
    before = audit.user_snapshot(user)
    await state.silence_user(session, user, until=utcnow() + timedelta(hours=hours))
    return await _record(
        session,
        user,
        actor=moderator,
        kind=SanctionKind.silence,
        reason=reason,
        post=post,
        before=before,
        hours=hours,
    )


async def suspend(
    session: AsyncSession, user: User, *, actor: User | None, reason: str, hours: int | None, post: Post | None = None
) -> Sanction:
    """The user cannot log in until the end; their open sessions end now."""
    moderator = check_sanction(actor, user)
    reason = check_reason(reason)
    hours = check_hours(hours)
    before = audit.user_snapshot(user)
    await state.suspend_user(session, user, until=utcnow() + timedelta(hours=hours))
    return await _record(
        session,
        user,
        actor=moderator,
        kind=SanctionKind.suspension,
        reason=reason,
        post=post,
        before=before,
        hours=hours,
    )


async def ban(
    session: AsyncSession, user: User, *, actor: User | None, reason: str, post: Post | None = None
) -> Sanction | None:
    """For good (until lifted); their open sessions end now. None if the
    user was already banned."""
    moderator = check_sanction(actor, user)
    reason = check_reason(reason)
    before = audit.user_snapshot(user)
    if not await state.ban_user(session, user):
        return None
    return await _record(session, user, actor=moderator, kind=SanctionKind.ban, reason=reason, post=post, before=before)


async def lift(session: AsyncSession, user: User, *, actor: User | None, kind: str, reason: str = "") -> bool:
    """Ends a silence, suspension or ban early."""
    moderator = check_sanction(actor, user)
    if kind not in LIFTABLE:
        raise ValidationError({"kind": _("Choose what to lift.")})
    reason = one_line(reason)[:REASON_MAX]
    before = audit.user_snapshot(user)
    change = {
        SanctionKind.silence.value: state.unsilence_user,
        SanctionKind.suspension.value: state.unsuspend_user,
        SanctionKind.ban.value: state.unban_user,
    }[kind]
    changed = await change(session, user)
    now = utcnow()
    result = await session.execute(
        update(Sanction)
        .where(
            col(Sanction.user_id) == user.id,
            col(Sanction.kind) == kind,
            col(Sanction.lifted_at).is_(None),
            (col(Sanction.ends_at).is_(None)) | (col(Sanction.ends_at) > now),
        )
        .values(lifted_at=now, lifted_by_id=moderator.id)
    )
    if not changed and not result.rowcount:  # type: ignore[attr-defined]
        return False
    await audit.record(
        session,
        actor=moderator,
        action="user.lift",
        target=user,
        subject=user,
        reason=reason,
        before=before,
        after={**audit.user_snapshot(user), "lifted": kind},
    )
    return True


ACTIONS = ("warn", "silence", "suspend", "ban", "lift")


async def apply(
    session: AsyncSession,
    user: User,
    *,
    action: str,
    actor: User | None,
    reason: str,
    hours: int | None = None,
    lift_kind: str = "",
    post_id: int | None = None,
) -> bool:
    """One of ``ACTIONS`` from the moderation form; ``post_id`` names the
    post that prompted it (ignored unless it is the user's)."""
    post = await session.get(Post, post_id) if post_id else None
    if post is not None and post.author_id != user.id:
        post = None
    if action == "warn":
        await warn(session, user, actor=actor, reason=reason, post=post)
    elif action == "silence":
        await silence(session, user, actor=actor, reason=reason, hours=hours, post=post)
    elif action == "suspend":
        await suspend(session, user, actor=actor, reason=reason, hours=hours, post=post)
    elif action == "ban":
        return await ban(session, user, actor=actor, reason=reason, post=post) is not None
    elif action == "lift":
        return await lift(session, user, actor=actor, kind=lift_kind, reason=reason)
    else:
        raise ValueError(f"unknown sanction action {action!r}")
    return True


async def set_role(session: AsyncSession, user: User, role: str, *, actor: User | None, reason: str = "") -> bool:
    """Admins grant or remove the staff and moderator roles."""
    admin = check_set_role(actor, user, role)
    if user.role == role:
        return False
    before = audit.user_snapshot(user)
    user.role = role
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        actor=admin,
        action="user.role",
        target=user,
        subject=user,
        reason=one_line(reason)[:REASON_MAX],
        before=before,
        after=audit.user_snapshot(user),
    )
    return True


@dataclass
class UserRecord:
    """What a moderator weighs before sanctioning: the account's age and
    state, its posts, how many were removed or flagged, and past sanctions."""

    user: User
    posts: int
    removed_posts: int
    upheld_flags: int
    sanctions: Sequence[Sanction]
    recent_posts: Sequence[Post]


async def load_user_record(session: AsyncSession, user: User, *, recent: int = 20) -> UserRecord:
    """Three queries whatever the user's history."""
    posts, removed, upheld = (
        await session.execute(
            select(
                select(func.count()).select_from(Post).where(col(Post.author_id) == user.id).scalar_subquery(),
                select(func.count())
                .select_from(Post)
                .where(
                    col(Post.author_id) == user.id,
                    or_(col(Post.hidden_at).is_not(None), col(Post.deleted_at).is_not(None)),
                )
                .scalar_subquery(),
                select(func.count())
                .select_from(Flag)
                .join(Post, col(Post.id) == col(Flag.post_id))
                .where(col(Post.author_id) == user.id, col(Flag.resolution) == Resolution.upheld.value)
                .scalar_subquery(),
            )
        )
    ).one()
    past = (
        await session.scalars(
            select(Sanction)
            .options(joinedload(Sanction.moderator))  # type: ignore[arg-type]
            .where(col(Sanction.user_id) == user.id)
            .order_by(col(Sanction.created_at).desc(), col(Sanction.id).desc())
        )
    ).all()
    recent_posts = (
        await session.scalars(
            select(Post)
            .options(joinedload(Post.thread))  # type: ignore[arg-type]
            .where(col(Post.author_id) == user.id)
            .order_by(col(Post.created_at).desc())
            .limit(recent)
        )
    ).all()
    return UserRecord(user, posts or 0, removed or 0, upheld or 0, past, recent_posts)
