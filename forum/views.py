"""Thread view counts, written in batches instead of one UPDATE per page view.

A view is counted in memory (one process: each web worker flushes its own
counts every ``views_flush`` seconds and when it stops, with the searches that
found nothing: :func:`flush_forever`) or in Redis
(``FORUM_VIEWS_STORAGE=redis://…``: every worker adds to one hash, and the job
runner moves it into the database). Either way a crash loses at most the last
few seconds of views, never a post: views are the one thing a forum may count
approximately.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from forum.models import Thread

log = logging.getLogger("forum.views")

REDIS_KEY = "views"

_ADD = (
    update(Thread.__table__)  # type: ignore[attr-defined]
    .where(Thread.__table__.c.id == bindparam("tid"))  # type: ignore[attr-defined]
    .values(views=Thread.__table__.c.views + bindparam("n"))  # type: ignore[attr-defined]
)


def _rows(counts: dict[int, int]) -> list[dict[str, int]]:
    # in id order: two flushers never wait for each other's row locks in opposite orders
    return [{"tid": tid, "n": n} for tid, n in sorted(counts.items()) if n > 0]


class ViewCounter:
    """Counts views in this process; :meth:`flush` writes them."""

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()

    async def hit(self, thread_id: int) -> None:
        self._counts[thread_id] += 1

    def pending(self, thread_id: int) -> int:
        """Views of this thread counted here and not written yet."""
        return self._counts.get(thread_id, 0)

    async def flush(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Adds the counted views to the threads (one statement) and forgets them;
        on a database error they are kept for the next flush."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            async with sessionmaker.begin() as session:
                await session.execute(_ADD, _rows(counts))
        except Exception:
            self._counts.update(counts)
            raise
        return sum(counts.values())

    async def close(self) -> None:
        return None


class RedisViewCounter(ViewCounter):
    """Counts views in a Redis hash shared by every process; the job runner
    writes them (:func:`flush_redis`)."""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__()
        import redis.asyncio

        self.key = f"{prefix}:{REDIS_KEY}"
        self._redis = redis.asyncio.Redis.from_url(url)

    async def hit(self, thread_id: int) -> None:
        try:
            await self._redis.hincrby(self.key, str(thread_id), 1)
        except Exception:  # Redis away: count here rather than lose the view or fail the page
            log.warning("counting a view in Redis failed; counting it in this process", exc_info=True)
            await super().hit(thread_id)

    async def close(self) -> None:
        await self._redis.aclose()


def make_counter(storage: str, prefix: str) -> ViewCounter:
    if storage.startswith(("redis://", "rediss://", "unix://")):
        return RedisViewCounter(storage, prefix)
    return ViewCounter()


def flush_redis(engine: Engine, storage: str, prefix: str) -> int:
    """Moves the views counted in Redis into the database (the job runner calls
    this). The hash is renamed first, atomically, so views counted meanwhile go
    to a new one; a flush interrupted before its commit is finished by the next."""
    import redis

    client = redis.Redis.from_url(storage)
    key, taken = f"{prefix}:{REDIS_KEY}", f"{prefix}:{REDIS_KEY}:flushing"
    try:
        if not client.exists(taken):
            try:
                client.rename(key, taken)
            except redis.ResponseError:  # no such key: nothing was viewed
                return 0
        raw: dict[Any, Any] = client.hgetall(taken)  # type: ignore[assignment]
        counts = {int(k): int(v) for k, v in raw.items()}
        if counts:
            with engine.begin() as conn:
                conn.execute(_ADD, _rows(counts))
        client.delete(taken)
        return sum(counts.values())
    finally:
        client.close()


class Buffer(Protocol):
    """What a web process keeps in memory and writes in batches."""

    async def flush(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int: ...


async def flush_forever(
    buffers: Sequence[Buffer], sessionmaker: async_sessionmaker[AsyncSession], every: float
) -> None:
    """A web process's flusher: every ``every`` seconds, and once more when cancelled
    (the process is stopping), each buffer writes what it holds: its view counts
    (memory counting) and the searches that found nothing
    (:class:`forum.search.FailedSearches`)."""
    try:
        while True:
            await asyncio.sleep(every)
            for buffer in buffers:
                try:
                    await buffer.flush(sessionmaker)
                except Exception:
                    log.exception("writing %s failed; it is kept for the next try", type(buffer).__name__)
    finally:
        for buffer in buffers:
            with contextlib.suppress(Exception):
                await buffer.flush(sessionmaker)
