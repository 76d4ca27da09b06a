"""Shared by ``bench_pages.py`` and ``bench_load.py``: the benchmark data set, its
preparation (``forum import threads`` or a fast bulk insert), throw-away copies
of a prepared database, starting and stopping servers, and the CPU time of a
process tree read from /proc.

Not a benchmark itself. Layout of a data folder (``--data DIR``)::

    DIR/threads-N[-fast]/threads.jsonl     the generated threads (deterministic)
    DIR/threads-N[-fast]/data/             FORUM_DATA_DIR of the prepared forum
                                           (forum.db on SQLite, secret key, caches)
    DIR/threads-N[-fast]/done-sqlite.json  written once the SQLite import finished
    DIR/threads-N[-fast]/ceiling.db        the bare page's SQLite database

On PostgreSQL the prepared database is ``forum_bench_N`` (``forum_bench_N_fast``;
the URL's database name, when it is not ``postgres``, replaces ``forum_bench``);
the marker of a finished import is the database's comment. Benchmarks never run
on a prepared database: each run works on a copy (SQLite backup / ``CREATE
DATABASE … TEMPLATE``) that is removed afterwards, so replies, view counts and
background results of one run do not leak into the next.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import html
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
PY = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Bump when the generated data changes: prepared data sets of another version are rebuilt.
GENERATOR_VERSION = 1

# Every web process of a benchmark: limits high enough never to answer 429, and no
# periodic jobs in the web process while measuring.
BENCH_ENV = {
    "FORUM_RATE_LIMIT_SEARCH": "1000000 per minute",
    "FORUM_RATE_LIMIT_SIMILAR": "1000000 per minute",
    "FORUM_TOPICS_INTERVAL": "0",
    "FORUM_MAIL_INTERVAL": "0",
}


def say(message: str) -> None:
    """Progress, on stderr (stdout holds the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


# ---------------------------------------------------------------- data (gen_data.py)

EN = [
    "install",
    "error",
    "python",
    "config",
    "database",
    "upgrade",
    "login",
    "password",
    "email",
    "plugin",
    "theme",
    "cache",
    "slow",
    "timeout",
    "crash",
    "permission",
]
KO = [
    "설치",
    "오류",
    "파이썬",
    "설정",
    "데이터베이스",
    "업그레이드",
    "로그인",
    "비밀번호",
    "이메일",
    "플러그인",
    "테마",
    "캐시",
    "느림",
    "시간초과",
    "충돌",
    "권한",
    "환불",
    "결제",
]


def write_threads_jsonl(n: int, path: Path) -> None:
    """N threads x (1 opening post + 9 replies), 50 authors, 60-word posts, every 5th
    thread Korean: the logic and seed of ../shared/tools/perf/gen_data.py, so the same
    N gives the same file as that tool."""
    rng = random.Random(1)
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as f:
        for t in range(n):
            ko = t % 5 == 4
            words = KO if ko else EN
            title = (
                f"{rng.choice(words)} {rng.choice(words)} 문제 해결 방법 #{t}"
                if ko
                else f"How to fix {rng.choice(words)} {rng.choice(words)} issue #{t}"
            )
            ts = base + datetime.timedelta(minutes=t)

            def body(words: list[str] = words) -> str:
                return " ".join(rng.choice(words) for _ in range(60))

            rec = {
                "external_id": f"bench-{t}",
                "title": title,
                "body": body(),
                "category": "General",
                "author": f"user{t % 50}",
                "created_at": ts.isoformat(),
                "replies": [
                    {
                        "body": body(),
                        "author": f"user{(t + j) % 50}",
                        "created_at": (ts + datetime.timedelta(seconds=j)).isoformat(),
                    }
                    for j in range(1, 10)
                ],
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(path)


PAGES = ("thread", "home", "list", "search", "similar")
PAGE_SIZE = 30  # the forum's default list page size (Settings.page_size)


def page_paths(page: str, threads: list[tuple[int, str]], n_threads: int) -> list[str]:
    """The paths a benchmark asks for one of PAGES (ValueError for another name):
    ``threads`` (id, slug) for thread pages, ``n_threads`` for how many list pages exist."""
    if page == "thread":
        return [f"/t/{tid}/{urllib.parse.quote(slug)}" for tid, slug in threads]
    if page == "home":
        return ["/"]
    if page == "list":
        last = max(2, min(10, math.ceil(n_threads / PAGE_SIZE)))
        return [f"/?page={p}" for p in range(2, last + 1)]
    if page == "search":
        return ["/search?q=" + urllib.parse.quote(q) for q in SEARCH_TERMS]
    if page == "similar":
        return ["/api/similar?q=" + urllib.parse.quote(q) for q in SIMILAR_QUERIES]
    raise ValueError(page)


# /api/similar lookups: questions in both languages, as a visitor types them.
SIMILAR_QUERIES = [
    "비밀번호를 잊어버렸는데 어떻게 재설정하나요?",
    "로그인 오류가 계속 나요",
    "환불은 어떻게 받을 수 있나요?",
    "설치 중에 오류가 발생합니다",
    "업그레이드 후에 데이터베이스 연결이 안 돼요",
    "캐시 때문에 너무 느려요",
    "결제가 두 번 됐어요",
    "플러그인 설치 권한 문제",
    "테마 설정이 저장되지 않아요",
    "How do I reset my password?",
    "Login error after the upgrade",
    "How can I get a refund?",
    "The app crashes when it starts",
    "Install error with python",
    "Database upgrade fails with a timeout",
    "Email notifications are not sent",
    "The plugin theme does not load",
    "Sync is very slow",
    "Permission denied when installing",
]

# Searches of the benchmarks: Korean and English support terms.
SEARCH_TERMS = [
    "환불",
    "비밀번호",
    "로그인 오류",
    "결제 오류",
    "설치",
    "캐시 느림",
    "권한",
    "이메일 설정",
    "데이터베이스 업그레이드",
    "충돌",
    "refund",
    "password reset",
    "login error",
    "sync",
    "crash",
    "install error",
    "database upgrade",
    "slow timeout",
    "email",
    "plugin theme",
]

# ---------------------------------------------------------------- the forum command


def forum_cmd(*args: str) -> list[str]:
    return [PY, "-m", "forum", *args]


def _help(*args: str) -> str:
    done = subprocess.run(forum_cmd(*args, "--help"), capture_output=True, text=True, cwd=ROOT)
    return done.stdout + done.stderr if done.returncode == 0 else ""


def serve_has_workers() -> bool:
    """`forum serve --workers N` (gunicorn) exists in this checkout (as load.sh detects it)."""
    return "--workers" in _help("serve")


def serve_has_no_jobs() -> bool:
    """`forum serve --no-jobs` (the job runner left out) exists in this checkout."""
    return "--no-jobs" in _help("serve")


def worker_has_once() -> bool:
    """`forum worker --once` exists in this checkout."""
    return "--once" in _help("worker")


def forum_env(data_dir: Path, database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BENCH_ENV)
    env["FORUM_DATA_DIR"] = str(data_dir)
    env["FORUM_DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


def run_forum(env: dict[str, str], *args: str, log: Path | None = None, quiet: bool = True) -> None:
    """Runs a forum command to its end; its output goes to ``log`` (shown when it fails)."""
    started = time.monotonic()
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        done = subprocess.run(forum_cmd(*args), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:] if log else []
        raise SystemExit(f"forum {' '.join(args)} failed ({done.returncode}):\n" + "\n".join(tail))
    if not quiet:
        say(f"forum {' '.join(args)}: {time.monotonic() - started:.1f} s")


# ---------------------------------------------------------------- PostgreSQL


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].startswith("postgres")  # type: ignore[union-attr]


def _pg_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


def _pg_prefix(url: str) -> str:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    return name if name and name != "postgres" else "forum_bench"


@contextlib.contextmanager
def _pg_admin(url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(_pg_url(url, "postgres"), autocommit=True) as conn:
        yield conn


def pg_exists(url: str, name: str) -> bool:
    with _pg_admin(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def pg_drop(url: str, name: str) -> None:
    with _pg_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_create(url: str, name: str, template: str | None = None) -> None:
    with _pg_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def pg_backend_pids(url: str, name: str) -> list[int]:
    """Server processes of the connections to database ``name``."""
    with _pg_admin(url) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
    return [int(r[0]) for r in rows]


def cpu_of(pids: list[int]) -> dict[int, float]:
    """utime+stime (seconds) of each of ``pids`` still running."""
    out = {}
    for pid in pids:
        st = _stat(pid)
        if st is not None:
            out[pid] = (int(st[11]) + int(st[12])) / CLK_TCK
    return out


def pg_marker(url: str, name: str) -> dict[str, Any] | None:
    with _pg_admin(url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    try:
        return json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None


def pg_set_marker(url: str, name: str, marker: dict[str, Any]) -> None:
    with _pg_admin(url) as conn:
        literal = json.dumps(marker).replace("'", "''")
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{literal}'")


# ---------------------------------------------------------------- data sets


@dataclass
class Dataset:
    threads: int
    fast: bool
    folder: Path  # threads-N[-fast]
    jsonl: Path
    data_dir: Path  # FORUM_DATA_DIR of the prepared forum
    database_url: str  # the prepared database (never served)
    kind: str  # "sqlite" or "postgresql"
    reused: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "fast (bulk SQL insert)" if self.fast else "forum import threads"


def _thread_count(url: str) -> int | None:
    from sqlalchemy import text

    from forum.db import make_sync_engine

    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM threads")).scalar_one())
    except Exception:
        return None
    finally:
        engine.dispose()


def prepare_dataset(n: int, root: Path, database_url: str | None, *, fast: bool) -> Dataset:
    """The prepared data set for ``n`` threads: reused when ``root`` (SQLite) or the
    PostgreSQL server holds a finished one for the same N and import kind, else built."""
    folder = root / f"threads-{n}{'-fast' if fast else ''}"
    folder.mkdir(parents=True, exist_ok=True)
    jsonl = folder / "threads.jsonl"
    data_dir = folder / "data"
    want = {"threads": n, "import": "fast" if fast else "full", "generator": GENERATOR_VERSION}
    if is_postgres(database_url):
        assert database_url is not None
        name = f"{_pg_prefix(database_url)}_{n}{'_fast' if fast else ''}"
        url = _pg_url(database_url, name)
        ds = Dataset(n, fast, folder, jsonl, data_dir, url, "postgresql")
        marker = pg_marker(database_url, name) if pg_exists(database_url, name) else None
        complete = marker is not None and all(marker.get(k) == v for k, v in want.items())
        if complete and _thread_count(url) == n:
            ds.reused = True
            say(f"reusing PostgreSQL database {name} ({n:,} threads, {ds.label}, prepared {marker.get('at')})")  # type: ignore[union-attr]
        else:
            say(f"creating PostgreSQL database {name}")
            pg_create(database_url, name)
    else:
        url = f"sqlite:///{data_dir / 'forum.db'}"
        ds = Dataset(n, fast, folder, jsonl, data_dir, url, "sqlite")
        marker_path = folder / "done-sqlite.json"
        marker = json.loads(marker_path.read_text()) if marker_path.exists() else None
        complete = marker is not None and all(marker.get(k) == v for k, v in want.items())
        if complete and _thread_count(url) == n:
            ds.reused = True
            say(f"reusing {data_dir / 'forum.db'} ({n:,} threads, {ds.label}, prepared {marker.get('at')})")  # type: ignore[union-attr]
        else:
            marker_path.unlink(missing_ok=True)
            for p in data_dir.glob("forum.db*"):
                p.unlink()
    if not jsonl.exists():
        say(f"writing {n:,} threads to {jsonl}")
        write_threads_jsonl(n, jsonl)
    if ds.reused:
        return ds
    data_dir.mkdir(parents=True, exist_ok=True)
    env = forum_env(data_dir, ds.database_url)
    log = folder / "prepare.log"
    log.write_text("")
    run_forum(env, "db", "upgrade", log=log)
    started = time.monotonic()
    if fast:
        say(f"bulk-inserting {n:,} threads (no analysis, no encoders)")
        fast_import(ds.database_url, jsonl)
        say("forum search reindex")
        run_forum(env, "search", "reindex", log=log, quiet=False)
        if "recount" in _help():
            say("forum recount (the stored list sizes the bulk insert left at 0)")
            run_forum(env, "recount", log=log, quiet=False)
    else:
        say(f"forum import threads ({n:,} threads; about 40 s per 1,000 on this machine)")
        run_forum(env, "import", "threads", str(jsonl), log=log, quiet=False)
        if worker_has_once():
            say("forum worker --once (background results)")
            run_forum(env, "worker", "--once", log=log, quiet=False)
        else:
            ds.notes.append("this forum has no `forum worker --once`: no background run after the import")
    count = _thread_count(ds.database_url)
    if count != n:
        raise SystemExit(f"the prepared database holds {count} threads, not {n}: see {log}")
    marker = {**want, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(time.monotonic() - started)}
    if ds.kind == "postgresql":
        assert database_url is not None
        # Planner statistics now, as autovacuum would gather them after a bulk load sooner or
        # later (perhaps in the middle of a measurement); the copies inherit them.
        import psycopg

        with psycopg.connect(ds.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        pg_set_marker(database_url, ds.database_url.rsplit("/", 1)[1], marker)
    else:
        _checkpoint(ds.database_url)
        (folder / "done-sqlite.json").write_text(json.dumps(marker) + "\n")
    say(f"prepared {n:,} threads in {marker['seconds']} s")
    return ds


def _checkpoint(sqlite_url: str) -> None:
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


@dataclass
class Scratch:
    """A throw-away copy of a prepared data set: what a server runs on."""

    data_dir: Path
    database_url: str
    drop: Callable[[], None]
    db_pids: Callable[[], list[int]] | None = None  # PostgreSQL: the backends serving this copy


def scratch_copy(ds: Dataset, base_url: str | None, workdir: Path, tag: str) -> Scratch:
    """Copies the prepared forum (database and FORUM_DATA_DIR) for one run."""
    data_dir = workdir / f"data-{tag}"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    if ds.data_dir.exists():
        shutil.copytree(ds.data_dir, data_dir, ignore=shutil.ignore_patterns("forum.db*"))
    else:
        data_dir.mkdir(parents=True)
    if ds.kind == "postgresql":
        assert base_url is not None
        prepared = ds.database_url.rsplit("/", 1)[1]
        name = f"{prepared}_{tag}_{os.getpid()}"
        pg_create(base_url, name, template=prepared)
        say(f"copied {prepared} to {name}")

        def drop() -> None:
            pg_drop(base_url, name)
            shutil.rmtree(data_dir, ignore_errors=True)

        return Scratch(data_dir, _pg_url(base_url, name), drop, lambda: pg_backend_pids(base_url, name))
    target = data_dir / "forum.db"
    src = sqlite3.connect(ds.database_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return Scratch(data_dir, f"sqlite:///{target}", lambda: shutil.rmtree(data_dir, ignore_errors=True))


def visible_threads(database_url: str) -> list[tuple[int, str]]:
    """(id, slug) of the threads anyone may see: their canonical address is /t/ID/slug
    (forum.urls.thread_url)."""
    from sqlalchemy import text

    from forum.db import make_sync_engine

    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, slug FROM threads WHERE hidden_at IS NULL AND deleted_at IS NULL ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    return [(int(i), str(s)) for i, s in rows]


# ---------------------------------------------------------------- fast import


def _model_defaults(model: Any) -> dict[str, object]:
    """Column defaults of a SQLModel table (Core inserts do not apply them)."""
    import enum

    from pydantic_core import PydanticUndefined

    table = model.__table__
    out: dict[str, object] = {}
    for name, info in model.model_fields.items():
        if name not in table.c or table.c[name].primary_key:
            continue
        if info.default_factory is not None:
            out[name] = info.default_factory()
        elif info.default is not PydanticUndefined and info.default is not None:
            out[name] = info.default.value if isinstance(info.default, enum.Enum) else info.default
    return out


def _naive_utc(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value)
    return parsed.astimezone(datetime.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def fast_import(database_url: str, jsonl: Path, batch: int = 1000) -> None:
    """Inserts the JSONL's category, authors, threads and posts with Core statements,
    with the counters and times ``forum import threads`` keeps (reply_count,
    last_activity_at, first_response_at, slug, language). Skips what the import
    computes with the analyser and the encoders (thread_terms rows and their vectors)
    and the search index (``forum search reindex`` builds that afterwards)."""
    from sqlalchemy import func, insert, select, text

    from forum import markdown
    from forum.db import make_sync_engine
    from forum.models import Category, Post, Thread, User
    from forum.services.accounts import username_key
    from forum.text import language_of
    from forum.textutil import slugify

    tables: list[Any] = [m.__table__ for m in (Thread, Post, User, Category)]  # type: ignore[union-attr]
    threads_t, posts_t, users_t, cats_t = tables
    thread_defaults, post_defaults, user_defaults = (_model_defaults(m) for m in (Thread, Post, User))

    def records() -> Iterator[dict[str, Any]]:
        with open(jsonl, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)

    # First pass: names, and a sample to check the renderer against. Generated posts are
    # plain words: their Markdown rendering is one escaped paragraph. Should the sample
    # differ, every post goes through the real renderer.
    cat_names: set[str] = set()
    authors_seen: set[str] = set()
    sample: list[str] = []
    for r in records():
        cat_names.add(r["category"])
        authors_seen.add(r["author"])
        authors_seen.update(x["author"] for x in r["replies"])
        if len(sample) < 100:
            sample += [r["body"], *(x["body"] for x in r["replies"])]
    plain = all(markdown.render(b) == f"<p>{html.escape(b, quote=False)}</p>\n" for b in sample)

    def render(body: str) -> str:
        return f"<p>{html.escape(body, quote=False)}</p>\n" if plain else markdown.render(body)

    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            cats: dict[str, int] = {}
            for name in sorted(cat_names):
                slug = slugify(name, max_length=50)
                found = conn.execute(select(cats_t.c.id).where(cats_t.c.slug == slug)).scalar()
                if found is None:
                    found = conn.execute(
                        insert(cats_t)
                        .values(slug=slug, name_en=name, name_ko=name, description_en="", description_ko="")
                        .values(position=1000 + len(cats))
                        .returning(cats_t.c.id)
                    ).scalar_one()
                cats[name] = int(found)
            authors = sorted(authors_seen)
            keys = {a: username_key(a) for a in authors}
            known: dict[str, int] = dict(conn.execute(select(users_t.c.username_key, users_t.c.id)).all())  # type: ignore[arg-type]
            missing = [a for a in authors if keys[a] not in known]
            if missing:
                conn.execute(
                    insert(users_t),
                    [
                        {
                            **user_defaults,
                            "username": a,
                            "username_key": keys[a],
                            "display_name": a[:50],
                            "email": None,
                            "email_key": None,
                            "password_hash": "!",  # unusable, as the importer's authors
                            "role": "member",
                        }
                        for a in missing
                    ],
                )
                known = dict(conn.execute(select(users_t.c.username_key, users_t.c.id)).all())
            user_id = {a: known[keys[a]] for a in authors}
            next_thread = int(conn.execute(select(func.coalesce(func.max(threads_t.c.id), 0))).scalar_one()) + 1
            next_post = int(conn.execute(select(func.coalesce(func.max(posts_t.c.id), 0))).scalar_one()) + 1
        thread_rows: list[dict[str, object]] = []
        post_rows: list[dict[str, object]] = []

        def flush() -> None:
            with engine.begin() as conn:
                conn.execute(insert(threads_t), thread_rows)
                conn.execute(insert(posts_t), post_rows)
            thread_rows.clear()
            post_rows.clear()

        for done, r in enumerate(records(), 1):
            tid = next_thread
            next_thread += 1
            created = _naive_utc(r["created_at"])
            author = user_id[r["author"]]
            replies = r["replies"]
            times = [_naive_utc(x["created_at"]) for x in replies]
            others = [t for t, x in zip(times, replies, strict=True) if user_id[x["author"]] != author]
            thread_rows.append(
                {
                    **thread_defaults,
                    "id": tid,
                    "category_id": cats[r["category"]],
                    "author_id": author,
                    "kind": "question",
                    "title": r["title"],
                    "slug": slugify(r["title"]),
                    "external_id": r["external_id"],
                    "language": language_of(f"{r['title']}\n{r['body']}"),
                    "created_at": created,
                    "last_activity_at": max([created, *times]),
                    "views": 0,
                    "reply_count": len(replies),
                    "first_response_at": min(others) if others else None,
                    "first_staff_response_at": None,
                    "staff_replied": False,
                    "solved_at": None,
                }
            )
            for is_first, body, who, at in [(True, r["body"], author, created)] + [
                (False, x["body"], user_id[x["author"]], t) for x, t in zip(replies, times, strict=True)
            ]:
                post_rows.append(
                    {
                        **post_defaults,
                        "id": next_post,
                        "thread_id": tid,
                        "author_id": who,
                        "is_first": is_first,
                        "body": body,
                        "body_html": render(body),
                        "by_staff": False,
                        "vote_count": 0,
                        "created_at": at,
                    }
                )
                next_post += 1
            if len(thread_rows) >= batch:
                flush()
                if done % 20_000 == 0:
                    say(f"  {done:,} threads inserted")
        if thread_rows:
            flush()
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind: later replies and threads need them moved on.
            with engine.begin() as conn:
                for table in ("threads", "posts"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))"
                        )
                    )
    finally:
        engine.dispose()


# ---------------------------------------------------------------- servers and CPU


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(int(st[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and its live descendants, plus what their finished
    (reaped) children used (cutime+cstime), in seconds: a worker that exits between
    two readings still counts."""
    ticks = 0
    for p in process_tree(pid):
        st = _stat(p)
        if st is not None:
            ticks += int(st[11]) + int(st[12]) + int(st[13]) + int(st[14])
    return ticks / CLK_TCK


def http_get(url: str, timeout: float = 30.0) -> tuple[int, str, dict[str, str]]:
    """(status, body text, headers) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers.items())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers.items())


class Server:
    """A server process of its own process group, its output in a log file."""

    def __init__(
        self, cmd: list[str], env: dict[str, str], log: Path, cpu: int | None = None, cwd: Path = ROOT
    ) -> None:
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.cmd = cmd
        self.log = log
        self._out = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.proc.pid

    def wait_up(self, url: str, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.cmd[0]} exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if http_get(url, timeout=10)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"no answer from {url} after {timeout:.0f} s:\n{self.tail()}")

    def exceptions(self) -> dict[str, int]:
        """The exception lines ending the tracebacks in the server's log, counted."""
        found: collections.Counter[str] = collections.Counter()
        inside = False
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("Traceback (most recent call last)"):
                inside = True
            elif inside and line and not line[0].isspace():
                found[line[:200]] += 1
                inside = False
        return dict(found.most_common())

    def tail(self, n: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def settle(self, minimum: float = 5.0, maximum: float = 120.0, idle: float = 0.05) -> tuple[bool, float]:
        """Waits ``minimum`` seconds for start-up work, then until the process tree
        uses less than ``idle`` of a CPU over one second (at most ``maximum``
        seconds in all). Returns (settled, the last second's CPU share)."""
        time.sleep(minimum)
        waited = minimum
        share = 1.0
        while True:
            c0 = tree_cpu_seconds(self.pid)
            time.sleep(1.0)
            share = tree_cpu_seconds(self.pid) - c0
            waited += 1.0
            if share < idle:
                return True, share
            if waited >= maximum:
                return False, share
            if int(waited) % 15 == 0:
                say(f"  server still busy ({share:.0%} of a CPU) {waited:.0f} s after start")

    def stop(self) -> None:
        """SIGTERM to the process started (a gunicorn master stops its workers);
        after 10 s, SIGKILL to it and to its descendants still running (by id)."""
        if self.proc.poll() is None:
            family = process_tree(self.pid)[1:]
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for pid in family:
                st = _stat(pid)
                if st is not None and int(st[2]) == self.pid:  # still in the group this object started
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        self._out.close()


def workdir(keep: Path | None, prefix: str) -> tuple[Path, Callable[[], None]]:
    """``keep`` (made if missing), or a temporary folder removed by the returned function."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return keep.resolve(), lambda: None
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    return tmp, lambda: shutil.rmtree(tmp, ignore_errors=True)


def terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl+C, so servers are stopped and copies removed."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
