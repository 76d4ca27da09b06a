"""Thread lists, the thread page, asking, replying, editing, votes and answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum import jobs
from forum.errors import NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.models import Tag, ThreadKind
from forum.pagination import page_number
from forum.permissions import (
    can_accept,
    can_edit_post,
    can_mark_official,
    can_pin_new_thread,
    can_reply,
    can_see_post_body,
    can_vote,
)
from forum.routes.uploads import attach
from forum.runtime import runtime_of
from forum.services import categories as category_service
from forum.services import formkeys
from forum.services import notifications as notification_service
from forum.services import spikes as spike_service
from forum.services import tags as tag_service
from forum.services import threads as service
from forum.urls import post_url, thread_url
from forum.warmup import is_warm_up
from forum.web import (
    current_user,
    field,
    read_form,
    reading,
    redirect,
    render,
    render_form,
    require_user,
    settings_of,
    writing,
)


async def _tag_param(request: Request, session) -> Tag | None:  # type: ignore[no-untyped-def]
    """``?tag=``: the lists' filter (an unknown tag is not found)."""
    name = request.query_params.get("tag", "").strip()
    return await tag_service.get_tag_or_404(session, name[:100]) if name else None


async def latest(request: Request) -> Response:
    return await latest_page(request, tag_name=request.query_params.get("tag", "").strip())


async def latest_page(request: Request, *, tag_name: str) -> Response:
    """The latest threads, all of them or those with one tag (``/?tag=`` and
    ``/tags/{name}``; an unknown tag is not found)."""
    async with reading(request) as session:
        tag = await tag_service.get_tag_or_404(session, tag_name[:100]) if tag_name else None
        threads = await service.latest(
            session,
            viewer=current_user(request),
            page=page_number(request.query_params.get("page")),
            size=settings_of(request).page_size,
            tag=tag,
        )
        categories = await category_service.category_rows(session)
    return render(
        request, "threads/list.html", public=True, threads=threads, categories=categories, category=None, tag=tag
    )


async def category(request: Request) -> Response:
    async with reading(request) as session:
        categories = await category_service.category_rows(session)
        cat = category_service.pick_or_404(categories, request.path_params["slug"])
        tag = await _tag_param(request, session)
        threads = await service.latest(
            session,
            viewer=current_user(request),
            category=cat,
            page=page_number(request.query_params.get("page")),
            size=settings_of(request).page_size,
            tag=tag,
        )
    return render(
        request, "threads/list.html", public=True, threads=threads, categories=categories, category=cat, tag=tag
    )


async def _thread_page(request: Request, session, thread, *, status_code: int = 200, **extra) -> Response:  # type: ignore[no-untyped-def]
    viewer = current_user(request)
    page = await service.load_thread_page(session, thread, viewer=viewer)
    return render(
        request,
        "threads/detail.html",
        status_code=status_code,
        public=True,
        page=page,
        thread=thread,
        can_reply=can_reply(viewer, thread),
        can_see_body=lambda post: can_see_post_body(viewer, post),
        can_edit=lambda post: can_edit_post(viewer, post),
        can_vote=lambda post: can_vote(viewer, post),
        can_accept=lambda post: can_accept(viewer, thread, post),
        can_mark_official=lambda post: can_mark_official(viewer, thread, post),
        **extra,
    )


async def detail(request: Request) -> Response:
    user = current_user(request)
    async with reading(request) as session:
        thread = await service.get_thread_row_or_404(session, request.path_params["thread_id"], viewer=user)
        if request.path_params.get("slug") != thread.slug:
            return redirect(thread_url(thread))
        if not is_warm_up(request):
            await service.count_view(runtime_of(request.app).views, thread)
        unread = getattr(request.state, "unread_notifications", 0) > 0
        if (
            user is not None
            and unread
            and await notification_service.unread_about(session, user=user, thread_id=thread.id)
        ):
            async with writing(request) as write:
                read = await notification_service.mark_thread_read(write, user=user, thread_id=thread.id)
            request.state.unread_notifications = max(0, request.state.unread_notifications - read)
        return await _thread_page(request, session, thread)


# The ask form's fields, as /ask posts them and /ask/similar (forum.routes.similar)
# sends the form back filled in.
ASK_FIELDS = ("category", "title", "body", "kind", "tags", "pin")


async def _ask_page(request: Request, values: dict[str, str], errors: dict[str, str]) -> Response:
    async with reading(request) as session:
        categories = await category_service.all_categories(session)
    return render_form(
        request,
        "threads/ask.html",
        categories=categories,
        values=values,
        errors=errors,
        can_pin=can_pin_new_thread(current_user(request)),
    )


async def ask_form(request: Request) -> Response:
    user = require_user(request)
    values = {"category": request.query_params.get("category", ""), "kind": ThreadKind.question.value}
    spike_id = request.query_params.get("spike")
    if spike_id is not None:  # "Draft a known-issue thread" from a spike alert (staff)
        if not user.is_staff:
            raise NotAllowed(_("Only staff can draft a known-issue thread."))
        async with reading(request) as session:
            values = await spike_service.known_issue_draft(
                session, await spike_service.get_spike_or_404(session, spike_id)
            )
    return await _ask_page(request, values, {})


async def ask(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request, max_files=1)
    values = {name: field(form, name) for name in ASK_FIELDS}
    key = formkeys.check_key(field(form, formkeys.FIELD))
    try:
        async with writing(request) as session:
            claimed = await formkeys.claim(session, user=user, key=key)  # first: a resubmission stops here
            chosen = await category_service.get_category_by_slug(session, values["category"])
            thread = await service.ask(
                session,
                author=user,
                category=chosen,
                title=values["title"],
                body=await attach(request, session, form, user=user, body=values["body"]),
                kind=values["kind"] or ThreadKind.question.value,
                limits=_limits(request),
                tag_names=values["tags"],
                pin=values["pin"] == "1",
            )
            await formkeys.record(session, claimed, thread_url(thread))
    except ValidationError as exc:
        return await _ask_page(request, values, exc.errors)
    return redirect(thread_url(thread))


async def reply(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request, max_files=1)
    body = field(form, "body")
    key = formkeys.check_key(field(form, formkeys.FIELD))
    try:
        async with writing(request) as session:
            claimed = await formkeys.claim(session, user=user, key=key)  # first: a resubmission stops here
            thread = await service.get_thread_or_404(session, request.path_params["thread_id"], viewer=user)
            text = await attach(request, session, form, user=user, body=body)
            post = await service.reply(session, thread, author=user, body=text, limits=_limits(request))
            await formkeys.record(session, claimed, post_url(thread, post))
    except ValidationError as exc:
        async with reading(request) as session:
            row = await service.get_thread_row_or_404(session, request.path_params["thread_id"], viewer=user)
            return await _thread_page(request, session, row, status_code=422, reply_errors=exc.errors, reply_body=body)
    jobs.wake_mail(request.app)  # after commit: the notifications' emails
    return redirect(post_url(thread, post))


async def _edit_page(request: Request, values: dict[str, str] | None, errors: dict[str, str]) -> Response:
    user = require_user(request)
    async with reading(request) as session:
        post = await service.get_post_or_404(session, request.path_params["post_id"], viewer=user)
    if not can_edit_post(user, post):
        raise NotAllowed(_("You can only edit your own posts."))
    if values is None:
        values = {"body": post.body, "title": post.thread.title}
        if post.is_first:
            async with reading(request) as session:
                values["tags"] = await tag_service.field_value(session, post.thread_id)
    return render_form(
        request,
        "threads/edit.html",
        post=post,
        thread=post.thread,
        values=values,
        errors=errors,
    )


async def edit_form(request: Request) -> Response:
    return await _edit_page(request, None, {})


async def edit(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request, max_files=1)
    values = {"body": field(form, "body"), "title": field(form, "title"), "tags": field(form, "tags")}
    try:
        async with writing(request) as session:
            post = await service.get_post_or_404(session, request.path_params["post_id"], viewer=user)
            if not can_edit_post(user, post):
                raise NotAllowed(_("You can only edit your own posts."))
            await service.edit_post(
                session,
                post,
                editor=user,
                body=await attach(request, session, form, user=user, body=values["body"]),
                title=values["title"] if post.is_first else None,
                limits=_limits(request),
                # A form without the field (an old page) leaves the tags as they are.
                tag_names=values["tags"] if "tags" in form else None,
            )
    except ValidationError as exc:
        return await _edit_page(request, values, exc.errors)
    return redirect(post_url(post.thread, post))


def _limits(request: Request) -> service.Limits:
    return service.Limits.from_settings(settings_of(request))


def _post_action(action):  # type: ignore[no-untyped-def]
    """A POST on one post that changes state and goes back to the thread."""

    async def endpoint(request: Request) -> Response:
        user = require_user(request)
        await read_form(request)
        async with writing(request) as session:
            post = await service.get_post_or_404(session, request.path_params["post_id"], viewer=user)
            await action(session, post, user=user)
        jobs.wake_mail(request.app)  # after commit: an accepted or official answer's email
        return redirect(post_url(post.thread, post))

    return endpoint


routes = [
    Route("/", latest, name="threads:latest"),
    Route("/c/{slug}", category, name="threads:category"),
    Route("/t/{thread_id:int}", detail, name="threads:detail-bare"),
    Route("/t/{thread_id:int}/{slug}", detail, name="threads:detail"),
    Route("/ask", ask_form, methods=["GET"], name="threads:ask-form"),
    Route("/ask", ask, methods=["POST"], name="threads:ask"),
    Route("/t/{thread_id:int}/reply", reply, methods=["POST"], name="threads:reply"),
    Route("/p/{post_id:int}/edit", edit_form, methods=["GET"], name="posts:edit-form"),
    Route("/p/{post_id:int}/edit", edit, methods=["POST"], name="posts:edit"),
    Route("/p/{post_id:int}/vote", _post_action(service.vote), methods=["POST"], name="posts:vote"),
    Route("/p/{post_id:int}/unvote", _post_action(service.unvote), methods=["POST"], name="posts:unvote"),
    Route("/p/{post_id:int}/accept", _post_action(service.accept), methods=["POST"], name="posts:accept"),
    Route("/p/{post_id:int}/unaccept", _post_action(service.unaccept), methods=["POST"], name="posts:unaccept"),
    Route("/p/{post_id:int}/official", _post_action(service.mark_official), methods=["POST"], name="posts:official"),
    Route(
        "/p/{post_id:int}/unofficial",
        _post_action(service.unmark_official),
        methods=["POST"],
        name="posts:unofficial",
    ),
]
