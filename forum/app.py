"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from forum import jobs, seclog, urls, views
from forum.admission import Admission, AdmissionMiddleware
from forum.config import Settings
from forum.db import make_async_engine, make_read_engine, make_sessionmaker, pool_options
from forum.errors import AlreadySubmitted, FormExpired, ForumError, LoginRequired, NotAllowed, wants_json
from forum.hooks import Hooks, HooksMiddleware
from forum.i18n import gettext as _
from forum.i18n import lazy, using_locale
from forum.middleware import RequestContextMiddleware
from forum.ratelimit import RateLimited, RateLimiter, parse_trusted_proxies
from forum.requestlog import RequestLogMiddleware, configure_logging_if_unset
from forum.routes import forum_routes
from forum.routes.community import install as install_community
from forum.routes.notifications import install as install_notifications
from forum.runtime import Runtime, runtime_of
from forum.search import FailedSearches
from forum.services import feeds
from forum.services import uploads as upload_service
from forum.services.threads import Limits as ThreadLimits
from forum.storage import make_storage
from forum.templating import make_templates
from forum.warmup import warm_up
from forum.web import LazyCsrf, absolute_url, api_error, login_url, redirect, render

log = logging.getLogger("forum")

ERROR_TITLES = {
    400: lazy("Bad request"),
    403: lazy("You can't do that"),
    404: lazy("Page not found"),
    405: lazy("Method not allowed"),
    409: lazy("Conflict"),
    413: lazy("Too large"),
    415: lazy("This kind of file is not accepted"),
    422: lazy("Check your input"),
    429: lazy("Too many requests"),
    500: lazy("Something went wrong"),
}


def error_page(request: Request, status: int, message: str) -> Response:
    if wants_json(request.scope):
        return api_error(status, message or _(ERROR_TITLES.get(status, ERROR_TITLES[400])))
    state = request.scope.get("state", {})
    # The 500 handler runs outside the middleware that set the locale: set it again.
    with using_locale(state.get("locale", "en")):
        return runtime_of(request.app).templates.TemplateResponse(
            request,
            f"errors/{status}.html" if status in (403, 404, 500) else "errors/error.html",
            {
                "status": status,
                "title": _(ERROR_TITLES.get(status, ERROR_TITLES[400])),
                "message": message,
                "user": state.get("user"),
                "locale": state.get("locale", "en"),
                "csrf_token": LazyCsrf(request) if "csrf_seed" in state else "",
                "request_id": state.get("request_id"),
            },
            status_code=status,
        )


async def handle_forum_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ForumError)
    if isinstance(exc, AlreadySubmitted):
        return redirect(exc.url)  # the form was sent before: what it made
    if isinstance(exc, LoginRequired) and not wants_json(request.scope):
        return redirect(login_url(request) if request.method == "GET" else "/login")
    if isinstance(exc, FormExpired) and not wants_json(request.scope):
        return form_expired_page(request, exc)
    user = request.scope.get("state", {}).get("user")
    user_id = user.id if user is not None else None
    if isinstance(exc, NotAllowed):
        seclog.event("forbidden", request=request, user_id=user_id, method=request.method, path=request.url.path)
    elif isinstance(exc, RateLimited):
        seclog.event("rate_limited", request=request, user_id=user_id, limit=exc.name, path=request.url.path)
    response = error_page(request, exc.status_code, exc.message)
    response.headers.update(getattr(exc, "headers", None) or {})  # Retry-After on 429
    return response


#: fields shown to be checked again (the rest go back hidden, as they came)
_TYPED = {"title": 1, "body": 8, "text": 3, "reason": 1, "display_name": 1, "email": 1}


def form_expired_page(request: Request, exc: FormExpired) -> Response:
    """What was typed, in a fresh form to the same address: nothing is lost to an
    expired token. Passwords are never sent back."""
    fields = [(k, v) for k, v in exc.fields if "password" not in k]
    return render(
        request,
        "errors/form_expired.html",
        exc.status_code,
        title=_("Send this form again"),
        message=exc.message,
        action=request.url.path,
        shown=[(k, v, _TYPED[k]) for k, v in fields if k in _TYPED],
        hidden=[(k, v) for k, v in fields if k not in _TYPED],
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and exc.status_code not in (404, 405) else ""
    response = error_page(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def handle_server_error(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id")
    log.exception("unhandled error on %s %s (request %s)", request.method, request.url.path, request_id, exc_info=exc)
    response = error_page(request, 500, "")
    if request_id:  # this answer does not pass through the middleware that adds it
        response.headers["x-request-id"] = request_id
    return response


async def close_app(app: Starlette) -> None:
    """Releases everything an app holds (``forum.runtime.Runtime.close``). The
    lifespan calls it; so do tests, which run no lifespan."""
    await runtime_of(app).close()


def warm_analyzer() -> None:
    from forum.text import get_analyzer

    get_analyzer().terms("워밍업 warm up")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    pool = pool_options(settings.max_in_flight)
    engine = make_async_engine(settings.database_url, **pool)
    sessionmaker = make_sessionmaker(engine)
    read_engine = make_read_engine(settings.database_url, engine, **pool)
    read_sessionmaker = make_sessionmaker(read_engine, reading=True) if read_engine is not engine else sessionmaker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Kiwi (the Korean analyser) takes a few seconds to load: load it now,
        # beside start-up, rather than in the first search or post.
        threading.Thread(target=warm_analyzer, name="warm-analyzer", daemon=True).start()
        configure_logging_if_unset()  # served by something other than forum serve
        jobs.start(app)  # unless FORUM_JOBS=off (forum serve runs them in a process of their own)
        flusher = asyncio.get_running_loop().create_task(
            views.flush_forever(
                [runtime_of(app).views, runtime_of(app).failed_searches], sessionmaker, settings.views_flush
            )
        )
        await warm_up(app)  # before the first connection is taken (forum.warmup)
        yield
        flusher.cancel()  # it writes what it has counted, then stops
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await close_app(app)

    from moderation import install as install_moderation
    from moderation.routes import routes as moderation_routes

    hooks = Hooks()
    templates = make_templates(
        auto_reload=bool(settings.reload_templates), fragment_cache_mb=settings.fragment_cache_mb
    )
    # The forms' maxlength is the services' limit, so a browser refuses what the server would.
    templates.env.globals["text_limits"] = ThreadLimits.from_settings(settings)
    templates.env.globals["upload_max_mb"] = settings.upload_max_bytes / (1024 * 1024)
    templates.env.globals.update(
        absolute_url=absolute_url, page_description=feeds.page_description, structured_data=feeds.structured_data
    )
    admission = Admission(settings, read_engine, templates)
    trusted_proxies = parse_trusted_proxies(settings.trusted_proxies)
    app = Starlette(
        debug=False,
        routes=[*forum_routes(), *moderation_routes],
        middleware=[
            Middleware(RequestLogMiddleware, trusted_proxies=trusted_proxies),  # request ids, the access log
            Middleware(AdmissionMiddleware, admission=admission),  # a refusal costs nothing more
            Middleware(
                RequestContextMiddleware,
                settings=settings,
                trusted_proxies=trusted_proxies,
                sessionmaker=sessionmaker,
                read_sessionmaker=read_sessionmaker,
            ),
            Middleware(HooksMiddleware, hooks=hooks),
        ],
        exception_handlers={
            ForumError: handle_forum_error,
            HTTPException: handle_http_error,
            500: handle_server_error,
        },
        lifespan=lifespan,
    )
    templates.env.globals.update(
        thread_url=urls.thread_url,
        post_url=urls.post_url,
        category_url=urls.category_url,
        user_url=urls.user_url,
        avatar_initials=upload_service.avatar_initials,
        avatar_colour=upload_service.avatar_colour,
        tag_url=urls.tag_url,
    )
    app.state.runtime = Runtime(
        settings=settings,
        trusted_proxies=trusted_proxies,
        engine=engine,
        sessionmaker=sessionmaker,
        read_engine=read_engine,
        read_sessionmaker=read_sessionmaker,
        hooks=hooks,
        admission=admission,
        rate_limiter=RateLimiter.from_settings(settings),
        views=views.make_counter(settings.views_storage, settings.rate_limit_prefix),
        failed_searches=FailedSearches(),
        templates=templates,
        storage=make_storage(settings),  # uploaded files (forum.storage)
    )
    install_notifications(app)  # the unread count in the header
    install_community(app)  # the banners every page shows
    install_moderation(app)
    return app
