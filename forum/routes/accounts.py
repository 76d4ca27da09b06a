"""Sign up, log in, log out, profiles and the language switcher."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum import ratelimit
from forum.errors import NotAllowed, ValidationError
from forum.i18n import LOCALES
from forum.i18n import gettext as _
from forum.middleware import LOCALE_COOKIE, SESSION_COOKIE, cookie_header, session_signer
from forum.services import accounts
from forum.services import notifications as notification_service
from forum.services import threads as thread_service
from forum.web import (
    current_user,
    field,
    read_form,
    reading,
    redirect,
    render,
    safe_next,
    settings_of,
    writing,
)


def _login_response(request: Request, token: str, target: str) -> Response:
    settings = settings_of(request)
    response = redirect(target)
    signed = session_signer(settings).sign(token).decode()
    response.headers.append(
        "set-cookie", cookie_header(SESSION_COOKIE, signed, settings, max_age=settings.session_max_age)
    )
    return response


async def signup_form(request: Request) -> Response:
    if current_user(request) is not None:
        return redirect("/")
    return render(request, "accounts/signup.html", values={}, errors={}, next=request.query_params.get("next", ""))


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
            )
            token = await accounts.start_session(session, user, max_age=settings_of(request).session_max_age)
    except ValidationError as exc:
        return render(
            request,
            "accounts/signup.html",
            status_code=422,
            values=values,
            errors=exc.errors,
            next=field(form, "next"),
        )
    return _login_response(request, token, target)


async def login_form(request: Request) -> Response:
    if current_user(request) is not None:
        return redirect("/")
    return render(request, "accounts/login.html", values={}, errors={}, next=request.query_params.get("next", ""))


async def login(request: Request) -> Response:
    form = await read_form(request)
    login_name = field(form, "login")
    # Per address, and per account whatever the address (cleared on success).
    account_key = f"account:{accounts.username_key(login_name)}"
    await ratelimit.hit_or_429(request, "login_ip")
    await ratelimit.hit_or_429(request, "login_account", account_key)
    target = safe_next(field(form, "next"))
    try:
        async with writing(request) as session:
            user = await accounts.authenticate(session, login=login_name, password=field(form, "password"))
            token = (
                await accounts.start_session(session, user, max_age=settings_of(request).session_max_age)
                if user is not None
                else None
            )
    except NotAllowed as exc:
        return render(
            request,
            "accounts/login.html",
            status_code=403,
            values={"login": login_name},
            errors={"login": exc.message},
            next=field(form, "next"),
        )
    if token is None:
        return render(
            request,
            "accounts/login.html",
            status_code=422,
            values={"login": login_name},
            errors={"login": _("Wrong username or password.")},
            next=field(form, "next"),
        )
    await ratelimit.clear(request, "login_account", account_key)
    return _login_response(request, token, target)


async def logout(request: Request) -> Response:
    await read_form(request)
    token = request.state.session_token if current_user(request) is not None else None
    if token:
        async with writing(request) as session:
            await accounts.end_session(session, token)
    response = redirect("/")
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", settings_of(request), max_age=0))
    return response


async def profile(request: Request) -> Response:
    async with reading(request) as session:
        user = await accounts.get_user_by_username_or_404(session, request.path_params["username"])
        data = await thread_service.load_profile(session, user)
        viewer = current_user(request)
        # Only the owner sees (and may change) their email choices.
        choices = (
            await notification_service.email_choices(session, user)
            if viewer is not None and viewer.id == user.id
            else None
        )
    return render(request, "accounts/profile.html", profile=data, email_choices=choices)


async def set_language(request: Request) -> Response:
    form = await read_form(request)
    locale = field(form, "locale")
    target = safe_next(field(form, "next"))
    if locale not in LOCALES:
        raise HTTPException(400, _("Unknown language."))
    user = current_user(request)
    if user is not None:
        async with writing(request) as session:
            await accounts.set_locale(session, user.id, locale)
    response = redirect(target)
    response.headers.append(
        "set-cookie", cookie_header(LOCALE_COOKIE, locale, settings_of(request), max_age=60 * 60 * 24 * 365)
    )
    return response


routes = [
    Route("/signup", signup_form, methods=["GET"], name="accounts:signup-form"),
    Route("/signup", signup, methods=["POST"], name="accounts:signup"),
    Route("/login", login_form, methods=["GET"], name="accounts:login"),
    Route("/login", login, methods=["POST"], name="accounts:login-post"),
    Route("/logout", logout, methods=["POST"], name="accounts:logout"),
    Route("/u/{username}", profile, name="accounts:profile"),
    Route("/language", set_language, methods=["POST"], name="accounts:language"),
]
