"""One pure-ASGI middleware that prepares every request: body size limit,
CSRF seed cookie, the logged-in user, the locale, security and cache headers,
and ETag revalidation (304) for GET pages."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum import i18n
from forum.config import Settings
from forum.ratelimit import TrustedProxies, forwarded_scheme
from forum.services import accounts, tokens

SESSION_COOKIE = "forum_session"
CSRF_COOKIE = "forum_csrf"
LOCALE_COOKIE = "forum_locale"
# With secure cookies (production) the session and CSRF cookies are named with
# the __Host- prefix: the browser then only accepts them from a secure page,
# with Path=/ and no Domain, so a sibling subdomain cannot plant or shadow them.
HOST_PREFIX = "__Host-"


def session_cookie(settings: Settings) -> str:
    return HOST_PREFIX + SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


def csrf_cookie(settings: Settings) -> str:
    return HOST_PREFIX + CSRF_COOKIE if settings.secure_cookies else CSRF_COOKIE


CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("content-security-policy", CSP),
)


class BodyTooLarge(Exception):
    pass


#: the forms that may carry a file (forum.routes.uploads, the ask, reply and edit forms, the avatar)
UPLOAD_PATHS = re.compile(r"^/(?:uploads|ask|t/\d+/reply|p/\d+/edit|me/avatar)$")


def body_limit(settings: Settings, path: str, content_type: str) -> int:
    """The most a request may send: a form with a file may send one file more."""
    if content_type.startswith("multipart/form-data") and UPLOAD_PATHS.match(path):
        return settings.max_body_bytes + settings.upload_max_bytes
    return settings.max_body_bytes


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match compared weakly (RFC 9110 13.1.2): the W/ prefix is ignored."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


def read_cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}


def request_locale(
    cookies: Mapping[str, str], accept_language: str | None, default: str, user_locale: str | None = None
) -> str:
    """The user's own choice, else the language cookie, else Accept-Language, else the default."""
    for choice in (user_locale, cookies.get(LOCALE_COOKIE)):
        if choice is not None and choice in i18n.LOCALES:
            return choice
    return i18n.negotiate(accept_language) or default


def session_signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, salt="forum.session")


def cookie_header(name: str, value: str, settings: Settings, *, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if settings.secure_cookies:
        parts.append("Secure")
    return "; ".join(parts)


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        sessionmaker: Any,
        read_sessionmaker: Any,
        trusted_proxies: TrustedProxies = (),
    ) -> None:
        self.app = app
        self.settings = settings
        self.trusted_proxies = trusted_proxies
        self.sessionmaker = sessionmaker
        self.read_sessionmaker = read_sessionmaker
        self.signer = session_signer(settings)
        self.session_cookie = session_cookie(settings)
        self.csrf_cookie = csrf_cookie(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = body_limit(self.settings, scope["path"], headers.get("content-type", ""))
        try:
            if int(headers.get("content-length") or 0) > limit:
                await too_large(scope, headers, self.settings, limit)(scope, receive, send)
                return
        except ValueError:
            await PlainTextResponse("Bad Content-Length", status_code=400)(scope, receive, send)
            return

        cookies = read_cookies(headers.get("cookie"))
        scheme = forwarded_scheme(scope, self.trusted_proxies)  # believed from a trusted proxy only
        if scheme is not None:
            scope["scheme"] = scheme

        state = scope.setdefault("state", {})
        set_cookies: list[str] = []

        # The CSRF seed cookie is set only when a page renders a form
        # (``forum.web.csrf_for``), so that a reader's plain page views carry
        # no cookie and a shared cache can keep them.
        seed = cookies.get(self.csrf_cookie)
        state["csrf_seed"] = seed if seed and len(seed) <= 100 else None

        user = None
        raw = cookies.get(self.session_cookie)
        if raw:
            try:
                token = self.signer.unsign(raw).decode()
            except BadSignature:
                token = None
            if token:
                async with self.read_sessionmaker() as session:
                    row = await accounts.load_session(session, token, idle_timeout=self.settings.session_idle_timeout)
                if row is not None:
                    user = row.user
                    if accounts.needs_touch(row):  # at most once an hour per session
                        async with self.sessionmaker.begin() as session:
                            await accounts.touch_session(session, row.token_hash)
                state["session_token"] = token if user is not None else None
            if user is None:
                set_cookies.append(cookie_header(self.session_cookie, "", self.settings, max_age=0))
        authorization = headers.get("authorization", "")
        if scope["path"].startswith("/api/") and authorization[:7].lower() == "bearer ":
            # An API token replaces the session cookie: a bad token is a 401
            # even for a browser that is logged in.
            async with self.sessionmaker.begin() as session:
                user = await tokens.token_user(session, authorization[7:].strip())
            state["auth"] = "token"
        state["user"] = user

        user_locale = user.locale if user is not None else None
        locale = request_locale(cookies, headers.get("accept-language"), self.settings.default_locale, user_locale)
        state["locale"] = locale
        token_ctx = i18n.set_locale(locale)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        dynamic = not scope["path"].startswith("/static/")
        revalidate = dynamic and scope["method"] == "GET"
        held: Message | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                if state.get("csrf_new"):
                    set_cookies.append(cookie_header(self.csrf_cookie, state["csrf_seed"], self.settings))
                for cookie in set_cookies:
                    h.append("set-cookie", cookie)
                for name, value in SECURITY_HEADERS:
                    h.setdefault(name, value)
                if "vary" not in h:
                    h["vary"] = "Cookie, Accept-Language"
                if dynamic and ("cache-control" not in h or (set_cookies and "public" in h["cache-control"])):
                    # Nothing is shared that was not meant to be, and never
                    # a response that sets a cookie.
                    h["cache-control"] = "private, no-cache"
                if revalidate and message["status"] == 200:
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                start, held = held, None
                if message.get("more_body"):
                    await send(start)  # a stream: sent as it comes, no ETag
                else:
                    body = message.get("body", b"")
                    etag = 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
                    h = MutableHeaders(scope=start)
                    h["etag"] = etag
                    if _etag_matches(headers.get("if-none-match"), etag):
                        for name in ("content-length", "content-type"):
                            if name in h:
                                del h[name]
                        await send({"type": "http.response.start", "status": 304, "headers": h.raw})
                        await send({"type": "http.response.body", "body": b""})
                        return
                    await send(start)
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            await too_large(scope, headers, self.settings, limit)(scope, receive, send)
        finally:
            i18n._current.reset(token_ctx)
            form = state.pop("open_form", None)
            if form is not None:
                await form.close()  # an upload's spooled files


def too_large(scope: Scope, headers: Mapping[str, str], settings: Settings, limit: int | None = None) -> Response:
    """The 413 page (JSON under /api/), in the reader's language, saying how much
    may be sent."""
    from forum.app import error_page  # the app's error pages; imported late (forum.app imports this module)

    cookies = read_cookies(headers.get("cookie"))
    locale = request_locale(cookies, headers.get("accept-language"), settings.default_locale)
    scope.setdefault("state", {}).setdefault("locale", locale)
    with i18n.using_locale(locale):
        if limit is not None and limit > settings.max_body_bytes:  # a form with a file
            from forum.services.uploads import too_large_message

            return error_page(Request(scope), 413, too_large_message(settings.upload_max_bytes))
        size = i18n.format_number(settings.max_body_bytes // 1024)
        message = i18n.gettext("That is too much to send at once: at most %(size)s KB.", size=size)
        return error_page(Request(scope), 413, message)
