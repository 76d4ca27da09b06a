"""``forum uploads prune``: removes the uploads nothing uses (what the job runner does every hour)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from forum.config import Settings


def cmd_prune(settings: Settings, args: argparse.Namespace) -> None:
    from forum.db import make_sync_engine
    from forum.services import upload_prune
    from forum.storage import make_storage

    hours = args.older_than if args.older_than is not None else settings.upload_orphan_hours
    if hours < 1:
        raise SystemExit("forum: --older-than must be at least 1 hour.")
    engine = make_sync_engine(settings.database_url)
    try:
        report = upload_prune.prune(
            engine, make_storage(settings), older_than=timedelta(hours=hours), dry_run=args.dry_run
        )
    finally:
        engine.dispose()
    for orphan in report.removed:
        print(f"{orphan.key}  {orphan.kind:<10}  {orphan.size:>10,} bytes  uploaded {orphan.created_at:%Y-%m-%d %H:%M}")
    verb = "Would remove" if report.dry_run else "Removed"
    print(f"{verb} {len(report.removed):,} unused uploads older than {hours} hours ({report.bytes:,} bytes).")
    if report.stray_files:
        verb = "Would remove" if report.dry_run else "Removed"
        print(f"{verb} {len(report.stray_files):,} stored files that no upload names.")
    if report.left_in_storage:
        print(f"{len(report.left_in_storage):,} files could not be removed from storage (see the log).")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("uploads", help="manage uploaded files")
    actions = parser.add_subparsers(dest="uploads_command", required=True)
    prune = actions.add_parser(
        "prune", help="remove the uploads no post, avatar, revision, article or banner uses, once old enough"
    )
    prune.add_argument("--dry-run", action="store_true", help="list them without removing anything")
    prune.add_argument(
        "--older-than", type=int, metavar="HOURS", help="the grace period (default: FORUM_UPLOAD_ORPHAN_HOURS, 48)"
    )
    prune.set_defaults(func=cmd_prune)
