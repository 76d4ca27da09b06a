"""Uploads for the editor (POST /uploads, JSON), serving them, avatars, and
the site's icons and web manifest."""

from __future__ import annotations

import json
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.errors import ForumError, NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import User
from forum.paths import STATIC_DIR
from forum.runtime import runtime_of
from forum.services import uploads as service
from forum.storage import Storage
from forum.urls import user_url
from forum.web import absolute_url, api_error, read_form, reading, redirect, require_user, settings_of, writing

#: the form field of a file (the editor's upload and the forms' plain file field)
FILE_FIELD = "file"
#: served uploads never change (a new file gets a new key)
IMMUTABLE = "public, max-age=31536000, immutable"
#: icons and the manifest: a day, then revalidated
ICON_CACHE = "public, max-age=86400"


def storage_of(request: Request) -> Storage:
    return runtime_of(request.app).storage


def form_file(form: FormData, name: str = FILE_FIELD) -> UploadFile | None:
    """The form's file, if one was chosen (an empty file field sends a nameless, empty part)."""
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


async def read_upload(request: Request, file: UploadFile) -> bytes:
    """The file's bytes, read in chunks and refused as soon as they pass the limit."""
    return await service.read_limited(service.file_chunks(file), settings_of(request).upload_max_bytes)


async def attach(request: Request, session: AsyncSession, form: FormData, *, user: User, body: str) -> str:
    """The plain file field of the ask, reply and edit forms (no JavaScript):
    the file is uploaded with the post and its Markdown added to the text. A
    refused file is a message on the text field, nothing saved."""
    file = form_file(form)
    if file is None:
        return body
    try:
        data = await read_upload(request, file)
        upload = await service.upload_file(
            session,
            storage_of(request),
            owner=user,
            filename=file.filename or "",
            data=data,
            settings=settings_of(request),
        )
    except (service.UploadRefused, service.UploadInvalid, service.UploadTooLarge, service.UploadLimited) as exc:
        raise ValidationError({"body": exc.message}) from None
    markdown = service.markdown_for(upload)
    return f"{body.rstrip()}\n\n{markdown}" if body.strip() else markdown


async def create(request: Request) -> Response:
    """The editor's upload (drop, paste or choose): JSON ``{"url", "markdown"}``,
    errors in the JSON API's shape."""
    user = require_user(request)
    form = await read_form(request, max_files=1)
    file = form_file(form)
    if file is None:
        return api_error(422, _("Choose a file to upload."))
    try:
        data = await read_upload(request, file)
        async with writing(request) as session:
            upload = await service.upload_file(
                session,
                storage_of(request),
                owner=user,
                filename=file.filename or "",
                data=data,
                settings=settings_of(request),
            )
    except ForumError as exc:
        return api_error(exc.status_code, exc.message)
    url = service.url(upload)
    return JSONResponse(
        {
            "url": url,
            "absolute_url": absolute_url(request, url),
            "markdown": service.markdown_for(upload),
            "kind": upload.kind,
            "filename": upload.filename,
            "size": upload.size,
            "width": upload.width,
            "height": upload.height,
        },
        status_code=201,
    )


async def serve(request: Request) -> Response:
    """An upload, with a content type from our own table, never sniffed, never
    rendered as a page: images inline, the rest as downloads."""
    viewer = request.state.user
    async with reading(request) as session:
        upload, public = await service.get_upload_or_404(session, request.path_params["key"], viewer=viewer)
    data = await storage_of(request).open(upload.key)
    if data is None:
        raise NotFound(_("No such file."))
    if upload.kind == "attachment":
        ascii_name = upload.filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(upload.filename)}"
    else:
        disposition = "inline"
    return Response(
        data,
        media_type=upload.content_type,
        headers={
            "content-disposition": disposition,
            "x-content-type-options": "nosniff",
            # Whatever a file holds, it runs nothing and loads nothing.
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": IMMUTABLE if public else "private, no-store",
            "vary": "Cookie" if not public else "Accept-Encoding",
        },
    )


async def avatar(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request, max_files=1)
    file = form_file(form)
    if file is None:
        return redirect(user_url(user) + "?avatar=missing#avatar")
    data = await read_upload(request, file)  # a refused file: its error page (413, 415, 422, 429)
    async with writing(request) as session:
        me = await session.get(User, user.id)
        assert me is not None
        storage, settings = storage_of(request), settings_of(request)
        await service.set_avatar(session, storage, user=me, filename=file.filename or "", data=data, settings=settings)
    return redirect(user_url(user) + "#avatar")


async def avatar_remove(request: Request) -> Response:
    user = require_user(request)
    await read_form(request)
    async with writing(request) as session:
        me = await session.get(User, user.id)
        assert me is not None
        await service.remove_avatar(session, storage_of(request), user=me)
    return redirect(user_url(user) + "#avatar")


def _icon(name: str, media_type: str):  # type: ignore[no-untyped-def]
    data = (STATIC_DIR / name).read_bytes()

    async def endpoint(request: Request) -> Response:
        return Response(data, media_type=media_type, headers={"cache-control": ICON_CACHE})

    return endpoint


async def manifest(request: Request) -> Response:
    body = {
        "name": _("Cloudnote Community"),
        "short_name": _("Cloudnote"),
        "start_url": "/",
        "scope": "/",
        "display": "browser",
        "lang": request.state.locale,
        "background_color": "#ffffff",
        "theme_color": "#2563eb",
        "icons": [
            {"src": "/favicon.svg", "type": "image/svg+xml", "sizes": "any"},
            {"src": "/static/icon-192.png", "type": "image/png", "sizes": "192x192"},
            {"src": "/static/icon-512.png", "type": "image/png", "sizes": "512x512"},
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"cache-control": ICON_CACHE},
    )


routes = [
    Route("/uploads", create, methods=["POST"], name="uploads:create"),
    Route("/uploads/{key}", serve, methods=["GET", "HEAD"], name="uploads:serve"),
    Route("/me/avatar", avatar, methods=["POST"], name="uploads:avatar"),
    Route("/me/avatar/remove", avatar_remove, methods=["POST"], name="uploads:avatar-remove"),
    Route("/favicon.ico", _icon("favicon.ico", "image/x-icon"), name="favicon"),
    Route("/favicon.svg", _icon("favicon.svg", "image/svg+xml"), name="favicon-svg"),
    Route("/manifest.webmanifest", manifest, name="manifest"),
]
