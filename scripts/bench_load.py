"""Open-loop mixed load against the forum: ``--reads`` reads/s and ``--writes``
replies/s for ``--seconds``, sent on a fixed schedule whatever the server does,
so a slow server shows as latency, errors and unfinished requests rather than as a
politely lower rate. The method of ../shared/tools/perf/load.py and load.sh,
from inside the project (no aiohttp: a small asyncio HTTP/1.1 client below).

* reads: 40% random thread pages (at their canonical ``/t/ID/slug`` address),
  30% list pages (``/``, ``/?page=2``, ``/?page=5``, ``/?page=20``), 30% searches
  (Korean and English terms)
* writes: ``POST /t/ID/reply`` to random threads, logged in as a staff account
  (``forum users create loadstaff --role staff``; staff skip the posting limits)
  with the CSRF token of a page; answered 303 when saved
* reads carry the staff session too, as in load.py (``--anonymous-reads``: a
  separate anonymous visitor)

The server: ``forum serve --port P`` (plus ``--workers N`` when this forum has that
option) on a throw-away copy of the prepared data set (see bench_pages.py:
``forum import threads`` of N generated threads, reused from ``--data DIR``), with
limits high enough never to answer 429 and no periodic jobs in the web processes.
On PostgreSQL (``--database-url postgresql://…``): a copy of the prepared database
``forum_bench_N`` and the rate-limit counters in Redis
(FORUM_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379/0, a prefix of this run's own) so
several workers share them: the production set-up. ``--url`` loads an already
running forum instead (its thread ids 1..--threads, its account ``--login``).

By default the load generator and the server share the machine's two cores (the
issue's targets are "on this 2-core machine with the load generator on it");
``--pin`` puts the server on CPU0 and the generator on CPU1.

Reported per kind (read, write): requests sent, answered ok per second, status
codes, p50/p95/p99 latency (ms, from the scheduled send time to the end of the
answer) of the ok answers, 503 answers apart (how many carried Retry-After, their
p95), connection errors, timeouts (30 s a request), and unfinished requests (still
pending 10 s after the last was sent); late dispatches of the scheduler (more than
0.5 s behind), the generator's own CPU, the server's CPU; and a timeline: per 10 s
of the schedule, requests sent, refused (503) and the ok answers' p95, to tell a
run that degrades from one that refuses evenly. A one-line summary, the timeline
on one line, then one JSON line.

    .venv/bin/python scripts/bench_load.py                                  # 60 s, 100+10/s, 1,000 threads
    .venv/bin/python scripts/bench_load.py --threads 200 --seconds 10 --reads 20 --writes 2
    .venv/bin/python scripts/bench_load.py --database-url postgresql://postgres@127.0.0.1:5432 --workers 2
    .venv/bin/python scripts/bench_load.py --url http://127.0.0.1:8000 --login alice --password …

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import resource
import shlex
import shutil
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc

LOGIN, PASSWORD = "loadstaff", "Load-staff-pass-2026"
LISTS = ["/", "/?page=2", "/?page=5", "/?page=20"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GRACE = 10.0  # seconds the last requests get after the schedule ends
TIMEOUT = 30.0  # seconds a request gets
TIMELINE_S = 10  # seconds per line of the timeline (refusals and p95 over the run)


# ---------------------------------------------------------------- HTTP/1.1 client


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class StaleConnection(Exception):
    """A kept-alive connection the server had closed: nothing was sent back."""


class HttpClient:
    """A minimal HTTP/1.1 client on asyncio streams: keep-alive connections reused
    last-in first-out (as many as there are requests in flight), Content-Length,
    chunked and read-to-close bodies, one cookie jar, a timeout per request. A
    request on a reused connection that the server had closed is sent again once
    on a new connection (nothing was answered, so nothing was done)."""

    def __init__(self, base: str, *, timeout: float = TIMEOUT, idle_max: float = 2.0) -> None:
        u = urllib.parse.urlsplit(base)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"http://host:port expected, not {base}")
        self.host, self.port, self.netloc = u.hostname, u.port or 80, u.netloc
        self.timeout = timeout
        self.idle_max = idle_max  # below the servers' keep-alive (uvicorn 5 s, gunicorn 2 s)
        self.idle: collections.deque[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = collections.deque()
        self.cookies: dict[str, str] = {}
        self.opened = 0
        self.in_use = 0
        self.most_in_use = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        now = time.monotonic()
        while self.idle and now - self.idle[0][2] > self.idle_max:
            self.idle.popleft()[1].close()
        while self.idle:
            reader, writer, _ = self.idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self.opened += 1
        return reader, writer, False

    async def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None, cookies: bool = True
    ) -> Answer:
        async with asyncio.timeout(self.timeout):
            self.in_use += 1
            self.most_in_use = max(self.most_in_use, self.in_use)
            try:
                for attempt in (0, 1):
                    try:
                        return await self._once(method, path, form, cookies)
                    except StaleConnection:
                        if attempt:
                            raise ConnectionResetError("the server closed the connection twice") from None
                raise AssertionError("unreachable")
            finally:
                self.in_use -= 1

    async def _once(self, method: str, path: str, form: dict[str, str] | None, cookies: bool) -> Answer:
        reader, writer, reused = await self._connection()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.netloc}", "User-Agent: forum-bench-load", "Accept: */*"]
        if cookies and self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        payload = b""
        if form is not None:
            payload = urllib.parse.urlencode(form).encode()
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(payload)}"]
        try:
            try:
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
                await writer.drain()
                raw = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
                if reused and (not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial):
                    raise StaleConnection from exc
                raise
            answer, keep = await self._answer(reader, raw, method, cookies)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return answer

    async def _answer(
        self, reader: asyncio.StreamReader, raw: bytes, method: str, cookies: bool
    ) -> tuple[Answer, bool]:
        status_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
        version, code = status_line.split(" ", 2)[:2]
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                if cookies:
                    self._cookie(value)
            else:
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    break
                parts.append((await reader.readexactly(size + 2))[:-2])
            body = b"".join(parts)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:
            body, keep = await reader.read(), False
        return Answer(status, headers, body), keep

    def _cookie(self, value: str) -> None:
        pair, *attrs = value.split(";")
        name, _, val = pair.strip().partition("=")
        expired = any(a.strip().lower().replace(" ", "") == "max-age=0" for a in attrs)
        if expired or not val:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = val

    def close(self) -> None:
        while self.idle:
            self.idle.pop()[1].close()


# ---------------------------------------------------------------- the load


@dataclass
class Kind:
    sent: int = 0
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    ok_ms: list[float] = field(default_factory=list)
    s503_ms: list[float] = field(default_factory=list)
    s503_retry_after: int = 0
    conn_errors: int = 0
    timeouts: int = 0
    unfinished: int = 0
    last_done: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few paths per unexpected status

    def example(self, code: str, path: str) -> None:
        seen = self.examples.setdefault(code, [])
        if len(seen) < 3:
            seen.append(urllib.parse.unquote(path))

    def report(self, seconds: float) -> dict[str, object]:
        ok = len(self.ok_ms)
        return {
            "sent": self.sent,
            "ok": ok,
            "ok_per_s": round(ok / seconds, 1) if seconds else None,
            "codes": dict(sorted(self.codes.items())),
            "p50": pct(self.ok_ms, 0.50),
            "p95": pct(self.ok_ms, 0.95),
            "p99": pct(self.ok_ms, 0.99),
            "s503": {
                "n": len(self.s503_ms),
                "retry_after_share": round(self.s503_retry_after / len(self.s503_ms), 3) if self.s503_ms else None,
                "p95": pct(self.s503_ms, 0.95),
            },
            "conn_errors": self.conn_errors,
            "timeouts": self.timeouts,
            "unfinished": self.unfinished,
            "examples": self.examples,
        }


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1 ms."""
    if not values:
        return None
    s = sorted(values)
    return round(s[max(0, min(len(s) - 1, int(p * len(s) + 0.999999) - 1))], 1)


async def log_in(client: HttpClient, login: str, password: str) -> str:
    """Logs in; returns the CSRF token of the session (from the home page's form)."""
    page = await client.request("GET", "/login")
    found = CSRF.search(page.body.decode("utf-8", "replace"))
    if not found:
        raise SystemExit(f"no csrf_token on /login ({page.status})")
    done = await client.request(
        "POST", "/login", form={"csrf_token": found.group(1), "login": login, "password": password}
    )
    if done.status not in (302, 303):
        raise SystemExit(f"logging in as {login} failed: {done.status}")
    home = await client.request("GET", "/")
    found = CSRF.search(home.body.decode("utf-8", "replace"))
    if not found:
        raise SystemExit("no csrf_token on / after logging in")
    return found.group(1)


async def run_load(
    base: str,
    *,
    seconds: float,
    reads: float,
    writes: float,
    thread_paths: list[str],
    reply_ids: list[int],
    login: str,
    password: str,
    anonymous_reads: bool,
    seed: int = 7,
) -> dict[str, object]:
    client = HttpClient(base)
    reader_client = HttpClient(base) if anonymous_reads else client
    token = await log_in(client, login, password) if writes > 0 else ""
    rng = random.Random(seed)
    kinds = {"read": Kind(), "write": Kind()}
    rate = reads + writes
    n = int(seconds * rate)
    late = 0
    most_late = 0.0
    pending: dict[asyncio.Task[None], str] = {}
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2
    # Per TIMELINE_S seconds of the schedule (by when a request was due): sent,
    # refused, and the ok answers' latencies, to see whether a run degrades.
    timeline: dict[int, dict[str, Any]] = collections.defaultdict(lambda: {"sent": 0, "503": 0, "ok_ms": []})

    async def one(kind: str, due: float, method: str, path: str, form: dict[str, str] | None) -> None:
        k = kinds[kind]
        c = client if kind == "write" else reader_client
        try:
            answer = await c.request(method, path, form=form)
        except TimeoutError:
            k.codes["timeout"] += 1
            k.timeouts += 1
            k.example("timeout", path)
            return
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            k.codes[type(exc).__name__] += 1
            k.conn_errors += 1
            k.example(type(exc).__name__, path)
            return
        now = loop.time()
        ms = (now - due) * 1000
        k.last_done = max(k.last_done, now - t0)
        k.codes[str(answer.status)] += 1
        slot = timeline[int((due - t0) // TIMELINE_S)]
        if (kind == "read" and answer.status == 200) or (kind == "write" and answer.status in (302, 303)):
            k.ok_ms.append(ms)
            slot["ok_ms"].append(ms)
        else:
            slot["503"] += answer.status == 503
            k.example(str(answer.status), path)
            if answer.status == 503:
                k.s503_ms.append(ms)
                k.s503_retry_after += "retry-after" in answer.headers

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(n):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            most_late = max(most_late, -delay)
            late += -delay > 0.5
        if rng.random() < writes / rate:
            kind, method = "write", "POST"
            path = f"/t/{rng.choice(reply_ids)}/reply"
            form: dict[str, str] | None = {"csrf_token": token, "body": f"load reply {rng.random()} 부하 테스트"}
        else:
            kind, method, form = "read", "GET", None
            x = rng.random()
            if x < 0.4:
                path = rng.choice(thread_paths)
            elif x < 0.7:
                path = rng.choice(LISTS)
            else:
                path = "/search?q=" + urllib.parse.quote(rng.choice(bc.SEARCH_TERMS))
        kinds[kind].sent += 1
        timeline[int((due - t0) // TIMELINE_S)]["sent"] += 1
        task = loop.create_task(one(kind, due, method, path, form))
        pending[task] = kind
        task.add_done_callback(lambda t: pending.pop(t, None))
    if pending:
        await asyncio.wait(list(pending), timeout=GRACE)
    for task, kind in list(pending.items()):
        kinds[kind].unfinished += 1
        task.cancel()
    await asyncio.sleep(0)
    elapsed = loop.time() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    client.close()
    reader_client.close()
    gen_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    span = max(seconds, *(k.last_done for k in kinds.values()))
    return {
        "read": kinds["read"].report(span),
        "write": kinds["write"].report(span),
        "unfinished": sum(k.unfinished for k in kinds.values()),
        "late_dispatch": late,
        "most_late_ms": round(most_late * 1000, 1),
        "generator_cpu_share": round(gen_cpu / elapsed, 3),
        "connections_opened": client.opened + (reader_client.opened if anonymous_reads else 0),
        "most_in_flight": client.most_in_use + (reader_client.most_in_use if anonymous_reads else 0),
        "span_s": round(span, 1),
        "timeline": [
            {"from_s": i * TIMELINE_S, "sent": v["sent"], "503": v["503"], "ok_p95": pct(v["ok_ms"], 0.95)}
            for i, v in sorted(timeline.items())
        ],
    }


# ---------------------------------------------------------------- set-up


def resolve_paths(base: str, threads: int, sample: int = 1000) -> list[str]:
    """Canonical paths of random thread ids of a running forum (the redirect of /t/ID)."""
    rng = random.Random(3)
    ids = rng.sample(range(1, threads + 1), min(sample, threads))
    out = []
    for tid in ids:
        status, _, headers = bc.http_get(f"{base}/t/{tid}")
        if status in (301, 302, 303, 307, 308):
            out.append(urllib.parse.urlsplit(headers.get("location") or headers.get("Location") or "").path)
        elif status == 200:
            out.append(f"/t/{tid}")
    if not out:
        raise SystemExit(f"none of {len(ids)} thread ids answered at {base}/t/ID")
    return out


def forget_limits(url: str, prefix: str) -> None:
    """Deletes this run's rate-limit counters (they would expire within the hour)."""
    import redis

    try:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    except redis.RedisError as exc:
        bc.say(f"could not delete the rate-limit counters {prefix}* in {url}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="length of the schedule (default 60)")
    parser.add_argument("--reads", type=float, default=100, help="reads per second (default 100)")
    parser.add_argument("--writes", type=float, default=10, help="replies per second (default 10)")
    parser.add_argument("--threads", type=int, default=1000, help="threads in the data set (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="`forum serve --workers` when it exists (default 2)")
    parser.add_argument("--database-url", help="postgresql://… (default: SQLite in the data folder)")
    parser.add_argument("--data", type=Path, help="folder keeping prepared data sets (reused when complete)")
    parser.add_argument("--fast-import", action="store_true", help="bulk SQL insert instead of `forum import`")
    parser.add_argument("--url", help="load this running forum instead of starting one")
    parser.add_argument("--login", default=LOGIN, help=f"staff account for replies (default {LOGIN})")
    parser.add_argument("--password", default=PASSWORD, help="its password")
    parser.add_argument("--anonymous-reads", action="store_true", help="reads without the staff session")
    parser.add_argument("--pin", action="store_true", help="server on CPU0, load generator on CPU1")
    parser.add_argument(
        "--rate-limit-storage",
        help="FORUM_RATE_LIMIT_STORAGE of the server (default: memory on SQLite, redis://127.0.0.1:6379/0 "
        "on PostgreSQL)",
    )
    parser.add_argument("--settle", type=float, default=5, help="seconds after start-up and warm-up (default 5)")
    parser.add_argument("--settle-max", type=float, default=120, help="longest wait for an idle server (120)")
    args = parser.parse_args()
    if args.database_url and not bc.is_postgres(args.database_url):
        parser.error("--database-url takes a postgresql:// URL (SQLite lives in the data folder)")
    argv = list(sys.argv)
    for i, a in enumerate(argv):  # the command line is printed: not the password
        if a == "--password" and i + 1 < len(argv):
            argv[i + 1] = "***"
        elif a.startswith("--password="):
            argv[i] = "--password=***"
    command = shlex.join([Path(sys.executable).name, *argv])
    print(f"command: {command}")
    bc.terminate_on_sigterm()
    load_start = bc.loadavg()
    if args.pin:
        os.sched_setaffinity(0, {1})
    info: dict[str, object] = {"pinned": args.pin}
    server: bc.Server | None = None
    scratch: bc.Scratch | None = None
    root, cleanup = bc.workdir(args.data, "bench-load-")
    work = root / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True, exist_ok=True)
    ok = False
    try:
        if args.url:
            base = args.url.rstrip("/")
            thread_paths = resolve_paths(base, args.threads)
            info.update(database=None, server=f"{base}, already running", workers=None)
        else:
            ds = bc.prepare_dataset(args.threads, root, args.database_url, fast=args.fast_import)
            scratch = bc.scratch_copy(ds, args.database_url, work, "load")
            extra: dict[str, str] = {}
            storage = args.rate_limit_storage or ("redis://127.0.0.1:6379/0" if ds.kind == "postgresql" else "")
            if storage:
                extra["FORUM_RATE_LIMIT_STORAGE"] = storage
                extra["FORUM_RATE_LIMIT_PREFIX"] = f"bench-load-{os.getpid()}-{int(time.time())}"
            info["rate_limit_storage"] = storage or "memory://"
            info["rate_limit_prefix"] = extra.get("FORUM_RATE_LIMIT_PREFIX")
            env = bc.forum_env(scratch.data_dir, scratch.database_url, extra)
            bc.run_forum(env, "db", "upgrade", log=work / "setup.log")
            bc.run_forum(env, "users", "create", args.login, "--role", "staff", "--password", args.password)
            thread_paths = [
                f"/t/{tid}/{urllib.parse.quote(slug)}" for tid, slug in bc.visible_threads(scratch.database_url)
            ]
            port = bc.free_port()
            workers = args.workers if bc.serve_has_workers() else None
            cmd = bc.forum_cmd("serve", "--port", str(port), *(["--workers", str(workers)] if workers else []))
            server = bc.Server(cmd, env, work / "serve.log", cpu=0 if args.pin else None)
            base = f"http://127.0.0.1:{port}"
            bc.say(f"{' '.join(cmd[2:])} (pid {server.pid}) on {ds.kind}: waiting for {base}/")
            server.wait_up(base + "/")
            for p in ["/", *thread_paths[:5]]:
                bc.http_get(base + p, timeout=60)
            settled, share = server.settle(args.settle, args.settle_max)
            bc.say(f"  {'settled' if settled else 'NOT settled'}: {share:.0%} of a CPU while idle")
            info.update(
                database=ds.kind,
                data=ds.label,
                reused=ds.reused,
                server=" ".join(cmd[2:4] + (["--workers", str(workers)] if workers else [])),
                workers=workers,
                workers_supported=workers is not None,
                settled=settled,
                notes=ds.notes
                + (
                    ["fast import: no analyser terms, sentence vectors or topic run in the data set"] if ds.fast else []
                ),
            )
        reply_ids = list(range(1, args.threads + 1))
        bc.say(f"load: {args.reads:g} reads/s + {args.writes:g} replies/s for {args.seconds:g} s")
        c0 = bc.tree_cpu_seconds(server.pid) if server else 0.0
        t0 = time.monotonic()
        res = asyncio.run(
            run_load(
                base,
                seconds=args.seconds,
                reads=args.reads,
                writes=args.writes,
                thread_paths=thread_paths,
                reply_ids=reply_ids,
                login=args.login,
                password=args.password,
                anonymous_reads=args.anonymous_reads,
            )
        )
        if server:
            cpu = bc.tree_cpu_seconds(server.pid) - c0
            info["server_cpu_s"] = round(cpu, 1)
            info["server_cpu_share"] = round(cpu / (time.monotonic() - t0), 2)
            info["server_exceptions"] = server.exceptions()
            for line, count in info["server_exceptions"].items():  # type: ignore[attr-defined]
                bc.say(f"  server log: {count} x {line}")
        ok = True
    finally:
        if server is not None:
            server.stop()
            if not ok:
                bc.say(f"the server's last lines:\n{server.tail()}")
        if scratch is not None:
            scratch.drop()
        prefix = str(info.get("rate_limit_prefix") or "")
        if prefix and str(info.get("rate_limit_storage", "")).startswith("redis"):
            forget_limits(str(info["rate_limit_storage"]), prefix)
        if ok or args.data is None:
            shutil.rmtree(work, ignore_errors=True)
        cleanup()
    out: dict[str, object] = {
        "bench": "load",
        "command": command,
        "threads": args.threads,
        "seconds": args.seconds,
        "reads": args.reads,
        "writes": args.writes,
        **info,
        **res,
        "loadavg": {"start": load_start, "end": bc.loadavg()},
    }
    r, w = res["read"], res["write"]
    assert isinstance(r, dict) and isinstance(w, dict)
    bad = sum(
        v
        for kind, good in ((r, ("200",)), (w, ("302", "303")))
        for code, v in kind["codes"].items()  # type: ignore[union-attr]
        if code not in good
    )
    s503 = r["s503"]["n"] + w["s503"]["n"]  # type: ignore[index]
    print(
        f"load: {args.reads:g}+{args.writes:g} req/s for {args.seconds:g} s ({info.get('server')}"
        f"{', ' + str(info['database']) if info.get('database') else ''}{', pinned' if args.pin else ''}): "
        f"read p50={r['p50']} p95={r['p95']} p99={r['p99']} ms ok/s={r['ok_per_s']}; "
        f"write p50={w['p50']} p95={w['p95']} ms ok/s={w['ok_per_s']}; "
        f"errors={bad} (503: {s503}) unfinished={res['unfinished']} late={res['late_dispatch']} "
        f"(load {bc.loadavg()[0]})"
    )
    timeline = res["timeline"]
    assert isinstance(timeline, list)
    print(
        f"every {TIMELINE_S} s (sent/503/ok p95 ms): "
        + "  ".join(f"{t['sent']}/{t['503']}/{t['ok_p95']}" for t in timeline)
    )
    for note in info.get("notes") or []:  # type: ignore[attr-defined]
        print(f"note: {note}")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
