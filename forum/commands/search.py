"""``forum search reindex``: rebuilds the full-text index from the database."""

from __future__ import annotations

import argparse
import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from forum import search
from forum.config import Settings
from forum.models import Article, Thread
from forum.progress import Progress


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import run_in_session

    started = time.monotonic()

    async def work(session: AsyncSession) -> int:
        total = await session.scalar(select(func.count()).select_from(Thread)) or 0
        total += await session.scalar(select(func.count()).select_from(Article)) or 0
        with Progress(total, "Indexing") as bar:
            return await search.reindex_all(session, batch_size=args.batch_size, progress=bar.advance)

    done = run_in_session(settings, work)
    print(f"Indexed {done:,} documents in {time.monotonic() - started:.1f}s.")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("search", help="the full-text search index")
    commands = parser.add_subparsers(dest="search_command", required=True)
    reindex = commands.add_parser("reindex", help="rebuild the index from every thread and article")
    reindex.add_argument("--batch-size", type=int, default=500, help="threads analysed at a time")
    reindex.set_defaults(func=cmd_reindex)
