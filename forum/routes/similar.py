"""Similar questions: ``GET /api/similar`` and the ask page's "check for similar
questions" step (for browsers without JavaScript). "Related questions" on
thread pages are stored lists (``forum.services.related``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.i18n import gettext as _
from forum.permissions import can_pin_new_thread
from forum.ratelimit import hit_or_429
from forum.routes.threads import ASK_FIELDS
from forum.services import categories as category_service
from forum.services import similar as service
from forum.web import absolute_url, api_error, field, read_form, reading, render, require_user

ASK_RESULTS = 5


async def api_similar(request: Request) -> Response:
    await hit_or_429(request, "similar")
    params = request.query_params
    text = params.get("q", "")
    if len(text) > service.MAX_QUERY_CHARS:
        return api_error(400, _("The query can have at most %(n)s characters.", n=service.MAX_QUERY_CHARS))
    limit = service.parse_limit(params.get("limit"))
    if limit is None:
        return api_error(400, _("limit must be a whole number from 1 to %(n)s.", n=service.MAX_LIMIT))
    solved_only = params.get("solved", "") in ("1", "true", "yes")
    results: list[service.Match] = []
    if text.strip():
        async with reading(request) as session:
            results = await service.find_similar(session, request.app, text, limit=limit, solved_only=solved_only)
    response = JSONResponse({"results": [m.as_api(absolute_url(request, "")) for m in results]})
    response.headers["cache-control"] = "no-store"
    return response


async def ask_check(request: Request) -> Response:
    """The ask form posted to "Check for similar questions": the same form
    again, filled in, with similar solved questions and articles above it."""
    user = require_user(request)
    form = await read_form(request)
    values = {name: field(form, name) for name in ASK_FIELDS}
    query = f"{values['title']}\n{values['body']}"[: service.MAX_QUERY_CHARS]
    async with reading(request) as session:
        categories = await category_service.all_categories(session)
        results = (
            await service.find_similar(session, request.app, query, limit=ASK_RESULTS, solved_only=True)
            if values["title"].strip() or values["body"].strip()
            else []
        )
    return render(
        request,
        "threads/ask.html",
        categories=categories,
        values=values,
        errors={},
        similar_results=results,
        similar_checked=True,
        can_pin=can_pin_new_thread(user),
    )


routes = [
    Route("/api/similar", api_similar, methods=["GET"], name="similar:api"),
    Route("/ask/similar", ask_check, methods=["POST"], name="similar:ask-check"),
]
