from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from markupsafe import Markup
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.models.category import Category
from forum.models.user import User


class ThreadKind(enum.StrEnum):
    question = "question"
    discussion = "discussion"


class _ThreadState(Protocol):
    kind: str
    reply_count: int
    solved_at: datetime | None
    locked_at: datetime | None
    hidden_at: datetime | None
    deleted_at: datetime | None


class ThreadRules:
    """What a thread's columns mean: one owner for the table model and the read
    model of the hot pages (``forum.read.ThreadRow``)."""

    @property
    def is_question(self: _ThreadState) -> bool:
        return self.kind == ThreadKind.question.value

    @property
    def solved(self: _ThreadState) -> bool:
        return self.solved_at is not None

    @property
    def answered(self: _ThreadState) -> bool:
        return self.reply_count > 0

    @property
    def locked(self: _ThreadState) -> bool:
        return self.locked_at is not None

    @property
    def visible(self: _ThreadState) -> bool:
        return self.hidden_at is None and self.deleted_at is None


class _PostState(Protocol):
    body_html: str
    hidden_at: datetime | None
    deleted_at: datetime | None


class PostRules:
    """What a post's columns mean, for the table model and ``forum.read.PostRow``."""

    @property
    def visible(self: _PostState) -> bool:
        return self.hidden_at is None and self.deleted_at is None

    @property
    def html(self: _PostState) -> Markup:
        """The rendered body. Safe to emit: ``forum.markdown.render`` parsed it
        with raw HTML off and sanitised the result when the post was saved."""
        return Markup(self.body_html)


_PINNED = text("pinned_at IS NOT NULL")


class Thread(ThreadRules, SQLModel, table=True):
    """A question or discussion. The opening text is the first ``Post``; the
    counters and times below are kept by the services so lists and metrics
    never have to scan posts."""

    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_last_activity_at", "last_activity_at"),
        Index("ix_threads_category_id_last_activity_at", "category_id", "last_activity_at"),
        Index("ix_threads_author_id_created_at", "author_id", "created_at"),
        Index("ix_threads_created_at", "created_at"),
        # The pinned threads atop a list: partial, so that the list of the others
        # ("pinned_at IS NULL") is never read through them.
        Index("ix_threads_pinned_at", "pinned_at", sqlite_where=_PINNED, postgresql_where=_PINNED),
        Index(
            "ix_threads_category_id_pinned_at",
            "category_id",
            "pinned_at",
            sqlite_where=_PINNED,
            postgresql_where=_PINNED,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    category_id: int = Field(sa_column=Column(Integer, ForeignKey("categories.id"), nullable=False))
    author_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False))
    kind: str = Field(default=ThreadKind.question.value, sa_column=Column(String(16), nullable=False))
    title: str = Field(max_length=300)
    slug: str = Field(max_length=120)
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    # "ko" or "en", detected from the title and body when asked (support queues filter on it).
    language: str = Field(default="en", sa_column=Column(String(8), nullable=False, server_default="en"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    last_activity_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    views: int = Field(default=0)
    reply_count: int = Field(default=0)
    # Circular with posts: no database-level foreign key (posts reference threads).
    accepted_post_id: int | None = Field(default=None)
    official_post_id: int | None = Field(default=None)
    solved_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    first_response_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    first_staff_response_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    staff_replied: bool = Field(default=False)
    # State flags, set through forum.services.state (moderation decides when).
    locked_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    pinned_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # Hidden while its opening post awaits review; deleted is soft (kept for audit).
    hidden_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    duplicate_of_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("threads.id", ondelete="SET NULL"), nullable=True)
    )
    # Answered by this knowledge-base article (the thread then counts as solved).
    # No database-level foreign key: adding one to threads on SQLite means
    # copying the table; articles are unpublished, never deleted.
    article_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    # How many times its posts have changed (inserted, deleted, their text,
    # visibility or thread changed): kept by the database's triggers (migration
    # 0022), whoever changes them; the app never writes it. Search compares it
    # with its entry's (``forum.search``).
    content_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))

    category: Category = Relationship(sa_relationship_kwargs={"lazy": "raise"})
    author: User = Relationship(sa_relationship_kwargs={"lazy": "raise"})


class Post(PostRules, SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_thread_id_created_at", "thread_id", "created_at"),
        Index("ix_posts_author_id_created_at", "author_id", "created_at"),
        # A thread's first post and whether it shows, answered from the index
        # alone (a thread page's related questions check it for each entry, as
        # "posts.is_first IS 1"/"IS true": the same words as the condition here).
        Index(
            "ix_posts_first_post",
            "thread_id",
            "is_first",
            "hidden_at",
            "deleted_at",
            sqlite_where=text("is_first IS 1"),
            postgresql_where=text("is_first IS true"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False))
    author_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False))
    is_first: bool = Field(default=False)
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    # Whether the author was staff when posting: badges and metrics stay true to
    # the moment of the answer even if the role changes later.
    by_staff: bool = Field(default=False)
    vote_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    edited_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    hidden_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # Why it is hidden: "flags" (reached the flag threshold), "review" (held for
    # review before anyone sees it), "moderator".
    hidden_reason: str | None = Field(default=None, max_length=20)
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))

    author: User = Relationship(sa_relationship_kwargs={"lazy": "raise"})
    thread: Thread = Relationship(sa_relationship_kwargs={"lazy": "raise"})


class Vote(SQLModel, table=True):
    """One member found one answer helpful."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id"),
        Index("ix_votes_user_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(sa_column=Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
