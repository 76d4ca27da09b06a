"""Spike alerts: a topic growing much faster than its own recent rate
(:mod:`forum.topics.spikes` decides; :mod:`forum.services.spikes` records)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class TopicSpike(SQLModel, table=True):
    """One alert about one topic: opened when the rule first holds, kept open
    (its figures updated) while it holds, closed when it has not held for a
    whole window (an hour). At most
    one open alert per topic; staff are told once, when it opens."""

    __tablename__ = "topic_spikes"
    __table_args__ = (
        Index("ix_topic_spikes_suggestion_id_closed_at", "suggestion_id", "closed_at"),
        Index("ix_topic_spikes_closed_at_opened_at", "closed_at", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(
        sa_column=Column(Integer, ForeignKey("topic_suggestions.id", ondelete="CASCADE"), nullable=False)
    )
    opened_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    #: the last check at which the rule held (it closes a window after)
    checked_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False, default=utcnow))
    #: new threads in the last hour at the latest check, and the most seen
    recent_count: int = Field(default=0)
    peak_count: int = Field(default=0)
    #: the topic's expected threads per hour (its four weeks before the hour)
    expected: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))
    #: JSON list of the ids of the threads seen in the spike (newest first, at most 50)
    thread_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    notified_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
