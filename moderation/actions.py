"""What moderators do to posts and threads.

Each action checks the actor's permission, changes state through
``forum.services.state``, resolves the post's open flags, tells the author
and writes one audit entry, all in the caller's transaction: a failure at
any step leaves nothing behind. Each returns whether anything changed;
doing it twice changes nothing and audits nothing the second time.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from forum.errors import NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Category, Post, Thread, User
from forum.services import state
from forum.services import tags as tag_service
from forum.services import threads as thread_service
from forum.textutil import one_line
from moderation import audit
from moderation.flags import resolve_open_flags
from moderation.models import NoticeKind, Resolution
from moderation.notices import notify
from moderation.permissions import check_moderate

REASON_MAX = 500


def check_reason(reason: str, *, required: bool = False) -> str:
    reason = one_line(reason)
    if required and not reason:
        raise ValidationError({"reason": _("Give a reason: the author and the audit log will see it.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("Reasons can have at most %(n)s characters.", n=REASON_MAX)})
    return reason


async def dismiss_flags(session: AsyncSession, post: Post, *, actor: User | None, reason: str = "") -> bool:
    """The flags were wrong: close them, and show the post again if flags or
    the watched words hid it."""
    moderator = check_moderate(actor)
    reason = check_reason(reason)
    before = audit.post_snapshot(post, post.thread)
    closed = await resolve_open_flags(session, post, by=moderator, resolution=Resolution.dismissed)
    restored = False
    if post.hidden_reason in ("flags", "review") and post.deleted_at is None:
        restored = await state.restore_post(session, post)
    if not closed and not restored:
        return False
    if restored:
        await notify(session, post, kind=NoticeKind.post_restored, reason=reason)
    await audit.record(
        session,
        actor=moderator,
        action="flags.dismiss",
        target=post,
        subject=post.author_id,
        reason=reason,
        before=before,
        after={**audit.post_snapshot(post, post.thread), "flags_closed": closed},
    )
    return True


async def hide_post(session: AsyncSession, post: Post, *, actor: User | None, reason: str = "") -> bool:
    moderator = check_moderate(actor)
    reason = check_reason(reason)
    before = audit.post_snapshot(post, post.thread)
    changed = await state.hide_post(session, post, reason="moderator")
    closed = await resolve_open_flags(session, post, by=moderator, resolution=Resolution.upheld)
    if not changed and not closed:
        return False
    if changed:
        await notify(session, post, kind=NoticeKind.post_hidden, reason=reason)
    await audit.record(
        session,
        actor=moderator,
        action="post.hide",
        target=post,
        subject=post.author_id,
        reason=reason,
        before=before,
        after={**audit.post_snapshot(post, post.thread), "flags_closed": closed},
    )
    return True


async def restore_post(session: AsyncSession, post: Post, *, actor: User | None, reason: str = "") -> bool:
    """Shows a hidden or deleted post again (its thread too, for an opening
    post); open flags on it are dismissed."""
    moderator = check_moderate(actor)
    reason = check_reason(reason)
    before = audit.post_snapshot(post, post.thread)
    changed = await state.restore_post(session, post)
    closed = await resolve_open_flags(session, post, by=moderator, resolution=Resolution.dismissed)
    if not changed and not closed:
        return False
    if changed:
        await notify(session, post, kind=NoticeKind.post_restored, reason=reason)
    await audit.record(
        session,
        actor=moderator,
        action="post.restore",
        target=post,
        subject=post.author_id,
        reason=reason,
        before=before,
        after={**audit.post_snapshot(post, post.thread), "flags_closed": closed},
    )
    return True


async def delete_post(session: AsyncSession, post: Post, *, actor: User | None, reason: str = "") -> bool:
    """Soft delete: kept for audit and restorable. Deleting the opening post
    deletes the thread."""
    moderator = check_moderate(actor)
    reason = check_reason(reason)
    before = audit.post_snapshot(post, post.thread)
    changed = await state.delete_post(session, post)
    closed = await resolve_open_flags(session, post, by=moderator, resolution=Resolution.upheld)
    if not changed and not closed:
        return False
    if changed:
        await notify(session, post, kind=NoticeKind.post_deleted, reason=reason)
    await audit.record(
        session,
        actor=moderator,
        action="post.delete",
        target=post,
        subject=post.author_id,
        reason=reason,
        before=before,
        after={**audit.post_snapshot(post, post.thread), "flags_closed": closed},
    )
    return True


async def edit_post(
    session: AsyncSession,
    post: Post,
    *,
    actor: User | None,
    body: str,
    title: str | None,
    reason: str,
    limits: thread_service.Limits,
) -> bool:
    """Edits someone's post with a reason the author sees; the old text stays
    in the post's revisions and in the audit entry."""
    moderator = check_moderate(actor)
    reason = check_reason(reason, required=True)
    before = audit.post_snapshot(post, post.thread)
    changed = await thread_service.edit_post(
        session, post, editor=moderator, body=body, title=title, limits=limits, reason=reason
    )
    if not changed:
        return False
    if post.author_id != moderator.id:
        await notify(session, post, kind=NoticeKind.post_edited, reason=reason)
    await audit.record(
        session,
        actor=moderator,
        action="post.edit",
        target=post,
        subject=post.author_id,
        reason=reason,
        before=before,
        after=audit.post_snapshot(post, post.thread),
    )
    return True


async def _thread_action(
    session: AsyncSession,
    thread: Thread,
    *,
    actor: User | None,
    action: str,
    reason: str,
    change,  # type: ignore[no-untyped-def]
) -> bool:
    moderator = check_moderate(actor)
    reason = check_reason(reason)
    before = audit.thread_snapshot(thread)
    if not await change():
        return False
    await audit.record(
        session,
        actor=moderator,
        action=action,
        target=thread,
        subject=thread.author_id,
        reason=reason,
        before=before,
        after=audit.thread_snapshot(thread),
    )
    return True


async def lock_thread(session: AsyncSession, thread: Thread, *, actor: User | None, reason: str = "") -> bool:
    return await _thread_action(
        session,
        thread,
        actor=actor,
        action="thread.lock",
        reason=reason,
        change=lambda: state.lock_thread(session, thread),
    )


async def unlock_thread(session: AsyncSession, thread: Thread, *, actor: User | None, reason: str = "") -> bool:
    return await _thread_action(
        session,
        thread,
        actor=actor,
        action="thread.unlock",
        reason=reason,
        change=lambda: state.unlock_thread(session, thread),
    )


async def pin_thread(session: AsyncSession, thread: Thread, *, actor: User | None, reason: str = "") -> bool:
    return await _thread_action(
        session,
        thread,
        actor=actor,
        action="thread.pin",
        reason=reason,
        change=lambda: state.pin_thread(session, thread),
    )


async def unpin_thread(session: AsyncSession, thread: Thread, *, actor: User | None, reason: str = "") -> bool:
    return await _thread_action(
        session,
        thread,
        actor=actor,
        action="thread.unpin",
        reason=reason,
        change=lambda: state.unpin_thread(session, thread),
    )


async def move_thread(
    session: AsyncSession,
    thread: Thread,
    category: Category | None,
    *,
    actor: User | None,
    reason: str = "",
    drop_tags: bool = False,
) -> bool:
    """Moves the thread; into a category restricted to some tags only without
    the others (refused, or with ``drop_tags`` taken off: the audit entry
    lists the tags before and after)."""
    moderator = check_moderate(actor)
    if category is None:
        raise ValidationError({"category": _("Choose a category.")})
    reason = check_reason(reason)
    assert thread.id is not None
    before = audit.thread_snapshot(thread) | {"tags": await tag_service.names_of(session, thread.id)}
    if not await state.move_thread(session, thread, category, drop_tags=drop_tags):
        return False
    after = audit.thread_snapshot(thread) | {"tags": await tag_service.names_of(session, thread.id)}
    await audit.record(
        session,
        actor=moderator,
        action="thread.move",
        target=thread,
        subject=thread.author_id,
        reason=reason,
        before=before,
        after=after,
    )
    return True


async def close_as_duplicate(
    session: AsyncSession, thread: Thread, original_id: int | None, *, actor: User | None, reason: str = ""
) -> bool:
    """Closes ``thread`` as a duplicate of thread ``original_id``: it links
    to the original and takes no new replies."""
    check_moderate(actor)
    if original_id is None:
        raise ValidationError({"original": _("Enter the number or the address of the original thread.")})
    if original_id == thread.id:
        raise ValidationError({"original": _("A thread cannot duplicate itself.")})
    original = await session.get(Thread, original_id)
    if original is None or not original.visible:
        raise ValidationError({"original": _("No such thread.")})
    # Follow the original's own duplicate chain: closing into a loop would
    # leave readers going round in circles.
    seen = {thread.id}
    cursor: Thread | None = original
    for _step in range(20):
        if cursor is None or cursor.duplicate_of_id is None:
            break
        if cursor.duplicate_of_id in seen:
            raise ValidationError({"original": _("That thread is itself closed as a duplicate of this one.")})
        seen.add(cursor.id)
        cursor = await session.get(Thread, cursor.duplicate_of_id)
    return await _thread_action(
        session,
        thread,
        actor=actor,
        action="thread.close_duplicate",
        reason=reason,
        change=lambda: state.close_as_duplicate(session, thread, original),
    )


async def reopen_thread(session: AsyncSession, thread: Thread, *, actor: User | None, reason: str = "") -> bool:
    return await _thread_action(
        session,
        thread,
        actor=actor,
        action="thread.reopen",
        reason=reason,
        change=lambda: state.reopen_duplicate(session, thread),
    )


def parse_thread_ref(text: str) -> int | None:
    """A thread number from '123', '#123' or an address like /t/123/slug."""
    text = text.strip()
    if "/t/" in text:
        text = text.split("/t/", 1)[1].split("/", 1)[0]
    text = text.lstrip("#")
    return int(text) if text.isdigit() and len(text) < 12 else None


__all__ = ["NotFound"]
