"""Spike alerts for staff (``/support/spikes``): open and recent alerts, each
with its topic, its figures and threads, and the one-click drafts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.routes.support import require_staff
from forum.services import spikes
from forum.web import reading, render, settings_of


async def spike_list(request: Request) -> Response:
    require_staff(request)
    async with reading(request) as session:
        rows = await spikes.list_spikes(session)
    rule = spikes.rule_from(settings_of(request))
    return render(request, "support/spikes.html", rows=rows, rule=rule, section="spikes")


routes = [
    Route("/support/spikes", spike_list, methods=["GET"], name="support:spikes"),
]
