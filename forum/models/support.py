"""The support-lead workspace: SLA targets, thread assignments (with their
history) and API tokens for integrations."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String
from sqlmodel import Field, Relationship, SQLModel

from forum.clock import utcnow
from forum.models.thread import Thread
from forum.models.user import User

# Defaults used until an admin saves others (the migration stores the same).
DEFAULT_FIRST_RESPONSE_MINUTES = 24 * 60
DEFAULT_FIRST_STAFF_RESPONSE_MINUTES = 48 * 60
DEFAULT_RESOLUTION_MINUTES = 7 * 24 * 60
DEFAULT_WAITING_ON_ASKER_DAYS = 3
DEFAULT_NEAR_PERCENT = 75


class SupportSettings(SQLModel, table=True):
    """One row (id 1): the default SLA targets and the queue settings.
    A target of NULL means "no target"."""

    __tablename__ = "support_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True)
    first_response_minutes: int | None = Field(default=DEFAULT_FIRST_RESPONSE_MINUTES)
    first_staff_response_minutes: int | None = Field(default=DEFAULT_FIRST_STAFF_RESPONSE_MINUTES)
    resolution_minutes: int | None = Field(default=DEFAULT_RESOLUTION_MINUTES)
    waiting_on_asker_days: int = Field(default=DEFAULT_WAITING_ON_ASKER_DAYS)
    near_percent: int = Field(default=DEFAULT_NEAR_PERCENT)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    updated_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )


class SlaTarget(SQLModel, table=True):
    """A category's own targets, replacing the defaults for its threads."""

    __tablename__ = "sla_targets"

    category_id: int = Field(
        sa_column=Column(Integer, ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    )
    first_response_minutes: int | None = Field(default=None)
    first_staff_response_minutes: int | None = Field(default=None)
    resolution_minutes: int | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    updated_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )


class AssignmentAction:
    assigned = "assigned"
    reassigned = "reassigned"
    unassigned = "unassigned"


class ThreadAssignment(SQLModel, table=True):
    """Who looks after a thread now (at most one staff member)."""

    __tablename__ = "thread_assignments"
    __table_args__ = (Index("ix_thread_assignments_assignee_id", "assignee_id"),)

    thread_id: int = Field(sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True))
    assignee_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    assigned_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    assigned_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))

    assignee: User = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[ThreadAssignment.assignee_id]"}
    )
    assigned_by: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[ThreadAssignment.assigned_by_id]"}
    )


class AssignmentEvent(SQLModel, table=True):
    """The history: every assign, reassign and unassign, never changed afterwards."""

    __tablename__ = "assignment_events"
    __table_args__ = (Index("ix_assignment_events_thread_id_created_at", "thread_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(sa_column=Column(Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False))
    actor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    action: str = Field(sa_column=Column(String(16), nullable=False))
    from_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    to_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))

    actor: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[AssignmentEvent.actor_id]"}
    )
    from_user: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[AssignmentEvent.from_user_id]"}
    )
    to_user: User | None = Relationship(
        sa_relationship_kwargs={"lazy": "raise", "foreign_keys": "[AssignmentEvent.to_user_id]"}
    )


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API. Only its SHA-256 is stored; it acts
    as its user, with whatever role the user has at the time of the request."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    name: str = Field(default="", max_length=60)
    token_hash: str = Field(max_length=64, unique=True)
    # The first characters of the token, so a person can tell tokens apart.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime, nullable=True))

    user: User = Relationship(sa_relationship_kwargs={"lazy": "raise"})

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


# Indexes on threads that the queues and the dashboard need. Declared here,
# with the feature that needs them, rather than in forum/models/thread.py.
_threads = Thread.__table__  # type: ignore[attr-defined]
Index("ix_threads_solved_at_created_at", _threads.c.solved_at, _threads.c.created_at)
Index("ix_threads_category_id_created_at", _threads.c.category_id, _threads.c.created_at)
# The assignee menu lists staff: a few rows among many members.
Index("ix_users_role", User.__table__.c.role)  # type: ignore[attr-defined]
