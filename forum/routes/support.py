"""The support-lead workspace for staff: queues, the metrics dashboard, CSV
exports, SLA settings and thread assignment."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from forum import svg_charts
from forum.clock import utcnow
from forum.db import read_transaction
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import format_number
from forum.i18n import gettext as _
from forum.models import Category, User
from forum.pagination import page_number
from forum.runtime import runtime_of
from forum.services import assignments, banners, metrics, spikes, support
from forum.services import categories as category_service
from forum.services import threads as thread_service
from forum.urls import thread_url
from forum.web import (
    field,
    read_form,
    reading,
    redirect,
    render,
    require_user,
    safe_next,
    settings_of,
    writing,
)

# ---------------------------------------------------------------- helpers


def require_staff(request: Request) -> User:
    user = require_user(request)
    if not support.is_support_staff(user):
        raise NotAllowed(_("Only staff can use the support workspace."))
    return user


def format_duration(seconds: float | None) -> str:
    """3 min, 5 h 20 min, 2 d 4 h: precise enough for SLA clocks."""
    if seconds is None:
        return "–"
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        return _("%(m)s min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)s h %(m)s min", h=hours, m=minutes) if minutes else _("%(h)s h", h=hours)
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h", d=days, h=hours) if hours else _("%(d)s d", d=days)


def clock_text(clock: support.Clock) -> str:
    state = clock.state
    if state == support.ClockState.none:
        return _("no target")
    if state == support.ClockState.met:
        return _("met in %(time)s", time=format_duration(clock.elapsed.total_seconds()))
    if state == support.ClockState.missed:
        remaining = clock.remaining
        late = -remaining.total_seconds() if remaining is not None else None
        return _("late by %(time)s", time=format_duration(late))
    remaining = clock.remaining
    assert remaining is not None
    if state == support.ClockState.breached:
        return _("overdue by %(time)s", time=format_duration(-remaining.total_seconds()))
    return _("%(time)s left", time=format_duration(remaining.total_seconds()))


def format_share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def queue_url(name: str, params: Mapping[str, str] | None = None, **changes: Any) -> str:
    query = {k: v for k, v in (params or {}).items() if v}
    query.update({k: str(v) for k, v in changes.items() if v not in (None, "")})
    if query.get("page") == "1":
        del query["page"]
    return f"/support/queues/{name}" + (f"?{urlencode(query)}" if query else "")


def _check_queue(name: str) -> str:
    if name not in support.QUEUES:
        raise NotFound(_("No such queue."))
    return name


async def _category_param(session: AsyncSession, slug: str | None) -> Category | None:
    slug = (slug or "").strip()
    if not slug:
        return None
    category = await category_service.get_category_by_slug(session, slug)
    if category is None:
        raise support.BadQuery(_("Unknown category %(slug)s.", slug=slug[:60]))
    return category


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else ""


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _csv_chunk(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def csv_response(filename: str, chunks: AsyncIterator[str]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        # A byte-order mark so spreadsheet programs read Korean as UTF-8.
        yield "\ufeff".encode()
        async for chunk in chunks:
            yield chunk.encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"},
    )


async def stream_rows(
    request: Request,
    stmt: Select[Any],
    header: Sequence[str],
    row: Callable[[Any], Sequence[object]],
) -> AsyncIterator[str]:
    """Rows of a statement as CSV text, a batch at a time, in a session of its own."""
    yield _csv_chunk([header])
    # A server-side cursor lives in a transaction (forum.db.read_transaction).
    async with runtime_of(request.app).read_sessionmaker() as session, read_transaction(session):
        await metrics.without_jit(session)
        result = await session.stream(stmt.execution_options(yield_per=2000))
        try:
            async for batch in result.partitions():
                yield _csv_chunk(row(r) for r in batch)
        finally:
            await result.close()


def _period_slug(period: metrics.Period, category: Category | None) -> str:
    return f"{period.start:%Y%m%d}-{period.end:%Y%m%d}" + (f"-{category.slug}" if category else "")


# ---------------------------------------------------------------- queues


async def index(request: Request) -> Response:
    require_staff(request)
    return redirect("/support/queues/unanswered")


async def queue(request: Request) -> Response:
    user = require_staff(request)
    name = _check_queue(request.path_params["name"])
    async with reading(request) as session:
        filters = await support.parse_filters(session, request.query_params)
        loaded = await support.load_queue(
            session,
            name,
            viewer=user,
            filters=filters,
            page=page_number(request.query_params.get("page")),
            size=settings_of(request).page_size,
        )
        categories = await category_service.all_categories(session)
        staff = await support.staff_members(session)
        open_spikes = await spikes.open_spike_count(session)
    params = filters.query()
    return render(
        request,
        "support/queue.html",
        queue=loaded,
        params=params,
        open_spikes=open_spikes,
        categories=categories,
        staff=staff,
        queue_url=queue_url,
        clock_text=clock_text,
        here=queue_url(name, params, page=loaded.page.number),
        QUEUES=support.QUEUES,
        QUEUE_TITLES=support.QUEUE_TITLES,
        AGE_CHOICES=support.AGE_CHOICES,
        AGE_TITLES=support.AGE_TITLES,
        LANGUAGE_TITLES=support.LANGUAGE_TITLES,
    )


QUEUE_CSV_HEADER = (
    "thread_id",
    "title",
    "path",
    "category",
    "language",
    "asked_at",
    "replies",
    "first_response_at",
    "first_staff_response_at",
    "assignee",
    "assigned_at",
    "first_response_target_minutes",
    "first_response_state",
    "first_staff_response_target_minutes",
    "first_staff_response_state",
    "resolution_target_minutes",
    "resolution_state",
)


async def queue_csv(request: Request) -> Response:
    user = require_staff(request)
    name = _check_queue(request.path_params["name"])
    now = utcnow()
    async with reading(request) as session:
        filters = await support.parse_filters(session, request.query_params)
        policy = await support.load_policy(session)
    stmt = support.queue_rows_statement(name, viewer=user, policy=policy, filters=filters, now=now)

    def row(r: Any) -> Sequence[object]:
        thread, assignment, assignee = r
        clocks = support.clocks_for(thread, policy, now)
        out: list[object] = [
            thread.id,
            thread.title,
            thread_url(thread),
            thread.category.slug,
            thread.language,
            thread.created_at,
            thread.reply_count,
            thread.first_response_at,
            thread.first_staff_response_at,
            assignee.username if assignee is not None else "",
            assignment.assigned_at if assignment is not None else None,
        ]
        for clock in clocks:
            out += [clock.target_minutes, clock.state]
        return out

    return csv_response(f"queue-{name}-{now:%Y%m%d}.csv", stream_rows(request, stmt, QUEUE_CSV_HEADER, row))


# ---------------------------------------------------------------- dashboard


def _charts(board: metrics.Dashboard) -> dict[str, Any]:
    s = board.summary
    backlog = svg_charts.column_chart(
        [
            svg_charts.Bar(
                label=f"{week.start:%m-%d}",
                value=week.open_at_end,
                tooltip=_(
                    "Week of %(date)s: %(open)s open at the end, %(asked)s asked, %(solved)s solved",
                    date=week.start.isoformat(),
                    open=format_number(week.open_at_end),
                    asked=format_number(week.asked),
                    solved=format_number(week.solved),
                ),
            )
            for week in board.backlog
        ],
        title=_("Backlog by week"),
        description=_("Open (unsolved) questions at the end of each week of the period."),
        value_format=lambda v: format_number(int(v)),
    )
    solutions = svg_charts.share_bar(
        [
            svg_charts.Part(_("Community"), s.solved_by_community, "chart-community"),
            svg_charts.Part(_("Staff"), s.solved_by_staff, "chart-staff"),
        ],
        title=_("Who solved the questions"),
        description=_("Solutions by the community and by staff among the solved questions of the period."),
        value_format=lambda v: format_number(int(v)),
    )
    times = svg_charts.range_chart(
        [
            svg_charts.Range(_("First response"), s.first_response.median, s.first_response.p90),
            svg_charts.Range(_("First staff response"), s.first_staff_response.median, s.first_staff_response.p90),
            svg_charts.Range(_("Solution"), s.solution.median, s.solution.p90),
        ],
        title=_("Time to first response, first staff response and solution"),
        description=_("Median and 90th percentile, from the question to each event, on a logarithmic scale."),
        low_label=_("Median"),
        high_label=_("90th percentile"),
        value_format=format_duration,
        log_from=60,  # seconds: bars start at one minute
    )
    return {"backlog": backlog, "solutions": solutions, "times": times}


async def dashboard(request: Request) -> Response:
    require_staff(request)
    params = request.query_params
    values = {"from": params.get("from", ""), "to": params.get("to", ""), "category": params.get("category", "")}
    async with reading(request) as session:
        categories = await category_service.all_categories(session)
        try:
            period = metrics.parse_period(values["from"], values["to"], today=utcnow().date())
            category = await _category_param(session, values["category"])
        except support.BadQuery as exc:
            return render(
                request,
                "support/metrics.html",
                status_code=400,
                error=exc.message,
                values=values,
                categories=categories,
                board=None,
                banner_effects=[],
            )
        board = await metrics.dashboard(session, period, category)
        banner_effects = await banners.recent_effects(session)
        open_spikes = await spikes.open_spike_count(session)
    query = urlencode({"from": period.start.isoformat(), "to": period.end.isoformat(), "category": values["category"]})
    return render(
        request,
        "support/metrics.html",
        error="",
        values={"from": period.start.isoformat(), "to": period.end.isoformat(), "category": values["category"]},
        categories=categories,
        board=board,
        charts=_charts(board),
        query=query,
        format_duration=format_duration,
        format_share=format_share,
        banner_effects=banner_effects,
        open_spikes=open_spikes,
    )


async def _period_and_category(request: Request) -> tuple[metrics.Period, Category | None]:
    params = request.query_params
    period = metrics.parse_period(params.get("from"), params.get("to"), today=utcnow().date())
    async with reading(request) as session:
        category = await _category_param(session, params.get("category"))
    return period, category


QUESTIONS_CSV_HEADER = (
    "thread_id",
    "title",
    "path",
    "category",
    "language",
    "asked_at",
    "first_response_at",
    "first_staff_response_at",
    "solved_at",
    "seconds_to_first_response",
    "seconds_to_first_staff_response",
    "seconds_to_solution",
    "solution_post_id",
    "solution_by",
    "solution_author",
)


def _seconds(end: datetime | None, start: datetime) -> int | None:
    return None if end is None else round((end - start).total_seconds())


async def questions_csv(request: Request) -> Response:
    """One row per question asked in the period: the rows behind the counts,
    shares, times and the community/staff split."""
    require_staff(request)
    period, category = await _period_and_category(request)

    def row(r: Any) -> Sequence[object]:
        solved_by = ""
        if r.solved_at is not None and r.solution_post_id is not None:
            solved_by = "staff" if r.solution_by_staff else "community"
        return (
            r.id,
            r.title,
            f"/t/{r.id}/{quote(r.slug)}",
            r.category,
            r.language,
            r.created_at,
            r.first_response_at,
            r.first_staff_response_at,
            r.solved_at,
            _seconds(r.first_response_at, r.created_at),
            _seconds(r.first_staff_response_at, r.created_at),
            _seconds(r.solved_at, r.created_at),
            r.solution_post_id,
            solved_by,
            r.solution_author or "",
        )

    stmt = metrics.cohort_rows_statement(period, category)
    filename = f"questions-{_period_slug(period, category)}.csv"
    return csv_response(filename, stream_rows(request, stmt, QUESTIONS_CSV_HEADER, row))


async def answerers_csv(request: Request) -> Response:
    """Every community answerer behind the "top community answerers" table."""
    require_staff(request)
    period, category = await _period_and_category(request)
    stmt = metrics.answerers_statement(period, category)
    header = ("username", "display_name", "solutions", "answers")
    filename = f"community-answerers-{_period_slug(period, category)}.csv"
    return csv_response(
        filename,
        stream_rows(request, stmt, header, lambda r: (r[0].username, r[0].display_name, r[1], r[2] or 0)),
    )


async def backlog_csv(request: Request) -> Response:
    require_staff(request)
    period, category = await _period_and_category(request)
    async with reading(request) as session:
        weeks = await metrics.backlog(session, period, category)

    async def chunks() -> AsyncIterator[str]:
        yield _csv_chunk(
            [("week_start", "week_end", "asked", "solved", "open_at_end")]
            + [(w.start.isoformat(), w.end.isoformat(), w.asked, w.solved, w.open_at_end) for w in weeks]
        )

    return csv_response(f"backlog-{_period_slug(period, category)}.csv", chunks())


# ---------------------------------------------------------------- SLA settings


async def _settings_page(
    request: Request,
    *,
    errors: Mapping[str, str] | None = None,
    error_for: str = "",
    status_code: int = 200,
    values: Mapping[str, str] | None = None,
) -> Response:
    user = require_staff(request)
    async with reading(request) as session:
        policy = await support.load_policy(session)
        categories = await category_service.all_categories(session)
    return render(
        request,
        "support/settings.html",
        status_code=status_code,
        policy=policy,
        categories=categories,
        can_edit=support.can_manage_sla(user),
        errors=errors or {},
        error_for=error_for,
        values=values or {},
        CLOCKS=support.CLOCKS,
        CLOCK_TITLES=support.CLOCK_TITLES,
        hours=_hours,
    )


def _hours(minutes: int | None) -> str:
    if minutes is None:
        return ""
    hours = minutes / 60
    return f"{hours:g}" if hours == round(hours, 2) else f"{hours:.2f}"


async def settings_page(request: Request) -> Response:
    return await _settings_page(request)


SETTINGS_FIELDS = (*support.CLOCKS, "waiting_on_asker_days", "near_percent")


async def save_settings(request: Request) -> Response:
    user = require_staff(request)
    form = await read_form(request)
    values = {name: field(form, name) for name in SETTINGS_FIELDS}
    try:
        async with writing(request) as session:
            await support.save_default_policy(session, actor=user, values=values)
    except ValidationError as exc:
        return await _settings_page(request, errors=exc.errors, error_for="default", status_code=422, values=values)
    return redirect("/support/settings?saved=1")


async def _category_or_404(session: AsyncSession, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound(_("No such category."))
    return category


async def save_category(request: Request) -> Response:
    user = require_staff(request)
    form = await read_form(request)
    values = {name: field(form, name) for name in support.CLOCKS}
    category_id = request.path_params["category_id"]
    try:
        async with writing(request) as session:
            category = await _category_or_404(session, category_id)
            await support.save_category_targets(session, category, actor=user, values=values)
    except ValidationError as exc:
        return await _settings_page(
            request, errors=exc.errors, error_for=f"category-{category_id}", status_code=422, values=values
        )
    return redirect(f"/support/settings?saved=1#category-{category_id}")


async def reset_category(request: Request) -> Response:
    user = require_staff(request)
    await read_form(request)
    category_id = request.path_params["category_id"]
    async with writing(request) as session:
        category = await _category_or_404(session, category_id)
        await support.reset_category_targets(session, category, actor=user)
    return redirect(f"/support/settings?saved=1#category-{category_id}")


# ---------------------------------------------------------------- assignment


async def assign(request: Request) -> Response:
    user = require_staff(request)
    form = await read_form(request)
    async with writing(request) as session:
        thread = await thread_service.get_thread_or_404(session, request.path_params["thread_id"], viewer=user)
        assignee = await assignments.find_assignee(session, field(form, "assignee"), actor=user)
        await assignments.assign(session, thread, actor=user, assignee=assignee)
    return redirect(safe_next(field(form, "next"), thread_url(thread) + "#support-panel"))


async def unassign(request: Request) -> Response:
    user = require_staff(request)
    form = await read_form(request)
    async with writing(request) as session:
        thread = await thread_service.get_thread_or_404(session, request.path_params["thread_id"], viewer=user)
        await assignments.unassign(session, thread, actor=user)
    return redirect(safe_next(field(form, "next"), thread_url(thread) + "#support-panel"))


routes = [
    Route("/support", index, name="support:index"),
    # The CSV routes come first: "{name}" would match "unanswered.csv" too.
    Route("/support/queues/{name}.csv", queue_csv, name="support:queue-csv"),
    Route("/support/queues/{name}", queue, name="support:queue"),
    Route("/support/metrics", dashboard, name="support:metrics"),
    Route("/support/metrics/questions.csv", questions_csv, name="support:questions-csv"),
    Route("/support/metrics/answerers.csv", answerers_csv, name="support:answerers-csv"),
    Route("/support/metrics/backlog.csv", backlog_csv, name="support:backlog-csv"),
    Route("/support/settings", settings_page, methods=["GET"], name="support:settings"),
    Route("/support/settings", save_settings, methods=["POST"], name="support:settings-save"),
    Route(
        "/support/settings/categories/{category_id:int}",
        save_category,
        methods=["POST"],
        name="support:category-save",
    ),
    Route(
        "/support/settings/categories/{category_id:int}/reset",
        reset_category,
        methods=["POST"],
        name="support:category-reset",
    ),
    Route("/t/{thread_id:int}/assign", assign, methods=["POST"], name="support:assign"),
    Route("/t/{thread_id:int}/unassign", unassign, methods=["POST"], name="support:unassign"),
]
