"""``forum worker``: runs the periodic jobs outside the web processes (then
set FORUM_TOPICS_INTERVAL=0 for the web processes, or leave it: a lease
in the database stops two processes from running a job at once)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from forum.config import Settings

DEFAULT_INTERVAL = 3600
DEFAULT_MAIL_INTERVAL = 30


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from forum import mail
    from forum.jobs import MailSender, Scheduler, start_mail

    interval = args.interval if args.interval is not None else (settings.topics_interval or DEFAULT_INTERVAL)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("forum").info("worker: running the topic job every %s seconds", interval)
    if settings.smtp_url:
        logging.getLogger("forum").info("worker: sending the email outbox")

    async def main() -> None:
        scheduler = Scheduler(settings, interval=interval)
        if args.once:
            await scheduler.run_once()
            if mail.smtp_config(settings) is not None:
                once = MailSender(settings)
                await once.run_once()
                await once.stop()  # disposes its engine
            return
        sender = start_mail(settings.with_(mail_interval=settings.mail_interval or DEFAULT_MAIL_INTERVAL))
        try:
            await scheduler.run_forever(first_delay=0)
        finally:
            await scheduler.stop()
            if sender is not None:
                await sender.stop()

    asyncio.run(main())


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "worker", help="run the periodic jobs (the repeated-topic job, the email outbox) in the foreground"
    )
    parser.add_argument(
        "--interval",
        type=int,
        default=None,
        help="seconds between runs (default: FORUM_TOPICS_INTERVAL, or 3600 when that is 0)",
    )
    parser.add_argument("--once", action="store_true", help="run the jobs once and exit")
    parser.set_defaults(func=cmd_worker)
