"""What every route needs: the current user, a database session, forms with
CSRF checks, rendering and redirects."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from forum import seclog
from forum.config import Settings
from forum.errors import FormExpired, LoginRequired
from forum.i18n import gettext as _
from forum.middleware import BodyTooLarge
from forum.models import User
from forum.runtime import runtime_of
from forum.security import check_csrf, csrf_token, new_token


def settings_of(request: Request) -> Settings:
    return runtime_of(request.app).settings


def current_user(request: Request) -> User | None:
    return request.state.user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired(_("Log in to continue."))
    return user


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for a page that only reads (see ``forum.db.make_read_engine``:
    on PostgreSQL it is in autocommit, so nothing may write through it)."""
    async with runtime_of(request.app).read_sessionmaker() as session:
        yield session


@asynccontextmanager
async def writing(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the block ends without
    an error, rolled back otherwise (so nothing is ever half-saved)."""
    async with runtime_of(request.app).sessionmaker.begin() as session:
        yield session


def csrf_for(request: Request) -> str:
    """The form token; the browser's seed cookie is made (and sent with the
    response) the first time a page needs one."""
    state = request.state
    token: str | None = getattr(state, "csrf_token", None)
    if token is None:
        if state.csrf_seed is None:
            state.csrf_seed = new_token()
            state.csrf_new = True
        token = state.csrf_token = csrf_token(settings_of(request).secret_key, state.csrf_seed)
    return token


class LazyCsrf:
    """``csrf_token`` in templates: computed, and the seed cookie set, only if
    the page renders a form."""

    __slots__ = ("request",)

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return csrf_for(self.request)

    def __html__(self) -> str:
        return csrf_for(self.request)


async def read_form(request: Request, *, csrf: bool = True, max_files: int = 0) -> FormData:
    """The POSTed form, after the CSRF check (``csrf=False`` only where the
    form changes nothing but the sender's own cookies). Files are accepted only
    where ``max_files`` says (uploads: spooled to disk past 1 MB, the whole body
    capped by ``forum.middleware``)."""
    try:
        form = await request.form(max_files=max_files, max_fields=50, max_part_size=settings_of(request).max_body_bytes)
    except (HTTPException, BodyTooLarge):
        raise  # too large: the middleware answers 413
    except Exception as exc:
        raise HTTPException(400, _("The form could not be read.")) from exc
    if max_files:
        request.state.open_form = form  # its files closed once the response is sent (forum.middleware)
    token = form.get("csrf_token")
    if csrf and not check_csrf(
        settings_of(request).secret_key, request.state.csrf_seed, token if isinstance(token, str) else None
    ):
        user = current_user(request)
        seclog.event(
            "csrf.failed",
            request=request,
            user_id=user.id if user is not None else None,
            method=request.method,
            path=request.url.path,
        )
        fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"]
        message = _("This form expired or came from another site: check what you wrote and send it again.")
        raise FormExpired(message, fields)
    return form


def field(form: FormData, name: str, default: str = "") -> str:
    """A text field; a file or a missing field counts as the default."""
    value = form.get(name, default)
    return value if isinstance(value, str) else default


#: the largest id the database holds (32-bit INTEGER columns on PostgreSQL)
MAX_ID = 2**31 - 1


def int_field(form: FormData, name: str) -> int | None:
    """A whole number that fits the database's integer columns, else None."""
    try:
        value = int(field(form, name))
    except ValueError:
        return None
    return value if -MAX_ID - 1 <= value <= MAX_ID else None


# Pages that look the same to every anonymous reader: a shared cache (reverse
# proxy, CDN) may keep them this long; browsers revalidate with the ETag.
PUBLIC_CACHE = "public, max-age=0, s-maxage=60, stale-while-revalidate=30"


def render(request: Request, template: str, status_code: int = 200, *, public: bool = False, **ctx: Any) -> Response:
    """A page. ``public``: it does not depend on who asks, so an anonymous
    reader's copy may be cached (``forum.middleware`` adds the ETag and keeps
    any response that sets a cookie private)."""
    user = ctx.setdefault("user", current_user(request))
    ctx.setdefault("csrf_token", LazyCsrf(request))
    ctx.setdefault("locale", request.state.locale)
    response = runtime_of(request.app).templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if public and user is None and status_code == 200:
        response.headers["cache-control"] = PUBLIC_CACHE
    return response


def render_form(request: Request, template: str, *, errors: dict[str, str], **ctx: Any) -> Response:
    """A form page: 200 when first shown, 422 when it comes back with messages."""
    return render(request, template, status_code=422 if errors else 200, errors=errors, **ctx)


def api_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of every JSON error: ``{"error": message, "status": status}``
    (README, "JSON API")."""
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


def absolute_url(request: Request, path: str) -> str:
    """``path`` on this forum's address, as every JSON answer gives links."""
    return str(request.base_url).rstrip("/") + path


def json_download(data: Any, filename: str) -> Response:
    """``data`` as a JSON file the browser saves (never kept by a cache)."""
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "private, no-store"},
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after login (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def login_url(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return f"{request.url_for('accounts:login').path}?next={quote(path)}"
