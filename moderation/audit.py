"""The append-only audit log: every moderator and admin action, with who,
what, on which object, why, when and what it was before.

``record`` is the only writer; it adds a row in the caller's transaction, so
an action and its entry are saved together or not at all. Nothing in the
app updates or deletes entries (and database triggers refuse it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.hooks import AuditChange
from forum.i18n import lazy
from forum.models import Category, Post, Thread, User
from forum.pagination import Page
from moderation.models import AuditEntry, Flag, Sanction, Word

# Action names and their labels on the audit page.
ACTIONS: dict[str, str] = {
    "post.hide": lazy("Hid a post"),
    "post.auto_hide": lazy("Hid a post (flag threshold)"),
    "post.hold": lazy("Held a post for review"),
    "post.restore": lazy("Restored a post"),
    "post.delete": lazy("Deleted a post"),
    "post.edit": lazy("Edited a post"),
    "flags.dismiss": lazy("Dismissed flags"),
    "thread.lock": lazy("Locked a thread"),
    "thread.unlock": lazy("Unlocked a thread"),
    "thread.pin": lazy("Pinned a thread"),
    "thread.unpin": lazy("Unpinned a thread"),
    "thread.move": lazy("Moved a thread"),
    "thread.close_duplicate": lazy("Closed a thread as a duplicate"),
    "thread.reopen": lazy("Reopened a duplicate thread"),
    "user.warn": lazy("Warned a user"),
    "user.silence": lazy("Silenced a user"),
    "user.suspend": lazy("Suspended a user"),
    "user.ban": lazy("Banned a user"),
    "user.lift": lazy("Lifted a sanction"),
    "user.role": lazy("Changed a user's role"),
    "user.delete_account": lazy("Deleted a user's account"),
    "word.add": lazy("Added a word"),
    "word.remove": lazy("Removed a word"),
    "tag.create": lazy("Created a tag"),
    "tag.edit": lazy("Edited a tag's labels"),
    "tag.rename": lazy("Renamed a tag"),
    "tag.merge": lazy("Merged a tag into another"),
    "tag.delete": lazy("Deleted a tag"),
    "category.tags": lazy("Restricted a category's tags"),
    "category.create": lazy("Created a category"),
    "category.edit": lazy("Edited a category"),
    "category.move": lazy("Reordered the categories"),
    "category.archive": lazy("Archived a category"),
    "category.unarchive": lazy("Brought back an archived category"),
    "category.sla": lazy("Changed a category's SLA targets"),
    "banner.create": lazy("Created a banner"),
    "banner.edit": lazy("Edited a banner"),
    "banner.end": lazy("Ended a banner"),
}

TARGET_LABELS: dict[str, str] = {
    "post": lazy("post"),
    "thread": lazy("thread"),
    "user": lazy("user"),
    "word": lazy("word"),
    "sanction": lazy("sanction"),
    "flag": lazy("flag"),
    "category": lazy("category"),
    "tag": lazy("tag"),
    "banner": lazy("banner"),
}

Target = Post | Thread | User | Word | Sanction | Flag | Category


def _target_type(target: Target) -> str:
    return {
        Post: "post",
        Thread: "thread",
        User: "user",
        Word: "word",
        Sanction: "sanction",
        Flag: "flag",
        Category: "category",
    }[type(target)]


def _json(value: dict[str, Any] | None) -> str:
    def default(obj: object) -> str:
        if isinstance(obj, datetime | date):
            return obj.isoformat()
        return str(obj)

    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True, default=default)


def post_snapshot(post: Post, thread: Thread | None = None) -> dict[str, Any]:
    """What a post was: its text and state (and its thread's title for an
    opening post)."""
    snap: dict[str, Any] = {
        "body": post.body,
        "hidden_at": post.hidden_at,
        "hidden_reason": post.hidden_reason,
        "deleted_at": post.deleted_at,
        "thread_id": post.thread_id,
    }
    if post.is_first and thread is not None:
        snap["title"] = thread.title
    return snap


def thread_snapshot(thread: Thread) -> dict[str, Any]:
    return {
        "title": thread.title,
        "category_id": thread.category_id,
        "locked_at": thread.locked_at,
        "pinned_at": thread.pinned_at,
        "hidden_at": thread.hidden_at,
        "deleted_at": thread.deleted_at,
        "duplicate_of_id": thread.duplicate_of_id,
    }


def user_snapshot(user: User) -> dict[str, Any]:
    return {
        "role": user.role,
        "silenced_until": user.silenced_until,
        "suspended_until": user.suspended_until,
        "banned_at": user.banned_at,
    }


async def record(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    target: Target,
    subject: User | int | None = None,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Adds one entry. ``actor`` None means the system acted; ``subject`` is
    the user concerned (the author of a post, the sanctioned user)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    subject_id = subject.id if isinstance(subject, User) else subject
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=_target_type(target),
        target_id=target.id,
        subject_id=subject_id,
        reason=reason,
        before=_json(before),
        after=_json(after),
        created_at=at or utcnow(),
    )
    session.add(entry)
    await session.flush()
    return entry


async def record_change(session: AsyncSession, change: AuditChange) -> None:
    """Records a change a forum service reports through ``forum.hooks``
    (registered by ``moderation.install``)."""
    if change.action not in ACTIONS:
        raise ValueError(f"unknown audit action {change.action!r}")
    session.add(
        AuditEntry(
            actor_id=change.actor.id if change.actor is not None else None,
            action=change.action,
            target_type=change.target_type,
            target_id=change.target_id,
            subject_id=change.subject_id,
            reason=change.reason,
            before=_json(change.before),
            after=_json(change.after),
            created_at=utcnow(),
        )
    )
    await session.flush()


#: Actions on posts, threads, flags and members' standing: what moderators may
#: read in the log. Role changes and the word lists stay with administrators.
MODERATION_ACTIONS = tuple(
    a for a in ACTIONS if a.split(".")[0] in ("post", "thread", "flags", "user") and a != "user.role"
)


def readable_actions(*, admin: bool) -> dict[str, Any]:
    """The actions a reader of the log may see, with their labels."""
    return dict(ACTIONS) if admin else {a: ACTIONS[a] for a in MODERATION_ACTIONS}


@dataclass(frozen=True)
class AuditFilter:
    actor: User | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    #: only these actions (None: all); moderators read moderation actions
    actions: tuple[str, ...] | None = None


async def browse(session: AsyncSession, filters: AuditFilter, *, page: int = 1, size: int = 50) -> Page[AuditEntry]:
    """Newest first; two indexed queries whatever the log's size."""
    where: list[ColumnElement[bool]] = []
    if filters.actor is not None:
        where.append(col(AuditEntry.actor_id) == filters.actor.id)
    if filters.action:
        where.append(col(AuditEntry.action) == filters.action)
    if filters.actions is not None:
        where.append(col(AuditEntry.action).in_(filters.actions))
    if filters.since is not None:
        where.append(col(AuditEntry.created_at) >= datetime.combine(filters.since, time.min))
    if filters.until is not None:
        where.append(col(AuditEntry.created_at) < datetime.combine(filters.until + timedelta(days=1), time.min))
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    rows = await session.scalars(
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor), joinedload(AuditEntry.subject))  # type: ignore[arg-type]
        .where(*where)
        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    return Page(items=rows.all(), number=page, size=size, total=total)


def decoded(entry: AuditEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads(entry.before or "{}"), json.loads(entry.after or "{}")


__all__: Sequence[str] = ["ACTIONS", "AuditFilter", "browse", "record"]
