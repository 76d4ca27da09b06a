"""Community pages (issue 17): the admin index, banners and categories,
dismissing a banner, one's profile, and the username suggestions of the
composer (``GET /api/users?q=``)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from forum import hooks
from forum.clock import utcnow
from forum.errors import NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.middleware import cookie_header, read_cookies
from forum.models import User
from forum.ratelimit import RateLimited, hit_or_429
from forum.routes.accounts import profile_page
from forum.runtime import runtime_of
from forum.services import accounts, banners, categories, mentions, spikes, support
from forum.urls import user_url
from forum.web import (
    api_error,
    current_user,
    field,
    read_form,
    reading,
    redirect,
    render,
    render_form,
    require_user,
    safe_next,
    settings_of,
    writing,
)

# Skipped by the banner hook: no page there shows banners.
_QUIET_PREFIXES = ("/static/", "/healthz", "/api/", "/uploads", "/banners/")
_PAGE_METHODS = ("GET", "HEAD", "POST")


def _require_staff(request: Request) -> User:
    user = require_user(request)
    if not user.is_staff:
        raise NotAllowed(_("Only staff can open the admin pages."))
    return user


# ---------------------------------------------------------------- admin index


async def admin_index(request: Request) -> Response:
    user = _require_staff(request)
    return render(request, "admin/index.html", can_categories=categories.can_manage(user))


# ---------------------------------------------------------------- banners


def _banner_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: field(form, name) for name in ("level", "text_en", "text_ko", "starts_at", "ends_at")
    }
    values["categories"] = [v for v in form.getlist("categories") if isinstance(v, str)]
    return values


async def _banners_page(
    request: Request, *, values: dict[str, Any], errors: dict[str, str], edit: Any = None
) -> Response:
    user = _require_staff(request)
    async with reading(request) as session:
        rows = await banners.list_banners(session)
        all_categories = await categories.all_categories(session)
    return render_form(
        request,
        "admin/banners.html",
        errors=errors,
        values=values,
        banners=rows,
        editing=edit,
        categories=all_categories,
        levels=banners.LEVELS,
        now=utcnow(),
        format_time=banners.format_time,
        can_manage=banners.can_manage(user),
    )


async def banners_list(request: Request) -> Response:
    now = utcnow()
    values: dict[str, Any] = {
        "level": "info",
        "starts_at": banners.format_time(now),
        "ends_at": banners.format_time(now.replace(hour=23, minute=59)),
        "categories": [],
    }
    edit_id = request.query_params.get("edit", "")
    edit = None
    spike_id = request.query_params.get("spike")
    if spike_id is not None:  # "Draft a banner" from a spike alert: prefilled, saved by the admin
        _require_staff(request)
        async with reading(request) as session:
            spike = await spikes.get_spike_or_404(session, spike_id)
            values = await spikes.banner_draft(session, spike, now=now)
    if edit_id.isdigit() and len(edit_id) < 10:
        _require_staff(request)
        async with reading(request) as session:
            edit = await banners.get_banner_or_404(session, int(edit_id))
        values = {
            "level": edit.level,
            "text_en": edit.text_en,
            "text_ko": edit.text_ko,
            "starts_at": banners.format_time(edit.starts_at),
            "ends_at": banners.format_time(edit.ends_at),
            "categories": [str(i) for i in edit.categories],
        }
    return await _banners_page(request, values=values, errors={}, edit=edit)


async def banner_create(request: Request) -> Response:
    user = _require_staff(request)
    form = await read_form(request)
    values = _banner_values(form)
    try:
        async with writing(request) as session:
            await banners.create_banner(session, actor=user, values=values)
    except ValidationError as exc:
        return await _banners_page(request, values=values, errors=exc.errors)
    return redirect("/admin/banners?saved=1")


async def banner_update(request: Request) -> Response:
    user = _require_staff(request)
    form = await read_form(request)
    values = _banner_values(form)
    try:
        async with writing(request) as session:
            banner = await banners.get_banner_or_404(session, request.path_params["banner_id"])
            await banners.update_banner(session, banner, actor=user, values=values)
    except ValidationError as exc:
        async with reading(request) as session:
            edit = await banners.get_banner_or_404(session, request.path_params["banner_id"])
        return await _banners_page(request, values=values, errors=exc.errors, edit=edit)
    return redirect("/admin/banners?saved=1")


async def banner_end(request: Request) -> Response:
    user = _require_staff(request)
    await read_form(request)
    async with writing(request) as session:
        banner = await banners.get_banner_or_404(session, request.path_params["banner_id"])
        await banners.end_banner(session, banner, actor=user)
    return redirect("/admin/banners?saved=1")


async def banner_dismiss(request: Request) -> Response:
    """Closes a banner for this reader: remembered on the account of a member,
    in a cookie for anyone else (no token then, as the language choice: it
    changes nothing but the sender's own cookie). Script asks with
    ``Accept: application/json`` and gets 204."""
    user = current_user(request)
    form = await read_form(request, csrf=user is not None)
    banner_id = request.path_params["banner_id"]
    quiet = "application/json" in request.headers.get("accept", "")
    response: Response = Response(status_code=204) if quiet else redirect(safe_next(field(form, "next")))
    if user is not None:
        async with writing(request) as session:
            await banners.dismiss(session, banner_id, user=user)
    else:
        ids = banners.cookie_ids(read_cookies(request.headers.get("cookie")).get(banners.COOKIE))
        ids.add(banner_id)
        response.headers.append(
            "set-cookie",
            cookie_header(banners.COOKIE, banners.cookie_value(ids), settings_of(request), max_age=60 * 60 * 24 * 90),
        )
    return response


# ---------------------------------------------------------------- categories


def _require_category_admin(request: Request) -> User:
    user = require_user(request)
    if not categories.can_manage(user):
        raise NotAllowed(_("Only administrators can manage categories."))
    return user


CATEGORY_FORM = (*categories.CATEGORY_FIELDS, *support.CLOCKS)


async def _categories_page(
    request: Request, *, values: dict[str, str], errors: dict[str, str], edit: Any = None, status_code: int = 200
) -> Response:
    _require_category_admin(request)
    async with reading(request) as session:
        rows = await categories.all_categories(session)
        policy = await support.load_policy(session)
    return render_form(
        request,
        "admin/categories.html",
        errors=errors,
        values=values,
        rows=rows,
        editing=edit,
        policy=policy,
        clocks=support.CLOCKS,
        clock_titles=support.CLOCK_TITLES,
    )


def _hours(minutes: int | None) -> str:
    if minutes is None:
        return ""
    return f"{minutes / 60:g}"


async def categories_list(request: Request) -> Response:
    _require_category_admin(request)
    values: dict[str, str] = {}
    edit = None
    edit_id = request.query_params.get("edit", "")
    if edit_id.isdigit() and len(edit_id) < 10:
        async with reading(request) as session:
            edit = await categories.get_category_or_404(session, int(edit_id))
            policy = await support.load_policy(session)
        values = {name: str(getattr(edit, name)) for name in categories.CATEGORY_FIELDS}
        own = edit.id in policy.by_category
        values["own_sla"] = "on" if own else ""
        targets = policy.targets_for(edit.id)  # type: ignore[arg-type]
        values.update({clock: _hours(targets.minutes(clock)) for clock in support.CLOCKS})
    return await _categories_page(request, values=values, errors={}, edit=edit)


async def category_create(request: Request) -> Response:
    user = _require_category_admin(request)
    form = await read_form(request)
    values = {name: field(form, name) for name in categories.CATEGORY_FIELDS}
    try:
        async with writing(request) as session:
            await categories.admin_create(session, actor=user, values=values)
    except ValidationError as exc:
        return await _categories_page(request, values=values, errors=exc.errors)
    return redirect("/admin/categories?saved=1")


async def category_update(request: Request) -> Response:
    user = _require_category_admin(request)
    form = await read_form(request)
    values = {name: field(form, name) for name in CATEGORY_FORM}
    values["own_sla"] = field(form, "own_sla")
    try:
        async with writing(request) as session:
            category = await categories.get_category_or_404(session, request.path_params["category_id"])
            await categories.admin_update(session, category, actor=user, values=values)
            policy = await support.load_policy(session)
            had = policy.by_category.get(category.id)  # type: ignore[arg-type]
            if values["own_sla"] == "on":
                row = await support.save_category_targets(session, category, actor=user, values=values)
                after = support.Targets(
                    row.first_response_minutes, row.first_staff_response_minutes, row.resolution_minutes
                )
                changed = had != after
            else:
                after = None
                changed = await support.reset_category_targets(session, category, actor=user)
            if changed:
                await hooks.run_admin_change(
                    session,
                    user,
                    "category.sla",
                    "category",
                    category.id,
                    {"targets": had.__dict__ if had else None},
                    {"targets": after.__dict__ if after else None},
                )
    except ValidationError as exc:
        async with reading(request) as session:
            edit = await categories.get_category_or_404(session, request.path_params["category_id"])
        return await _categories_page(request, values=values, errors=exc.errors, edit=edit)
    return redirect("/admin/categories?saved=1")


def _category_action(kind: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        user = _require_category_admin(request)
        await read_form(request)
        async with writing(request) as session:
            category = await categories.get_category_or_404(session, request.path_params["category_id"])
            if kind in ("up", "down"):
                await categories.admin_move(session, category, actor=user, step=-1 if kind == "up" else 1)
            else:
                await categories.admin_archive(session, category, actor=user, archived=kind == "archive")
        return redirect(f"/admin/categories?saved=1#category-{request.path_params['category_id']}")

    return endpoint


# ---------------------------------------------------------------- profile


async def profile_save(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    values = {"display_name": field(form, "display_name"), "bio": field(form, "bio")}
    try:
        async with writing(request) as session:
            fresh = await session.get(User, user.id)
            assert fresh is not None
            await accounts.update_profile(session, fresh, **values)
    except ValidationError as exc:
        return await profile_page(request, user.username, 422, profile_errors=exc.errors, profile_values=values)
    return redirect(f"{user_url(user)}?profile_saved=1#profile-edit")


# ---------------------------------------------------------------- mentions


async def api_users(request: Request) -> Response:
    """``GET /api/users?q=ab``: members whose username starts with ``ab``, for
    the composer's "@ab…" suggestions. Signed-in members only."""
    user = current_user(request)
    if user is None:
        return api_error(401, _("Log in to continue."))
    try:
        await hit_or_429(request, "similar", f"users:{user.id}")
    except RateLimited as exc:  # the JSON error shape, with Retry-After
        return api_error(429, exc.message, exc.headers)
    query = request.query_params.get("q", "")
    async with reading(request) as session:
        found = await mentions.suggest(session, query)
    return JSONResponse(
        {
            "results": [
                {
                    "username": u.username,
                    "display_name": u.display_name,
                    "url": str(request.base_url).rstrip("/") + user_url(u),
                }
                for u in found
            ]
        }
    )


# ---------------------------------------------------------------- every page


def install(app: Starlette) -> None:
    """The banners every page shows: a request hook puts the active banners the
    reader has not closed into ``scope["state"]["banners"]``, from this worker's
    short-lived copy (:class:`forum.services.banners.ShowingCache`)."""
    sessionmaker = runtime_of(app).read_sessionmaker
    cache = banners.ShowingCache()

    async def load_banners(scope: Scope) -> None:
        state: dict[str, Any] = scope.setdefault("state", {})
        state["banners"] = []
        # POST too: a form that comes back with messages is a page like any other
        # (while nothing shows, and for anonymous readers, this asks nothing of the
        # database; a signed-in member with a banner showing costs one lookup).
        if str(scope.get("path", "")).startswith(_QUIET_PREFIXES) or scope.get("method") not in _PAGE_METHODS:
            return
        user = state.get("user")
        active = await cache.showing(sessionmaker, user)
        if user is None and active:
            cookie = ""
            for key, value in scope.get("headers", []):
                if key == b"cookie":
                    cookie = value.decode("latin-1")
            closed = banners.cookie_ids(read_cookies(cookie).get(banners.COOKIE))
            active = [b for b in active if b.id not in closed]
        state["banners"] = active

    runtime_of(app).hooks.on_request.append(load_banners)
    runtime_of(app).templates.env.globals.update(page_banners=page_banners, banner_levels=banners.LEVELS)


def page_banners(
    request: Any, thread: Any = None, category: Any = None, values: Any = None, categories_: Any = None
) -> list[Any]:
    """The banners of this page: site-wide ones everywhere, a category's on its
    list, its threads and the ask page with it chosen."""
    shown = request.scope.get("state", {}).get("banners") or []
    if not shown:
        return []
    category_id = None
    if thread is not None and getattr(thread, "category_id", None) is not None:
        category_id = thread.category_id
    elif category is not None and getattr(category, "id", None) is not None:
        category_id = category.id
    elif isinstance(values, dict) and values.get("category") and categories_:
        for c in categories_:
            if getattr(c, "slug", None) == values["category"]:
                category_id = c.id
    return [b for b in shown if b.shows_on(category_id)]


routes = [
    Route("/admin", admin_index, methods=["GET"], name="admin:index"),
    Route("/admin/banners", banners_list, methods=["GET"], name="admin:banners"),
    Route("/admin/banners", banner_create, methods=["POST"], name="admin:banner-create"),
    Route("/admin/banners/{banner_id:int}", banner_update, methods=["POST"], name="admin:banner-update"),
    Route("/admin/banners/{banner_id:int}/end", banner_end, methods=["POST"], name="admin:banner-end"),
    Route("/banners/{banner_id:int}/dismiss", banner_dismiss, methods=["POST"], name="banners:dismiss"),
    Route("/admin/categories", categories_list, methods=["GET"], name="admin:categories"),
    Route("/admin/categories", category_create, methods=["POST"], name="admin:category-create"),
    Route("/admin/categories/{category_id:int}", category_update, methods=["POST"], name="admin:category-update"),
    Route("/admin/categories/{category_id:int}/up", _category_action("up"), methods=["POST"], name="admin:category-up"),
    Route(
        "/admin/categories/{category_id:int}/down",
        _category_action("down"),
        methods=["POST"],
        name="admin:category-down",
    ),
    Route(
        "/admin/categories/{category_id:int}/archive",
        _category_action("archive"),
        methods=["POST"],
        name="admin:category-archive",
    ),
    Route(
        "/admin/categories/{category_id:int}/unarchive",
        _category_action("unarchive"),
        methods=["POST"],
        name="admin:category-unarchive",
    ),
    Route("/me/profile", profile_save, methods=["POST"], name="me:profile"),
    Route("/api/users", api_users, methods=["GET"], name="api:users"),
]
