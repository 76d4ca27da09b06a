"""Background jobs: the work no request does.

One job runner serves the whole forum. ``forum serve`` starts it as a process
of its own beside the web workers (``forum worker`` is the same runner, for
deployments that run it elsewhere); an app created on its own (tests, a plain
ASGI server) runs it in-process unless ``FORUM_JOBS=off``. Several runners at
once are safe: each job takes a lease in the database or claims its rows.

* **related** (every ``related_interval`` seconds, and at once when there is
  more): analyses and encodes threads whose terms or vector are missing (the
  backlog of an upgraded forum, a batch at a time), keeps a similar-questions
  index, and computes the queued related-questions lists
  (:mod:`forum.topics.related`); once an hour it also forgets old form keys
  (:func:`forum.services.formkeys.prune`). Leased: one process does it.
* **topics** (every ``topics_interval`` seconds, or when staff ask): the
  repeated-topic job (:mod:`forum.topics.job`, leased); then the lists of the
  topics it changed are queued.
* **spikes** (every ``spikes_interval`` seconds, and after each run of the
  topic job): the spike check (:mod:`forum.services.spikes`, leased): alerts
  about topics growing much faster than their recent rate.
* **mail** (every ``mail_interval`` seconds, and when woken after a commit in
  the same process): sends the email outbox (:mod:`forum.mail`).
* **views** (every ``views_flush`` seconds, when views are counted in Redis):
  writes them to the threads (:mod:`forum.views`).
* **uploads** (every ``upload_prune_interval`` seconds): removes the uploads
  nothing uses once ``upload_orphan_hours`` old
  (:mod:`forum.services.upload_prune`, leased).

Each job runs in a daemon thread with its own synchronous engine (numpy, Kiwi
and the encoders are CPU-bound; the event loop keeps serving). Stopping does
not wait for the backlog: its batches check a stop flag, and a thread still
running when the process exits is abandoned (its transaction rolls back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from forum.clock import utcnow
from forum.config import Settings
from forum.runtime import runtime_of

log = logging.getLogger("forum.jobs")

FIRST_RUN_DELAY = 120.0
RELATED_LEASE = "related"
RELATED_LEASE_TTL = timedelta(minutes=5)
TOPICS_REQUEST = "topics"
SPIKES_LEASE = "spikes"
SPIKES_LEASE_TTL = timedelta(minutes=5)


class Loop:
    """A periodic job run in a daemon thread with its own synchronous engine."""

    name = "job"

    def __init__(self, settings: Settings, interval: float) -> None:
        self.settings = settings
        self.interval = float(interval)
        self.stopping = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._engine: Engine | None = None
        self._current: asyncio.Future[Any] | None = None
        self.running = False

    def engine(self) -> Engine:
        if self._engine is None:
            from forum.db import make_sync_engine

            self._engine = make_sync_engine(self.settings.database_url)
        return self._engine

    def start(self, *, first_delay: float | None = 0.0) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run_forever(first_delay=first_delay))

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, *, first_delay: float | None = 0.0) -> None:
        """Runs after ``first_delay`` seconds (None: only when woken), then every
        ``interval`` seconds (0: only when woken); at once again while a run says
        there is more to do."""
        delay = first_delay
        while not self.stopping.is_set():
            if delay is None:
                await self._wake.wait()
            elif delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            more = await self.run_once()
            delay = 0.0 if more else (self.interval if self.interval > 0 else None)

    async def run_once(self) -> Any:
        self.running = True
        try:
            return await self._in_thread(self.step)
        except Exception:
            log.exception("the %s job failed", self.name)
            return None
        finally:
            self.running = False

    def step(self, engine: Engine) -> Any:
        """One run, in the job's thread; a true result means "run again at once"."""
        raise NotImplementedError

    async def _in_thread(self, fn: Callable[[Engine], Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        engine = self.engine()

        def settle(setter: Callable[[Any], None], value: Any) -> None:
            if not future.done():
                setter(value)

        def target() -> None:
            try:
                result = fn(engine)
            except BaseException as exc:  # handed to the awaiting task
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                    loop.call_soon_threadsafe(settle, future.set_exception, exc)
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(settle, future.set_result, result)

        self._current = future
        threading.Thread(target=target, name=f"forum-{self.name}", daemon=True).start()
        return await asyncio.shield(future)

    async def stop(self, *, wait: float = 30.0) -> None:
        """Stops the schedule. A run in progress is told to stop and given ``wait``
        seconds to finish its batch; after that it is abandoned (a daemon thread)."""
        self.stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._current is not None and not self._current.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._current), timeout=wait)
        if self._engine is not None and (self._current is None or self._current.done()):
            with contextlib.suppress(Exception):
                self.cleanup(self._engine)
            self._engine.dispose()
            self._engine = None

    def cleanup(self, engine: Engine) -> None:
        """After the last run, before the engine goes (e.g. releasing a lease)."""


class TopicsLoop(Loop):
    """The repeated-topic job, then the related lists of the topics it changed."""

    name = "topics"

    def __init__(self, settings: Settings, *, interval: float | None = None, poll: float = 5.0) -> None:
        super().__init__(settings, settings.topics_interval if interval is None else interval)
        self.poll = poll
        self._due = 0.0
        #: called on the event loop after each run (the runner wakes the spike check)
        self.after: Callable[[], None] | None = None

    async def run_forever(self, *, first_delay: float | None = 0.0) -> None:
        """Runs every ``interval`` seconds and whenever a request (staff's "Update
        now", from any process) is found, looking for one every ``poll`` seconds."""
        loop = asyncio.get_running_loop()
        self._due = loop.time() + first_delay if first_delay is not None and self.interval > 0 else float("inf")
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)
            self._wake.clear()
            requested = await self._in_thread(_take_request)
            if requested or loop.time() >= self._due:
                await self.run_once()
                if self.after is not None:
                    self.after()
                self._due = loop.time() + self.interval if self.interval > 0 else float("inf")

    def step(self, engine: Engine) -> Any:
        from forum.topics import job, related

        started = utcnow()
        report = job.run(self.settings, engine=engine)
        if report.skipped:
            log.info("topic job skipped: another process is running it")
            return None
        log.info(
            "topic job (%s): %s threads looked at, %s created, %s updated, %s open, %.1fs",
            report.mode,
            report.threads_changed,
            report.created,
            report.updated,
            report.suggestions_open,
            report.seconds,
        )
        related.queue_topic_changes(engine, started)
        return None


def _requests() -> Table:
    from forum.models import JobRequest

    return JobRequest.__table__  # type: ignore[attr-defined,no-any-return]


def _take_request(engine: Engine) -> bool:
    """Whether a run of the topic job was asked for (and takes the request)."""
    table = _requests()
    with engine.begin() as conn:
        return bool(conn.execute(delete(table).where(table.c.name == TOPICS_REQUEST)).rowcount)


class SpikesLoop(Loop):
    """The spike check (:mod:`forum.services.spikes`): every ``interval`` seconds
    and when woken after the topic job. Leased, so one process runs it."""

    name = "spikes"

    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        super().__init__(settings, settings.spikes_interval if interval is None else interval)
        from forum.topics import store

        self.holder = store.new_holder()

    def step(self, engine: Engine) -> Any:
        from forum.topics import store

        if not store.acquire_lease(engine, SPIKES_LEASE, self.holder, SPIKES_LEASE_TTL):
            return None
        report = asyncio.run(run_spike_check(self.settings))
        if report.opened or report.closed:
            log.info(
                "spikes: %s topics with new threads, %s alerts opened, %s closed, %s staff told",
                report.checked,
                len(report.opened),
                report.closed,
                report.notified,
            )
        return None

    def cleanup(self, engine: Engine) -> None:
        from forum.topics import store

        store.release_lease(engine, SPIKES_LEASE, self.holder)


async def run_spike_check(settings: Settings, *, now: Any = None) -> Any:
    """One spike check in its own transaction, on an engine of its own (the job's
    thread has its own event loop); returns :class:`forum.services.spikes.SpikeReport`."""
    from forum.db import make_async_engine, make_sessionmaker
    from forum.services import spikes

    engine = make_async_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await spikes.check(session, rule=spikes.rule_from(settings), now=now)
    finally:
        await engine.dispose()


class MailLoop(Loop):
    """Sends the email outbox every ``interval`` seconds and when woken."""

    name = "mail"

    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        super().__init__(settings, settings.mail_interval if interval is None else interval)

    def step(self, engine: Engine) -> Any:
        from forum import mail

        report = mail.run(self.settings, engine=engine)
        if report.sent or report.retrying or report.failed:
            log.info(
                "email: %s sent, %s to retry, %s failed, %s dropped",
                report.sent,
                report.retrying,
                report.failed,
                report.dropped,
            )
        return None


class RelatedLoop(Loop):
    """The backlog of threads to analyse and encode, and the queued related lists."""

    name = "related"
    #: seconds between prunings of old form keys (this job runs in every forum, leased)
    PRUNE_EVERY = 3600.0
    _pruned_at = float("-inf")

    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        super().__init__(settings, settings.related_interval if interval is None else interval)
        from forum.topics import store

        self.holder = store.new_holder()
        self._index: Any = None
        self._backlog_after: int | None = 0  # None: the backlog is done

    def step(self, engine: Engine) -> bool:
        from forum.services.similar import SimilarIndex
        from forum.topics import related, store

        if not store.acquire_lease(engine, RELATED_LEASE, self.holder, RELATED_LEASE_TTL):
            return False
        self._prune_form_keys(engine)
        if self._backlog_after is not None:
            done, self._backlog_after = related.encode_backlog(
                engine, after_id=self._backlog_after, stop=self.stopping.is_set
            )
            if done:
                log.info("analysed and encoded %s threads of the backlog", done)
            if self._backlog_after is not None:
                return not self.stopping.is_set()
        if self._index is None:
            self._index = SimilarIndex(engine, refresh_every=0)
        self._index.ensure()
        items = related.queued(engine)
        if not items:
            return related.queue_stale(engine) > 0
        related.compute(engine, self._index, items)
        return not self.stopping.is_set()

    def cleanup(self, engine: Engine) -> None:
        from forum.topics import store

        store.release_lease(engine, RELATED_LEASE, self.holder)

    def _prune_form_keys(self, engine: Engine) -> None:
        import time

        from forum.services import formkeys

        if time.monotonic() - self._pruned_at < self.PRUNE_EVERY:
            return
        self._pruned_at = time.monotonic()
        removed = formkeys.prune(engine)
        if removed:
            log.info("forgot %s form keys older than %s", removed, formkeys.KEEP)


class ViewsLoop(Loop):
    """Moves the views counted in Redis into the database (``forum.views``)."""

    name = "views"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.views_flush)

    def step(self, engine: Engine) -> Any:
        from forum import views

        views.flush_redis(engine, self.settings.views_storage, self.settings.rate_limit_prefix)
        return None


# ---------------------------------------------------------------- orphan uploads

UPLOADS_LEASE = "uploads-prune"
UPLOADS_LEASE_TTL = timedelta(minutes=10)


class UploadPruneLoop(Loop):
    """Removes the uploads nothing uses once ``upload_orphan_hours`` old
    (:mod:`forum.services.upload_prune`), every ``upload_prune_interval``
    seconds. Leased: one process does it; the lease is renewed after each batch."""

    name = "uploads"

    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        super().__init__(settings, settings.upload_prune_interval if interval is None else interval)
        from forum.topics import store

        self.holder = store.new_holder()

    def step(self, engine: Engine) -> Any:
        from forum.services import upload_prune
        from forum.storage import make_storage
        from forum.topics import store

        if not store.acquire_lease(engine, UPLOADS_LEASE, self.holder, UPLOADS_LEASE_TTL):
            return None
        try:
            report = upload_prune.prune(
                engine,
                make_storage(self.settings),
                older_than=timedelta(hours=self.settings.upload_orphan_hours),
                stop=self.stopping.is_set,
                on_batch=lambda: store.renew_lease(engine, UPLOADS_LEASE, self.holder, UPLOADS_LEASE_TTL),
            )
        finally:
            store.release_lease(engine, UPLOADS_LEASE, self.holder)
        if report.removed:
            log.info("removed %s unused uploads (%s bytes)", len(report.removed), report.bytes)
        return None


# ---------------------------------------------------------------- the runner


class JobRunner:
    """Every background job of the forum, in this process."""

    def __init__(self, settings: Settings, *, mail_interval: float | None = None) -> None:
        from forum import mail

        self.settings = settings
        self.related = RelatedLoop(settings)
        self.topics = TopicsLoop(settings)
        self.spikes = SpikesLoop(settings)
        self.topics.after = self.spikes.wake
        self.mail = MailLoop(settings, interval=mail_interval) if mail.smtp_config(settings) is not None else None
        self.views = ViewsLoop(settings) if settings.views_storage.startswith(("redis", "unix")) else None
        self.uploads = UploadPruneLoop(settings) if settings.upload_prune_interval > 0 else None

    def start(self) -> None:
        self.related.start(first_delay=0.0)
        if self.views is not None:
            self.views.start(first_delay=self.views.interval)
        self.topics.start(first_delay=min(self.topics.interval, FIRST_RUN_DELAY))
        self.spikes.start(first_delay=min(self.spikes.interval, FIRST_RUN_DELAY) if self.spikes.interval > 0 else None)
        if self.mail is not None:
            self.mail.start(first_delay=0.0 if self.mail.interval > 0 else None)
        if self.uploads is not None:
            self.uploads.start(first_delay=min(self.uploads.interval, FIRST_RUN_DELAY))

    async def run_each_once(self) -> None:
        """Each job once, in the order a new forum needs them, then stops: the backlog
        and every queued related list, a topic run, the lists of the topics it changed,
        the spike check (which needs the topics), the outbox. ``forum worker --once``, and
        ``forum demo`` before it serves (so that the demo shows its topics and its spike
        at once, not after the runner's first topic run)."""
        try:
            while await self.related.run_once():
                pass
            await self.topics.run_once()
            while await self.related.run_once():  # the lists of the topics it changed
                pass
            await self.spikes.run_once()
            if self.mail is not None:
                await self.mail.run_once()
        finally:
            await self.stop()

    async def stop(self) -> None:
        for loop in (self.uploads, self.mail, self.views, self.spikes, self.topics, self.related):
            if loop is not None:
                await loop.stop()

    def wake_mail(self) -> None:
        if self.mail is not None:
            self.mail.wake()


# ---------------------------------------------------------------- the app's side


def start(app: Starlette) -> None:
    """Lifespan startup: runs the jobs in this process unless ``FORUM_JOBS=off``
    (``forum serve`` runs them in a process of their own)."""
    runtime = runtime_of(app)
    if runtime.settings.jobs == "in-process" and runtime.job_runner is None:
        runtime.job_runner = JobRunner(runtime.settings)
        runtime.job_runner.start()


async def stop(app: Starlette) -> None:
    """Stops the jobs started by :func:`start` (``close_app`` does too)."""
    runtime = runtime_of(app)
    if runtime.job_runner is not None:
        await runtime.job_runner.stop()
        runtime.job_runner = None


def wake_mail(app: Starlette) -> None:
    """After a commit that may have written emails: send them soon (a runner in
    another process finds them at its next look, within ``mail_interval``)."""
    runner = runtime_of(app).job_runner
    if runner is not None:
        runner.wake_mail()


async def request_topics_run(session: AsyncSession) -> None:
    """Staff's "Update now": asks whichever process runs the jobs to run the
    topic job soon (a request row, in the caller's transaction; the runner looks
    for one every few seconds, or at once when :func:`wake_topics` reaches it)."""
    from forum.models import JobRequest

    if await session.get(JobRequest, TOPICS_REQUEST) is None:
        session.add(JobRequest(name=TOPICS_REQUEST, requested_at=utcnow()))


def wake_topics(app: Starlette) -> None:
    """After the commit of :func:`request_topics_run`: a runner in this process looks now."""
    runner = runtime_of(app).job_runner
    if runner is not None:
        runner.topics.wake()


async def topics_running(session: AsyncSession) -> bool:
    """Whether some process is running the topic job, or a run was asked for."""
    from forum.models import JobLease
    from forum.topics.job import LEASE

    leases: Table = JobLease.__table__  # type: ignore[attr-defined]
    requests = _requests()
    leased = select(leases.c.name).where(leases.c.name == LEASE, leases.c.expires_at >= utcnow()).exists()
    asked = select(requests.c.name).where(requests.c.name == TOPICS_REQUEST).exists()
    return bool(await session.scalar(select(leased | asked)))
