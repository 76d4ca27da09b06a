#!/usr/bin/env python3
"""End-to-end speed of the repeated-topic job and similar questions, through
the command line, as an operator would run them.

    .venv/bin/python scripts/bench_topic_job.py [--threads 100000] [--new 1000] [--queries 300]

1. Writes N threads as JSONL and loads them with ``forum import threads``
   into a fresh SQLite database (or --database-url).
2. ``forum topics detect`` (the first run is a full one): wall time and peak
   memory of that process alone (``resource.getrusage(RUSAGE_CHILDREN)`` in a
   small wrapper process that runs only it).
3. Imports ``--new`` more threads and runs ``forum topics detect`` again (an
   incremental run).
4. Similar questions: ``forum similar --json`` end to end for the queries, and
   per-query latency of the loaded index in this process.

Threads are realistic recombinations of the shared development texts
(../shared/data: CLINC requests, Korean support questions, Korean question
pairs), half Korean and half English, with words dropped or swapped, a
filler sentence and sometimes answers; without that folder, synthetic ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = next(
    (d for d in (os.path.join(ROOT, "..", "shared", "data"), "/work/shared/data") if os.path.isdir(d)),
    os.path.join(ROOT, "..", "shared", "data"),
)

FILLER_EN = [
    "Thanks in advance.",
    "Any help appreciated.",
    "This started yesterday.",
    "On my phone.",
    "It is urgent.",
    "I tried again.",
    "Not sure what to do.",
    "Since the last update.",
    "For my team.",
]
FILLER_KO = [
    "미리 감사합니다.",
    "도와주세요.",
    "어제부터 이래요.",
    "휴대폰에서요.",
    "급합니다.",
    "다시 해봤는데요.",
    "어떻게 해야 할지 모르겠어요.",
    "업데이트 이후로요.",
    "팀에서 쓰고 있어요.",
]
ANSWERS_EN = ["Go to Settings and try again.", "Restart the app, then sign in again.", "Contact support with your id."]
ANSWERS_KO = ["설정에서 다시 시도해 보세요.", "앱을 다시 시작하고 로그인해 보세요.", "고객센터로 문의해 주세요."]

WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdin=sys.stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'rc': p.returncode, 'wall': wall, 'rss_mb': rss / 1024, 'stdout': p.stdout[-2000:],"
    " 'stderr': p.stderr[-3000:]}))\n"
)


def load_pool() -> list[tuple[str, list[str]]]:
    """(language, texts that ask the same thing) groups."""
    groups: dict[tuple[str, str], list[str]] = {}
    try:
        for name, lang in (("clinc150_threads.jsonl", "en"), ("ko_support_dev.jsonl", "ko")):
            with open(os.path.join(DATA, name), encoding="utf-8") as f:
                for line in f:
                    item = json.loads(line)
                    groups.setdefault((lang, item["label"] or f"one-{item['id']}"), []).append(item["title"])
        with open(os.path.join(DATA, "ko_question_pairs.tsv"), encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f][1:]
        for n, r in enumerate(rows):
            if len(r) >= 3:
                groups[("ko", f"pair-{n}")] = [r[0], r[1]] if r[2].strip() == "0" else [r[0]]
    except OSError:
        return synthetic_pool()
    return [(lang, texts) for (lang, _), texts in sorted(groups.items())]


def synthetic_pool() -> list[tuple[str, list[str]]]:
    rng = random.Random(3)
    en = [
        "account",
        "password",
        "refund",
        "invoice",
        "export",
        "import",
        "sync",
        "calendar",
        "login",
        "mobile",
        "app",
        "team",
        "plan",
        "upgrade",
    ]
    ko = [
        "계정",
        "비밀번호",
        "환불",
        "영수증",
        "내보내기",
        "가져오기",
        "동기화",
        "캘린더",
        "로그인",
        "모바일",
        "앱",
        "팀",
        "요금제",
        "업그레이드",
    ]
    pool = []
    for k in range(3000):
        words, lang = (en, "en") if k % 2 else (ko, "ko")
        base = rng.sample(words, 3)
        pool.append(
            (lang, [" ".join(rng.sample(base, 3)) + (" 문의" if lang == "ko" else " question") for _ in range(4)])
        )
    return pool


def perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 3 and rng.random() < 0.3:
        del words[rng.randrange(len(words))]
    if len(words) > 3 and rng.random() < 0.2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def write_threads(path: str, n: int, start: int, pool, rng: random.Random, now: datetime) -> list[str]:
    en = [g for g in pool if g[0] == "en"]
    ko = [g for g in pool if g[0] == "ko"]
    titles = []
    with open(path, "w", encoding="utf-8") as f:
        for k in range(n):
            lang, texts = rng.choice(en if k % 2 else ko)
            title = perturb(rng.choice(texts), rng)
            filler = rng.choice(FILLER_EN if lang == "en" else FILLER_KO)
            body = f"{perturb(rng.choice(texts), rng)}. {filler} {perturb(rng.choice(texts), rng)}"
            item = {
                "external_id": f"b{start + k}",
                "title": title,
                "body": body,
                "category": rng.choice(["Account", "Billing", "Sync", "Mobile"]),
                "author": f"user{rng.randrange(20000)}",
                "created_at": (now - timedelta(minutes=rng.randrange(80 * 24 * 60))).isoformat() + "Z",
                "views": rng.randrange(500),
            }
            if rng.random() < 0.3:
                answers = ANSWERS_EN if lang == "en" else ANSWERS_KO
                item["replies"] = [
                    {
                        "body": rng.choice(answers),
                        "author": f"user{rng.randrange(20000)}",
                        "accepted": rng.random() < 0.5,
                    }
                ]
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
            titles.append(title)
    return titles


def measured(env: dict[str, str], *args: str, stdin: str | None = None) -> dict:
    """Runs ``python -m forum ARGS`` in a wrapper that reports its wall time and peak RSS alone."""
    cmd = [sys.executable, "-c", WRAPPER, sys.executable, "-m", "forum", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, input=stdin, text=True, capture_output=True)
    if proc.returncode != 0:
        sys.exit(f"wrapper failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        sys.exit(f"`forum {' '.join(args)}` exited {result['rc']}:\n{result['stderr']}")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=100_000)
    p.add_argument("--new", type=int, default=1000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp folder")
    p.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="bench-topic-job-")
    url = args.database_url or f"sqlite:///{work}/forum.db"
    env = dict(os.environ, FORUM_DATABASE_URL=url, FORUM_DATA_DIR=work, PYTHONUNBUFFERED="1")
    rng = random.Random(11)
    now = datetime.now(UTC).replace(tzinfo=None)
    pool = load_pool()
    print(f"database: {url}; texts from {DATA if len(pool) > 3000 else 'a synthetic vocabulary'}")

    first = os.path.join(work, "threads.jsonl")
    titles = write_threads(first, args.threads, 0, pool, rng, now)
    subprocess.run([sys.executable, "-m", "forum", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    r = measured(env, "import", "threads", first)
    print(f"import {args.threads:,} threads: {r['wall']:.1f} s, peak {r['rss_mb']:.0f} MB  | {r['stdout'].strip()}")

    r = measured(env, "topics", "detect", "--verbose")
    print(f"topics detect (first run, full): {r['wall']:.1f} s, peak {r['rss_mb']:.0f} MB")
    print("   " + " ".join(r["stdout"].split()))

    second = os.path.join(work, "new.jsonl")
    write_threads(second, args.new, args.threads, pool, rng, now)
    r = measured(env, "import", "threads", second)
    print(f"import {args.new:,} more threads: {r['wall']:.1f} s")
    r = measured(env, "topics", "detect", "--verbose")
    print(f"topics detect (re-run after {args.new:,} new threads): {r['wall']:.1f} s, peak {r['rss_mb']:.0f} MB")
    print("   " + " ".join(r["stdout"].split()))

    queries = [perturb(t, rng) for t in rng.sample(titles, min(args.queries, len(titles)))]
    one = measured(env, "similar", "--json", "--limit", "5", stdin=queries[0] + "\n")
    many = measured(env, "similar", "--json", "--limit", "5", stdin="\n".join(queries) + "\n")
    per_query = (many["wall"] - one["wall"]) / max(1, len(queries) - 1) * 1000
    print(
        f"forum similar: {one['wall']:.1f} s for 1 query (loading included), {many['wall']:.1f} s for "
        f"{len(queries)} queries, i.e. {per_query:.1f} ms a query; peak {many['rss_mb']:.0f} MB"
    )

    os.environ["FORUM_DATABASE_URL"] = url
    sys.path.insert(0, ROOT)
    from forum.db import make_sync_engine
    from forum.topics.similar_index import SimilarIndex

    engine = make_sync_engine(url)
    index = SimilarIndex(engine, refresh_every=float("inf"))
    t = time.perf_counter()
    index.ensure()
    load_s = time.perf_counter() - t
    index.search(queries[0], 5)
    times = []
    for q in queries:
        t = time.perf_counter()
        index.search(q, 5)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(
        f"similar lookup in process: index loaded in {load_s:.1f} s; median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, max {times[-1]:.1f} ms over {len(times)} queries"
    )
    engine.dispose()
    if args.keep:
        print(f"kept {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
