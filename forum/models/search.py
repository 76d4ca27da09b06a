"""Search: the documents in the full-text index, and searches that found nothing.

The index itself lives in tables whose names start with ``search_fts``, created
by the 0004 migration with database-specific DDL the models cannot describe:
an FTS5 virtual table on SQLite, a tsvector table with a GIN index on
PostgreSQL. Their rows are keyed by ``SearchDocument.id``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class DocType(enum.StrEnum):
    thread = "thread"
    article = "article"


class SearchDocument(SQLModel, table=True):
    """One thread (title and all its visible posts) or one article in the index."""

    __tablename__ = "search_documents"
    __table_args__ = (UniqueConstraint("doc_type", "doc_id"),)

    id: int | None = Field(default=None, primary_key=True)
    doc_type: str = Field(sa_column=Column(String(16), nullable=False))
    doc_id: int
    # When the document's text was last analysed in full.
    indexed_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    # The thread's ``content_version`` that this entry holds (kept by
    # ``forum.search`` when it indexes the thread or adds a reply to it). An
    # entry whose thread has another version is stale: a post was hidden,
    # deleted or edited behind the index's back, and search checks the thread
    # against its visible text before showing it.
    content_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class FailedSearch(SQLModel, table=True):
    """A search that found nothing: what customers look for and do not find."""

    __tablename__ = "failed_searches"
    __table_args__ = (
        Index("ix_failed_searches_created_at", "created_at"),
        Index("ix_failed_searches_query_key_created_at", "query_key", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    query: str = Field(max_length=200)
    # Case- and space-folded query: searches are counted per key.
    query_key: str = Field(max_length=200)
    locale: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
