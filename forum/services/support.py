"""Support queues: what is waiting, against which SLA target, and whose it is.

Every queue is a subset of the *open questions*: questions (not discussions)
that are not solved, not hidden, not deleted and not closed as a duplicate.
Queue pages run a fixed number of queries whatever the data size: the SLA
policy (two small tables), the counts of every tab (one aggregate query) and
one page of rows (one query with its joins).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from sqlalchemy import Select, and_, case, false, func, not_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import ForumError, NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.i18n import lazy
from forum.models import Category, Role, SlaTarget, SupportSettings, Tag, Thread, ThreadAssignment, ThreadKind, User
from forum.models.support import (
    DEFAULT_FIRST_RESPONSE_MINUTES,
    DEFAULT_FIRST_STAFF_RESPONSE_MINUTES,
    DEFAULT_NEAR_PERCENT,
    DEFAULT_RESOLUTION_MINUTES,
    DEFAULT_WAITING_ON_ASKER_DAYS,
)
from forum.pagination import Page
from forum.services import tags

if TYPE_CHECKING:
    from forum.read import ThreadRow

    Statement: TypeAlias = Select[*tuple[Any, ...]]


def sql(attribute: Any) -> ColumnElement[Any]:
    """An attribute of an aliased model as the SQL column it is (SQLModel
    types model attributes as plain values)."""
    return cast("ColumnElement[Any]", attribute)


class BadQuery(ForumError):
    """A query-string parameter that cannot be understood (400, with a message
    that says which one and what is expected)."""

    status_code = 400


# ---------------------------------------------------------------- permissions


def is_support_staff(user: User | None) -> bool:
    return user is not None and user.is_staff


def can_manage_sla(user: User | None) -> bool:
    return user is not None and user.role == Role.admin.value


# ---------------------------------------------------------------- SLA policy

CLOCKS = ("first_response", "first_staff_response", "resolution")
CLOCK_TITLES = {
    "first_response": lazy("First response"),
    "first_staff_response": lazy("First staff response"),
    "resolution": lazy("Resolution"),
}
# The thread attribute whose time stops each clock.
CLOCK_STOPS = {
    "first_response": "first_response_at",
    "first_staff_response": "first_staff_response_at",
    "resolution": "solved_at",
}


def stop_column(clock: str) -> ColumnElement[Any]:
    return sql(getattr(Thread, CLOCK_STOPS[clock]))


@dataclass(frozen=True)
class Targets:
    """Minutes allowed for each clock; None means no target."""

    first_response: int | None
    first_staff_response: int | None
    resolution: int | None

    def minutes(self, clock: str) -> int | None:
        return getattr(self, clock)  # type: ignore[no-any-return]


DEFAULT_TARGETS = Targets(
    DEFAULT_FIRST_RESPONSE_MINUTES, DEFAULT_FIRST_STAFF_RESPONSE_MINUTES, DEFAULT_RESOLUTION_MINUTES
)


@dataclass(frozen=True)
class Policy:
    default: Targets = DEFAULT_TARGETS
    by_category: Mapping[int, Targets] = field(default_factory=dict)
    waiting_on_asker_days: int = DEFAULT_WAITING_ON_ASKER_DAYS
    near_percent: int = DEFAULT_NEAR_PERCENT

    def targets_for(self, category_id: int) -> Targets:
        return self.by_category.get(category_id, self.default)


def _targets(row: SupportSettings | SlaTarget) -> Targets:
    return Targets(row.first_response_minutes, row.first_staff_response_minutes, row.resolution_minutes)


async def load_policy(session: AsyncSession) -> Policy:
    settings = await session.get(SupportSettings, 1)
    overrides = (await session.scalars(select(SlaTarget))).all()
    if settings is None:
        return Policy(by_category={t.category_id: _targets(t) for t in overrides})
    return Policy(
        default=_targets(settings),
        by_category={t.category_id: _targets(t) for t in overrides},
        waiting_on_asker_days=settings.waiting_on_asker_days,
        near_percent=settings.near_percent,
    )


async def load_policy_for(session: AsyncSession, category_id: int) -> Policy:
    """The policy as it applies to one category, in one query."""
    row = (
        await session.execute(
            select(SupportSettings, SlaTarget)
            .outerjoin(SlaTarget, col(SlaTarget.category_id) == category_id)
            .where(col(SupportSettings.id) == 1)
        )
    ).first()
    if row is None:
        return Policy()
    settings, override = row
    return Policy(
        default=_targets(settings),
        by_category={category_id: _targets(override)} if override is not None else {},
        waiting_on_asker_days=settings.waiting_on_asker_days,
        near_percent=settings.near_percent,
    )


MAX_TARGET_HOURS = 24 * 366


def parse_hours(raw: str, field_name: str, errors: dict[str, str]) -> int | None:
    """Hours typed in a form ("", "4", "1.5") as whole minutes; blank means no target."""
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        hours = float(raw)
    except ValueError:
        errors[field_name] = _("Enter a number of hours, like 4 or 1.5, or leave it blank for no target.")
        return None
    if not 0 < hours <= MAX_TARGET_HOURS:
        errors[field_name] = _("Targets are between a minute and %(n)s hours.", n=MAX_TARGET_HOURS)
        return None
    return max(1, round(hours * 60))


def _parse_int(raw: str, field_name: str, low: int, high: int, message: str, errors: dict[str, str]) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        errors[field_name] = message
    return value


def check_targets(values: Mapping[str, str]) -> tuple[Targets, dict[str, str]]:
    errors: dict[str, str] = {}
    targets = Targets(*(parse_hours(values.get(clock, ""), clock, errors) for clock in CLOCKS))
    return targets, errors


async def save_default_policy(session: AsyncSession, *, actor: User, values: Mapping[str, str]) -> SupportSettings:
    """Saves the default targets and the queue settings from form values
    (hours for targets, days for waiting-on-asker, percent for "near")."""
    if not can_manage_sla(actor):
        raise NotAllowed(_("Only administrators can change SLA targets."))
    targets, errors = check_targets(values)
    waiting = _parse_int(
        values.get("waiting_on_asker_days", ""),
        "waiting_on_asker_days",
        1,
        365,
        _("Enter a whole number of days between 1 and 365."),
        errors,
    )
    near = _parse_int(
        values.get("near_percent", ""),
        "near_percent",
        1,
        99,
        _("Enter a percentage between 1 and 99."),
        errors,
    )
    if errors:
        raise ValidationError(errors)
    settings = await session.get(SupportSettings, 1)
    if settings is None:
        settings = SupportSettings(id=1)
    settings.first_response_minutes = targets.first_response
    settings.first_staff_response_minutes = targets.first_staff_response
    settings.resolution_minutes = targets.resolution
    settings.waiting_on_asker_days = waiting
    settings.near_percent = near
    settings.updated_at = utcnow()
    settings.updated_by_id = actor.id
    session.add(settings)
    await session.flush()
    return settings


async def save_category_targets(
    session: AsyncSession, category: Category, *, actor: User, values: Mapping[str, str]
) -> SlaTarget:
    if not can_manage_sla(actor):
        raise NotAllowed(_("Only administrators can change SLA targets."))
    targets, errors = check_targets(values)
    if errors:
        raise ValidationError(errors)
    row = await session.get(SlaTarget, category.id)
    if row is None:
        row = SlaTarget(category_id=category.id)  # type: ignore[arg-type]
        try:
            # A savepoint: two admins saving the same category at once must
            # not turn the loser's request into an error page.
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = await session.get(SlaTarget, category.id, populate_existing=True)
            assert row is not None
    row.first_response_minutes = targets.first_response
    row.first_staff_response_minutes = targets.first_staff_response
    row.resolution_minutes = targets.resolution
    row.updated_at = utcnow()
    row.updated_by_id = actor.id
    session.add(row)
    await session.flush()
    return row


async def reset_category_targets(session: AsyncSession, category: Category, *, actor: User) -> bool:
    """The category goes back to the default targets. Says whether it had its own."""
    if not can_manage_sla(actor):
        raise NotAllowed(_("Only administrators can change SLA targets."))
    row = await session.get(SlaTarget, category.id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


# ---------------------------------------------------------------- clocks


class ClockState:
    none = "none"  # no target
    met = "met"  # stopped within the target
    missed = "missed"  # stopped, but after the target
    running = "running"
    near = "near"  # running, past the "near" share of the target
    breached = "breached"  # running, past the target


@dataclass(frozen=True)
class Clock:
    """One SLA clock of one thread. It starts when the question is asked and
    stops at the first response, the first staff response or the solution;
    the asker's own replies never stop it."""

    name: str
    target_minutes: int | None
    started_at: datetime
    stopped_at: datetime | None
    now: datetime
    near_percent: int = DEFAULT_NEAR_PERCENT

    @property
    def title(self) -> str:
        return _(CLOCK_TITLES[self.name])

    @property
    def elapsed(self) -> timedelta:
        return (self.stopped_at or self.now) - self.started_at

    @property
    def due_at(self) -> datetime | None:
        if self.target_minutes is None:
            return None
        return self.started_at + timedelta(minutes=self.target_minutes)

    @property
    def remaining(self) -> timedelta | None:
        due = self.due_at
        return None if due is None else due - (self.stopped_at or self.now)

    @property
    def state(self) -> str:
        if self.target_minutes is None:
            return ClockState.none
        target = timedelta(minutes=self.target_minutes)
        if self.stopped_at is not None:
            return ClockState.met if self.elapsed <= target else ClockState.missed
        if self.elapsed > target:
            return ClockState.breached
        if self.elapsed * 100 >= target * self.near_percent:
            return ClockState.near
        return ClockState.running


STATE_RANK = {
    ClockState.breached: 5,
    ClockState.missed: 4,
    ClockState.near: 3,
    ClockState.running: 2,
    ClockState.met: 1,
    ClockState.none: 0,
}


def clocks_for(thread: Thread | ThreadRow, policy: Policy, now: datetime) -> list[Clock]:
    targets = policy.targets_for(thread.category_id)
    return [
        Clock(
            name=name,
            target_minutes=targets.minutes(name),
            started_at=thread.created_at,
            stopped_at=getattr(thread, CLOCK_STOPS[name]),
            now=now,
            near_percent=policy.near_percent,
        )
        for name in CLOCKS
    ]


def worst_state(clocks: Sequence[Clock]) -> str:
    return max((c.state for c in clocks), key=STATE_RANK.__getitem__, default=ClockState.none)


# ---------------------------------------------------------------- queues

QUEUES = (
    "unanswered",
    "no-staff-reply",
    "unsolved",
    "waiting-on-asker",
    "assigned-to-me",
    "unassigned",
    "breached",
)
QUEUE_TITLES = {
    "unanswered": lazy("Unanswered"),
    "no-staff-reply": lazy("No staff reply"),
    "unsolved": lazy("Unsolved"),
    "waiting-on-asker": lazy("Waiting on asker"),
    "assigned-to-me": lazy("Assigned to me"),
    "unassigned": lazy("Unassigned"),
    "breached": lazy("Breached"),
}
QUEUE_HELP = {
    "unanswered": lazy("No reply from anyone but the asker."),
    "no-staff-reply": lazy("No reply from staff yet."),
    "unsolved": lazy("No accepted or official answer."),
    "waiting-on-asker": lazy("Answered, but not solved %(days)s days after the first response."),
    "assigned-to-me": lazy("Open questions assigned to you."),
    "unassigned": lazy("Open questions nobody is assigned to."),
    "breached": lazy("Past a first response, first staff response or resolution target."),
}

LANGUAGES = ("en", "ko")
LANGUAGE_TITLES = {"en": lazy("English"), "ko": lazy("Korean")}
AGE_CHOICES = ("lt1d", "1d", "3d", "7d", "30d")
AGE_TITLES = {
    "lt1d": lazy("Less than a day old"),
    "1d": lazy("Older than a day"),
    "3d": lazy("Older than 3 days"),
    "7d": lazy("Older than a week"),
    "30d": lazy("Older than 30 days"),
}
_AGE_RE = re.compile(r"^(lt)?([0-9]{1,4})([hd])$")
ORDERS = ("oldest", "newest")
NO_ASSIGNEE = "none"


def check_queue_name(name: str) -> str:
    if name not in QUEUES:
        raise BadQuery(_("Unknown queue %(name)s. Queues: %(names)s.", name=name[:40], names=", ".join(QUEUES)))
    return name


@dataclass(frozen=True)
class Age:
    """``older``: at least this old; otherwise younger than this."""

    span: timedelta
    older: bool


def parse_age(raw: str) -> Age | None:
    if not raw:
        return None
    match = _AGE_RE.match(raw)
    if match is None:
        raise BadQuery(
            _("Age must look like 3d (older than 3 days), 12h (older than 12 hours) or lt1d (less than a day old).")
        )
    number = int(match.group(2))
    span = timedelta(days=number) if match.group(3) == "d" else timedelta(hours=number)
    return Age(span=span, older=match.group(1) is None)


@dataclass(frozen=True)
class QueueFilters:
    category: Category | None = None
    age: Age | None = None
    language: str | None = None
    # A staff member, or NO_ASSIGNEE for "nobody".
    assignee: User | str | None = None
    order: str = "oldest"
    tag: Tag | None = None
    raw: Mapping[str, str] = field(default_factory=dict)

    def query(self, **changes: str) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        params = {k: v for k, v in self.raw.items() if v}
        params.update(changes)
        return {k: v for k, v in params.items() if v}


FILTER_PARAMS = ("category", "age", "language", "assignee", "order", "tag")


async def parse_filters(session: AsyncSession, params: Mapping[str, str]) -> QueueFilters:
    """Filters from a query string; anything unknown is a clear 400."""
    raw = {name: (params.get(name) or "").strip() for name in FILTER_PARAMS}
    category = None
    if raw["category"]:
        category = await session.scalar(select(Category).where(col(Category.slug) == raw["category"]))
        if category is None:
            raise BadQuery(_("Unknown category %(slug)s.", slug=raw["category"][:60]))
    language = raw["language"] or None
    if language is not None and language not in LANGUAGES:
        raise BadQuery(_("Language must be en or ko."))
    assignee: User | str | None = None
    if raw["assignee"] == NO_ASSIGNEE:
        assignee = NO_ASSIGNEE
    elif raw["assignee"]:
        assignee = await session.scalar(select(User).where(col(User.username_key) == raw["assignee"].casefold()))
        if assignee is None or not assignee.is_staff:
            raise BadQuery(_("Unknown staff member %(name)s.", name=raw["assignee"][:30]))
    order = raw["order"] or "oldest"
    if order not in ORDERS:
        raise BadQuery(_("Order must be oldest or newest."))
    tag = None
    if raw["tag"]:
        name = tags.normalise_name(raw["tag"][:100])
        tag = (await tags.tags_by_name(session, [name])).get(name)
        if tag is None:
            raise BadQuery(_("Unknown tag %(name)s.", name=name[:40]))
    return QueueFilters(
        category=category,
        age=parse_age(raw["age"]),
        language=language,
        assignee=assignee,
        order=order,
        tag=tag,
        raw=raw,
    )


def open_questions() -> list[ColumnElement[bool]]:
    return [
        col(Thread.kind) == ThreadKind.question.value,
        col(Thread.solved_at).is_(None),
        col(Thread.deleted_at).is_(None),
        col(Thread.hidden_at).is_(None),
        col(Thread.duplicate_of_id).is_(None),
    ]


def filter_conditions(filters: QueueFilters, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.category is not None:
        where.append(col(Thread.category_id) == filters.category.id)
    if filters.age is not None:
        cutoff = now - filters.age.span
        where.append(col(Thread.created_at) <= cutoff if filters.age.older else col(Thread.created_at) > cutoff)
    if filters.language is not None:
        where.append(col(Thread.language) == filters.language)
    if filters.tag is not None and filters.tag.id is not None:
        where.append(tags.has_tag_condition(filters.tag.id))
    if filters.assignee == NO_ASSIGNEE:
        where.append(col(ThreadAssignment.thread_id).is_(None))
    elif isinstance(filters.assignee, User):
        where.append(col(ThreadAssignment.assignee_id) == filters.assignee.id)
    return where


def _running_past(targets: Targets, now: datetime) -> ColumnElement[bool]:
    """An open question whose clock, for any target, runs past it."""
    parts = [
        and_(stop_column(name).is_(None), col(Thread.created_at) < now - timedelta(minutes=minutes))
        for name in CLOCKS
        if (minutes := targets.minutes(name)) is not None
    ]
    return or_(*parts) if parts else false()


def breached_condition(policy: Policy, now: datetime) -> ColumnElement[bool]:
    """Cut-off times are computed here, per category, so the query compares
    plain columns with constants on both databases (no date arithmetic in SQL)."""
    overridden = sorted(policy.by_category)
    parts = [and_(col(Thread.category_id) == cid, _running_past(policy.by_category[cid], now)) for cid in overridden]
    default_part = _running_past(policy.default, now)
    if overridden:
        default_part = and_(not_(col(Thread.category_id).in_(overridden)), default_part)
    parts.append(default_part)
    return or_(*parts)


def queue_condition(name: str, *, viewer: User, policy: Policy, now: datetime) -> ColumnElement[bool]:
    if name == "unanswered":
        return col(Thread.first_response_at).is_(None)
    if name == "no-staff-reply":
        return col(Thread.first_staff_response_at).is_(None)
    if name == "unsolved":
        return true()
    if name == "waiting-on-asker":
        return col(Thread.first_response_at) < now - timedelta(days=policy.waiting_on_asker_days)
    if name == "assigned-to-me":
        return col(ThreadAssignment.assignee_id) == viewer.id
    if name == "unassigned":
        return col(ThreadAssignment.thread_id).is_(None)
    if name == "breached":
        return breached_condition(policy, now)
    raise BadQuery(_("Unknown queue %(name)s. Queues: %(names)s.", name=name[:40], names=", ".join(QUEUES)))


def _from_open_questions(stmt: Statement) -> Statement:
    return stmt.select_from(Thread).outerjoin(
        ThreadAssignment,
        col(ThreadAssignment.thread_id) == col(Thread.id),
    )


async def queue_counts(
    session: AsyncSession, *, viewer: User, policy: Policy, filters: QueueFilters, now: datetime
) -> dict[str, int]:
    """The number of threads in every queue, in one pass over the open questions."""
    columns = [
        func.count(case((queue_condition(name, viewer=viewer, policy=policy, now=now), 1))).label(
            name.replace("-", "_")
        )
        for name in QUEUES
    ]
    stmt = _from_open_questions(select(*columns)).where(*open_questions(), *filter_conditions(filters, now))
    row = (await session.execute(stmt)).one()
    return {name: int(row[i] or 0) for i, name in enumerate(QUEUES)}


@dataclass(frozen=True)
class QueueRow:
    thread: Thread
    assignment: ThreadAssignment | None
    assignee: User | None
    clocks: list[Clock]
    # Its tags (forum.services.tags.TagChip), read for the whole page at once.
    tags: tuple[Any, ...] = ()

    @property
    def state(self) -> str:
        return worst_state(self.clocks)


@dataclass(frozen=True)
class Queue:
    name: str
    filters: QueueFilters
    counts: dict[str, int]
    page: Page[QueueRow]
    policy: Policy
    now: datetime

    @property
    def title(self) -> str:
        return _(QUEUE_TITLES[self.name])

    @property
    def help(self) -> str:
        return _(QUEUE_HELP[self.name], days=self.policy.waiting_on_asker_days)


def queue_rows_statement(name: str, *, viewer: User, policy: Policy, filters: QueueFilters, now: datetime) -> Statement:
    assignee = aliased(User, name="assignee")
    order = col(Thread.created_at).asc() if filters.order == "oldest" else col(Thread.created_at).desc()
    tiebreak = col(Thread.id).asc() if filters.order == "oldest" else col(Thread.id).desc()
    return (
        _from_open_questions(select(Thread, ThreadAssignment, assignee))
        .outerjoin(assignee, sql(assignee.id) == col(ThreadAssignment.assignee_id))
        .options(joinedload(Thread.category), joinedload(Thread.author))  # type: ignore[arg-type]
        .where(
            *open_questions(),
            *filter_conditions(filters, now),
            queue_condition(name, viewer=viewer, policy=policy, now=now),
        )
        .order_by(order, tiebreak)
    )


async def load_queue(
    session: AsyncSession,
    name: str,
    *,
    viewer: User,
    filters: QueueFilters,
    page: int = 1,
    size: int = 30,
    now: datetime | None = None,
) -> Queue:
    if not is_support_staff(viewer):
        raise NotAllowed(_("Only staff can see the support queues."))
    check_queue_name(name)
    now = now or utcnow()
    policy = await load_policy(session)
    counts = await queue_counts(session, viewer=viewer, policy=policy, filters=filters, now=now)
    result = await session.execute(
        queue_rows_statement(name, viewer=viewer, policy=policy, filters=filters, now=now)
        .limit(size)
        .offset((page - 1) * size)
    )
    found = result.unique().all()
    chips = await tags.chips_for(session, [thread.id for thread, _a, _u in found])
    rows = [
        QueueRow(
            thread=thread,
            assignment=assignment,
            assignee=user,
            clocks=clocks_for(thread, policy, now),
            tags=chips.get(thread.id, ()),
        )
        for thread, assignment, user in found
    ]
    return Queue(
        name=name,
        filters=filters,
        counts=counts,
        page=Page(items=rows, number=page, size=size, total=counts[name]),
        policy=policy,
        now=now,
    )


async def staff_members(session: AsyncSession, *, limit: int = 500) -> Sequence[User]:
    """Who threads can be assigned to: staff, moderators and admins who can log in."""
    return (
        await session.scalars(
            select(User)
            .where(
                col(User.role).in_([Role.staff.value, Role.moderator.value, Role.admin.value]),
                col(User.banned_at).is_(None),
            )
            .order_by(col(User.display_name), col(User.id))
            .limit(limit)
        )
    ).all()
