"""The ceiling of a thread page: a bare Starlette + Jinja + SQLAlchemy Core page on the
same data as the forum, what a thread page costs when it only reads the thread and
its posts and fills one template. ``bench_pages.py`` measures the forum's pages
against it in the same run (the ratio holds on a shared machine where absolute
times do not). Modelled on ../shared/tools/perf/ceiling_app.py (``/thread/{tid}``).

Build its database from the benchmark JSONL, then serve it::

    .venv/bin/python scripts/bench_ceiling_app.py build threads.jsonl ceiling.db
    BENCH_CEILING_DB=ceiling.db .venv/bin/python -m uvicorn bench_ceiling_app:app \\
        --app-dir scripts --port 8001 --log-level warning --no-access-log
    curl http://127.0.0.1:8001/thread/1

Tables: thread(id, title, body, author, created) and post(id, thread_id, author,
body, created) holding the replies, as ../shared/tools/perf/ceiling_mkdb2.py makes them.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from pathlib import Path

from jinja2 import Environment
from sqlalchemy import Row, create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

# The reference page's template, unchanged (split over lines here; the text is the same).
TEMPLATE = (
    "<!doctype html><html><head><title>{{ t.title }}</title></head><body>\n"
    '<nav><a href="/">Home</a></nav><article><h1>{{ t.title }}</h1>'
    '<p class="meta">by {{ t.author }} at {{ t.created }}</p><div>{{ t.body }}</div></article>\n'
    '<section>{% for p in posts %}<div class="post" id="p{{ p.id }}">'
    '<div class="meta">{{ p.author }} · {{ p.created }}</div><div class="body">{{ p.body }}</div></div>'
    "{% endfor %}</section></body></html>"
)

template = Environment(autoescape=True).from_string(TEMPLATE)
engine = create_engine(f"sqlite:///{os.environ.get('BENCH_CEILING_DB', 'ceiling.db')}")


def load_thread(tid: int) -> tuple[Row | None, list[Row]]:  # type: ignore[type-arg]
    with engine.connect() as c:
        t = c.execute(text("SELECT id, title, body, author, created FROM thread WHERE id = :i"), {"i": tid}).first()
        posts = c.execute(
            text("SELECT id, author, body, created FROM post WHERE thread_id = :i ORDER BY id LIMIT 10"), {"i": tid}
        ).all()
    return t, list(posts)


async def thread_page(request: Request) -> Response:
    # The blocking SQLite call inline on the event loop (fast for SQLite), as the reference page.
    t, posts = load_thread(int(request.path_params["tid"]))
    if t is None:
        return PlainTextResponse("Not found", status_code=404)
    return HTMLResponse(template.render(t=t, posts=posts))


app = Starlette(routes=[Route("/thread/{tid:int}", thread_page)])


def build(jsonl: Path, db: Path) -> int:
    """The ceiling database from the benchmark JSONL (thread ids = line numbers, as the
    forum's import gives them in a fresh database). Returns the thread count."""
    tmp = db.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    c = sqlite3.connect(tmp)
    c.executescript(
        "CREATE TABLE thread (id INTEGER PRIMARY KEY, title TEXT, body TEXT, author TEXT, created TEXT);"
        "CREATE TABLE post (id INTEGER PRIMARY KEY, thread_id INT, author TEXT, body TEXT, created TEXT);"
    )
    n = 0
    with open(jsonl, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            row = (n, r["title"], r["body"], r["author"], r["created_at"])
            c.execute("INSERT INTO thread VALUES (?, ?, ?, ?, ?)", row)
            c.executemany(
                "INSERT INTO post (thread_id, author, body, created) VALUES (?, ?, ?, ?)",
                [(n, x["author"], x["body"], x["created_at"]) for x in r["replies"]],
            )
    c.execute("CREATE INDEX ix_post_thread ON post (thread_id)")
    c.commit()
    c.close()
    tmp.replace(db)
    return n


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="make the ceiling database from a benchmark JSONL file")
    b.add_argument("jsonl", type=Path)
    b.add_argument("db", type=Path)
    args = parser.parse_args()
    print(f"{build(args.jsonl, args.db):,} threads in {args.db}")
