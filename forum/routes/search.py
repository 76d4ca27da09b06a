"""The search page, its JSON twin, and the list of searches that found nothing."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum import search as service
from forum.clock import utcnow
from forum.errors import NotAllowed
from forum.i18n import gettext as _
from forum.i18n import lazy
from forum.pagination import page_number
from forum.ratelimit import hit_or_429
from forum.runtime import runtime_of
from forum.services import categories as category_service
from forum.services import tags as tag_service
from forum.warmup import is_warm_up
from forum.web import absolute_url, current_user, reading, render, require_user

PAGE_SIZE = 20
API_DEFAULT_LIMIT = 10
API_MAX_LIMIT = 50
DATE_RANGES = {
    "week": (timedelta(days=7), lazy("Past week")),
    "month": (timedelta(days=31), lazy("Past month")),
    "year": (timedelta(days=366), lazy("Past year")),
}
KIND_LABELS = {
    "question": lazy("Questions"),
    "discussion": lazy("Discussions"),
    "article": lazy("Articles"),
}
FAILED_PERIODS = {"7": 7, "30": 30, "90": 90}


def _choice(value: str | None, allowed: object) -> str:
    """A query-string value if it is one of the allowed ones, else ""."""
    return value if value and value in allowed else ""  # type: ignore[operator]


async def _rate_limit(request: Request) -> None:
    await hit_or_429(request, "search")


async def search_page(request: Request) -> Response:
    params = request.query_params
    query = service.clean(params.get("q", ""))
    form = {
        "q": query,
        "category": params.get("category", "")[:60],
        "solved": _choice(params.get("solved"), ("yes", "no")),
        "kind": _choice(params.get("kind"), KIND_LABELS),
        "date": _choice(params.get("date"), DATE_RANGES),
        "sort": _choice(params.get("sort"), ("relevance", "date")) or "relevance",
        "tag": tag_service.normalise_name(params.get("tag", "")[:100]),
    }
    results = None
    async with reading(request) as session:
        categories = await category_service.category_rows(session)
        category = next((c for c in categories if c.slug == form["category"]), None)
        if not category:
            form["category"] = ""
        tag = (await tag_service.tags_by_name(session, [form["tag"]])).get(form["tag"]) if form["tag"] else None
        if tag is None:
            form["tag"] = ""
        if query:
            await _rate_limit(request)
            filters = service.Filters(
                category_id=category.id if category else None,
                solved={"yes": True, "no": False}.get(form["solved"]),
                kind=form["kind"] or None,
                since=utcnow() - DATE_RANGES[form["date"]][0] if form["date"] else None,
                tag_id=tag.id if tag is not None else None,
            )
            results = await service.search(
                session,
                query,
                filters=filters,
                sort=service.Sort(form["sort"]),
                page=page_number(params.get("page")),
                size=PAGE_SIZE,
                viewer=current_user(request),
                categories=categories,
            )
    if results is not None and not results.hits and results.page.number == 1 and not results.query.empty:
        _record_failure(
            request,
            query,
            filtered=bool(form["category"] or form["solved"] or form["kind"] or form["date"] or form["tag"]),
        )
    base = {k: v for k, v in form.items() if v and not (k == "sort" and v == "relevance")}
    return render(
        request,
        "search/results.html",
        form=form,
        results=results,
        categories=categories,
        kinds=KIND_LABELS,
        date_ranges={k: label for k, (_delta, label) in DATE_RANGES.items()},
        page_url=lambda n: "/search?" + urlencode({**base, "page": n}),
        sort_url=lambda s: "/search?" + urlencode({**base, "sort": s}),
    )


def _record_failure(request: Request, query: str, *, filtered: bool) -> None:
    """What customers look for and do not find (kept by the process and written in
    batches: ``forum.search.FailedSearches``). With filters on, finding nothing says
    more about the filters than about the content: not recorded."""
    if filtered or is_warm_up(request):
        return
    runtime_of(request.app).failed_searches.add(query, locale=request.state.locale)


async def api_search(request: Request) -> Response:
    """``GET /api/search?q=&limit=&tag=``: public content, no login needed
    (an unknown tag is a 404)."""
    params = request.query_params
    query = service.clean(params.get("q", ""))
    try:
        limit = int(params.get("limit") or API_DEFAULT_LIMIT)
    except ValueError:
        limit = API_DEFAULT_LIMIT
    limit = max(1, min(limit, API_MAX_LIMIT))
    hits: list[service.Hit] = []
    tag_name = params.get("tag", "").strip()[:100]
    if query:
        await _rate_limit(request)
        async with reading(request) as session:
            tag = await tag_service.get_tag_or_404(session, tag_name) if tag_name else None
            filters = service.Filters(tag_id=tag.id if tag is not None else None)
            results = await service.search(session, query, filters=filters, size=limit)
        hits = list(results.hits)
        if not hits and not results.query.empty:
            _record_failure(request, query, filtered=bool(tag_name))
    return JSONResponse(
        {
            "results": [
                {
                    "type": hit.type,
                    "id": hit.id,
                    "title": hit.title,
                    "url": absolute_url(request, hit.url),
                    "snippet": hit.snippet.text,
                    "solved": hit.solved,
                    "tags": list(hit.tags),
                }
                for hit in hits
            ]
        }
    )


async def failed_searches(request: Request) -> Response:
    """Staff only: searches that found nothing, most frequent first."""
    user = require_user(request)
    if not user.is_staff:
        raise NotAllowed(_("Only staff can see searches that found nothing."))
    period = _choice(request.query_params.get("days"), FAILED_PERIODS) or "30"
    async with reading(request) as session:
        rows = await service.failed_searches(session, since=utcnow() - timedelta(days=FAILED_PERIODS[period]))
    return render(request, "search/failed.html", rows=rows, period=period, periods=FAILED_PERIODS)


routes = [
    Route("/search", search_page, name="search:page"),
    Route("/search/failed", failed_searches, name="search:failed"),
    Route("/api/search", api_search, name="search:api"),
]
