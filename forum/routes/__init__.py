"""The route table: one list per module, named routes."""

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from forum.paths import STATIC_DIR
from forum.routes import accounts, threads
from forum.routes.misc import healthz


def forum_routes() -> list[BaseRoute]:
    return [
        *threads.routes,
        *accounts.routes,
        Route("/healthz", healthz, name="healthz"),
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
