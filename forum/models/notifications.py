"""Notifications of answers, thread watches, email preferences and the
outbox of emails waiting to be sent."""

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.models.thread import Post, Thread
from forum.models.user import User


class NotificationKind(enum.StrEnum):
    answer = "answer"  # someone answered the recipient's question
    reply = "reply"  # a new reply in a thread the recipient watches
    accepted = "accepted"  # the recipient's answer was accepted
    official = "official"  # the recipient's answer was marked official
    article = "article"  # the recipient's unsolved question was answered by a knowledge-base article
    mention = "mention"  # someone mentioned the recipient ("@username") in a post
    spike = "spike"  # (staff) a topic is growing much faster than its recent rate (forum.services.spikes)


class Notification(SQLModel, table=True):
    """One thing that happened that one user should hear about."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The list page (newest first) and the header's unread count.
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        Index("ix_notifications_post_id", "post_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    thread_id: int = Field(sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False))
    post_id: int = Field(sa_column=Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False))
    actor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))

    user: User = Relationship(sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[Notification.user_id]"})
    thread: Thread = Relationship(sa_relationship_kwargs={"lazy": "raise"})
    post: Post = Relationship(sa_relationship_kwargs={"lazy": "raise"})
    actor: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[Notification.actor_id]"}
    )


class ThreadWatch(SQLModel, table=True):
    """A user's choice about a thread. Replying creates a watching row unless
    one exists, so "Stop watching" (``watching`` false) sticks. The asker
    watches their own thread without a row."""

    __tablename__ = "thread_watches"
    __table_args__ = (Index("ix_thread_watches_user_id", "user_id"),)

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    watching: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class NotificationPreference(SQLModel, table=True):
    """Which notifications also come by email. No row means the defaults."""

    __tablename__ = "notification_preferences"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    # Answers to your questions, and your answers accepted or marked official.
    email_own: bool = Field(default=True)
    # New replies in other threads you watch.
    email_watched: bool = Field(default=False)


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # gave up: see last_error
    dropped = "dropped"  # no longer to be sent (post hidden, recipient banned or opted out since)


class OutboxEmail(SQLModel, table=True):
    """An email to send about one notification, written in the transaction
    of the event and sent after commit by ``forum.mail``. A sender claims a
    row by writing its token and a lease end; the row is rendered when sent
    (in the recipient's language, with what is true then)."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(
        sa_column=Column(Integer, ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: str = Field(default=OutboxStatus.pending.value, sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
