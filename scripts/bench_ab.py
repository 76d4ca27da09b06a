"""Two versions of the forum, the same pages, measured in turn: server CPU per request
of a change against the code before it, on a shared machine where absolute times move
by 10-20% from one minute to the next.

Both servers run at once (``forum serve --workers 1 --no-jobs``, each on a copy of the
same prepared data, both pinned to CPU0); one keep-alive client on CPU1 asks each in
turn for ``--slice`` seconds, ``--rounds`` times per page (the order swapped every
round), and the CPU each server's process tree used in its slices is divided by the
requests it answered. A drift of the machine falls on both alike. Absolute times are
higher than ``bench_pages.py``'s (its client is wrk, this one Python, whose requests
arrive a little less evenly); compare the two versions, not these with those.

The other version is a checkout of the forum (``git worktree add --detach ../base
COMMIT``): its code is served from that folder (``python -m forum`` finds the package
of the folder it starts in first), with this checkout's virtual environment. A data
set prepared by ``bench_pages.py --data DIR`` is reused.

    .venv/bin/python scripts/bench_ab.py --base ../base --data bench-data --pages thread,home,list
    .venv/bin/python scripts/bench_ab.py --base ../base --data bench-data --pages search --rounds 8
    .venv/bin/python scripts/bench_ab.py --base ../base --data bench-data --env FORUM_FRAGMENT_CACHE_MB=16
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import time
from pathlib import Path

import bench_common as bc


def _ask(port: int, paths: list[str], seconds: float, rng: random.Random) -> tuple[int, int]:
    """Requests answered in ``seconds``, and how many were not 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answered = bad = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            conn.request("GET", rng.choice(paths))
            response = conn.getresponse()
            response.read()
            answered += 1
            bad += response.status != 200
    finally:
        conn.close()
    return answered, bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other version's checkout")
    parser.add_argument("--data", type=Path, default=Path("bench-data"), help="prepared data (bench_pages.py)")
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--pages", default="thread,home,list")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--slice", type=float, default=2.0, help="seconds per server per round")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for this version's server only")
    args = parser.parse_args()
    bc.terminate_on_sigterm()
    base = args.base.resolve()
    if not (base / "forum" / "__init__.py").exists():
        raise SystemExit(f"{base} is not a checkout of the forum")
    extra = dict(item.split("=", 1) for item in args.env)
    ds = bc.prepare_dataset(args.threads, args.data, None, fast=False)
    threads = bc.visible_threads(ds.database_url)
    root, cleanup = bc.workdir(None, "bench-ab-")
    servers: dict[str, tuple[bc.Server, int]] = {}
    scratches = []
    try:
        for name, code, env_extra in (("before", base, {}), ("after", bc.ROOT, extra)):
            scratch = bc.scratch_copy(ds, None, root, name)
            scratches.append(scratch)
            port = bc.free_port()
            env = bc.forum_env(scratch.data_dir, scratch.database_url, env_extra)
            cmd = bc.forum_cmd("serve", "--port", str(port), "--workers", "1", "--no-jobs")
            server = bc.Server(cmd, env, root / f"{name}.log", cpu=0, cwd=code)
            server.wait_up(f"http://127.0.0.1:{port}/healthz")
            servers[name] = (server, port)
        for server, _ in servers.values():
            server.settle()
        os.sched_setaffinity(0, {1})
        rng = random.Random(5)
        results: dict[str, dict[str, float]] = {}
        for page in args.pages.split(","):
            try:
                paths = bc.page_paths(page, threads, ds.threads)
            except ValueError:
                raise SystemExit(f"unknown page {page!r} ({', '.join(bc.PAGES)})") from None
            for _, port in servers.values():
                _ask(port, paths, 3.0, rng)  # warm-up
            cpu = dict.fromkeys(servers, 0.0)
            answered = dict.fromkeys(servers, 0)
            for r in range(args.rounds):
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    server, port = servers[name]
                    before = bc.tree_cpu_seconds(server.pid)
                    n, bad = _ask(port, paths, args.slice, rng)
                    cpu[name] += bc.tree_cpu_seconds(server.pid) - before
                    answered[name] += n
                    if bad:
                        raise SystemExit(f"{name}: {bad} answers to {page} were not 200:\n{server.tail()}")
            results[page] = {name: 1000 * cpu[name] / answered[name] for name in servers}
            ms = results[page]
            print(
                f"{page:8s} before {ms['before']:.3f} ms  after {ms['after']:.3f} ms  "
                f"after/before {ms['after'] / ms['before']:.3f}",
                flush=True,
            )
        command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
        print(json.dumps({"bench": "ab", "command": command, "base": str(base), "env": extra, "results": results}))
        for name, (server, _) in servers.items():
            bc.say(f"{name}: served from {os.readlink(f'/proc/{server.pid}/cwd')}")
    finally:
        for server, _ in servers.values():
            server.stop()
        for scratch in scratches:
            scratch.drop()
        cleanup()


if __name__ == "__main__":
    main()
