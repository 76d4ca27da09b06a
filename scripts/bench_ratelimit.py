"""CPU of the in-memory rate limit store under a steady stream of hits.

A forum process in its default set-up (``FORUM_RATE_LIMIT_STORAGE=memory://``)
counts searches, similar-question lookups, log-ins and posts per visitor in
memory. This sends ``--rate`` hits a second for ``--seconds`` through `limits`'
MovingWindowRateLimiter (30 per minute, as the search limit) after ``--keys``
visitors have each been counted once, and prints the process's CPU (utime +
stime, threads included) as a share of one core, for `limits`' own
``MemoryStorage`` and for the forum's ``MemoryWindows``, and for the loop alone
(the same schedule with no limiter). Not a test: it prints figures.

    .venv/bin/python scripts/bench_ratelimit.py                   # 10 and 10,000 keys
    .venv/bin/python scripts/bench_ratelimit.py --keys 100,1000 --rate 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable

from limits import parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from forum.ratelimit import MemoryWindows


async def measure(make: Callable[[], Storage] | None, keys: int, rate: float, seconds: float) -> float:
    """CPU share of one core while hits arrive at ``rate`` a second."""
    item = parse("30 per minute")
    limiter = MovingWindowRateLimiter(make()) if make is not None else None
    if limiter is not None:
        for key in range(keys):
            await limiter.hit(item, "search", str(key))
    await asyncio.sleep(0.5)
    started, cpu = time.perf_counter(), time.process_time()
    n = 0
    while time.perf_counter() - started < seconds:
        if limiter is not None:
            await limiter.hit(item, "search", str(n % 50))
        n += 1
        await asyncio.sleep(1 / rate)
    share = (time.process_time() - cpu) / (time.perf_counter() - started)
    if limiter is not None and isinstance(limiter.storage, MemoryStorage) and limiter.storage.timer is not None:
        limiter.storage.timer.cancel()
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", default="10,10000", help="comma-separated numbers of keys held")
    parser.add_argument("--rate", type=float, default=200.0, help="hits a second")
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    stores: dict[str, Callable[[], Storage] | None] = {
        "loop alone": None,
        "limits MemoryStorage": MemoryStorage,
        "forum MemoryWindows": MemoryWindows,
    }
    results = []
    print(f"{args.rate:g} hits/s for {args.seconds:g} s; CPU as a share of one core")
    for keys in [int(k) for k in args.keys.split(",")]:
        for name, make in stores.items():
            share = asyncio.run(measure(make, keys, args.rate, args.seconds))
            results.append({"store": name, "keys": keys, "cpu_share": round(share, 3)})
            print(f"  {keys:>7,} keys  {name:22s} {share:6.1%}")
    print(json.dumps({"bench": "ratelimit", "rate": args.rate, "seconds": args.seconds, "results": results}))


if __name__ == "__main__":
    main()
