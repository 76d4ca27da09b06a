"""``forum worker``: the job runner (see :mod:`forum.jobs`) in the foreground:
what ``forum serve`` starts beside its web workers, for deployments that run
the jobs on a machine or container of their own (then ``forum serve --no-jobs``
on the web machines, or FORUM_JOBS=off)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal

from forum.config import Settings

#: a runner in its own process cannot be woken by the web processes' commits: it looks this often
MAIL_POLL = 5


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from forum.jobs import JobRunner

    if args.interval is not None:
        settings = settings.with_(topics_interval=args.interval)
    if args.nice:
        os.nice(args.nice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    mail_interval = min(settings.mail_interval, MAIL_POLL) if settings.mail_interval > 0 else MAIL_POLL

    async def main() -> None:
        runner = JobRunner(settings, mail_interval=mail_interval)
        if args.once:
            await runner.run_each_once()
            return
        log = logging.getLogger("forum")
        log.info(
            "worker: related questions, topics every %s s, %s",
            settings.topics_interval or "(on request)",
            "email" if runner.mail is not None else "no email (FORUM_SMTP_URL is not set)",
        )
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, done.set)
        runner.start()
        try:
            await done.wait()
        finally:
            log.info("worker: stopping")
            await runner.stop()

    asyncio.run(main())


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "worker",
        help="run the background jobs (related questions, repeated topics, the email outbox) in the foreground",
    )
    parser.add_argument(
        "--interval",
        type=int,
        default=None,
        help="seconds between runs of the topic job (default: FORUM_TOPICS_INTERVAL)",
    )
    parser.add_argument("--once", action="store_true", help="run each job once and exit")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="lower the runner's CPU priority by this much (forum serve starts it with 10)",
    )
    parser.set_defaults(func=cmd_worker)
