from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from forum.clock import utcnow


class FormSubmission(SQLModel, table=True):
    """A form's one-use key, taken by the submission that made something
    (``forum.services.formkeys``); its primary key is what makes a second
    submission of the same form fail. Kept a day or two."""

    __tablename__ = "form_submissions"
    __table_args__ = (Index("ix_form_submissions_created_at", "created_at"),)

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    form_key: str = Field(sa_column=Column(String(64), primary_key=True, nullable=False))
    # Where the first submission led (the thread, the post ...): a second one goes there too.
    result_url: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
