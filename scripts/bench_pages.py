"""Server CPU per request of the forum's pages, against a bare Starlette + Jinja +
SQLAlchemy Core thread page on the same data, measured in one run: absolute times
move from run to run on these shared 2-core machines, the ratio does not.

What is measured, per page: (utime + stime of the server process and all its
descendants, from /proc/PID/stat) / requests answered, with the server pinned to
CPU0 (``taskset -c 0``) and wrk pinned to CPU1, one connection, a 3 s warm-up then
``--seconds`` measured. The method of ../shared/tools/perf/pages.sh, from inside
the project.

Pages (``--pages``, default all):

* ``thread``  random thread pages among all threads, at their canonical
  ``/t/ID/slug`` address (read from the database; a sample checked for 200 first)
* ``home``    ``/``
* ``list``    random ``/?page=2`` … ``/?page=10``
* ``search``  random ``/search?q=…`` over ~20 Korean and English support terms
* ``similar`` random ``/api/similar?q=…`` over Korean and English questions
* ``ceiling`` always: ``bench_ceiling_app.py``'s ``/thread/ID`` on a SQLite copy
  of the same threads, served by uvicorn on CPU0 (random thread ids)

Data: N threads x 10 posts (every 5th thread Korean; the generator and seed of
../shared/tools/perf/gen_data.py), imported with ``forum import threads`` (which
analyses and encodes: ~40 s per 1,000 threads, ~35 min for 100,000), then
``forum worker --once`` when this forum has it. ``--fast-import`` inserts the same
threads, posts, authors and category with plain SQL instead and runs
``forum search reindex``: minutes for 100,000 threads, but no analyser terms and
no sentence vectors; what needs them (similar questions, related questions,
topics) is missing until something computes it. Fine for page-cost scaling as
long as pages do not compute such results themselves: the server's idle CPU
after start-up is watched and reported, and a server that does not settle is
flagged. ``--data DIR`` keeps the prepared data (a finished import for the same N
is reused); every run serves a throw-away copy of it. Non-2xx answers are counted
per page: a page that answered errors is not a valid figure. On PostgreSQL the
database's own CPU is not in the server's process tree: the CPU of the backends
serving the copy (from pg_stat_activity) is shown beside it, per request.

    .venv/bin/python scripts/bench_pages.py                           # 1,000 threads, SQLite, all pages
    .venv/bin/python scripts/bench_pages.py --threads 200 --seconds 3 # a quick look
    .venv/bin/python scripts/bench_pages.py --pages thread,home --data bench-data
    .venv/bin/python scripts/bench_pages.py --database-url postgresql://postgres@127.0.0.1:5432
    .venv/bin/python scripts/bench_pages.py --compare-threads 1000,100000 --data bench-data --fast-import

``--compare-threads A,B`` measures each data set in the same run (servers one after
the other) and prints B's figure over A's per page (the issue's bar: within 1.2x
from 1,000 to 100,000 threads). The forum keeps rendered posts (``forum.templating``),
so random pages over all threads compare more than the forum's size: at 1,000
threads a run of a few thousand requests sees most threads again, at 100,000 almost
none. ``--thread-sample 1000`` draws the thread pages from the same number of
threads at every size, which measures what the size alone costs; the README gives
both figures. Prints a table and, last, one JSON line with all
figures, the thread counts, the database kind and the machine's load average.
Needs ``wrk`` and ``taskset``. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc
from bench_ceiling_app import build as build_ceiling

PAGES = bc.PAGES
SERVER_CPU, WRK_CPU = 0, 1


WRK_LUA = """-- random paths from PATHS_FILE; status counts printed by done()
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) math.randomseed(12345); codes = {} end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do io.write(string.format("status %d %d\\n", k, v)) end
  end
end
"""


@dataclass
class Figure:
    page: str
    ms: float | None  # server CPU ms per request
    requests: int
    codes: dict[str, int]
    non_2xx: int
    socket_errors: str = ""
    check_failures: list[str] = field(default_factory=list)  # sample answers other than 200
    ratio: float | None = None  # ms / ceiling ms
    db_ms: float | None = None  # PostgreSQL: CPU ms per request of the database's backends (not in ms)

    @property
    def valid(self) -> bool:
        return self.ms is not None and self.requests > 0 and self.non_2xx == 0 and not self.check_failures


def quote_path(path: str) -> str:
    return urllib.parse.quote(path, safe="/?=&%")


def check_sample(base: str, paths: list[str], k: int = 20) -> list[str]:
    """GETs the first, the last and ``k`` random paths; returns 'path: status' of those
    that did not answer 200. A similar-questions lookup must also find something in
    most of the sample: an index the server could not load answers ``[]`` at a
    fraction of the real cost."""
    rng = random.Random(5)
    sample = list(dict.fromkeys([paths[0], paths[-1], *rng.sample(paths, min(k, len(paths)))]))
    bad = []
    empty = 0
    for p in sample:
        try:
            status, body, _ = bc.http_get(base + p, timeout=60)
        except OSError as e:
            status, body = type(e).__name__, ""  # type: ignore[assignment]
        if status != 200:
            bad.append(f"{urllib.parse.unquote(p)}: {status}")
        elif p.startswith("/api/similar") and not json.loads(body).get("results"):
            empty += 1
    if empty * 2 > len(sample):
        bad.append(f"{empty} of {len(sample)} lookups found nothing (is the similar-questions index stored?)")
    return bad


def wrk(base: str, paths_file: Path, lua: Path, seconds: int) -> str:
    cmd = ["taskset", "-c", str(WRK_CPU), "wrk", "-t1", "-c1", f"-d{seconds}s", "--timeout", "30s"]
    cmd += ["-s", str(lua), base + "/"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PATHS_FILE": str(paths_file)})
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stderr or done.stdout}")
    return done.stdout


def measure(
    page: str,
    pid: int,
    base: str,
    paths: list[str],
    work: Path,
    seconds: int,
    warmup: int,
    db_pids: Callable[[], list[int]] | None = None,
) -> Figure:
    paths_file = work / f"paths-{page}.txt"
    paths_file.write_text("\n".join(quote_path(p) for p in paths) + "\n")
    lua = work / "bench_random.lua"
    lua.write_text(WRK_LUA)
    wrk(base, paths_file, lua, warmup)
    d0 = bc.cpu_of(db_pids()) if db_pids else {}
    c0 = bc.tree_cpu_seconds(pid)
    out = wrk(base, paths_file, lua, seconds)
    c1 = bc.tree_cpu_seconds(pid)
    # Backends that ended in between are missed; those that started count in full.
    d1 = bc.cpu_of(db_pids()) if db_pids else {}
    db_cpu = sum(v - d0.get(k, 0.0) for k, v in d1.items())
    m = re.search(r"(\d+) requests in", out)
    n = int(m.group(1)) if m else 0
    codes: dict[str, int] = {}
    for code, count in re.findall(r"^status (\d+) (\d+)$", out, re.M):
        codes[code] = codes.get(code, 0) + int(count)
    non_2xx = sum(v for k, v in codes.items() if not k.startswith("2"))
    sock = re.search(r"Socket errors: (.*)", out)
    ms = round((c1 - c0) * 1000 / n, 3) if n else None
    fig = Figure(page, ms, n, codes, non_2xx, sock.group(1) if sock else "")
    if db_pids is not None and n:
        fig.db_ms = round(db_cpu * 1000 / n, 3)
    return fig


@dataclass
class Result:
    threads: int
    database: str
    data: str  # how the data set was made
    reused: bool
    server: str
    settled: bool
    idle_cpu_share: float
    figures: dict[str, Figure]
    notes: list[str]


def measure_forum(
    ds: bc.Dataset, args: argparse.Namespace, work: Path, pages: list[str], workers: bool, notes: list[str]
) -> tuple[dict[str, Figure], str, bool, float]:
    scratch = bc.scratch_copy(ds, args.database_url, work, "pages")
    server: bc.Server | None = None
    try:
        env = bc.forum_env(scratch.data_dir, scratch.database_url)
        bc.run_forum(env, "db", "upgrade", log=work / "upgrade.log")
        threads = bc.visible_threads(scratch.database_url)
        if len(threads) != ds.threads:
            bc.say(f"warning: {len(threads):,} visible threads of {ds.threads:,}")
        port = bc.free_port()
        cmd = bc.forum_cmd("serve", "--port", str(port), *(["--workers", "1"] if workers else []))
        if bc.serve_has_no_jobs():
            # The page cost alone: background work (encoding a fast-imported forum's
            # backlog, say) is the job runner's, a process of its own elsewhere.
            cmd.append("--no-jobs")
        server = bc.Server(cmd, env, work / f"serve-{ds.threads}.log", cpu=SERVER_CPU)
        base = f"http://127.0.0.1:{port}"
        bc.say(f"forum serve on CPU{SERVER_CPU} (pid {server.pid}): waiting for {base}/")
        server.wait_up(base + "/")
        settled, share = server.settle(args.settle, args.settle_max)
        bc.say(f"  {'settled' if settled else 'NOT settled'}: {share:.0%} of a CPU while idle")
        figures: dict[str, Figure] = {}
        for page in pages:
            shown = threads
            if page == "thread" and args.thread_sample and len(threads) > args.thread_sample:
                shown = sorted(random.Random(7).sample(threads, args.thread_sample))
            paths = bc.page_paths(page, shown, ds.threads)
            bad = check_sample(base, paths)
            if bad:
                bc.say(f"  {page}: sample answers other than 200: {'; '.join(bad[:5])}")
            bc.say(f"  measuring {page} ({len(paths):,} paths, {args.warmup:g} s + {args.seconds:g} s)")
            fig = measure(page, server.pid, base, paths, work, args.seconds, args.warmup, scratch.db_pids)
            fig.check_failures = bad
            db = f" (+ {fig.db_ms} ms in PostgreSQL)" if fig.db_ms is not None else ""
            bc.say(f"    {fig.ms} ms CPU/request{db}, {fig.requests} requests, codes {fig.codes}")
            figures[page] = fig
        for line, count in server.exceptions().items():
            bc.say(f"  server log: {count} x {line}")
            notes.append(f"server log: {count} x {line}")
        return figures, " ".join(cmd[2:]).replace(str(port), "PORT"), settled, share
    finally:
        if server is not None:
            server.stop()
        scratch.drop()


def measure_ceiling(ds: bc.Dataset, args: argparse.Namespace, work: Path) -> Figure:
    db = ds.folder / "ceiling.db"
    if not db.exists():
        bc.say(f"building the ceiling database {db}")
        build_ceiling(ds.jsonl, db)
    port = bc.free_port()
    cmd = [bc.PY, "-m", "uvicorn", "bench_ceiling_app:app", "--app-dir", str(bc.SCRIPTS)]
    cmd += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    env = {**os.environ, "BENCH_CEILING_DB": str(db)}
    server = bc.Server(cmd, env, work / f"ceiling-{ds.threads}.log", cpu=SERVER_CPU)
    try:
        base = f"http://127.0.0.1:{port}"
        server.wait_up(base + "/thread/1")
        server.settle(args.settle, args.settle_max)
        paths = [f"/thread/{i}" for i in range(1, ds.threads + 1)]
        bad = check_sample(base, paths)
        bc.say(f"  measuring ceiling ({len(paths):,} paths, {args.warmup:g} s + {args.seconds:g} s)")
        fig = measure("ceiling", server.pid, base, paths, work, args.seconds, args.warmup)
        fig.check_failures = bad
        bc.say(f"    {fig.ms} ms CPU/request, {fig.requests} requests, codes {fig.codes}")
        return fig
    finally:
        server.stop()


def run_one(n: int, args: argparse.Namespace, root: Path, work: Path, pages: list[str], workers: bool) -> Result:
    ds = bc.prepare_dataset(n, root, args.database_url, fast=args.fast_import)
    notes = list(ds.notes)
    if ds.fast:
        notes.append(
            "fast import: threads, posts, authors and category inserted with SQL, then `forum search reindex`; "
            "no analyser terms, no sentence vectors, no topic run (results that need the encoders are missing: "
            "fine for page costs as long as pages do not compute them)"
        )
    figures, server_cmd, settled, share = measure_forum(ds, args, work, pages, workers, notes)
    if not settled:
        notes.append(
            f"the forum did not settle in {args.settle_max:g} s after start-up ({share:.0%} of a CPU while idle): "
            "its figures include background work"
        )
    ceiling = measure_ceiling(ds, args, work)
    figures["ceiling"] = ceiling
    for fig in figures.values():
        if fig.ms is not None and ceiling.ms:
            fig.ratio = round(fig.ms / ceiling.ms, 1)
    return Result(n, ds.kind, ds.label, ds.reused, server_cmd, settled, round(share, 3), figures, notes)


def print_table(r: Result) -> None:
    print(
        f"\n{r.threads:,} threads, {r.database}, data: {r.data}{' (reused)' if r.reused else ''}; "
        f"server: {r.server} on CPU{SERVER_CPU}, wrk -c1 on CPU{WRK_CPU}"
    )
    pg = r.database == "postgresql"
    db_head = f" {'+ms in PG':>10}" if pg else ""
    print(f"{'page':<9} {'ms CPU/req':>11}{db_head} {'requests':>9} {'non-2xx':>8} {'x ceiling':>10}")
    for name, fig in r.figures.items():
        ms = f"{fig.ms:.3f}" if fig.ms is not None else "-"
        if pg:
            ms += f" {fig.db_ms:>10.3f}" if fig.db_ms is not None else f" {'-':>10}"
        ratio = f"{fig.ratio:.1f}" if fig.ratio is not None else "-"
        problems = []
        if fig.non_2xx:
            problems.append(f"answers {fig.codes}")
        if fig.check_failures:
            problems.append(f"sample check: {'; '.join(fig.check_failures[:3])}")
        if not fig.requests:
            problems.append("no requests")
        flag = "" if fig.valid else "  NOT VALID: " + ", ".join(problems)
        print(f"{name:<9} {ms:>{22 if pg else 11}} {fig.requests:>9} {fig.non_2xx:>8} {ratio:>10}{flag}")
    if pg:
        print(
            "note: ms CPU/req is the forum's process tree, as on SQLite; '+ms in PG' is what the PostgreSQL "
            "backends serving it used on top (the ceiling runs SQLite in-process)"
        )
    for note in r.notes:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1000, help="threads in the data set (default 1000)")
    parser.add_argument(
        "--compare-threads", help="comma list of thread counts measured one after the other, e.g. 1000,100000"
    )
    parser.add_argument("--data", type=Path, help="folder keeping prepared data sets (reused when complete)")
    parser.add_argument(
        "--database-url", help="postgresql://… to measure on PostgreSQL (default: SQLite in the data folder)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per page (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per page (default 3)")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"comma list of {', '.join(PAGES)} (default all)")
    parser.add_argument("--fast-import", action="store_true", help="bulk SQL insert instead of `forum import`")
    parser.add_argument(
        "--thread-sample",
        type=int,
        help="thread pages among this many threads drawn at random (default: all threads); see the docstring",
    )
    parser.add_argument("--settle", type=float, default=5, help="seconds after start-up before measuring (5)")
    parser.add_argument(
        "--settle-max", type=float, default=120, help="longest wait for an idle server after start-up (120)"
    )
    args = parser.parse_args()
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        parser.error(f"unknown pages: {', '.join(unknown)}")
    counts = [int(x) for x in args.compare_threads.split(",")] if args.compare_threads else [args.threads]
    if args.database_url and not bc.is_postgres(args.database_url):
        parser.error("--database-url takes a postgresql:// URL (SQLite lives in the data folder)")
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    print(f"command: {command}")
    bc.terminate_on_sigterm()
    load_start = bc.loadavg()
    root, cleanup = bc.workdir(args.data, "bench-pages-")
    work = root / f"run-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True, exist_ok=True)
    workers = bc.serve_has_workers()
    results: list[Result] = []
    try:
        for n in counts:
            results.append(run_one(n, args, root, work, pages, workers))
    except BaseException:
        if args.data is not None:
            bc.say(f"server logs kept in {work}")
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        cleanup()
    for r in results:
        print_table(r)
    scaling: dict[str, float | None] = {}
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"\nscaling: {last.threads:,} threads over {first.threads:,} (the bar: within 1.2x)")
        for name in first.figures:
            a, b = first.figures[name], last.figures.get(name)
            ratio = round(b.ms / a.ms, 2) if b and a.ms and b.ms is not None else None
            scaling[name] = ratio
            verdict = "" if ratio is None else ("ok" if ratio <= 1.2 else "OVER 1.2x")
            valid = "" if a.valid and b is not None and b.valid else " (a figure is not valid)"
            shown = f"{ratio:.2f}x" if ratio is not None else "-"
            print(f"  {name:<9} {shown:>7} {verdict}{valid}")
    load_end = bc.loadavg()
    print(f"\nload average: {' '.join(map(str, load_start))} at the start, {' '.join(map(str, load_end))} at the end")
    out = {
        "bench": "pages",
        "command": command,
        "database": results[0].database if results else None,
        "threads": counts[0] if len(counts) == 1 else counts,
        "seconds": args.seconds,
        "thread_sample": args.thread_sample,
        "results": [
            {
                **{k: v for k, v in asdict(r).items() if k != "figures"},
                "pages": {name: {**asdict(f), "valid": f.valid} for name, f in r.figures.items() if name != "ceiling"},
                "ceiling": {**asdict(r.figures["ceiling"]), "valid": r.figures["ceiling"].valid},
            }
            for r in results
        ],
        "scaling": scaling,
        "loadavg": {"start": load_start, "end": load_end},
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
