"""Topic suggestions (staff): the ranked list, one suggestion, and the
decisions: draft an article, dismiss, reopen, "already covered by"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum import jobs
from forum.errors import ValidationError
from forum.pagination import page_number
from forum.services import formkeys, spikes, topic_explain
from forum.services import topics as service
from forum.web import field, read_form, reading, redirect, render, require_user, settings_of, writing


def _staff(request: Request):  # type: ignore[no-untyped-def]
    return service.require_staff(require_user(request))


async def suggestion_list(request: Request) -> Response:
    _staff(request)
    state = request.query_params.get("state", "open")
    async with reading(request) as session:
        listing = await service.list_suggestions(
            session,
            state=state,
            page=page_number(request.query_params.get("page")),
            size=settings_of(request).page_size,
        )
        running = await jobs.topics_running(session)
        spiking = await spikes.open_spikes_among(
            session, [item.id for item in listing.page.items if item.id is not None]
        )
    return render(
        request,
        "topics/list.html",
        listing=listing,
        state=state if state in service.STATES else "open",
        states=service.count_by_state(listing.counts),
        key_terms=service.key_terms,
        spiking=spiking,
        running=running,
        started=request.query_params.get("started") == "1",
    )


async def _detail_page(
    request: Request,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    _staff(request)
    async with reading(request) as session:
        suggestion = await service.get_suggestion_or_404(session, request.path_params["suggestion_id"])
        page = await service.load_suggestion_page(session, suggestion)
        explained = await topic_explain.explain_members(session, page.threads, page.key_terms)
        spike = await spikes.open_spike_of(session, suggestion.id or 0)
    return render(
        request,
        "topics/detail.html",
        status_code=status_code,
        page=page,
        s=suggestion,
        explained=explained,
        spike=spike,
        errors=errors or {},
        values=values or {},
    )


async def suggestion_detail(request: Request) -> Response:
    return await _detail_page(request)


async def dismiss(request: Request) -> Response:
    user = _staff(request)
    form = await read_form(request)
    reason = field(form, "reason")
    key = formkeys.check_key(field(form, formkeys.FIELD))
    try:
        async with writing(request) as session:
            claimed = await formkeys.claim(session, user=user, key=key)
            suggestion = await service.get_suggestion_or_404(session, request.path_params["suggestion_id"])
            await service.dismiss(session, suggestion, user=user, reason=reason)
            await formkeys.record(session, claimed, f"/topics/{suggestion.id}")
    except ValidationError as exc:
        return await _detail_page(request, status_code=422, errors=exc.errors, values={"reason": reason})
    return redirect(f"/topics/{suggestion.id}")


async def remove_thread(request: Request) -> Response:
    user = _staff(request)
    form = await read_form(request)
    raw = field(form, "thread")
    try:
        async with writing(request) as session:
            suggestion = await service.get_suggestion_or_404(session, request.path_params["suggestion_id"])
            await service.remove_thread(session, suggestion, int(raw) if raw.isdigit() else 0, user=user)
    except ValidationError as exc:
        return await _detail_page(request, status_code=422, errors=exc.errors)
    return redirect(f"/topics/{suggestion.id}")


async def reopen(request: Request) -> Response:
    user = _staff(request)
    await read_form(request)
    try:
        async with writing(request) as session:
            suggestion = await service.get_suggestion_or_404(session, request.path_params["suggestion_id"])
            await service.reopen(session, suggestion, user=user)
    except ValidationError as exc:
        return await _detail_page(request, status_code=422, errors=exc.errors)
    return redirect(f"/topics/{suggestion.id}")


async def covered(request: Request) -> Response:
    user = _staff(request)
    form = await read_form(request)
    raw = field(form, "article")
    key = formkeys.check_key(field(form, formkeys.FIELD))
    try:
        async with writing(request) as session:
            claimed = await formkeys.claim(session, user=user, key=key)
            suggestion = await service.get_suggestion_or_404(session, request.path_params["suggestion_id"])
            article = await service.published_article_or_error(session, raw)
            await service.mark_covered(session, suggestion, user=user, article=article, link=field(form, "link") == "1")
            await formkeys.record(session, claimed, f"/topics/{suggestion.id}")
    except ValidationError as exc:
        return await _detail_page(request, status_code=422, errors=exc.errors, values={"article": raw})
    return redirect(f"/topics/{suggestion.id}")


async def run_now(request: Request) -> Response:
    _staff(request)
    await read_form(request)
    async with writing(request) as session:
        await jobs.request_topics_run(session)
    jobs.wake_topics(request.app)
    return redirect("/topics?started=1")


routes = [
    Route("/topics", suggestion_list, methods=["GET"], name="topics:list"),
    Route("/topics/run", run_now, methods=["POST"], name="topics:run"),
    Route("/topics/{suggestion_id:int}", suggestion_detail, methods=["GET"], name="topics:detail"),
    Route("/topics/{suggestion_id:int}/dismiss", dismiss, methods=["POST"], name="topics:dismiss"),
    Route("/topics/{suggestion_id:int}/remove", remove_thread, methods=["POST"], name="topics:remove"),
    Route("/topics/{suggestion_id:int}/reopen", reopen, methods=["POST"], name="topics:reopen"),
    Route("/topics/{suggestion_id:int}/covered", covered, methods=["POST"], name="topics:covered"),
]
