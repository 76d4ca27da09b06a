from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, Text
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.models.user import User


class PostRevision(SQLModel, table=True):
    """A post's text as it was before one edit. The current text is on the
    post itself; together they are the post's whole history."""

    __tablename__ = "post_revisions"
    __table_args__ = (Index("ix_post_revisions_post_id_id", "post_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(sa_column=Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False))
    # The text and (first posts only) the thread title that this edit replaced.
    body: str = Field(sa_column=Column(Text, nullable=False))
    title: str | None = Field(default=None, max_length=300)
    # When that replaced text had been written (the post or the previous edit).
    written_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    # Who made the edit, when, and why (moderators give a reason).
    editor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    edited_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    reason: str = Field(default="", max_length=500)

    editor: User | None = Relationship(sa_relationship_kwargs={"lazy": "raise"})
