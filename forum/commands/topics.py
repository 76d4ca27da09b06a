"""``forum topics detect`` runs the repeated-topic job now; ``forum topics
list`` prints the suggestions (``--json`` for other programs)."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import select
from sqlmodel import col

from forum.config import Settings
from forum.db import make_sync_engine
from forum.progress import Progress


def cmd_detect(settings: Settings, args: argparse.Namespace) -> None:
    from forum.topics import job

    mode = "full" if args.full else "incremental" if args.incremental else "auto"
    engine = make_sync_engine(settings.database_url)
    try:
        report = job.run(
            settings,
            mode=mode,
            engine=engine,
            progress=lambda label, total: Progress(total, label),
            release_models=True,
        )
    finally:
        engine.dispose()
    if report.skipped:
        sys.exit("forum: the topic job is already running in another process; try again when it has finished.")
    print(
        f"{report.mode.capitalize()} run: {report.threads_changed:,} threads looked at, "
        f"{report.created:,} suggestions created, {report.updated:,} updated, {report.reopened:,} reopened, "
        f"{report.covered:,} covered by articles, {report.expired:,} expired; "
        f"{report.suggestions_open:,} open; {report.seconds:.1f}s."
    )
    if report.similar_error:
        print(f"forum: the similar-questions index was not rebuilt ({report.similar_error}).", file=sys.stderr)
    if args.verbose:
        print(json.dumps(report.timings))


def suggestions_as_json(settings: Settings, *, state: str, limit: int | None) -> list[dict[str, object]]:
    from forum.models import Thread, TopicMember, TopicSuggestion

    engine = make_sync_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            stmt = select(TopicSuggestion).order_by(col(TopicSuggestion.score).desc(), col(TopicSuggestion.id))
            if state != "all":
                stmt = stmt.where(col(TopicSuggestion.state) == state)
            if limit:
                stmt = stmt.limit(limit)
            suggestions = conn.execute(stmt).all()
            ids = [s.id for s in suggestions]
            members: dict[int, list[dict[str, object]]] = {i: [] for i in ids}
            for start in range(0, len(ids), 900):
                rows = conn.execute(
                    select(col(TopicMember.suggestion_id), col(Thread.id), col(Thread.external_id), col(Thread.title))
                    .join(Thread, col(Thread.id) == col(TopicMember.thread_id))
                    .where(col(TopicMember.suggestion_id).in_(ids[start : start + 900]))
                    .order_by(col(TopicMember.suggestion_id), col(Thread.id))
                )
                for sid, tid, external_id, title in rows:
                    members[sid].append({"id": tid, "external_id": external_id, "title": title})
    finally:
        engine.dispose()
    return [
        {
            "id": s.id,
            "title": s.title,
            "state": s.state,
            "key_terms": json.loads(s.key_terms or "[]"),
            "thread_count": s.thread_count,
            "views": s.views,
            "unsolved": s.unsolved_count,
            "score": s.score,
            "agreement": round(s.agreement, 4),
            "article_id": s.article_id,
            "threads": members[s.id],
        }
        for s in suggestions
    ]


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    items = suggestions_as_json(settings, state=args.state, limit=args.limit)
    if args.json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False) + "\n")
        return
    if not items:
        print("No suggestions. Run `forum topics detect` to look for repeated topics.")
        return
    for item in items:
        terms = ", ".join(item["key_terms"][:5])  # type: ignore[index]
        print(
            f"#{item['id']:<6} {item['thread_count']:>4} threads {item['unsolved']:>4} unsolved "
            f"{item['views']:>7} views  [{item['state']}]  {item['title']}  ({terms})"
        )


def cmd_spikes(settings: Settings, args: argparse.Namespace) -> None:
    """One spike check now (what the job runner does every few minutes)."""
    import asyncio

    from forum.jobs import run_spike_check

    report = asyncio.run(run_spike_check(settings))
    if args.json:
        verdicts = [
            {
                "suggestion_id": v.suggestion_id,
                "recent": v.recent,
                "expected": round(v.expected, 4),
                "threads": list(v.thread_ids),
            }
            for v in report.verdicts
        ]
        sys.stdout.write(json.dumps({"opened": report.opened, "closed": report.closed, "spiking": verdicts}) + "\n")
        return
    print(
        f"{report.checked:,} topics with new threads in the last hour; {len(report.verdicts):,} spiking "
        f"(alerts: {len(report.opened):,} opened, {report.updated:,} still open, {report.closed:,} closed); "
        f"{report.notified:,} staff notifications."
    )
    for v in report.verdicts:
        print(f"  topic #{v.suggestion_id}: {v.recent} new threads in the last hour, {v.expected:.2f} expected")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("topics", help="repeated topics that deserve a knowledge-base article")
    commands = parser.add_subparsers(dest="topics_command", required=True)
    detect = commands.add_parser("detect", help="run the repeated-topic job now")
    how = detect.add_mutually_exclusive_group()
    how.add_argument("--full", action="store_true", help="re-cluster every thread")
    how.add_argument("--incremental", action="store_true", help="look only at what changed since the last run")
    detect.add_argument("--verbose", action="store_true", help="print the time each step took")
    detect.set_defaults(func=cmd_detect)
    listing = commands.add_parser("list", help="print the suggestions, best first")
    listing.add_argument("--json", action="store_true", help="a JSON array")
    listing.add_argument(
        "--state", default="open", choices=["open", "dismissed", "drafted", "covered", "expired", "all"]
    )
    listing.add_argument("--limit", type=int, default=None)
    listing.set_defaults(func=cmd_list)
    spikes = commands.add_parser("spikes", help="run the spike check once (alerts about fast-growing topics)")
    spikes.add_argument("--json", action="store_true", help="a JSON object")
    spikes.set_defaults(func=cmd_spikes)
