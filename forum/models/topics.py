"""What the repeated-topic job keeps between runs: suggestions with a stable
identity and history, their member threads, run bookkeeping, a lease so that
one process runs the job at a time, stored models/indexes, and the analyser's
terms of every thread (so no run analyses a text twice)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class SuggestionState(enum.StrEnum):
    open = "open"
    dismissed = "dismissed"
    drafted = "drafted"  # an article draft was started from it
    covered = "covered"  # a published article answers it
    expired = "expired"  # the topic is no longer found (threads aged out, hidden or linked)


class TopicSuggestion(SQLModel, table=True):
    __tablename__ = "topic_suggestions"
    __table_args__ = (Index("ix_topic_suggestions_state_score", "state", "score"),)

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(
        default=SuggestionState.open.value,
        sa_column=Column(String(16), nullable=False, default=SuggestionState.open.value),
    )
    title: str = Field(max_length=300)
    key_terms: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # JSON list of strings
    representative_thread_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("threads.id", ondelete="SET NULL"), nullable=True)
    )
    category_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("categories.id", ondelete="SET NULL"), nullable=True)
    )
    thread_count: int = Field(default=0)
    views: int = Field(default=0)
    unsolved_count: int = Field(default=0)
    # What an article would save (see forum.topics.store.saving_score); the list's order.
    score: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))
    cohesion: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))
    # The weakest member's mean similarity to the rest (words and meaning) when the last
    # full run found it (forum.topics.cluster.prune); 0: not measured.
    agreement: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0, server_default="0"))
    # The members' normalised mean vector in the last full run's model (JSON
    # {feature: weight}); new threads join the suggestion they resemble most.
    centroid: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    first_thread_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    last_thread_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    dismissed_reason: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    dismissed_size: int | None = Field(default=None)
    dismissed_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    dismissed_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    article_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("articles.id", ondelete="SET NULL"), nullable=True)
    )


class TopicMember(SQLModel, table=True):
    """A thread's place in a suggestion; a thread is in at most one."""

    __tablename__ = "topic_members"
    __table_args__ = (Index("ix_topic_members_suggestion_id", "suggestion_id"),)

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    suggestion_id: int = Field(
        sa_column=Column(Integer, ForeignKey("topic_suggestions.id", ondelete="CASCADE"), nullable=False)
    )
    added_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))


class TopicRemoval(SQLModel, table=True):
    """A thread staff took out of a suggestion: later runs leave it out of every topic."""

    __tablename__ = "topic_removals"

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    suggestion_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("topic_suggestions.id", ondelete="SET NULL"), nullable=True),
    )
    removed_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    removed_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))


class TopicEvent(SQLModel, table=True):
    """A suggestion's history: created, grew, dismissed, reopened, drafted, covered, expired."""

    __tablename__ = "topic_events"
    __table_args__ = (Index("ix_topic_events_suggestion_id_at", "suggestion_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(
        sa_column=Column(Integer, ForeignKey("topic_suggestions.id", ondelete="CASCADE"), nullable=False)
    )
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    size: int = Field(default=0)
    previous_size: int | None = Field(default=None)
    note: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    article_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("articles.id", ondelete="SET NULL"), nullable=True)
    )


class TopicRun(SQLModel, table=True):
    """One run of the repeated-topic job. The last finished run's high-water
    mark and time tell the next run what changed since."""

    __tablename__ = "topic_runs"
    __table_args__ = (Index("ix_topic_runs_status_mode_finished_at", "status", "mode", "finished_at"),)

    id: int | None = Field(default=None, primary_key=True)
    mode: str = Field(sa_column=Column(String(16), nullable=False))  # full | incremental
    status: str = Field(default="running", sa_column=Column(String(16), nullable=False, default="running"))
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # Highest thread id the run saw; threads above it are new to the next run.
    high_water: int = Field(default=0)
    fingerprint: str = Field(default="", sa_column=Column(String(64), nullable=False, default=""))
    threads_seen: int = Field(default=0)
    threads_changed: int = Field(default=0)
    suggestions_open: int = Field(default=0)
    seconds: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class JobLease(SQLModel, table=True):
    """A named lease: the process holding an unexpired one runs the job. An
    UPDATE ... WHERE expired is atomic on SQLite and PostgreSQL alike."""

    __tablename__ = "job_leases"

    name: str = Field(sa_column=Column(String(50), primary_key=True))
    holder: str = Field(sa_column=Column(String(100), nullable=False))
    acquired_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class TopicBlob(SQLModel, table=True):
    """A stored model or index (``similar``: the similar-question index;
    ``cluster_model``: the last full run's text model), so that a fresh process
    loads it instead of rebuilding it."""

    __tablename__ = "topic_blobs"

    name: str = Field(sa_column=Column(String(50), primary_key=True))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    high_water: int = Field(default=0)
    doc_count: int = Field(default=0)
    built_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))


class ThreadTerms(SQLModel, table=True):
    """The analyser's terms of a thread's title and opening post (space-joined),
    with a digest of the text and analyser they came from: stale rows are
    re-analysed, fresh ones are never analysed again. The same goes for the
    sentence embedding."""

    __tablename__ = "thread_terms"

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    digest: str = Field(sa_column=Column(String(32), nullable=False))
    title_terms: str = Field(sa_column=Column(Text, nullable=False))
    body_terms: str = Field(sa_column=Column(Text, nullable=False))
    #: sentence embedding of the thread's text (float16 bytes), and the key of the
    #: encoder and text it came from (:func:`forum.topics.store.vector_key`); NULL
    #: until first needed
    vector: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    vector_model: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
