"""``forum recount``: recomputes the stored counters and says what it fixed."""

from __future__ import annotations

import argparse
import time

from sqlalchemy.ext.asyncio import AsyncSession

from forum.config import Settings
from forum.services import recount as service

# Rows listed per counter; the rest are summed up.
SHOWN = 20
COUNTERS = (
    ("categories.listed_threads", "threads listed to members"),
    ("categories.hidden_threads", "hidden threads listed to moderators"),
    ("threads.reply_count", "visible replies"),
    ("posts.vote_count", "votes"),
    ("tags.thread_count", "visible threads with the tag"),
)


def describe(report: service.RecountReport) -> list[str]:
    """The report as the command prints it."""
    lines = []
    for counter, meaning in COUNTERS:
        fixes = report.fixed(counter)
        if not fixes:
            continue
        lines.append(f"{counter} ({meaning}): fixed {len(fixes):,}")
        for fix in fixes[:SHOWN]:
            row = f"{counter.split('.')[0]} {fix.row_id}" + (f" ({fix.label})" if fix.label else "")
            lines.append(f"  {row}: {fix.stored:,} -> {fix.actual:,}")
        if len(fixes) > SHOWN:
            lines.append(f"  ... and {len(fixes) - SHOWN:,} more")
    if not report.fixes:
        lines.append("Every counter was right.")
    return lines


def cmd_recount(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import run_in_session

    started = time.monotonic()

    async def work(session: AsyncSession) -> service.RecountReport:
        return await service.recount(session)

    report = run_in_session(settings, work)
    for line in describe(report):
        print(line)
    print(f"Recounted {len(COUNTERS)} counters in {time.monotonic() - started:.1f}s.")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "recount",
        help="recompute the stored counters (list sizes, replies, votes, tag counts) and report what was wrong",
    )
    parser.set_defaults(func=cmd_recount)
