"""One's own account: sessions, downloading one's data, deleting the account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum import seclog
from forum.errors import ValidationError
from forum.middleware import cookie_header, session_cookie
from forum.models import User
from forum.routes.accounts import profile_page
from forum.routes.passwords import routes as password_routes
from forum.services import account_data, accounts, passwords
from forum.urls import user_url
from forum.web import field, json_download, read_form, reading, redirect, require_user, settings_of, writing


async def end_session(request: Request) -> Response:
    """Logs one of one's own sessions out (another browser, a lost phone)."""
    user = require_user(request)
    form = await read_form(request)
    async with writing(request) as session:
        await accounts.end_session_by_ref(session, user, field(form, "session"))
    return redirect(f"{user_url(user)}?sessions_ended=1#sessions")


async def end_other_sessions(request: Request) -> Response:
    """ "Log out everywhere else": every session of the account but this one."""
    user = require_user(request)
    await read_form(request)
    async with writing(request) as session:
        await passwords.end_other_sessions(session, user.id, getattr(request.state, "session_token", None))  # type: ignore[arg-type]
    return redirect(f"{user_url(user)}?sessions_ended=1#sessions")


async def export(request: Request) -> Response:
    """One's own data as a JSON download."""
    user = require_user(request)
    async with reading(request) as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        data = await account_data.export_data(session, fresh)
    seclog.event("account.exported", request=request, user_id=user.id, by=user.id)
    return json_download(data, f"forum-data-{user.id}.json")


async def delete(request: Request) -> Response:
    """Deletes one's own account, confirmed with the password; logs out."""
    user = require_user(request)
    form = await read_form(request)
    try:
        async with writing(request) as session:
            fresh = await session.get(User, user.id)
            assert fresh is not None
            account_data.check_password_to_delete(fresh, field(form, "password"))
            await account_data.delete_account(session, fresh)
    except ValidationError as exc:
        return await profile_page(request, user.username, 422, delete_errors=exc.errors)
    seclog.event("account.deleted", request=request, user_id=user.id, by=user.id)
    settings = settings_of(request)
    response = redirect("/?account_deleted=1")
    response.headers.append("set-cookie", cookie_header(session_cookie(settings), "", settings, max_age=0))
    return response


routes = [
    *password_routes,
    Route("/me/sessions/end", end_session, methods=["POST"], name="me:end-session"),
    Route("/me/sessions/end-others", end_other_sessions, methods=["POST"], name="me:end-other-sessions"),
    Route("/me/data.json", export, methods=["GET"], name="me:export"),
    Route("/me/delete", delete, methods=["POST"], name="me:delete"),
]
