"""Assigning threads to staff members. Every change is recorded as an
``AssignmentEvent``; the current state is one ``ThreadAssignment`` row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.models import AssignmentEvent, Thread, ThreadAssignment, User
from forum.models.support import AssignmentAction
from forum.permissions import can_see_thread
from forum.services import support
from forum.services.accounts import get_user_by_username

if TYPE_CHECKING:
    from forum.read import ThreadRow


def can_assign(actor: User | None, thread: Thread | ThreadRow) -> bool:
    return support.is_support_staff(actor) and can_see_thread(actor, thread)


def check_assignee(user: User | None) -> User:
    if user is None or not user.is_staff:
        raise ValidationError({"assignee": _("Threads can only be assigned to staff members.")})
    if not user.can_log_in(utcnow()):
        raise ValidationError({"assignee": _("That staff member cannot log in at the moment.")})
    return user


async def find_assignee(session: AsyncSession, raw: str, *, actor: User) -> User:
    """The staff member named in a form: a username, or "me"."""
    raw = raw.strip()
    if not raw:
        raise ValidationError({"assignee": _("Choose a staff member.")})
    user = actor if raw == "me" else await get_user_by_username(session, raw)
    return check_assignee(user)


async def _current(session: AsyncSession, thread: Thread) -> ThreadAssignment | None:
    # Lock the thread row (PostgreSQL; SQLite has one writer at a time anyway)
    # so two staff members assigning the same thread at once are serialised
    # and the history stays a true sequence.
    await session.execute(select(col(Thread.id)).where(col(Thread.id) == thread.id).with_for_update())
    return await session.get(ThreadAssignment, thread.id, populate_existing=True)


async def assign(
    session: AsyncSession, thread: Thread, *, actor: User, assignee: User, at: datetime | None = None
) -> bool:
    """Assigns (or reassigns) ``thread`` to ``assignee``. Says whether anything changed."""
    if not can_assign(actor, thread):
        raise NotAllowed(_("Only staff can assign threads."))
    check_assignee(assignee)
    now = at or utcnow()
    current = await _current(session, thread)
    if current is not None and current.assignee_id == assignee.id:
        return False
    previous = current.assignee_id if current is not None else None
    assert thread.id is not None and assignee.id is not None
    if current is None:
        current = ThreadAssignment(thread_id=thread.id, assignee_id=assignee.id)
    current.assignee_id = assignee.id
    current.assigned_by_id = actor.id
    current.assigned_at = now
    session.add(current)
    session.add(
        AssignmentEvent(
            thread_id=thread.id,  # type: ignore[arg-type]
            actor_id=actor.id,
            action=AssignmentAction.assigned if previous is None else AssignmentAction.reassigned,
            from_user_id=previous,
            to_user_id=assignee.id,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def unassign(session: AsyncSession, thread: Thread, *, actor: User, at: datetime | None = None) -> bool:
    if not can_assign(actor, thread):
        raise NotAllowed(_("Only staff can assign threads."))
    current = await _current(session, thread)
    if current is None:
        return False
    session.add(
        AssignmentEvent(
            thread_id=thread.id,  # type: ignore[arg-type]
            actor_id=actor.id,
            action=AssignmentAction.unassigned,
            from_user_id=current.assignee_id,
            to_user_id=None,
            created_at=at or utcnow(),
        )
    )
    await session.delete(current)
    await session.flush()
    return True


@dataclass(frozen=True)
class ThreadPanel:
    """What the thread page shows staff: the assignment, its history, the
    SLA clocks and the people it can go to."""

    assignment: ThreadAssignment | None
    events: Sequence[AssignmentEvent]
    staff: Sequence[User]
    clocks: list[support.Clock]
    can_assign: bool


async def thread_panel(
    session: AsyncSession, thread: Thread | ThreadRow, *, viewer: User | None, events: int = 10
) -> ThreadPanel | None:
    """None for anyone but staff (and then no queries at all)."""
    if not support.is_support_staff(viewer):
        return None
    assert viewer is not None
    assignment = await session.scalar(
        select(ThreadAssignment)
        .options(joinedload(ThreadAssignment.assignee), joinedload(ThreadAssignment.assigned_by))  # type: ignore[arg-type]
        .where(col(ThreadAssignment.thread_id) == thread.id)
    )
    history = (
        await session.scalars(
            select(AssignmentEvent)
            .options(
                joinedload(AssignmentEvent.actor),  # type: ignore[arg-type]
                joinedload(AssignmentEvent.from_user),  # type: ignore[arg-type]
                joinedload(AssignmentEvent.to_user),  # type: ignore[arg-type]
            )
            .where(col(AssignmentEvent.thread_id) == thread.id)
            .order_by(col(AssignmentEvent.created_at).desc(), col(AssignmentEvent.id).desc())
            .limit(events)
        )
    ).all()
    allowed = can_assign(viewer, thread)
    staff = await support.staff_members(session) if allowed else []
    clocks: list[support.Clock] = []
    if thread.is_question:
        policy = await support.load_policy_for(session, thread.category_id)
        clocks = support.clocks_for(thread, policy, utcnow())
    return ThreadPanel(assignment=assignment, events=history, staff=staff, clocks=clocks, can_assign=allowed)
