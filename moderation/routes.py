"""Moderation pages. Empty until the moderation features land (issue 3)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
