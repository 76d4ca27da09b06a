#!/usr/bin/env python3
"""Builds a large support data set and times the support dashboard and queues.

    FORUM_DATABASE_URL=sqlite:////tmp/bench.db .venv/bin/python scripts/bench_metrics.py
    FORUM_DATABASE_URL=postgresql://postgres@127.0.0.1/forum_bench .venv/bin/python scripts/bench_metrics.py

The database is migrated (forum.migrations.upgrade) and filled with bulk
inserts (SQLAlchemy Core ``insert()`` with executemany, in batches): by default
100,000 threads and 1,000,000 posts over two years, with realistic shapes
(unanswered, community and staff answers, accepted and official answers,
askers replying to themselves, hidden and deleted threads, assignments).
It then times, through the real services and through HTTP pages:
the dashboard figures for several periods, each queue's counts and first
page, and a deep page. Figures are the median of several runs after a warm-up.

Use an empty database (or --reuse to time an already filled one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from forum import migrations
from forum.clock import utcnow
from forum.db import is_sqlite, make_async_engine, make_sessionmaker, make_sync_engine
from forum.models import (
    AssignmentEvent,
    Category,
    Post,
    Role,
    SlaTarget,
    Thread,
    ThreadAssignment,
    User,
)
from forum.services import metrics, support

SPAN_DAYS = 730
BATCH_THREADS = 5_000


def build(url: str, *, threads: int, posts: int, seed: int) -> None:
    rng = random.Random(seed)
    engine = make_sync_engine(url)
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(days=SPAN_DAYS)
    n_users = max(1_000, threads // 5)
    n_staff = 40
    started = time.perf_counter()
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(Thread)):
            sys.exit("The database already has threads: use an empty one, or --reuse to time it as it is.")
        conn.execute(
            insert(Category),
            [
                {
                    "id": i,
                    "slug": f"category-{i}",
                    "name_en": f"Category {i}",
                    "name_ko": f"카테고리 {i}",
                    "description_en": "",
                    "description_ko": "",
                    "position": i,
                }
                for i in range(1, 13)
            ],
        )
        roles = [Role.admin] * 2 + [Role.moderator] * 3 + [Role.staff] * (n_staff - 5)
        conn.execute(
            insert(User),
            [
                {
                    "id": i,
                    "username": f"user{i}",
                    "username_key": f"user{i}",
                    "display_name": f"사용자 {i}" if i % 2 else f"User {i}",
                    "password_hash": "!",
                    "role": (roles[i - 1] if i <= n_staff else Role.member).value,
                    "created_at": start,
                }
                for i in range(1, n_users + 1)
            ],
        )
        conn.execute(
            insert(SlaTarget),
            [
                {
                    "category_id": 1,
                    "first_response_minutes": 120,
                    "first_staff_response_minutes": 480,
                    "resolution_minutes": 2880,
                    "updated_at": now,
                },
                {
                    "category_id": 2,
                    "first_response_minutes": 60,
                    "first_staff_response_minutes": None,
                    "resolution_minutes": None,
                    "updated_at": now,
                },
            ],
        )
    staff_ids = list(range(1, n_staff + 1))
    member_ids = list(range(n_staff + 1, n_users + 1))

    # Replies are spread over threads with skewed weights; about one question
    # in eight gets no reply at all.
    weights = [0.0 if rng.random() < 0.12 else rng.expovariate(1.0) for _ in range(threads)]
    replies_per_thread = [0] * threads
    if posts > threads:
        for index in rng.choices(range(threads), weights=weights, k=posts - threads):
            replies_per_thread[index] += 1

    post_id = 0
    open_questions: list[int] = []
    thread_rows: list[dict[str, Any]] = []
    post_rows: list[dict[str, Any]] = []

    def flush(conn: Any) -> None:
        if thread_rows:
            conn.execute(insert(Thread), thread_rows)
            thread_rows.clear()
        for i in range(0, len(post_rows), 20_000):
            conn.execute(insert(Post), post_rows[i : i + 20_000])
        post_rows.clear()

    with engine.begin() as conn:
        for t in range(threads):
            thread_id = t + 1
            created = start + timedelta(seconds=SPAN_DAYS * 86400 * (t + rng.random()) / threads)
            author = rng.choice(member_ids)
            question = rng.random() < 0.92
            korean = rng.random() < 0.6
            post_id += 1
            post_rows.append(
                {
                    "id": post_id,
                    "thread_id": thread_id,
                    "author_id": author,
                    "is_first": True,
                    "body": "질문 내용입니다." if korean else "Question body.",
                    "body_html": "<p>question</p>",
                    "by_staff": False,
                    "vote_count": 0,
                    "created_at": created,
                }
            )
            at = created
            first_response = first_staff = None
            candidates: list[tuple[int, datetime, bool]] = []
            reply_count = 0
            for _ in range(replies_per_thread[t]):
                at = at + timedelta(seconds=rng.expovariate(1 / (6 * 3600)))
                if at >= now:
                    break
                roll = rng.random()
                if roll < 0.10:
                    replier, by_staff = author, False
                elif roll < 0.25:
                    replier, by_staff = rng.choice(staff_ids), True
                else:
                    replier, by_staff = rng.choice(member_ids), False
                post_id += 1
                post_rows.append(
                    {
                        "id": post_id,
                        "thread_id": thread_id,
                        "author_id": replier,
                        "is_first": False,
                        "body": "답변입니다." if korean else "An answer.",
                        "body_html": "<p>answer</p>",
                        "by_staff": by_staff,
                        "vote_count": 0,
                        "created_at": at,
                    }
                )
                reply_count += 1
                if replier != author:
                    first_response = first_response or at
                    if by_staff:
                        first_staff = first_staff or at
                    candidates.append((post_id, at, by_staff))
            accepted = official = solved_at = None
            if question and candidates and rng.random() < 0.62:
                post, posted_at, _by_staff = rng.choice(candidates)
                solved = posted_at + timedelta(seconds=rng.expovariate(1 / (12 * 3600)))
                if solved < now:
                    solved_at = solved
                    if rng.random() < 0.8:
                        accepted = post
                    else:
                        official = post
            hidden = created if rng.random() < 0.005 else None
            deleted = created + timedelta(hours=1) if rng.random() < 0.005 else None
            thread_rows.append(
                {
                    "id": thread_id,
                    "category_id": 1 + t % 12,
                    "author_id": author,
                    "kind": "question" if question else "discussion",
                    "title": f"{'질문' if korean else 'Question'} {thread_id}",
                    "slug": f"question-{thread_id}",
                    "language": "ko" if korean else "en",
                    "created_at": created,
                    "last_activity_at": max(created, at),
                    "views": 0,
                    "reply_count": reply_count,
                    "accepted_post_id": accepted,
                    "official_post_id": official,
                    "solved_at": solved_at,
                    "first_response_at": first_response,
                    "first_staff_response_at": first_staff,
                    "staff_replied": first_staff is not None,
                    "hidden_at": hidden,
                    "deleted_at": deleted,
                }
            )
            if question and solved_at is None and hidden is None and deleted is None:
                open_questions.append(thread_id)
            if len(thread_rows) >= BATCH_THREADS:
                flush(conn)
        flush(conn)

        assigned = rng.sample(open_questions, k=len(open_questions) * 3 // 10)
        rows = []
        events = []
        for thread_id in assigned:
            staff_id = rng.choice(staff_ids)
            rows.append(
                {"thread_id": thread_id, "assignee_id": staff_id, "assigned_by_id": staff_id, "assigned_at": now}
            )
            events.append(
                {
                    "thread_id": thread_id,
                    "actor_id": staff_id,
                    "action": "assigned",
                    "to_user_id": staff_id,
                    "created_at": now,
                }
            )
        for i in range(0, len(rows), 20_000):
            conn.execute(insert(ThreadAssignment), rows[i : i + 20_000])
            conn.execute(insert(AssignmentEvent), events[i : i + 20_000])
        if not is_sqlite(url):
            for table in ("users", "categories", "threads", "posts", "assignment_events"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    print(
        f"built {threads:,} threads, {post_id:,} posts, {n_users:,} users, {len(assigned):,} assignments "
        f"in {time.perf_counter() - started:.1f} s"
    )


async def timed(label: str, work: Callable[[], Awaitable[Any]], *, runs: int) -> float:
    """Median wall-clock time of ``runs`` runs after a warm-up, and the median
    CPU time of this process (for SQLite the queries run in-process, so that
    figure does not depend on what else the machine is doing)."""
    await work()  # warm-up
    samples, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        await work()
        samples.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    median = statistics.median(samples)
    print(
        f"  {label:<56} median {median:7.1f} ms   min {min(samples):7.1f} ms   "
        f"cpu(this process) {statistics.median(cpu):7.1f} ms"
    )
    return median


async def measure(url: str, *, runs: int) -> None:
    engine = make_async_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as s:
        counts = (
            await s.execute(
                select(
                    select(func.count()).select_from(Thread).scalar_subquery(),
                    select(func.count()).select_from(Post).scalar_subquery(),
                )
            )
        ).one()
        staff = await s.scalar(select(User).where(User.role == Role.staff.value).limit(1))
        category = await s.get(Category, 3)
    print(f"\n{engine.dialect.name}: {counts[0]:,} threads, {counts[1]:,} posts; load average {os.getloadavg()}")
    today = utcnow().date()

    def period(days: int) -> metrics.Period:
        return metrics.Period(today - timedelta(days=days - 1), today)

    print("dashboard (summary + top answerers + weekly backlog, 3 queries):")
    for days, cat in ((30, None), (90, None), (365, None), (731, None), (365, category)):

        async def work(days: int = days, cat: Category | None = cat) -> None:
            async with sessionmaker() as s:
                await metrics.dashboard(s, period(days), cat)

        label = f"last {days} days" + (f", category {cat.slug}" if cat else ", all categories")
        await timed(label, work, runs=runs)

    print("queues (SLA policy + counts of every tab + one page of 30, 4 queries):")
    assert staff is not None
    for name in support.QUEUES:

        async def work_q(name: str = name, params: dict[str, str] | None = None, page: int = 1) -> None:
            async with sessionmaker() as s:
                filters = await support.parse_filters(s, params or {})
                await support.load_queue(s, name, viewer=staff, filters=filters, page=page, size=30)

        await timed(f"{name}", work_q, runs=runs)

    async def deep() -> None:
        async with sessionmaker() as s:
            filters = await support.parse_filters(s, {})
            await support.load_queue(s, "unsolved", viewer=staff, filters=filters, page=200, size=30)

    await timed("unsolved, page 200", deep, runs=runs)

    async def filtered() -> None:
        async with sessionmaker() as s:
            filters = await support.parse_filters(s, {"category": "category-3", "language": "ko", "age": "7d"})
            await support.load_queue(s, "no-staff-reply", viewer=staff, filters=filters, size=30)

    await timed("no-staff-reply, category + language + age filters", filtered, runs=runs)
    await engine.dispose()
    await measure_pages(url, staff, runs=runs)


async def measure_pages(url: str, staff: User, *, runs: int) -> None:
    """Whole HTTP requests through the app (middleware, queries, templates, SVG)."""
    import httpx

    from forum.app import create_app
    from forum.config import Settings
    from forum.middleware import SESSION_COOKIE, session_signer
    from forum.services import accounts

    settings = Settings(database_url=url, secret_key="bench-" + "x" * 40, data_dir=Path("/tmp"))
    app = create_app(settings)
    async with app.state.runtime.sessionmaker.begin() as s:
        user = await s.get(User, staff.id)
        token = await accounts.start_session(s, user, max_age=3600)
    cookie = session_signer(settings).sign(token).decode()
    today = date.today()
    print("HTTP pages (staff session):")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        for path in (
            "/support/metrics",
            f"/support/metrics?from={today - timedelta(days=364)}&to={today}",
            "/support/queues/unanswered",
            "/support/queues/breached",
            f"/api/metrics?from={today - timedelta(days=364)}&to={today}",
            "/api/queues/unsolved?per_page=100",
        ):

            async def get(path: str = path) -> None:
                r = await client.get(path)
                assert r.status_code == 200, (path, r.status_code)

            await timed(f"GET {path}", get, runs=runs)
    await app.state.runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="time the database as it is")
    args = parser.parse_args()
    url = os.environ.get("FORUM_DATABASE_URL")
    if not url:
        sys.exit("Set FORUM_DATABASE_URL to the (empty) database to fill, e.g. sqlite:////tmp/bench.db")
    migrations.upgrade(url)
    if not args.reuse:
        build(url, threads=args.threads, posts=args.posts, seed=args.seed)
    asyncio.run(measure(url, runs=args.runs))


if __name__ == "__main__":
    main()
