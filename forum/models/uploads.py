from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class Upload(SQLModel, table=True):
    """A file a member uploaded (``forum.services.uploads``). The stored object is
    named by ``key``, the server's own random name; ``filename`` is what the
    member called it, kept for display only."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_owner_id_created_at", "owner_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    owner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    # "image" (shown inline), "attachment" (served as a download) or "avatar".
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    content_type: str = Field(max_length=64)
    filename: str = Field(max_length=200)
    size: int = 0
    width: int | None = None
    height: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class UploadPost(SQLModel, table=True):
    """Which posts use which upload (kept as posts are written and edited): an
    upload that only hidden or deleted posts use is no longer served to members."""

    __tablename__ = "upload_posts"
    __table_args__ = (Index("ix_upload_posts_post_id", "post_id"),)

    upload_id: int = Field(
        sa_column=Column(Integer, ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    post_id: int = Field(
        sa_column=Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
