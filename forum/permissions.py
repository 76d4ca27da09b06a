"""Who may do what, object by object. ``can_*`` answers; services raise
``NotAllowed`` when it says no."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forum.clock import utcnow
from forum.models import Post, Role, Thread, User

if TYPE_CHECKING:
    from forum.read import ThreadRow


def is_moderator(user: User | None) -> bool:
    return user is not None and user.role in (Role.moderator.value, Role.admin.value)


def can_see_thread(user: User | None, thread: Thread | ThreadRow) -> bool:
    if thread.deleted_at is not None:
        return is_moderator(user)
    if thread.hidden_at is not None:
        return is_moderator(user) or (user is not None and user.id == thread.author_id)
    return True


def can_see_post_body(user: User | None, post: Post) -> bool:
    """Hidden posts show a placeholder to everyone but their author and moderators."""
    if post.deleted_at is not None:
        return is_moderator(user)
    if post.hidden_at is not None:
        return is_moderator(user) or (user is not None and user.id == post.author_id)
    return True


def can_post(user: User | None) -> bool:
    return user is not None and user.can_post(utcnow())


def can_reply(user: User | None, thread: Thread) -> bool:
    return can_post(user) and thread.visible and (not thread.locked or is_moderator(user))


def can_edit_post(user: User | None, post: Post) -> bool:
    if user is None or (post.deleted_at is not None and not is_moderator(user)):
        return False
    return is_moderator(user) or (post.author_id == user.id and can_post(user))


def can_vote(user: User | None, post: Post) -> bool:
    return user is not None and not post.is_first and post.author_id != user.id and post.visible


def can_accept(user: User | None, thread: Thread, post: Post | None = None) -> bool:
    if user is None or not thread.is_question:
        return False
    if post is not None and (post.is_first or post.thread_id != thread.id or not post.visible):
        return False
    return thread.author_id == user.id or user.is_staff


def can_mark_official(user: User | None, thread: Thread, post: Post | None = None) -> bool:
    if user is None or not user.is_staff:
        return False
    return post is None or (not post.is_first and post.thread_id == thread.id and post.visible)


def can_pin_new_thread(user: User | None) -> bool:
    """Any staff member may pin a thread as they post it (a known-issue thread
    from a spike alert); pinning an existing thread is a moderator's action."""
    return user is not None and user.is_staff
