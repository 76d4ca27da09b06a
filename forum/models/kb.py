"""Knowledge-base articles, reader feedback and the staff-edited synonym list."""

from __future__ import annotations

import enum
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.models.category import Category
from forum.models.user import User


class ArticleStatus(enum.StrEnum):
    draft = "draft"
    published = "published"


class Article(SQLModel, table=True):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_status_published_at", "status", "published_at"),
        Index("ix_articles_category_id_status", "category_id", "status"),
        Index("ix_articles_updated_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    slug: str = Field(max_length=120)
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    category_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("categories.id", ondelete="SET NULL"), nullable=True)
    )
    status: str = Field(default=ArticleStatus.draft.value, sa_column=Column(String(16), nullable=False))
    author_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # "Did this article help?" tallies, kept by forum.services.kb with the rows below.
    helped_yes: int = Field(default=0)
    helped_no: int = Field(default=0)

    # Declared with sa_relationship: SQLModel cannot resolve an optional annotation here.
    category: Category | None = Relationship(sa_relationship=relationship(Category, lazy="raise"))
    author: User = Relationship(sa_relationship_kwargs={"lazy": "raise"})

    @property
    def published(self) -> bool:
        return self.status == ArticleStatus.published.value

    @property
    def html(self) -> Markup:
        """Safe to emit: rendered by ``forum.markdown.render`` (raw HTML off, sanitised) when saved."""
        return Markup(self.body_html)


class ArticleFeedback(SQLModel, table=True):
    """One reader's answer to "Did this article help?": one per member, or per
    browser (a hash of its CSRF seed cookie) for anonymous readers. Answering
    again changes the answer."""

    __tablename__ = "article_feedback"
    __table_args__ = (
        UniqueConstraint("article_id", "user_id"),
        UniqueConstraint("article_id", "browser_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(sa_column=Column(Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False))
    user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    )
    browser_key: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    helped: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class SynonymLine(SQLModel, table=True):
    """A staff-added synonym group (``refund, money back, 환불``), read after the
    shipped list by the text analyser (``forum.text.Synonyms(extra=...)``)."""

    __tablename__ = "synonym_lines"

    id: int | None = Field(default=None, primary_key=True)
    line: str = Field(sa_column=Column(String(500), nullable=False))
    position: int = Field(default=0)
    author_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
