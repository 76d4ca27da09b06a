"""Moderation tables: flags, sanctions, notices to users, watched/blocked
words, and the append-only audit log."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.models import Post, User


class FlagReason(enum.StrEnum):
    spam = "spam"
    abuse = "abuse"
    off_topic = "off_topic"
    other = "other"
    # Raised by the system, not a member: the post matched a watched word and
    # waits for review.
    review = "review"


class Resolution(enum.StrEnum):
    dismissed = "dismissed"
    upheld = "upheld"


class Flag(SQLModel, table=True):
    """One member's report on one post. Open while ``resolved_at`` is empty;
    the review queue groups open flags by post."""

    __tablename__ = "moderation_flags"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id"),
        Index("ix_moderation_flags_resolved_at_post_id", "resolved_at", "post_id"),
        Index("ix_moderation_flags_user_id_created_at", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(sa_column=Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False))
    # None for flags the system raises (posts held for review).
    user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    )
    reason: str = Field(sa_column=Column(String(20), nullable=False))
    text: str = Field(default="", max_length=500)
    by_moderator: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    resolved_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    resolution: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))

    user: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[Flag.user_id]"},
    )
    post: Post = Relationship(sa_relationship_kwargs={"lazy": "raise"})


class SanctionKind(enum.StrEnum):
    warning = "warning"
    silence = "silence"
    suspension = "suspension"
    ban = "ban"


class Sanction(SQLModel, table=True):
    """A warning, silence, suspension or ban, with the reason the user sees.
    The user's state columns enforce it; this row explains it."""

    __tablename__ = "moderation_sanctions"
    __table_args__ = (Index("ix_moderation_sanctions_user_id_created_at", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    moderator_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    post_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("posts.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    # None: no end (a ban, or a warning).
    ends_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # Warnings stay on every page until the user acknowledges them.
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    lifted_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    lifted_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )

    moderator: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[Sanction.moderator_id]"},
    )

    def active(self, now: datetime) -> bool:
        if self.kind == SanctionKind.warning.value or self.lifted_at is not None:
            return False
        return self.ends_at is None or self.ends_at > now


class NoticeKind(enum.StrEnum):
    # Hidden automatically: members' flags reached the threshold. The notice's
    # reason holds the flag reasons, comma-separated.
    post_flagged = "post_flagged"
    post_hidden = "post_hidden"
    post_deleted = "post_deleted"
    post_edited = "post_edited"
    post_restored = "post_restored"


class Notice(SQLModel, table=True):
    """Tells a user what moderation did to their content, and why."""

    __tablename__ = "moderation_notices"
    __table_args__ = (Index("ix_moderation_notices_user_id_read_at", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    post_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("posts.id", ondelete="SET NULL"), nullable=True)
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))

    post: Post | None = Relationship(sa_relationship_kwargs={"lazy": "raise"})


class WordKind(enum.StrEnum):
    watched = "watched"
    blocked = "blocked"


class Word(SQLModel, table=True):
    """A watched word (posts holding it wait for review) or a blocked word
    (posts holding it are refused). Edited by admins."""

    __tablename__ = "moderation_words"
    __table_args__ = (UniqueConstraint("kind", "word_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    word: str = Field(max_length=100)
    # NFKC + case-folded: what matching and uniqueness use.
    word_key: str = Field(max_length=100)
    created_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class AuditEntry(SQLModel, table=True):
    """Who did what, to which object, why, when, and what it was before.
    Append-only: the app has no path that updates or deletes a row, and the
    migration adds database triggers that refuse both."""

    __tablename__ = "moderation_audit_log"
    __table_args__ = (
        Index("ix_moderation_audit_log_created_at", "created_at"),
        Index("ix_moderation_audit_log_actor_id_created_at", "actor_id", "created_at"),
        Index("ix_moderation_audit_log_action_created_at", "action", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # None: the system acted (a post reached the flag threshold).
    actor_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    target_type: str = Field(sa_column=Column(String(20), nullable=False))
    target_id: int | None = Field(default=None)
    # The user the action concerns (the author of a post, the sanctioned user).
    subject_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # JSON: the relevant fields before and after.
    before: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    after: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))

    actor: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[AuditEntry.actor_id]"},
    )
    subject: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[AuditEntry.subject_id]"},
    )
