"""``forum similar``: similar questions for queries read from stdin.

One query a line in, one line out for every line in (``[]`` for an empty
one), best match first. The index is loaded once for all queries.
"""

from __future__ import annotations

import argparse
import json
import sys

from forum.config import Settings
from forum.db import make_sync_engine


def cmd_similar(settings: Settings, args: argparse.Namespace) -> None:
    from forum.topics.similar_index import SimilarIndex

    limit = max(0, args.limit)
    engine = make_sync_engine(settings.database_url)
    try:
        index = SimilarIndex(engine, refresh_every=float("inf"))
        index.ensure()
        out = sys.stdout
        stdin = sys.stdin.buffer
        for raw in stdin:
            query = raw.decode("utf-8", errors="replace").strip()
            found = index.search(query, limit, solved_only=args.solved) if query else []
            if args.json:
                out.write(json.dumps([m.as_cli() for m in found], ensure_ascii=False) + "\n")
            else:
                out.write(" | ".join(f"{m.score:.3f} {m.title}" for m in found) + "\n")
            out.flush()
    finally:
        engine.dispose()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "similar",
        help="similar questions for queries on stdin",
        description="Reads one query a line on stdin and writes one line for each: the best matches, best first "
        "(with --json, a JSON array of {id, external_id, title, score, type, url}).",
    )
    parser.add_argument("--json", action="store_true", help="one JSON array a line")
    parser.add_argument("--limit", type=int, default=5, help="matches per query (default 5)")
    parser.add_argument("--solved", action="store_true", help="only solved threads and articles")
    parser.set_defaults(func=cmd_similar)
