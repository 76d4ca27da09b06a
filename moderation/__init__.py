"""Moderation: flags, the review queue, sanctions and the audit log.

Depends on ``forum``; ``forum`` never imports this package (only
``forum.app`` mounts its routes and calls ``install``).

``install(app)`` registers the anti-spam hooks on ``app.state.hooks`` (see
``forum.hooks``), a request hook that loads what every page shows a
signed-in user (warnings to acknowledge, unread notices, the review queue's
size for moderators) into ``scope["state"]["moderation"]``, and the template
helpers the thread page uses to offer flag and moderator actions.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.types import Scope

# Skipped by the request hook: no page there shows the banner.
_QUIET_PREFIXES = ("/static/", "/healthz", "/api/")


def install(app: Starlette) -> None:
    from moderation import audit, notices, permissions, spam

    state = app.state
    spam.register(state.hooks, settings=state.settings, limiter=state.rate_limiter)
    sessionmaker = state.read_sessionmaker

    async def load_banner(scope: Scope) -> None:
        request_state: dict[str, Any] = scope.setdefault("state", {})
        request_state["moderation"] = None
        user = request_state.get("user")
        if user is None or str(scope.get("path", "")).startswith(_QUIET_PREFIXES):
            return
        async with sessionmaker() as session:
            request_state["moderation"] = await notices.load_banner(session, user)

    state.hooks.on_request.append(load_banner)
    state.hooks.account_deleted.append(notices.forget_user)
    state.hooks.admin_change.append(audit.record_admin_change)
    state.templates.env.globals.update(
        moderation_post_actions=permissions.post_actions,
        can_moderate=permissions.can_moderate,
        role_label=permissions.role_label,
    )
