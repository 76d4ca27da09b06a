"""Who may do what, object by object. ``can_*`` answers; services call
``check_*`` wrappers that raise ``NotAllowed``."""

from __future__ import annotations

from forum.models import Post, Role, Thread, User


def is_moderator(user: User | None) -> bool:
    return user is not None and user.role in (Role.moderator.value, Role.admin.value)


def can_edit_post(user: User | None, post: Post) -> bool:
    return user is not None and (post.author_id == user.id or is_moderator(user))


def can_vote(user: User | None, post: Post) -> bool:
    return user is not None and not post.is_first and post.author_id != user.id


def can_accept(user: User | None, thread: Thread, post: Post | None = None) -> bool:
    if user is None or not thread.is_question:
        return False
    if post is not None and (post.is_first or post.thread_id != thread.id):
        return False
    return thread.author_id == user.id or user.is_staff


def can_mark_official(user: User | None, thread: Thread, post: Post | None = None) -> bool:
    if user is None or not user.is_staff:
        return False
    return post is None or (not post.is_first and post.thread_id == thread.id)
