"""The support data as JSON, for staff and their integrations.

Authentication is the staff member's session or an API token
(``Authorization: Bearer <token>``, see ``forum users token``). Errors are
JSON too: ``{"error": "...", "status": 400}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum import web
from forum.clock import utcnow
from forum.errors import ForumError, LoginRequired, NotAllowed, NotFound
from forum.i18n import gettext as _
from forum.models import User
from forum.pagination import page_number
from forum.services import categories as category_service
from forum.services import metrics, support
from forum.urls import thread_url
from forum.web import current_user, reading

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50


def api_error(status: int, message: str) -> JSONResponse:
    headers = {"www-authenticate": 'Bearer realm="forum"'} if status == 401 else None
    return web.api_error(status, message, headers)


def api(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Domain errors as JSON with their status (401 also says how to authenticate)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ForumError as exc:
            return api_error(exc.status_code, exc.message)

    return endpoint


def require_staff(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired(
            _("Authentication required: log in, or send an API token as Authorization: Bearer <token>.")
        )
    if not support.is_support_staff(user):
        raise NotAllowed(_("Only staff can use the support API."))
    return user


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def _per_page(raw: str | None) -> int:
    if not raw:
        return DEFAULT_PER_PAGE
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PER_PAGE:
        raise support.BadQuery(_("per_page must be a whole number from 1 to %(n)s.", n=MAX_PER_PAGE))
    return value


def _clock(clock: support.Clock) -> dict[str, Any]:
    remaining = clock.remaining
    return {
        "target_minutes": clock.target_minutes,
        "state": clock.state,
        "due_at": _iso(clock.due_at),
        "stopped_at": _iso(clock.stopped_at),
        "elapsed_seconds": round(clock.elapsed.total_seconds()),
        "remaining_seconds": round(remaining.total_seconds()) if remaining is not None else None,
    }


def _queue_item(request: Request, row: support.QueueRow) -> dict[str, Any]:
    thread = row.thread
    base = str(request.base_url).rstrip("/")
    return {
        "id": thread.id,
        "title": thread.title,
        "url": base + thread_url(thread),
        "category": thread.category.slug,
        "language": thread.language,
        "author": thread.author.username,
        "asked_at": _iso(thread.created_at),
        "last_activity_at": _iso(thread.last_activity_at),
        "replies": thread.reply_count,
        "first_response_at": _iso(thread.first_response_at),
        "first_staff_response_at": _iso(thread.first_staff_response_at),
        "assignee": (
            {"username": row.assignee.username, "display_name": row.assignee.display_name}
            if row.assignee is not None
            else None
        ),
        "assigned_at": _iso(row.assignment.assigned_at) if row.assignment is not None else None,
        "sla_state": row.state,
        "sla": {clock.name: _clock(clock) for clock in row.clocks},
    }


@api
async def queue(request: Request) -> Response:
    user = require_staff(request)
    name = request.path_params["name"]
    if name not in support.QUEUES:
        raise NotFound(_("Unknown queue %(name)s. Queues: %(names)s.", name=name[:40], names=", ".join(support.QUEUES)))
    per_page = _per_page(request.query_params.get("per_page"))
    page = page_number(request.query_params.get("page"))
    async with reading(request) as session:
        filters = await support.parse_filters(session, request.query_params)
        loaded = await support.load_queue(session, name, viewer=user, filters=filters, page=page, size=per_page)
    return JSONResponse(
        {
            "queue": name,
            "filters": filters.query(),
            "total": loaded.page.total,
            "page": loaded.page.number,
            "per_page": per_page,
            "pages": loaded.page.pages,
            "counts": loaded.counts,
            "generated_at": _iso(loaded.now),
            "items": [_queue_item(request, row) for row in loaded.page.items],
        }
    )


def _durations(d: metrics.Durations) -> dict[str, Any]:
    return {
        "count": d.count,
        "median_seconds": round(d.median) if d.median is not None else None,
        "p90_seconds": round(d.p90) if d.p90 is not None else None,
    }


def _share(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


@api
async def metrics_view(request: Request) -> Response:
    require_staff(request)
    params = request.query_params
    period = metrics.parse_period(params.get("from"), params.get("to"), today=utcnow().date())
    slug = (params.get("category") or "").strip()
    async with reading(request) as session:
        category = None
        if slug:
            category = await category_service.get_category_by_slug(session, slug)
            if category is None:
                raise support.BadQuery(_("Unknown category %(slug)s.", slug=slug[:60]))
        board = await metrics.dashboard(session, period, category)
    s = board.summary
    return JSONResponse(
        {
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "days": period.days},
            "category": category.slug if category is not None else None,
            "questions_asked": s.asked,
            "answered": s.answered,
            "answered_share": _share(s.answered_share),
            "solved": s.solved,
            "solved_share": _share(s.solved_share),
            "solutions": {
                "community": s.solved_by_community,
                "staff": s.solved_by_staff,
                "community_share": _share(s.community_share),
                "staff_share": _share(s.staff_share),
                "without_answer": s.solved_without_answer,
            },
            "time_to_first_response": _durations(s.first_response),
            "time_to_first_staff_response": _durations(s.first_staff_response),
            "time_to_solution": _durations(s.solution),
            "top_community_answerers": [
                {
                    "username": a.user.username,
                    "display_name": a.user.display_name,
                    "solutions": a.solutions,
                    "answers": a.answers,
                }
                for a in board.answerers
            ],
            "backlog_by_week": [
                {
                    "week_start": w.start.isoformat(),
                    "week_end": w.end.isoformat(),
                    "asked": w.asked,
                    "solved": w.solved,
                    "open_at_end": w.open_at_end,
                }
                for w in board.backlog
            ],
        }
    )


routes = [
    Route("/api/queues/{name}", queue, name="api:queue"),
    Route("/api/metrics", metrics_view, name="api:metrics"),
]
