"""Who may moderate what, object by object.

Moderators and admins moderate content and sanction users; staff answer
with a badge but do not moderate; admins alone browse the audit log, edit
the word lists and grant roles. Nobody sanctions themselves or someone of
equal or higher rank. ``check_*`` raises ``NotAllowed`` with the reason;
``can_*`` answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from forum.clock import utcnow
from forum.errors import LoginRequired, NotAllowed
from forum.i18n import gettext as _
from forum.i18n import lazy
from forum.models import Post, Role, Thread, User
from forum.permissions import is_moderator

RANK = {Role.member.value: 0, Role.staff.value: 1, Role.moderator.value: 2, Role.admin.value: 3}
ROLE_LABELS = {
    Role.member.value: lazy("Member"),
    Role.staff.value: lazy("Staff"),
    Role.moderator.value: lazy("Moderator"),
    Role.admin.value: lazy("Admin"),
}
# The roles an admin may grant or remove through the app.
GRANTABLE_ROLES = (Role.member.value, Role.staff.value, Role.moderator.value)


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.admin.value


def _require(user: User | None) -> User:
    if user is None:
        raise LoginRequired(_("Log in to continue."))
    return user


def can_flag(user: User | None, post: Post) -> bool:
    return (
        user is not None
        and user.can_log_in(utcnow())
        and post.author_id != user.id
        and post.deleted_at is None
        and post.visible
    )


def check_flag(user: User | None, post: Post) -> User:
    user = _require(user)
    if post.author_id == user.id:
        raise NotAllowed(_("You cannot flag your own post."))
    if not can_flag(user, post):
        raise NotAllowed(_("This post cannot be flagged."))
    return user


def can_moderate(user: User | None) -> bool:
    """Review the queue, act on posts and threads, see revisions."""
    return is_moderator(user)


def check_moderate(user: User | None) -> User:
    user = _require(user)
    if not can_moderate(user):
        raise NotAllowed(_("Only moderators can do that."))
    return user


def can_sanction(user: User | None, target: User) -> bool:
    return (
        can_moderate(user)
        and user is not None
        and user.id != target.id
        and RANK.get(target.role, 0) < RANK.get(user.role, 0)
    )


def check_sanction(user: User | None, target: User) -> User:
    user = check_moderate(user)
    if user.id == target.id:
        raise NotAllowed(_("You cannot sanction yourself."))
    if not can_sanction(user, target):
        raise NotAllowed(_("You cannot sanction someone of your own rank or higher."))
    return user


def can_admin(user: User | None) -> bool:
    """The audit log, the word lists and roles."""
    return is_admin(user)


def check_admin(user: User | None) -> User:
    user = _require(user)
    if not is_admin(user):
        raise NotAllowed(_("Only admins can do that."))
    return user


def check_set_role(user: User | None, target: User, role: str) -> User:
    user = check_admin(user)
    if target.id == user.id:
        raise NotAllowed(_("You cannot change your own role."))
    if target.role == Role.admin.value:
        raise NotAllowed(_("Admins' roles are changed outside the app (forum users)."))
    if role not in GRANTABLE_ROLES:
        raise NotAllowed(_("That role cannot be granted here."))
    return user


@dataclass(frozen=True)
class PostActions:
    """What the viewer may do to one post, for templates."""

    flag: bool = False
    moderate: bool = False
    sanction_author: bool = False
    hidden: bool = False
    deleted: bool = False

    @property
    def any(self) -> bool:
        return self.flag or self.moderate


def post_actions(user: User | None, post: Post, author: User | None = None) -> PostActions:
    moderate = can_moderate(user)
    return PostActions(
        flag=can_flag(user, post),
        moderate=moderate,
        sanction_author=author is not None and can_sanction(user, author),
        hidden=post.hidden_at is not None,
        deleted=post.deleted_at is not None,
    )


def thread_actions(user: User | None, thread: Thread) -> bool:
    return can_moderate(user)


def role_label(role: str) -> str:
    return _(ROLE_LABELS.get(role, role))
