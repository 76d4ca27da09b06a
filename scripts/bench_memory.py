"""Memory of ``forum serve``: resident (RSS), proportional (PSS: shared pages divided
among the processes sharing them) and private memory of the gunicorn master, each
web worker and the job runner, from /proc/PID/smaps_rollup, after start-up and after
the workers have served every kind of page (a similar-questions lookup among them).

    .venv/bin/python scripts/bench_memory.py --data bench-data                # 1,000 threads, 2 workers
    .venv/bin/python scripts/bench_memory.py --data bench-data --workers 4

The issue's bar: at most 250 MB per web worker beyond shared pages (private memory).
Prints a table, then one JSON line. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc

FIELDS = ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")
QUERIES = ["password reset email", "환불 받고 싶어요", "sync is not working", "앱이 자꾸 튕겨요"]


def rollup(pid: int) -> dict[str, float]:
    """MB per smaps_rollup field."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in FIELDS:
            out[name] = int(rest.split()[0]) / 1024
    out["Private"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    return out


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()


def snapshot(master: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for pid in bc.process_tree(master):
        cmd = cmdline(pid)
        if pid == master:
            role = "master"
        elif " worker" in cmd and "forum" in cmd:
            role = "job runner"
        else:
            role = "web worker"
        rows.append({"pid": pid, "role": role, **{k: round(v, 1) for k, v in rollup(pid).items()}})
    return rows


def show(title: str, rows: list[dict[str, object]]) -> None:
    print(f"\n{title}")
    print(f"{'process':12} {'pid':>7} {'RSS MB':>8} {'PSS MB':>8} {'private MB':>11} {'shared MB':>10}")
    for r in rows:
        shared = float(r.get("Shared_Clean", 0)) + float(r.get("Shared_Dirty", 0))  # type: ignore[arg-type]
        print(f"{r['role']:12} {r['pid']:>7} {r['Rss']:>8.1f} {r['Pss']:>8.1f} {r['Private']:>11.1f} {shared:>10.1f}")
    total = sum(float(r["Pss"]) for r in rows)  # type: ignore[arg-type]
    print(f"{'all (PSS)':12} {'':>7} {'':>8} {total:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path, default=None, help="folder keeping prepared data sets")
    parser.add_argument("--requests", type=int, default=300, help="requests served before the second look")
    args = parser.parse_args()
    bc.terminate_on_sigterm()
    work, cleanup = bc.workdir(None, "bench-memory-")
    root = (args.data or work / "data").resolve()
    server = None
    try:
        ds = bc.prepare_dataset(args.threads, root, None, fast=False)
        scratch = bc.scratch_copy(ds, None, work, "memory")
        env = bc.forum_env(scratch.data_dir, scratch.database_url)
        port = bc.free_port()
        cmd = bc.forum_cmd("serve", "--port", str(port), "--workers", str(args.workers), "--no-access-log")
        server = bc.Server(cmd, env, work / "serve.log")
        base = f"http://127.0.0.1:{port}"
        server.wait_up(base + "/")
        server.settle()
        started = snapshot(server.pid)
        threads = bc.visible_threads(scratch.database_url)
        for i in range(args.requests):
            kind = i % 4
            if kind == 0:
                tid, slug = random.choice(threads)
                url = f"/t/{tid}/{urllib.parse.quote(slug)}"
            elif kind == 1:
                url = "/?page=" + str(1 + i % 5)
            elif kind == 2:
                url = "/search?q=" + urllib.parse.quote(random.choice(QUERIES))
            else:
                url = "/api/similar?q=" + urllib.parse.quote(random.choice(QUERIES))
            status = bc.http_get(base + url)[0]
            if status != 200:
                raise SystemExit(f"{url} answered {status}:\n{server.tail()}")
        time.sleep(1)
        served = snapshot(server.pid)
        show("after start-up", started)
        show(f"after {args.requests} requests (threads, lists, searches, similar lookups)", served)
        print(
            json.dumps(
                {
                    "bench": "memory",
                    "command": "python " + " ".join(sys.argv),
                    "workers": args.workers,
                    "threads": args.threads,
                    "started": started,
                    "served": served,
                }
            )
        )
    finally:
        if server is not None:
            server.stop()
        cleanup()


if __name__ == "__main__":
    main()
