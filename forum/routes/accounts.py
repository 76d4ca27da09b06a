"""Sign up, log in, log out, profiles and the language switcher."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum import mail, ratelimit, seclog
from forum.errors import Conflict, NotAllowed, ValidationError
from forum.i18n import LOCALES
from forum.i18n import gettext as _
from forum.login_throttle import LoginThrottle, device_cookie
from forum.middleware import LOCALE_COOKIE, cookie_header, session_cookie, session_signer
from forum.models import User
from forum.security import token_hash
from forum.services import accounts
from forum.services import notifications as notification_service
from forum.services import threads as thread_service
from forum.urls import user_url
from forum.web import (
    current_user,
    field,
    read_form,
    reading,
    redirect,
    render,
    require_user,
    safe_next,
    settings_of,
    writing,
)

log = logging.getLogger("forum.accounts")


def login_response(request: Request, token: str, target: str) -> Response:
    settings = settings_of(request)
    response = redirect(target)
    signed = session_signer(settings).sign(token).decode()
    response.headers.append(
        "set-cookie", cookie_header(session_cookie(settings), signed, settings, max_age=settings.session_max_age)
    )
    return response


async def signup_form(request: Request) -> Response:
    if current_user(request) is not None:
        return redirect("/")
    return render(
        request,
        "accounts/signup.html",
        values={},
        errors={},
        next=request.query_params.get("next", ""),
        min_length=settings_of(request).password_min_length,
    )


async def signup(request: Request) -> Response:
    form = await read_form(request)
    await ratelimit.hit_or_429(request, "signup")
    values = {name: field(form, name) for name in ("username", "email", "display_name")}
    target = safe_next(field(form, "next"))
    try:
        async with writing(request) as session:
            user = await accounts.do_signup(
                session,
                username=values["username"],
                email=values["email"],
                display_name=values["display_name"],
                password=field(form, "password"),
                locale=request.state.locale,
                password_min_length=settings_of(request).password_min_length,
            )
            token = await accounts.start_session(session, user, max_age=settings_of(request).session_max_age)
        if user.email and mail.smtp_config(settings_of(request)) is not None:
            try:  # the account exists either way; the link can be asked for again from the profile
                await _send_confirmation(request, user, user.email)
            except mail.SendError as exc:
                log.warning("confirmation email to new user %s not sent: %s", user.id, exc)
    except ValidationError as exc:
        return render(
            request,
            "accounts/signup.html",
            status_code=422,
            values=values,
            errors=exc.errors,
            next=field(form, "next"),
            min_length=settings_of(request).password_min_length,
        )
    return login_response(request, token, target)


async def login_form(request: Request) -> Response:
    if current_user(request) is not None:
        return redirect("/")
    return render(request, "accounts/login.html", values={}, errors={}, next=request.query_params.get("next", ""))


async def login(request: Request) -> Response:
    form = await read_form(request)
    login_name = field(form, "login")
    settings = settings_of(request)
    await ratelimit.hit_or_429(request, "login_ip")
    async with reading(request) as session:
        found = await accounts.find_login_user(session, login_name)
    throttle = LoginThrottle.for_attempt(request, settings, user=found, login=login_name)
    await throttle.check()  # before the password is looked at
    target = safe_next(field(form, "next"))
    user_id = found.id if found is not None else None
    try:
        user = accounts.check_password(found, field(form, "password"))
    except NotAllowed as exc:
        seclog.event("login.failed", request=request, user_id=user_id, reason="not_allowed")
        return render(
            request,
            "accounts/login.html",
            status_code=403,
            values={"login": login_name},
            errors={"login": exc.message},
            next=field(form, "next"),
        )
    if user is None:
        await throttle.failed()
        seclog.event("login.failed", request=request, user_id=user_id, reason="password")
        return render(
            request,
            "accounts/login.html",
            status_code=422,
            values={"login": login_name},
            errors={"login": _("Wrong username or password.")},
            next=field(form, "next"),
        )
    async with writing(request) as session:
        token = await accounts.start_session(session, user, max_age=settings.session_max_age)
    seclog.event("login.ok", request=request, user_id=user.id)
    response = login_response(request, token, target)
    assert user.id is not None
    response.headers.append("set-cookie", device_cookie(request, settings, user.id))
    return response


async def logout(request: Request) -> Response:
    await read_form(request)
    token = request.state.session_token if current_user(request) is not None else None
    if token:
        async with writing(request) as session:
            await accounts.end_session(session, token)
        seclog.event("logout", request=request, user_id=current_user(request).id)  # type: ignore[union-attr]
    response = redirect("/")
    settings = settings_of(request)
    response.headers.append("set-cookie", cookie_header(session_cookie(settings), "", settings, max_age=0))
    return response


async def profile(request: Request) -> Response:
    return await profile_page(request, request.path_params["username"])


async def profile_page(request: Request, username: str, status_code: int = 200, **extra: Any) -> Response:
    async with reading(request) as session:
        user = await accounts.get_user_by_username_or_404(session, username)
        data = await thread_service.load_profile(session, user)
        viewer = current_user(request)
        # Only the owner sees (and may change) their email address and choices.
        owner = viewer is not None and viewer.id == user.id
        choices = await notification_service.email_choices(session, user) if owner else None
        # The owner's account section: their sessions, this one marked.
        sessions = await accounts.list_sessions(session, user) if owner else []
    extra.setdefault("email_error", None)
    extra.setdefault("email_value", None)
    extra.setdefault("password_errors", {})
    extra.setdefault("delete_errors", {})
    notice = {
        "email_sent": request.query_params.get("email_sent"),
        "email_confirmed": "email_confirmed" in request.query_params,
        "password_changed": "password_changed" in request.query_params,
        "sessions_ended": "sessions_ended" in request.query_params,
    }
    this_session = getattr(request.state, "session_token", None) if owner else None
    return render(
        request,
        "accounts/profile.html",
        status_code=status_code,
        profile=data,
        email_choices=choices,
        email_notice=notice,
        sessions=[(row, accounts.session_ref(row)) for row in sessions],
        this_session_hash=token_hash(this_session) if this_session else None,
        min_length=settings_of(request).password_min_length,
        **extra,
    )


async def _send_confirmation(request: Request, user: User, address: str) -> None:
    """Mails ``address`` a link that confirms it for ``user``. Raises ``Conflict`` when
    this forum sends no email, ``mail.SendError`` when the server refused or failed."""
    settings = settings_of(request)
    config = mail.smtp_config(settings)
    if config is None:
        raise Conflict(_("This forum does not send email, so an address cannot be confirmed."))
    token = accounts.email_token(settings.secret_key, user, address)
    message = mail.compose_confirmation(
        settings, config.sender, user, address, f"/me/email-address/confirm?token={token}", request.state.locale
    )
    await asyncio.to_thread(mail.send_now, config, message)


async def change_email(request: Request) -> Response:
    """Sends a confirmation link to a new address; it becomes the account's when the
    link is opened (nothing changes before)."""
    user = require_user(request)
    form = await read_form(request)
    await ratelimit.hit_or_429(request, "signup", f"email:{user.id}")
    wanted = field(form, "email")
    try:
        async with reading(request) as session:
            address = await accounts.check_new_email(session, user, wanted)
        await _send_confirmation(request, user, address)
    except ValidationError as exc:
        return await profile_page(request, user.username, 422, email_error=exc.errors.get("email"), email_value=wanted)
    except mail.SendError as exc:
        log.warning("confirmation email to user %s not sent: %s", user.id, exc)
        return await profile_page(
            request,
            user.username,
            503,
            email_error=_("The email could not be sent just now. Try again in a few minutes."),
            email_value=wanted,
        )
    return redirect(f"{user_url(user)}?email_sent=1#email-choices")


async def confirm_email_form(request: Request) -> Response:
    """The link in the email: shows what would change; the button confirms (POST)."""
    user = require_user(request)
    token = request.query_params.get("token", "")
    address = accounts.read_email_token(settings_of(request).secret_key, token, user)
    return render(request, "accounts/confirm_email.html", address=address, token=token)


async def confirm_email(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    address = accounts.read_email_token(settings_of(request).secret_key, field(form, "token"), user)
    async with writing(request) as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        await accounts.confirm_email(session, fresh, address)
    return redirect(f"{user_url(user)}?email_confirmed=1#email-choices")


async def set_language(request: Request) -> Response:
    user = current_user(request)
    # A signed-in member's choice is saved on the account, so it needs the
    # token; an anonymous reader's only sets a cookie in their own browser.
    form = await read_form(request, csrf=user is not None)
    locale = field(form, "locale")
    target = safe_next(field(form, "next"))
    if locale not in LOCALES:
        raise HTTPException(400, _("Unknown language."))
    if user is not None:
        assert user.id is not None
        async with writing(request) as session:
            await accounts.set_locale(session, user.id, locale)
    response = redirect(target)
    response.headers.append(
        "set-cookie", cookie_header(LOCALE_COOKIE, locale, settings_of(request), max_age=60 * 60 * 24 * 365)
    )
    return response


THEMES = ("system", "light", "dark")
THEME_COOKIE = "forum_theme"


async def set_theme(request: Request) -> Response:
    """Light, dark or as the system: a cookie in the reader's own browser (no
    token: it changes nothing on the server, as an anonymous language choice)."""
    form = await read_form(request, csrf=False)
    theme = field(form, "theme")
    if theme not in THEMES:
        raise HTTPException(400, _("Unknown theme."))
    response = redirect(safe_next(field(form, "next")))
    response.headers.append(
        "set-cookie", cookie_header(THEME_COOKIE, theme, settings_of(request), max_age=60 * 60 * 24 * 365)
    )
    return response


routes = [
    Route("/signup", signup_form, methods=["GET"], name="accounts:signup-form"),
    Route("/signup", signup, methods=["POST"], name="accounts:signup"),
    Route("/login", login_form, methods=["GET"], name="accounts:login"),
    Route("/login", login, methods=["POST"], name="accounts:login-post"),
    Route("/logout", logout, methods=["POST"], name="accounts:logout"),
    Route("/u/{username}", profile, name="accounts:profile"),
    Route("/me/email-address", change_email, methods=["POST"], name="accounts:email-address"),
    Route("/me/email-address/confirm", confirm_email_form, methods=["GET"], name="accounts:email-confirm-form"),
    Route("/me/email-address/confirm", confirm_email, methods=["POST"], name="accounts:email-confirm"),
    Route("/language", set_language, methods=["POST"], name="accounts:language"),
    Route("/theme", set_theme, methods=["POST"], name="accounts:theme"),
]
