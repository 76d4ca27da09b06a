from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import Column, DateTime, Integer
from sqlmodel import Field, SQLModel


class _CategoryNames(Protocol):
    name_en: str
    name_ko: str
    description_en: str
    description_ko: str


class CategoryRules:
    """A category's name in a locale: for the table model and ``forum.read.CategoryRow``."""

    def name(self: _CategoryNames, locale: str) -> str:
        return self.name_ko if locale == "ko" else self.name_en

    def description(self: _CategoryNames, locale: str) -> str:
        return self.description_ko if locale == "ko" else self.description_en


class Category(CategoryRules, SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name_en: str = Field(max_length=80)
    name_ko: str = Field(max_length=80)
    description_en: str = Field(default="", max_length=300)
    description_ko: str = Field(default="", max_length=300)
    position: int = Field(default=0)
    # Archived: no longer offered on the ask form or the home page; its threads stay readable.
    archived_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    # The size of the category's thread list, kept by the transactions that change
    # it (forum.services.categories owns the rule) so list pages never count threads.
    # Threads on the list's pages: neither deleted, hidden nor pinned (pinned ones
    # show above the list on its first page).
    listed_threads: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # The same but hidden (held for review or by a moderator): moderators' lists add them.
    hidden_threads: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
