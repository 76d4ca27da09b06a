from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from sqlalchemy import Column, DateTime, Index, String, Text
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.i18n import gettext


class Role(enum.StrEnum):
    member = "member"
    staff = "staff"
    moderator = "moderator"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        """Staff answer with a badge and may mark official answers; moderators
        and admins are staff too."""
        return self is not Role.member


class _UserState(Protocol):
    role: str
    banned_at: datetime | None
    suspended_until: datetime | None
    silenced_until: datetime | None


# A deleted account's username: DELETED_PREFIX and its id (forum.services.account_data).
DELETED_PREFIX = "deleted-user-"


class UserRules:
    """What a user's role and sanctions mean: for the table model and ``forum.read.UserRow``."""

    def can_log_in(self: _UserState, now: datetime) -> bool:
        if getattr(self, "deleted_at", None) is not None:
            return False
        return self.banned_at is None and (self.suspended_until is None or self.suspended_until <= now)

    def can_post(self: _UserState, now: datetime) -> bool:
        return self.can_log_in(now) and (self.silenced_until is None or self.silenced_until <= now)  # type: ignore[attr-defined]

    @property
    def shown_name(self) -> str:
        """The name pages show: the display name, or for a deleted account
        "deleted user N" in the reader's language (the stored name is English)."""
        username: str = self.username  # type: ignore[attr-defined]
        if username.startswith(DELETED_PREFIX):
            return gettext("deleted user %(number)s", number=username[len(DELETED_PREFIX) :])
        return self.display_name  # type: ignore[attr-defined,no-any-return]

    @property
    def role_enum(self: _UserState) -> Role:
        return Role(self.role)

    @property
    def is_staff(self: _UserState) -> bool:
        return Role(self.role).is_staff


class User(UserRules, SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=30)
    # Case-folded username: the uniqueness and lookup key.
    username_key: str = Field(max_length=30, unique=True)
    display_name: str = Field(max_length=50)
    # A few lines about themselves, plain text, shown on their profile.
    bio: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    email: str | None = Field(default=None, max_length=254)
    email_key: str | None = Field(default=None, max_length=254, unique=True)
    # When the owner proved the address is theirs (a link sent to it): notification
    # emails go to confirmed addresses only.
    email_confirmed_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.member.value, sa_column=Column(String(16), nullable=False))
    locale: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    # Sanction state. Moderation decides and records why; forum enforces it.
    silenced_until: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    suspended_until: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    banned_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # Set when the account was deleted: its personal data is gone, its posts stay
    # under "deleted user N", and it can never log in again.
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # The key of the member's avatar (an upload of kind "avatar"); none: initials.
    avatar_key: str | None = Field(default=None, max_length=64)


class UserSession(SQLModel, table=True):
    """A server-side login session: the cookie carries a signed random token,
    the table keeps its hash, so logging out (or a ban) really ends it."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    # Written at most once an hour (a page view must not be a write): the idle
    # timeout counts from here.
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))

    user: User = Relationship(sa_relationship_kwargs={"lazy": "raise"})
