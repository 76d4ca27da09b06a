"""The web process's long-lived parts, owned by one object.

``create_app`` builds a ``Runtime`` and keeps it as ``app.state.runtime``:
the database engines and their session factories, the request hooks, the
admission gate, the rate limiter, the view counter and the searches that
found nothing, the templates, the upload storage, and what is made later on
demand (the job runner, the similar-questions index and its refresh).
``Runtime.close`` releases all of them, once, in one place: the lifespan calls
it at shutdown, tests call it through ``forum.app.close_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from forum import direct
from forum.config import Settings

if TYPE_CHECKING:
    from forum.admission import Admission
    from forum.hooks import Hooks
    from forum.jobs import JobRunner
    from forum.ratelimit import RateLimiter, TrustedProxies
    from forum.search import FailedSearches
    from forum.storage import Storage
    from forum.topics.similar_index import SimilarIndex
    from forum.views import ViewCounter


@dataclass(eq=False)
class Runtime:
    settings: Settings
    trusted_proxies: TrustedProxies
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Sessions that only read (pages, header counts): see forum.db.make_read_engine.
    read_engine: AsyncEngine
    read_sessionmaker: async_sessionmaker[AsyncSession]
    hooks: Hooks
    admission: Admission
    rate_limiter: RateLimiter
    views: ViewCounter
    # Searches that found nothing, written in batches with the view counts (forum.views).
    failed_searches: FailedSearches
    templates: Jinja2Templates
    storage: Storage
    # Made on demand: the in-process jobs (forum.jobs.start) and the similar-questions index.
    job_runner: JobRunner | None = None
    similar_index: SimilarIndex | None = None
    similar_refreshing: asyncio.Task[None] | None = None
    closed: bool = False

    @property
    def engines(self) -> list[AsyncEngine]:
        return [self.engine] if self.read_engine is self.engine else [self.engine, self.read_engine]

    async def close(self) -> None:
        """Stops the jobs, waits for an index refresh under way, then releases
        the index's engine, the rate-limit and view-count storage and the pools.
        A second call does nothing."""
        if self.closed:
            return
        self.closed = True
        if self.job_runner is not None:
            await self.job_runner.stop()
            self.job_runner = None
        if self.similar_refreshing is not None:
            with contextlib.suppress(Exception):
                await self.similar_refreshing
            self.similar_refreshing = None
        if self.similar_index is not None:
            self.similar_index.engine.dispose()
            self.similar_index = None
        await self.rate_limiter.close()
        await self.views.close()
        for engine in self.engines:
            direct.release(engine)
            await engine.dispose()


def runtime_of(app: Starlette) -> Runtime:
    return cast(Runtime, app.state.runtime)
