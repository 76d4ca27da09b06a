"""Support metrics for a period: the same figures support teams use for
tickets, computed by the database with aggregates and window functions (rows
are never loaded into Python to be counted).

Definitions (the dashboard writes them out, tests pin them):

- The *cohort* is the questions (not discussions) asked in the period, in the
  category if one is chosen, that are neither hidden nor deleted. Figures
  describe the cohort as it stands now.
- A *response* is a visible reply by anyone other than the asker; the asker's
  own replies never stop a clock, and a reply that moderators hide or delete
  stops counting (``col(Thread.first_response_at)``).
- A *staff response* is a reply posted while its author was staff
  (``col(Post.by_staff)``), by anyone other than the asker.
- *Solved* means an accepted or an official answer (``col(Thread.solved_at)``).
  The *solution* is the accepted answer, or the official one when none is
  accepted; it counts for staff when it was posted by staff, otherwise for
  the community.
- Times run from the question to the first response, first staff response or
  solution, in calendar time. The median is the middle value (the mean of the
  two middle values for an even count); the 90th percentile uses the
  nearest-rank method.
- Top community answerers: authors of community solutions in the cohort
  (their own questions excluded), ranked by solutions, then by answers they
  posted in the period to others' questions (answers are counted for the
  leading solution authors only; see ``answerers_statement``).
- Backlog: open (unsolved) questions at the end of each week of the period.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, Integer, and_, case, false, func, literal, or_, select, text, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from forum.db import read_transaction
from forum.i18n import gettext as _
from forum.models import Category, Post, Thread, ThreadKind, User
from forum.services.support import BadQuery, sql

if TYPE_CHECKING:
    from forum.services.support import Statement

MAX_PERIOD_DAYS = 731
DEFAULT_PERIOD_DAYS = 30
WEEK_SECONDS = 7 * 24 * 3600


# ---------------------------------------------------------------- portable SQL


class seconds_between(FunctionElement[float]):
    """``end - start`` in seconds, as a float (NULL if either is NULL)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = list(element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) AS FLOAT)"


class week_index(FunctionElement[int]):
    """Whole weeks from ``start`` to ``value`` (``value >= start``)."""

    type = Integer()
    inherit_cache = True
    name = "week_index"


@compiles(week_index, "sqlite")
def _week_sqlite(element: week_index, compiler: SQLCompiler, **kw: Any) -> str:
    value, start = list(element.clauses)
    # CAST truncates, which is the floor for the non-negative values we pass.
    days = f"(julianday({compiler.process(value, **kw)}) - julianday({compiler.process(start, **kw)}))"
    return f"CAST({days} / 7 AS INTEGER)"


@compiles(week_index, "postgresql")
def _week_postgresql(element: week_index, compiler: SQLCompiler, **kw: Any) -> str:
    value, start = list(element.clauses)
    return (
        f"CAST(FLOOR(EXTRACT(EPOCH FROM ({compiler.process(value, **kw)} - {compiler.process(start, **kw)})) "
        f"/ {WEEK_SECONDS}) AS INTEGER)"
    )


# ---------------------------------------------------------------- the period

_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class Period:
    """Whole UTC days, ``start`` and ``end`` included."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time())

    @property
    def end_at(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _parse_date(raw: str, name: str) -> date:
    if _DATE_RE.match(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise BadQuery(_("%(name)s must be a date written YYYY-MM-DD, like 2025-03-31.", name=name))


def parse_period(raw_from: str | None, raw_to: str | None, *, today: date) -> Period:
    """The period from query parameters; by default the last 30 days."""
    end = _parse_date(raw_to.strip(), "to") if raw_to and raw_to.strip() else today
    start = (
        _parse_date(raw_from.strip(), "from")
        if raw_from and raw_from.strip()
        else end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    )
    if start > end:
        raise BadQuery(_("The start date (from) comes after the end date (to)."))
    period = Period(start, end)
    if period.days > MAX_PERIOD_DAYS:
        raise BadQuery(_("Choose a period of at most %(n)s days.", n=MAX_PERIOD_DAYS))
    return period


# ---------------------------------------------------------------- figures


def question_conditions(category: Category | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        col(Thread.kind) == ThreadKind.question.value,
        col(Thread.deleted_at).is_(None),
        col(Thread.hidden_at).is_(None),
    ]
    if category is not None:
        where.append(col(Thread.category_id) == category.id)
    return where


def cohort_conditions(period: Period, category: Category | None) -> list[ColumnElement[bool]]:
    return [
        *question_conditions(category),
        col(Thread.created_at) >= period.start_at,
        col(Thread.created_at) < period.end_at,
    ]


def solution_post_id() -> ColumnElement[Any]:
    """The solution: the accepted answer, else the official one."""
    return func.coalesce(col(Thread.accepted_post_id), col(Thread.official_post_id))


@dataclass(frozen=True)
class Durations:
    count: int
    median: float | None  # seconds
    p90: float | None


@dataclass(frozen=True)
class Summary:
    asked: int
    answered: int
    solved: int
    solved_by_staff: int
    solved_by_community: int
    first_response: Durations
    first_staff_response: Durations
    solution: Durations

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def answered_share(self) -> float | None:
        return self._share(self.answered, self.asked)

    @property
    def solved_share(self) -> float | None:
        return self._share(self.solved, self.asked)

    @property
    def staff_share(self) -> float | None:
        return self._share(self.solved_by_staff, self.solved_by_staff + self.solved_by_community)

    @property
    def community_share(self) -> float | None:
        return self._share(self.solved_by_community, self.solved_by_staff + self.solved_by_community)

    @property
    def solved_without_answer(self) -> int:
        """Solved with no accepted or official answer post, e.g. by linking a
        knowledge-base article: counted as solved, in neither share."""
        return self.solved - self.solved_by_staff - self.solved_by_community


def _durations(cohort: Any, totals: Any, stop: Any, n: Any, label: str) -> Any:
    """Median and 90th percentile of ``stop - created_at`` over the cohort rows
    that have ``stop``, by ranking them with ROW_NUMBER() (the count ``n``
    comes from ``totals``, which saves a second window over the rows)."""
    secs = seconds_between(stop, cohort.c.created_at)
    ranked = (
        select(secs.label("s"), func.row_number().over(order_by=secs).label("rn"))
        .where(stop.is_not(None))
        .subquery(f"{label}_ranked")
    )
    rn, s = ranked.c.rn, ranked.c.s
    return (
        select(
            func.avg(case((or_(rn == (n + 1) // 2, rn == (n + 2) // 2), s))).label(f"{label}_median"),
            func.max(case((rn == (n * 90 + 99) // 100, s))).label(f"{label}_p90"),
        )
        .select_from(ranked.join(totals, true()))
        .subquery(label)
    )


def _of_solution(column: str, *where: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[Any]:
    """A column of the thread's solution post, looked up by primary key for
    solved threads only. A correlated subquery rather than a join: PostgreSQL
    would otherwise hash the whole posts table to join a few thousand rows."""
    solution = aliased(Post, name="solution")
    lookup = (
        select(getattr(solution, column))
        .where(sql(solution.id) == solution_post_id(), *(condition(solution) for condition in where))
        .scalar_subquery()
    )
    return case((col(Thread.solved_at).is_not(None), lookup))


def summary_statement(period: Period, category: Category | None) -> Statement:
    cohort = (
        select(
            col(Thread.id),
            col(Thread.created_at),
            col(Thread.first_response_at),
            col(Thread.first_staff_response_at),
            col(Thread.solved_at),
            _of_solution("by_staff").label("solution_by_staff"),
        )
        .where(*cohort_conditions(period, category))
        .cte("cohort")
    )
    c = cohort.c
    totals = (
        select(
            func.count().label("asked"),
            func.count(c.first_response_at).label("fr_count"),
            func.count(c.first_staff_response_at).label("fsr_count"),
            func.count(c.solved_at).label("sol_count"),
            func.count(case((and_(c.solved_at.is_not(None), c.solution_by_staff == true()), 1))).label("by_staff"),
            func.count(case((and_(c.solved_at.is_not(None), c.solution_by_staff == false()), 1))).label("by_community"),
        )
        .select_from(cohort)
        .cte("totals")
    )
    t = totals.c
    parts = [
        _durations(cohort, totals, c.first_response_at, t.fr_count, "fr"),
        _durations(cohort, totals, c.first_staff_response_at, t.fsr_count, "fsr"),
        _durations(cohort, totals, c.solved_at, t.sol_count, "sol"),
    ]
    # One-row subqueries side by side (joined ON TRUE: a cross join on purpose).
    joined: Any = totals
    for part in parts:
        joined = joined.join(part, true())
    return select(totals, *parts).select_from(joined)


async def summary(session: AsyncSession, period: Period, category: Category | None) -> Summary:
    row = (await session.execute(summary_statement(period, category))).mappings().one()

    def durations(label: str) -> Durations:
        median, p90 = row[f"{label}_median"], row[f"{label}_p90"]
        return Durations(
            count=int(row[f"{label}_count"] or 0),
            median=float(median) if median is not None else None,
            p90=float(p90) if p90 is not None else None,
        )

    return Summary(
        asked=int(row["asked"] or 0),
        answered=int(row["fr_count"] or 0),
        solved=int(row["sol_count"] or 0),
        solved_by_staff=int(row["by_staff"] or 0),
        solved_by_community=int(row["by_community"] or 0),
        first_response=durations("fr"),
        first_staff_response=durations("fsr"),
        solution=durations("sol"),
    )


@dataclass(frozen=True)
class Answerer:
    user: User
    solutions: int
    answers: int


def answerers_statement(period: Period, category: Category | None, *, limit: int | None = None) -> Statement:
    """Community answerers by solutions, then answers. With ``limit``, answers
    are counted only for a few times ``limit`` leading solution authors (ties
    at that cut go by user id): counting every author's answers over a long
    period is what would make the dashboard slow."""
    # The solution's author when it counts for the community: not posted as
    # staff, not the asker's own, still visible.
    solver = _of_solution(
        "author_id",
        lambda p: p.by_staff == false(),
        lambda p: p.author_id != col(Thread.author_id),
        lambda p: p.deleted_at.is_(None),
        lambda p: p.hidden_at.is_(None),
    ).label("author_id")
    solved = select(solver).where(*cohort_conditions(period, category)).subquery("solved")
    leading = (
        select(solved.c.author_id, func.count().label("solutions"))
        .where(solved.c.author_id.is_not(None))
        .group_by(solved.c.author_id)
    )
    if limit is not None:
        leading = leading.order_by(func.count().desc(), solved.c.author_id).limit(limit * 5)
    solutions = leading.subquery("solutions")
    # Answers in the period to others' questions, counted per answerer through
    # the (author_id, created_at) index.
    asked = aliased(Thread, name="asked")
    answers = (
        select(func.count())
        .select_from(Post)
        .join(asked, sql(asked.id) == col(Post.thread_id))
        .where(
            col(Post.author_id) == solutions.c.author_id,
            col(Post.is_first) == false(),
            col(Post.created_at) >= period.start_at,
            col(Post.created_at) < period.end_at,
            col(Post.deleted_at).is_(None),
            col(Post.hidden_at).is_(None),
            sql(asked.author_id) != col(Post.author_id),
            sql(asked.kind) == ThreadKind.question.value,
            sql(asked.deleted_at).is_(None),
            sql(asked.hidden_at).is_(None),
            *([sql(asked.category_id) == category.id] if category is not None else []),
        )
        .correlate(solutions)
        .scalar_subquery()
        .label("answers")
    )
    stmt = (
        select(User, solutions.c.solutions, answers)
        .join(solutions, solutions.c.author_id == col(User.id))
        .order_by(solutions.c.solutions.desc(), answers.desc(), col(User.username_key))
    )
    return stmt.limit(limit) if limit is not None else stmt


async def top_answerers(
    session: AsyncSession, period: Period, category: Category | None, *, limit: int = 10
) -> list[Answerer]:
    result = await session.execute(answerers_statement(period, category, limit=limit))
    return [
        Answerer(user=user, solutions=int(solutions), answers=int(answers or 0)) for user, solutions, answers in result
    ]


@dataclass(frozen=True)
class Week:
    start: date
    end: date  # the last day of the week (inclusive), within the period
    asked: int
    solved: int
    open_at_end: int


async def backlog(session: AsyncSession, period: Period, category: Category | None) -> list[Week]:
    """Open questions at the end of each week: the questions open when the
    period began, plus those asked since, minus those solved since (a
    question is solved after it is asked). One query: week buckets of the
    period's questions and solutions, plus the count open at the start."""
    base = question_conditions(category)
    start, end = period.start_at, period.end_at
    asked = (
        select(
            literal("asked").label("kind"),
            week_index(col(Thread.created_at), start).label("week"),
            func.count().label("n"),
        )
        .where(*base, col(Thread.created_at) >= start, col(Thread.created_at) < end)
        .group_by("week")
    )
    solved = (
        select(
            literal("solved").label("kind"),
            week_index(col(Thread.solved_at), start).label("week"),
            func.count().label("n"),
        )
        .where(*base, col(Thread.solved_at) >= start, col(Thread.solved_at) < end)
        .group_by("week")
    )
    open_before = select(literal("open").label("kind"), literal(-1).label("week"), func.count().label("n")).where(
        *base,
        col(Thread.created_at) < start,
        or_(col(Thread.solved_at).is_(None), col(Thread.solved_at) >= start),
    )
    rows = (await session.execute(union_all(asked, solved, open_before))).all()
    weeks = (period.days + 6) // 7
    asked_by_week, solved_by_week = [0] * weeks, [0] * weeks
    open_now = 0
    for kind, week, n in rows:
        if kind == "open":
            open_now = int(n)
        elif 0 <= int(week) < weeks:
            (asked_by_week if kind == "asked" else solved_by_week)[int(week)] += int(n)
    out: list[Week] = []
    for i in range(weeks):
        open_now += asked_by_week[i] - solved_by_week[i]
        first = period.start + timedelta(days=7 * i)
        out.append(
            Week(
                start=first,
                end=min(first + timedelta(days=6), period.end),
                asked=asked_by_week[i],
                solved=solved_by_week[i],
                open_at_end=open_now,
            )
        )
    return out


@dataclass(frozen=True)
class Dashboard:
    period: Period
    category: Category | None
    summary: Summary
    answerers: Sequence[Answerer]
    backlog: Sequence[Week]


async def without_jit(session: AsyncSession) -> None:
    """On PostgreSQL, turns JIT compilation off for the rest of the transaction
    (on a reading session, inside ``forum.db.read_transaction``).
    The correlated lookups make the planner's cost estimates large enough to
    trigger JIT, whose compile time (up to a second) dwarfs the queries' own
    run time of a few hundred milliseconds."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))


async def dashboard(session: AsyncSession, period: Period, category: Category | None) -> Dashboard:
    """Three queries whatever the data size (on PostgreSQL, in a transaction
    of their own with JIT off)."""
    async with read_transaction(session):
        await without_jit(session)
        return Dashboard(
            period=period,
            category=category,
            summary=await summary(session, period, category),
            answerers=await top_answerers(session, period, category),
            backlog=await backlog(session, period, category),
        )


# ---------------------------------------------------------------- the rows behind the figures


def cohort_rows_statement(period: Period, category: Category | None) -> Statement:
    """One row per question in the cohort with its times and its solution:
    the rows behind the counts, shares and times on the dashboard."""
    solution = aliased(Post, name="solution")
    solver = aliased(User, name="solver")
    return (
        select(
            col(Thread.id),
            col(Thread.title),
            col(Thread.slug),
            col(Category.slug).label("category"),
            col(Thread.language),
            col(Thread.created_at),
            col(Thread.first_response_at),
            col(Thread.first_staff_response_at),
            col(Thread.solved_at),
            sql(solution.id).label("solution_post_id"),
            sql(solution.by_staff).label("solution_by_staff"),
            sql(solver.username).label("solution_author"),
        )
        .select_from(Thread)
        .join(Category, col(Category.id) == col(Thread.category_id))
        .outerjoin(solution, sql(solution.id) == solution_post_id())
        .outerjoin(solver, sql(solver.id) == sql(solution.author_id))
        .where(*cohort_conditions(period, category))
        .order_by(col(Thread.created_at), col(Thread.id))
    )
