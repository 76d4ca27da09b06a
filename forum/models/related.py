"""What background jobs compute for pages to read: each thread's related
questions, and requests that a job run soon.

A page never computes related questions (that runs the sentence encoders): a
job does, after a thread is created or edited and again now and then, and the
thread page reads the stored list with one indexed query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel


class RelatedList(SQLModel, table=True):
    """A thread's related-questions list: when it was last computed, and whether
    it waits to be computed again (``queued_at``: set in the transaction that
    creates or edits the thread, cleared by the job)."""

    __tablename__ = "related_lists"
    __table_args__ = (
        Index("ix_related_lists_queued_at", "queued_at"),
        Index("ix_related_lists_computed_at", "computed_at"),
    )

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    queued_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    computed_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))


class RelatedItem(SQLModel, table=True):
    """One entry of a thread's list: another thread or a published article, best
    first. Visibility is checked when the page reads it (a thread hidden since
    drops out at once)."""

    __tablename__ = "related_items"

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    target_thread_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=True)
    )
    target_article_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=True)
    )
    score: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))


class JobRequest(SQLModel, table=True):
    """Someone asked for a job to run soon (staff's "Update now" for topics): the
    process that runs the jobs, wherever it is, picks the row up."""

    __tablename__ = "job_requests"

    name: str = Field(sa_column=Column(String(50), primary_key=True))
    requested_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
