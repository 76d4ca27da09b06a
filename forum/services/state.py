"""The primitives that set moderation state on forum objects.

Forum owns the flags (hidden, deleted, locked, pinned, duplicate, silenced,
suspended, banned) and keeps its counters true when they change;
``moderation`` decides when to call these, records why and audits. Every
function is safe to call twice and returns whether it changed anything.
They flush, never commit.

Preconditions: a post's ``thread`` relationship is loaded (as
``threads.get_post_or_404`` does). ``Thread.reply_count`` counts visible
replies, so hiding, deleting or restoring a reply moves it; the counts of
the categories' thread lists (``forum.services.categories``) move with the
hiding, deletion, restoring, pinning and moving of threads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from forum import search
from forum.clock import utcnow
from forum.models import Category, Post, Thread, User
from forum.services import accounts, categories, notifications, tags

HIDDEN_REASONS = ("flags", "review", "moderator")
THREADS: Table = Thread.__table__  # type: ignore[attr-defined]


async def add_replies(session: AsyncSession, thread: Thread, n: int) -> None:
    """Moves ``thread.reply_count`` by ``n`` in one statement (two replies
    written at once both count: no read-modify-write), never below zero, and
    gives the loaded thread the stored value."""
    c = THREADS.c
    stored = await session.scalar(
        update(THREADS)
        .where(c.id == thread.id)
        .values(reply_count=case((c.reply_count + n < 0, 0), else_=c.reply_count + n))
        .returning(c.reply_count)
    )
    set_committed_value(thread, "reply_count", stored)


def _visible_reply_times(thread: Thread, post: Post) -> None:
    """A reply became visible: let it stand as the thread's activity and first
    response if it is the earliest (a reply held for review counts from when
    it was written, once approved)."""
    if post.created_at > thread.last_activity_at:
        thread.last_activity_at = post.created_at
    if post.author_id != thread.author_id:
        if thread.first_response_at is None or post.created_at < thread.first_response_at:
            thread.first_response_at = post.created_at
        if post.by_staff:
            thread.staff_replied = True
            if thread.first_staff_response_at is None or post.created_at < thread.first_staff_response_at:
                thread.first_staff_response_at = post.created_at


async def _recount_responses(session: AsyncSession, thread: Thread) -> None:
    """A reply disappeared: the earliest visible reply by someone other than the
    asker (and by staff) stands as the first response again, or none does, so a
    thread whose only answer was spam is unanswered again in the support queues."""
    visible_reply = (
        col(Post.thread_id) == thread.id,
        col(Post.is_first).is_(False),
        col(Post.hidden_at).is_(None),
        col(Post.deleted_at).is_(None),
        col(Post.author_id) != thread.author_id,
    )
    first, first_staff = (
        await session.execute(
            select(func.min(Post.created_at), func.min(case((col(Post.by_staff), Post.created_at)))).where(
                *visible_reply
            )
        )
    ).one()
    thread.first_response_at = first
    thread.first_staff_response_at = first_staff
    thread.staff_replied = first_staff is not None


def update_solved(thread: Thread, now: datetime) -> None:
    """The one rule for a thread's solved state: it is solved while it has an
    accepted or official answer or is linked to a knowledge-base article
    (``forum.services.kb``), since the first of these arrived."""
    if thread.accepted_post_id is None and thread.official_post_id is None and thread.article_id is None:
        thread.solved_at = None
    elif thread.solved_at is None:
        thread.solved_at = now


def _unmark(thread: Thread, post: Post) -> None:
    """A post nobody can read is nobody's answer: hiding or deleting the
    accepted or official answer takes the mark off (restoring the post does not
    put it back; the asker or staff mark it again), and the thread is solved only
    if something else still solves it."""
    if post.id not in (thread.accepted_post_id, thread.official_post_id):
        return
    if thread.accepted_post_id == post.id:
        thread.accepted_post_id = None
    if thread.official_post_id == post.id:
        thread.official_post_id = None
    update_solved(thread, utcnow())


async def _post_visibility_changed(session: AsyncSession, post: Post, was_visible: bool) -> None:
    thread = post.thread
    if not post.is_first and was_visible != post.visible:
        if post.visible:
            _visible_reply_times(thread, post)
            await add_replies(session, thread, 1)
        else:
            _unmark(thread, post)
            await add_replies(session, thread, -1)
            session.add(post)
            await session.flush()
            await _recount_responses(session, thread)
        session.add(thread)
    session.add(post)
    await session.flush()
    # The search index holds visible posts only.
    await search.index_thread(session, post.thread_id)


async def hide_post(session: AsyncSession, post: Post, *, reason: str, at: datetime | None = None) -> bool:
    """Hides a post from everyone but its author and moderators. Hiding the
    opening post hides its thread too. A hidden post given a new reason
    counts as a change."""
    if reason not in HIDDEN_REASONS:
        raise ValueError(f"unknown hidden reason {reason!r}")
    if post.hidden_at is not None and post.hidden_reason == reason:
        return False
    was_visible = post.visible
    counted = categories.place(post.thread)
    now = at or utcnow()
    if post.hidden_at is None:
        post.hidden_at = now
    post.hidden_reason = reason
    if post.is_first and post.thread.hidden_at is None:
        post.thread.hidden_at = post.hidden_at
        session.add(post.thread)
    await _post_visibility_changed(session, post, was_visible)
    await categories.thread_changed(session, counted, post.thread)
    return True


async def delete_post(session: AsyncSession, post: Post, *, at: datetime | None = None) -> bool:
    """Soft-deletes a post (kept for audit and restorable); deleting the
    opening post deletes its thread."""
    if post.deleted_at is not None:
        return False
    was_visible = post.visible
    counted = categories.place(post.thread)
    post.deleted_at = at or utcnow()
    if post.is_first and post.thread.deleted_at is None:
        post.thread.deleted_at = post.deleted_at
        session.add(post.thread)
    await _post_visibility_changed(session, post, was_visible)
    await categories.thread_changed(session, counted, post.thread)
    return True


async def restore_post(session: AsyncSession, post: Post) -> bool:
    """Undoes hiding and deletion (of the thread too, for an opening post)."""
    thread = post.thread
    thread_changed = post.is_first and (thread.hidden_at is not None or thread.deleted_at is not None)
    if post.hidden_at is None and post.deleted_at is None and not thread_changed:
        return False
    was_visible = post.visible
    counted = categories.place(thread)
    held = not post.is_first and post.hidden_reason == "review"
    post.hidden_at = None
    post.hidden_reason = None
    post.deleted_at = None
    if post.is_first:
        thread.hidden_at = None
        thread.deleted_at = None
        session.add(thread)
    await _post_visibility_changed(session, post, was_visible)
    await categories.thread_changed(session, counted, thread)
    if held and post.visible and not await notifications.notified_about(session, post):
        # A reply held for review from the start reaches the asker and watchers now,
        # as when it is posted (one edited back into review was told of then).
        author = await session.get(User, post.author_id)
        if author is not None:
            await notifications.notify_reply(session, thread, post, author=author)
    if post.visible and "@" in post.body:
        # Mentions written while the post was held or hidden are heard of now (once).
        author = await session.get(User, post.author_id)
        if author is not None:
            await notifications.notify_mentions(session, thread, post, actor=author)
    return True


async def _set(session: AsyncSession, obj: object, name: str, value: object) -> bool:
    if getattr(obj, name) == value:
        return False
    setattr(obj, name, value)
    session.add(obj)
    await session.flush()
    return True


async def lock_thread(session: AsyncSession, thread: Thread, *, at: datetime | None = None) -> bool:
    """A locked thread takes no new replies (moderators still may)."""
    if thread.locked_at is not None:
        return False
    return await _set(session, thread, "locked_at", at or utcnow())


async def unlock_thread(session: AsyncSession, thread: Thread) -> bool:
    return await _set(session, thread, "locked_at", None)


async def _set_counted(session: AsyncSession, thread: Thread, name: str, value: object) -> bool:
    """``_set`` for a column that decides where the thread counts in the
    categories' list sizes (pinned threads show apart; a move changes category)."""
    counted = categories.place(thread)
    changed = await _set(session, thread, name, value)
    if changed:
        await categories.thread_changed(session, counted, thread)
    return changed


async def pin_thread(session: AsyncSession, thread: Thread, *, at: datetime | None = None) -> bool:
    if thread.pinned_at is not None:
        return False
    return await _set_counted(session, thread, "pinned_at", at or utcnow())


async def unpin_thread(session: AsyncSession, thread: Thread) -> bool:
    return await _set_counted(session, thread, "pinned_at", None)


async def move_thread(session: AsyncSession, thread: Thread, category: Category, *, drop_tags: bool = False) -> bool:
    """Moves the thread. A category restricted to some tags takes it only
    without the others: refused while it has them, unless ``drop_tags`` takes
    them off (``forum.services.tags.fit_to_category``)."""
    if thread.category_id == category.id:
        return False
    await tags.fit_to_category(session, thread, category, drop=drop_tags)
    changed = await _set_counted(session, thread, "category_id", category.id)
    if changed and "category" in thread.__dict__:
        thread.category = category
    return changed


async def close_as_duplicate(
    session: AsyncSession, thread: Thread, original: Thread, *, at: datetime | None = None
) -> bool:
    """Points a thread at the one it duplicates and locks it. The caller
    checks that ``original`` is a sensible target (not itself, no cycle)."""
    if thread.duplicate_of_id == original.id:
        return False
    thread.duplicate_of_id = original.id
    if thread.locked_at is None:
        thread.locked_at = at or utcnow()
    session.add(thread)
    await session.flush()
    return True


async def reopen_duplicate(session: AsyncSession, thread: Thread) -> bool:
    """Undoes ``close_as_duplicate``: no longer a duplicate, and unlocked."""
    if thread.duplicate_of_id is None:
        return False
    thread.duplicate_of_id = None
    thread.locked_at = None
    session.add(thread)
    await session.flush()
    return True


async def silence_user(session: AsyncSession, user: User, *, until: datetime) -> bool:
    """The user can read and log in but not post until ``until``."""
    return await _set(session, user, "silenced_until", until)


async def unsilence_user(session: AsyncSession, user: User) -> bool:
    return await _set(session, user, "silenced_until", None)


async def suspend_user(session: AsyncSession, user: User, *, until: datetime) -> bool:
    """The user cannot log in until ``until``; every open session ends now."""
    changed = await _set(session, user, "suspended_until", until)
    await accounts.end_all_sessions(session, user.id)  # type: ignore[arg-type]
    return changed


async def unsuspend_user(session: AsyncSession, user: User) -> bool:
    return await _set(session, user, "suspended_until", None)


async def ban_user(session: AsyncSession, user: User, *, at: datetime | None = None) -> bool:
    """The user can no longer log in; every open session ends now."""
    changed = user.banned_at is None and await _set(session, user, "banned_at", at or utcnow())
    await accounts.end_all_sessions(session, user.id)  # type: ignore[arg-type]
    return changed


async def unban_user(session: AsyncSession, user: User) -> bool:
    return await _set(session, user, "banned_at", None)
