"""Periodic jobs, run in-process (the embedded default) or by ``forum worker``.

The email outbox (``forum.mail``) is sent every ``mail_interval`` seconds
when SMTP is configured, and soon after a request that wrote a notification
(``wake_mail``); senders in several processes claim rows, never the same.

The repeated-topic job (``forum.topics.job``) runs every
``topics_interval`` seconds (0 turns the in-process schedule off, e.g. when
a ``forum worker`` runs it instead). The job itself takes a lease row in the
database, so two processes never run it at once: the web processes and a
worker can all keep their schedules without doubling the work.

The job is CPU-bound (numpy, Kiwi) and uses its own synchronous database
engine; it runs in a worker thread so the event loop keeps serving requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.applications import Starlette

from forum.config import Settings

log = logging.getLogger("forum.jobs")

FIRST_RUN_DELAY = 120.0


class _InThread:
    """A periodic job that runs in a worker thread with its own synchronous engine."""

    def __init__(self, settings: Settings, interval: float) -> None:
        self.settings = settings
        self.interval = float(interval)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._engine: Any = None
        self._current: asyncio.Future[Any] | None = None

    async def _in_thread(self, run: Any) -> Any:
        """``run(settings, engine=...)`` in a worker thread; a cancelled caller leaves
        it to finish (``stop`` waits for it)."""
        from forum.db import make_sync_engine

        if self._engine is None:
            self._engine = make_sync_engine(self.settings.database_url)
        self._current = asyncio.ensure_future(asyncio.to_thread(run, self.settings, engine=self._engine))
        return await asyncio.shield(self._current)

    async def stop(self, *, wait: float = 30.0) -> None:
        """Stops the schedule. A run in progress (a thread) cannot be
        interrupted: it is given ``wait`` seconds to finish its transaction."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._current is not None and not self._current.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._current), timeout=wait)
        if self._engine is not None and (self._current is None or self._current.done()):
            self._engine.dispose()
            self._engine = None


class Scheduler(_InThread):
    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        super().__init__(settings, settings.topics_interval if interval is None else interval)
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self._task is None:
            delay = min(self.interval, FIRST_RUN_DELAY) if self.interval > 0 else None
            self._task = asyncio.get_running_loop().create_task(self.run_forever(first_delay=delay))

    def trigger(self) -> None:
        """Run as soon as possible (the job is skipped if another process runs it)."""
        self._wake.set()

    async def run_forever(self, *, first_delay: float | None = 0.0) -> None:
        """Runs after ``first_delay`` seconds (None: only when triggered), then
        every ``interval`` seconds (0: only when triggered)."""
        delay = first_delay
        while True:
            if delay is None:
                await self._wake.wait()
            elif delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            await self.run_once()
            delay = self.interval if self.interval > 0 else None

    async def run_once(self) -> Any:
        from forum.topics import job

        self._running = True
        try:
            report = await self._in_thread(job.run)
        except Exception:
            log.exception("the repeated-topic job failed")
            return None
        finally:
            self._running = False
        if report.skipped:
            log.info("topic job skipped: another process is running it")
        else:
            log.info(
                "topic job (%s): %s threads looked at, %s created, %s updated, %s open, %.1fs",
                report.mode,
                report.threads_changed,
                report.created,
                report.updated,
                report.suggestions_open,
                report.seconds,
            )
        return report


class MailSender(_InThread):
    """Sends the email outbox every ``interval`` seconds and when woken."""

    def __init__(self, settings: Settings, *, interval: float | None = None) -> None:
        super().__init__(settings, settings.mail_interval if interval is None else interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run_forever())

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval if self.interval > 0 else None)
            self._wake.clear()
            await self.run_once()

    async def run_once(self) -> Any:
        from forum import mail

        try:
            report = await self._in_thread(mail.run)
        except Exception:
            log.exception("sending the email outbox failed")
            return None
        if report.sent or report.retrying or report.failed:
            log.info(
                "email: %s sent, %s to retry, %s failed, %s dropped",
                report.sent,
                report.retrying,
                report.failed,
                report.dropped,
            )
        return report


def start_mail(settings: Settings) -> MailSender | None:
    """A running sender, or None when SMTP is off (``FORUM_SMTP_URL`` empty)."""
    from forum import mail

    if mail.smtp_config(settings) is None:
        return None
    sender = MailSender(settings)
    sender.start()
    return sender


def wake_mail(app: Starlette) -> None:
    """After a commit that may have written emails: send them soon."""
    sender: MailSender | None = getattr(app.state, "mail_sender", None)
    if sender is not None:
        sender.wake()


def start(app: Starlette) -> None:
    """Lifespan startup: loads the similar-questions index in the background
    and starts the in-process schedule unless it is off."""
    from forum.services import similar

    similar.schedule_refresh(app, load=True)
    settings: Settings = app.state.settings
    if settings.topics_interval > 0:
        scheduler = Scheduler(settings)
        app.state.scheduler = scheduler
        scheduler.start()
    if settings.mail_interval > 0:
        app.state.mail_sender = start_mail(settings)


async def stop(app: Starlette) -> None:
    from forum.services import similar

    sender: MailSender | None = getattr(app.state, "mail_sender", None)
    if sender is not None:
        await sender.stop()
        app.state.mail_sender = None
    scheduler: Scheduler | None = getattr(app.state, "scheduler", None)
    if scheduler is not None:
        await scheduler.stop()
        app.state.scheduler = None
    refreshing = getattr(app.state, "similar_refreshing", None)
    if refreshing is not None:
        with contextlib.suppress(Exception):
            await refreshing
    similar.close(app)


def trigger(app: Starlette) -> None:
    """Runs the topic job soon, in this process (staff's "Update now")."""
    scheduler: Scheduler | None = getattr(app.state, "scheduler", None)
    if scheduler is None:
        scheduler = Scheduler(app.state.settings, interval=0)
        app.state.scheduler = scheduler
        scheduler.start()
    scheduler.trigger()


def is_running(app: Starlette) -> bool:
    scheduler: Scheduler | None = getattr(app.state, "scheduler", None)
    return scheduler is not None and scheduler.running
