"""Tags: every tag with its count, a tag's threads, suggestions for the
forms, and the staff's page to rename, merge, delete and restrict them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.errors import NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Tag
from forum.pagination import page_number
from forum.routes.threads import latest_page
from forum.services import categories as category_service
from forum.services import tags as service
from forum.urls import tag_url
from forum.web import (
    absolute_url,
    current_user,
    field,
    read_form,
    reading,
    redirect,
    render,
    writing,
)

TAGS_PAGE_SIZE = 100


async def all_tags(request: Request) -> Response:
    async with reading(request) as session:
        page = await service.popular(session, page=page_number(request.query_params.get("page")), size=TAGS_PAGE_SIZE)
    return render(request, "tags/index.html", public=True, tags=page)


async def tag_page(request: Request) -> Response:
    """A tag's threads: the thread list's page, filtered."""
    name = request.path_params["name"]
    if service.normalise_name(name) != name:
        return redirect(tag_url(service.normalise_name(name)))
    return await latest_page(request, tag_name=name)


async def api_tags(request: Request) -> Response:
    """``GET /api/tags?q=``: existing tags starting with ``q``, most used first."""
    query = request.query_params.get("q", "")[:100]
    async with reading(request) as session:
        found = await service.suggest(session, query)
    locale = request.state.locale
    return JSONResponse(
        {
            "results": [
                {
                    "name": tag.name,
                    "label": tag.label(locale),
                    "thread_count": tag.thread_count,
                    "url": absolute_url(request, tag_url(tag.name)),
                }
                for tag in found
            ]
        }
    )


# ---------------------------------------------------------------- staff


async def _admin_page(
    request: Request, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
) -> Response:
    user = service.check_manager(current_user(request))
    async with reading(request) as session:
        page = await service.admin_list(session, page=page_number(request.query_params.get("page")))
        used = await service.in_use(session, [t.id for t in page.items if t.id is not None])
        categories = await category_service.all_categories(session)
        restricted = await service.restrictions(session)
    return render(
        request,
        "tags/admin.html",
        status_code=422 if errors else status,
        user=user,
        tags=page,
        used=used,
        categories=categories,
        restricted=restricted,
        errors=errors or {},
        values=values or {},
    )


async def admin(request: Request) -> Response:
    return await _admin_page(request)


async def _get_tag(session, request: Request) -> Tag:  # type: ignore[no-untyped-def]
    tag = await session.get(Tag, request.path_params["tag_id"])
    if tag is None:
        raise NotFound(_("No such tag."))
    return tag


async def admin_create(request: Request) -> Response:
    user = service.check_manager(current_user(request))
    form = await read_form(request)
    values = {k: field(form, k) for k in ("name", "label_en", "label_ko")}
    try:
        async with writing(request) as session:
            await service.create_tag(session, actor=user, **values)
    except ValidationError as exc:
        return await _admin_page(request, errors=exc.errors, values=values)
    return redirect("/admin/tags")


def _row_errors(request: Request, exc: ValidationError) -> dict[str, str]:
    """A tag row's messages, named after the row (``"<tag id>-<field>"``)."""
    return {f"{request.path_params['tag_id']}-{k}": v for k, v in exc.errors.items()}


async def admin_edit(request: Request) -> Response:
    user = service.check_manager(current_user(request))
    form = await read_form(request)
    try:
        async with writing(request) as session:
            tag = await _get_tag(session, request)
            await service.edit_tag(
                session,
                tag,
                actor=user,
                name=field(form, "name"),
                label_en=field(form, "label_en"),
                label_ko=field(form, "label_ko"),
            )
    except ValidationError as exc:
        return await _admin_page(request, errors=_row_errors(request, exc))
    return redirect("/admin/tags")


async def admin_merge(request: Request) -> Response:
    user = service.check_manager(current_user(request))
    form = await read_form(request)
    try:
        async with writing(request) as session:
            source = await _get_tag(session, request)
            into_name = service.normalise_name(field(form, "into"))
            into = (await service.tags_by_name(session, [into_name])).get(into_name) if into_name else None
            if into is None:
                raise ValidationError({"into": _("Choose the tag to merge into.")})
            await service.merge_tags(session, source, into, actor=user)
    except ValidationError as exc:
        return await _admin_page(request, errors=_row_errors(request, exc))
    return redirect("/admin/tags")


async def admin_delete(request: Request) -> Response:
    user = service.check_manager(current_user(request))
    await read_form(request)
    try:
        async with writing(request) as session:
            tag = await _get_tag(session, request)
            await service.delete_tag(session, tag, actor=user)
    except ValidationError as exc:
        return await _admin_page(request, errors=_row_errors(request, exc))
    return redirect("/admin/tags")


async def admin_category(request: Request) -> Response:
    user = service.check_manager(current_user(request))
    form = await read_form(request)
    try:
        async with writing(request) as session:
            category = await category_service.get_category_by_slug_or_404(session, request.path_params["slug"])
            await service.set_category_tags(session, category, field(form, "allowed"), actor=user)
    except ValidationError as exc:
        errors = {f"category-{request.path_params['slug']}": v for v in exc.errors.values()}
        return await _admin_page(
            request, errors=errors, values={f"category-{request.path_params['slug']}": field(form, "allowed")}
        )
    return redirect("/admin/tags#restrictions")


routes = [
    Route("/tags", all_tags, name="tags:index"),
    Route("/tags/{name}", tag_page, name="tags:detail"),
    Route("/api/tags", api_tags, name="tags:api"),
    Route("/admin/tags", admin, methods=["GET"], name="tags:admin"),
    Route("/admin/tags", admin_create, methods=["POST"], name="tags:create"),
    Route("/admin/tags/{tag_id:int}/edit", admin_edit, methods=["POST"], name="tags:edit"),
    Route("/admin/tags/{tag_id:int}/merge", admin_merge, methods=["POST"], name="tags:merge"),
    Route("/admin/tags/{tag_id:int}/delete", admin_delete, methods=["POST"], name="tags:delete"),
    Route("/admin/tags/categories/{slug}", admin_category, methods=["POST"], name="tags:category"),
]
