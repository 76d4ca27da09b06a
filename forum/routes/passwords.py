"""Forgotten passwords (a single-use link by email) and changing one's own."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum import mail, ratelimit, seclog
from forum.errors import ValidationError
from forum.i18n import LOCALES
from forum.i18n import gettext as _
from forum.models import User
from forum.routes.accounts import login_response, profile_page
from forum.services import accounts, passwords
from forum.urls import user_url
from forum.web import field, read_form, reading, redirect, render, require_user, settings_of, writing

log = logging.getLogger("forum.accounts")


async def reset_form(request: Request) -> Response:
    return render(request, "accounts/password_reset.html", sent="sent" in request.query_params, errors={}, values={})


async def reset_ask(request: Request) -> Response:
    """Mails a reset link if the address is an account's confirmed one. The
    answer is the same either way, and the mail goes after the response, so
    neither the page nor its timing says whether the address is known."""
    form = await read_form(request)
    address = field(form, "email").strip()
    if len(address) > 254 or not accounts.EMAIL_RE.match(address):
        return render(
            request,
            "accounts/password_reset.html",
            status_code=422,
            sent=False,
            values={"email": address[:254]},
            errors={"email": _("Enter a valid email address.")},
        )
    await ratelimit.hit_or_429(request, "password_reset_ip")
    await ratelimit.hit_or_429(request, "password_reset_address", f"reset:{address.casefold()}")
    settings = settings_of(request)
    async with reading(request) as session:
        user = await passwords.user_for_reset(session, address)
    seclog.event("password.reset_asked", request=request, user_id=user.id if user is not None else None)
    response = redirect("/password/reset?sent=1")
    if user is not None:
        config = mail.smtp_config(settings)
        if config is None:
            log.warning("password reset for user %s not mailed: this forum sends no email", user.id)
        else:
            token = passwords.reset_token(settings.secret_key, user)
            # The account's language, else the one the person asking reads in.
            locale = user.locale if user.locale in LOCALES else request.state.locale
            message = mail.compose_password_reset(settings, config.sender, user, f"/password/reset/{token}", locale)
            response.background = BackgroundTask(_send, config, message, user.id)
    return response


async def _send(config: mail.SmtpConfig, message: EmailMessage, user_id: int | None) -> None:
    try:
        await asyncio.to_thread(mail.send_now, config, message)
    except mail.SendError as exc:
        log.warning("password reset email to user %s not sent: %s", user_id, exc)


async def reset_link(request: Request) -> Response:
    """The link in the email: a form (nothing changes on GET)."""
    token = request.path_params["token"]
    async with reading(request) as session:
        user = await passwords.reset_link_user(session, settings_of(request).secret_key, token)
    return _link_form(request, user, token, {})


def _link_form(request: Request, user: User, token: str, errors: dict[str, str], status_code: int = 200) -> Response:
    return render(
        request,
        "accounts/password_reset_link.html",
        status_code=status_code,
        account=user,
        token=token,
        errors=errors,
        min_length=settings_of(request).password_min_length,
    )


async def reset_use(request: Request) -> Response:
    """Sets the new password, ends every session of the account, logs the person in."""
    token = request.path_params["token"]
    form = await read_form(request)
    settings = settings_of(request)
    try:
        async with writing(request) as session:
            user = await passwords.reset_password(
                session,
                settings.secret_key,
                token,
                field(form, "password"),
                min_length=settings.password_min_length,
            )
            session_token = await accounts.start_session(session, user, max_age=settings.session_max_age)
    except ValidationError as exc:
        async with reading(request) as session:
            user = await passwords.reset_link_user(session, settings.secret_key, token)
        return _link_form(request, user, token, exc.errors, 422)
    seclog.event("password.reset_used", request=request, user_id=user.id)
    return login_response(request, session_token, f"{user_url(user)}?password_changed=1#account")


async def change(request: Request) -> Response:
    """The owner's change of password on their profile: other sessions end, this one stays."""
    user = require_user(request)
    form = await read_form(request)
    settings = settings_of(request)
    try:
        async with writing(request) as session:
            fresh = await session.get(User, user.id)
            assert fresh is not None
            await passwords.change_password(
                session,
                fresh,
                current=field(form, "current_password"),
                new=field(form, "password"),
                min_length=settings.password_min_length,
                keep_session=getattr(request.state, "session_token", None),
            )
    except ValidationError as exc:
        return await profile_page(request, user.username, 422, password_errors=exc.errors)
    seclog.event("password.changed", request=request, user_id=user.id)
    return redirect(f"{user_url(user)}?password_changed=1#account")


routes = [
    Route("/password/reset", reset_form, methods=["GET"], name="passwords:reset-form"),
    Route("/password/reset", reset_ask, methods=["POST"], name="passwords:reset"),
    Route("/password/reset/{token}", reset_link, methods=["GET"], name="passwords:reset-link"),
    Route("/password/reset/{token}", reset_use, methods=["POST"], name="passwords:reset-use"),
    Route("/me/password", change, methods=["POST"], name="passwords:change"),
]
