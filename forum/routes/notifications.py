"""Notifications: the list, reading them, watching threads, email choices."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from forum.pagination import page_number
from forum.runtime import runtime_of
from forum.services import notifications as service
from forum.services import threads as thread_service
from forum.urls import thread_url, user_url
from forum.web import field, read_form, reading, redirect, render, require_user, settings_of, writing

# Skipped by the unread-count hook: no page there shows the header.
_QUIET_PREFIXES = ("/static/", "/healthz", "/api/")


async def notification_list(request: Request) -> Response:
    user = require_user(request)
    async with reading(request) as session:
        page = await service.list_notifications(
            session,
            user,
            page=page_number(request.query_params.get("page")),
            size=settings_of(request).page_size,
        )
    return render(request, "notifications/list.html", page=page)


async def open_notification(request: Request) -> Response:
    """Marks one notification read and goes where it leads (``leads_to``)."""
    user = require_user(request)
    await read_form(request)
    async with writing(request) as session:
        notification = await service.get_own_notification_or_404(
            session, request.path_params["notification_id"], user=user
        )
        await service.mark_read(session, notification)
        article = await service.answering_article(session, notification)
    return redirect(service.leads_to(notification, article))


async def mark_all_read(request: Request) -> Response:
    user = require_user(request)
    await read_form(request)
    async with writing(request) as session:
        await service.mark_all_read(session, user=user)
    return redirect(request.url_for("notifications:list").path)


def _watch_action(watching: bool):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        user = require_user(request)
        await read_form(request)
        async with writing(request) as session:
            thread = await thread_service.get_thread_or_404(session, request.path_params["thread_id"], viewer=user)
            await service.set_watching(session, thread, user=user, watching=watching)
        return redirect(thread_url(thread))

    return endpoint


async def email_choices(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    async with writing(request) as session:
        await service.set_email_choices(
            session, user=user, own=field(form, "email_own") == "on", watched=field(form, "email_watched") == "on"
        )
    return redirect(user_url(user) + "#email-choices")


def install(app: Starlette) -> None:
    """A request hook that counts the signed-in user's unread notifications
    for the header (one indexed count) into ``scope["state"]["unread_notifications"]``."""
    sessionmaker = runtime_of(app).read_sessionmaker

    async def load_unread(scope: Scope) -> None:
        state: dict[str, Any] = scope.setdefault("state", {})
        state["unread_notifications"] = 0
        user = state.get("user")
        if user is None or str(scope.get("path", "")).startswith(_QUIET_PREFIXES):
            return
        async with sessionmaker() as session:
            state["unread_notifications"] = await service.unread_count(session, user)

    runtime_of(app).hooks.on_request.append(load_unread)


routes = [
    Route("/notifications", notification_list, methods=["GET"], name="notifications:list"),
    Route("/notifications/read", mark_all_read, methods=["POST"], name="notifications:read-all"),
    Route("/notifications/{notification_id:int}/open", open_notification, methods=["POST"], name="notifications:open"),
    Route("/t/{thread_id:int}/watch", _watch_action(True), methods=["POST"], name="threads:watch"),
    Route("/t/{thread_id:int}/unwatch", _watch_action(False), methods=["POST"], name="threads:unwatch"),
    Route("/me/email", email_choices, methods=["POST"], name="notifications:email"),
]
