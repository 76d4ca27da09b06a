"""A member's own data: download it (JSON) and delete the account.

Deleting keeps the ``users`` row, so that posts, votes counted on others'
posts and moderation records keep pointing at something, but strips it of
everything personal: the username becomes ``deleted-user-N`` and the display
name ``deleted user N``; email, password, language, sessions, API tokens,
notifications, notification choices, watches and pending emails go. Posts
stay, so threads stay readable. Moderation's audit log stores user ids, never
a copy of a name, so its entries keep the action and now show the deleted
user; hooks (``forum.hooks.Hooks.account_deleted``) let other packages remove
what they hold about the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum import hooks
from forum.clock import utcnow
from forum.errors import NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.models import (
    ApiToken,
    Notification,
    NotificationPreference,
    OutboxEmail,
    Post,
    ThreadWatch,
    Upload,
    User,
    UserSession,
    Vote,
)
from forum.models.user import DELETED_PREFIX
from forum.security import verify_password

#: what a deleted account's password hash is: no password ever matches it
UNUSABLE_PASSWORD = "!deleted"

EXPORT_FORMAT = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


async def export_data(session: AsyncSession, user: User) -> dict[str, Any]:
    """Everything the forum holds that ``user`` wrote or chose, and only that."""
    posts = await session.scalars(
        select(Post)
        .options(joinedload(Post.thread))  # type: ignore[arg-type]
        .where(col(Post.author_id) == user.id)
        .order_by(col(Post.id))
    )
    votes = await session.scalars(select(Vote).where(col(Vote.user_id) == user.id).order_by(col(Vote.id)))
    notifications = await session.scalars(
        select(Notification).where(col(Notification.user_id) == user.id).order_by(col(Notification.id))
    )
    watches = await session.scalars(
        select(ThreadWatch).where(col(ThreadWatch.user_id) == user.id).order_by(col(ThreadWatch.thread_id))
    )
    sessions = await session.scalars(
        select(UserSession).where(col(UserSession.user_id) == user.id).order_by(col(UserSession.created_at))
    )
    preference = await session.get(NotificationPreference, user.id)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _time(utcnow()),
        "profile": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "email_confirmed_at": _time(user.email_confirmed_at),
            "role": user.role,
            "locale": user.locale,
            "created_at": _time(user.created_at),
        },
        "email_choices": (
            {"own": preference.email_own, "watched": preference.email_watched} if preference is not None else None
        ),
        "posts": [
            {
                "id": post.id,
                "thread_id": post.thread_id,
                "thread_title": post.thread.title if post.is_first else None,
                "is_question": post.is_first,
                "body": post.body,
                "created_at": _time(post.created_at),
                "edited_at": _time(post.edited_at),
                "deleted": post.deleted_at is not None,
            }
            for post in posts
        ],
        "votes": [{"post_id": v.post_id, "created_at": _time(v.created_at)} for v in votes],
        "notifications": [
            {
                "kind": n.kind,
                "thread_id": n.thread_id,
                "post_id": n.post_id,
                "created_at": _time(n.created_at),
                "read_at": _time(n.read_at),
            }
            for n in notifications
        ],
        "watches": [{"thread_id": w.thread_id, "watching": w.watching} for w in watches],
        "sessions": [{"created_at": _time(s.created_at), "last_seen_at": _time(s.last_seen_at)} for s in sessions],
    }


def check_password_to_delete(user: User, password: str) -> None:
    """The owner confirms a deletion with their password."""
    if not verify_password(password, user.password_hash):
        raise ValidationError({"delete_password": _("That is not your current password.")})


def deleted_username(user_id: int) -> str:
    return f"{DELETED_PREFIX}{user_id}"


async def delete_account(session: AsyncSession, user: User) -> bool:
    """Removes ``user``'s personal data and closes the account; says whether
    anything changed (a deleted account stays deleted). The last administrator
    cannot be deleted: nobody could manage the forum then."""
    if user.deleted_at is not None:
        return False
    if user.role == "admin":
        others = await session.scalar(
            select(col(User.id))
            .where(col(User.role) == "admin", col(User.id) != user.id, col(User.deleted_at).is_(None))
            .limit(1)
        )
        if others is None:
            raise NotAllowed(_("The last administrator's account cannot be deleted."))
    uid = user.id
    assert uid is not None
    notification_ids = select(col(Notification.id)).where(col(Notification.user_id) == uid)
    await session.execute(delete(OutboxEmail).where(col(OutboxEmail.notification_id).in_(notification_ids)))
    for model, column in (
        (Notification, Notification.user_id),
        (NotificationPreference, NotificationPreference.user_id),
        (ThreadWatch, ThreadWatch.user_id),
        (UserSession, UserSession.user_id),
        (ApiToken, ApiToken.user_id),
    ):
        await session.execute(delete(model).where(column == uid))  # type: ignore[arg-type]
    user.username = user.username_key = deleted_username(uid)
    user.display_name = f"deleted user {uid}"
    user.email = user.email_key = None
    user.email_confirmed_at = None
    user.password_hash = UNUSABLE_PASSWORD
    user.locale = None
    # The avatar is no longer served (its row goes; the stored file is left unreachable).
    if user.avatar_key is not None:
        await session.execute(delete(Upload).where(col(Upload.key) == user.avatar_key, col(Upload.kind) == "avatar"))
        user.avatar_key = None
    user.deleted_at = utcnow()
    session.add(user)
    await session.flush()
    for hook in hooks.active().account_deleted:
        await hook(session, uid)
    return True
