"""Announcement banners, and who dismissed them (issue 17, community)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class BannerLevel(enum.StrEnum):
    info = "info"
    warning = "warning"
    outage = "outage"


class Banner(SQLModel, table=True):
    """A notice at the top of every page in its scope from ``starts_at`` until
    ``ends_at``: the whole site, or the categories in ``category_ids`` (a
    comma-separated list of ids: a handful, read with the banner)."""

    __tablename__ = "banners"
    __table_args__ = (Index("ix_banners_ends_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(default=BannerLevel.info.value, sa_column=Column(String(16), nullable=False))
    text_en: str = Field(sa_column=Column(Text, nullable=False))
    text_ko: str = Field(sa_column=Column(Text, nullable=False))
    html_en: str = Field(sa_column=Column(Text, nullable=False))
    html_ko: str = Field(sa_column=Column(Text, nullable=False))
    starts_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    # Empty: the whole site.
    category_ids: str = Field(default="", sa_column=Column(String(500), nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    created_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )

    @property
    def categories(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.category_ids.split(",") if x.strip().isdigit())

    def html(self, locale: str) -> str:
        return self.html_ko if locale == "ko" else self.html_en


class BannerDismissal(SQLModel, table=True):
    """A signed-in member closed a banner: it no longer shows to them."""

    __tablename__ = "banner_dismissals"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    banner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("banners.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
