"""Tags: a thread has up to five (``forum.services.tags`` owns the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class _TagLabels(Protocol):
    name: str
    label_en: str
    label_ko: str


class TagRules:
    """A tag's label in a locale (its name when it has none): for the table
    model and the read rows of the lists."""

    def label(self: _TagLabels, locale: str) -> str:
        return (self.label_ko if locale == "ko" else self.label_en) or self.name


class Tag(TagRules, SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    # Normalised (forum.services.tags.normalise_name): what URLs and forms use.
    name: str = Field(sa_column=Column(String(30), nullable=False, unique=True))
    # Optional labels shown instead of the name, per locale.
    label_en: str = Field(default="", sa_column=Column(String(60), nullable=False, server_default=""))
    label_ko: str = Field(default="", sa_column=Column(String(60), nullable=False, server_default=""))
    # Visible threads (neither hidden nor deleted) with this tag, kept by the
    # transactions that change them; ``forum recount`` recomputes it.
    thread_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0", index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class ThreadTag(SQLModel, table=True):
    __tablename__ = "thread_tags"
    # The primary key finds a thread's tags; the index a tag's threads.
    __table_args__ = (Index("ix_thread_tags_tag_id_thread_id", "tag_id", "thread_id"),)

    thread_id: int = Field(
        sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )


class CategoryTag(SQLModel, table=True):
    """A category that has rows here takes only these tags."""

    __tablename__ = "category_tags"
    __table_args__ = (Index("ix_category_tags_tag_id", "tag_id"),)

    category_id: int = Field(
        sa_column=Column(Integer, ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
