"""The route table: one list per module, named routes."""

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from forum.paths import STATIC_DIR
from forum.routes import accounts, api_support, community, feeds, me, spikes, support, tags, threads, uploads
from forum.routes import kb as kb_routes
from forum.routes import notifications as notification_routes
from forum.routes import search as search_routes
from forum.routes import similar as similar_routes
from forum.routes import topics as topics_routes
from forum.routes.misc import healthz


def forum_routes() -> list[BaseRoute]:
    return [
        *feeds.routes,  # first: "/c/{slug}.rss" before the category page's "/c/{slug}"
        *threads.routes,
        *uploads.routes,
        *tags.routes,
        *accounts.routes,
        *me.routes,
        *search_routes.routes,
        *spikes.routes,
        *support.routes,
        *api_support.routes,
        *kb_routes.routes,
        *similar_routes.routes,
        *topics_routes.routes,
        *notification_routes.routes,
        *community.routes,
        Route("/healthz", healthz, name="healthz"),
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
