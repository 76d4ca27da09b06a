"""``forum import threads FILE.jsonl``: threads from other systems (see
``forum.services.importer`` for the format and the guarantees)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from forum.config import Settings
from forum.db import make_async_engine, make_sessionmaker, make_sync_engine
from forum.progress import Progress


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


def cmd_import_threads(settings: Settings, args: argparse.Namespace) -> None:
    from sqlmodel import col

    from forum.models import Thread
    from forum.services.importer import import_threads
    from forum.topics import store

    try:
        total = _count_lines(args.file)
        handle = open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        sys.exit(f"forum: cannot read {args.file}: {exc.strerror}")

    def report_error(line_no: int, message: str) -> None:
        print(f"{args.file}:{line_no}: skipped: {message}", file=sys.stderr, flush=True)

    sync_engine = make_sync_engine(settings.database_url)
    with sync_engine.connect() as conn:
        before = store.max_thread_id(conn)

    async def main() -> object:
        engine = make_async_engine(settings.database_url)
        try:
            with Progress(total, "Importing") as bar:
                return await import_threads(
                    make_sessionmaker(engine),
                    handle,
                    batch_size=args.batch_size,
                    on_error=report_error,
                    advance=bar.advance,
                )
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(main())
        # Analyse and encode what came in now, so the next topic run only groups.
        store.prepare(sync_engine, col(Thread.id) > before, progress=lambda label, total: Progress(total, label))
    finally:
        handle.close()
        sync_engine.dispose()
    print(
        f"Imported {report.imported:,} threads with {report.replies:,} replies in {report.seconds:.1f}s; "  # type: ignore[attr-defined]
        f"{report.existing:,} already imported, {len(report.errors):,} lines skipped; "  # type: ignore[attr-defined]
        f"created {report.categories_created:,} categories and {report.authors_created:,} authors."  # type: ignore[attr-defined]
    )
    if args.strict and report.errors:  # type: ignore[attr-defined]
        sys.exit(1)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("import", help="import content from other systems")
    commands = parser.add_subparsers(dest="import_command", required=True)
    threads = commands.add_parser(
        "threads",
        help="import threads from a JSONL file (one JSON object a line)",
        description="Imports threads idempotently by external_id; bad lines are reported with their line "
        "number and skipped.",
    )
    threads.add_argument("file", help="the .jsonl file")
    threads.add_argument("--batch-size", type=int, default=500, help="lines committed together")
    threads.add_argument("--strict", action="store_true", help="exit with status 1 if any line was skipped")
    threads.set_defaults(func=cmd_import_threads)
