#!/usr/bin/env python3
"""Speed and memory benchmark of the topic algorithm on synthetic threads.

    python scripts/bench_topics.py [--n 100000] [--new 1000] [--queries 200]

Builds N realistic threads (half Korean, half English) by recombining and
perturbing the shared development texts (../shared/data: CLINC requests,
Korean support questions, Korean question pairs): a thread's title is one
text, its body the title plus another text of the same intent and a little
filler, with words dropped or swapped.  Then times:

* analysis of all threads (Kiwi morphemes + English stemming),
* full topic detection (from the analysed terms),
* incremental update: 1,000 new threads assigned to the existing topics,
* similar-question lookup latency (median / p95) on an index of all threads,

and prints the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FILLER_EN = [
    "thanks in advance",
    "any help appreciated",
    "this started yesterday",
    "on my phone",
    "it is urgent",
    "I tried again",
    "not sure what to do",
    "since the last update",
    "for my team",
    "please advise",
]
FILLER_KO = [
    "미리 감사합니다",
    "도와주세요",
    "어제부터 이래요",
    "휴대폰에서요",
    "급합니다",
    "다시 해봤는데요",
    "어떻게 해야 할지 모르겠어요",
    "업데이트 이후로요",
    "팀에서 쓰고 있어요",
    "답변 부탁드립니다",
]


def load_pool(data_dir: str) -> list[tuple[str, list[str]]]:
    """(language, texts of one intent) groups."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, lang in (("clinc150_threads.jsonl", "en"), ("ko_support_dev.jsonl", "ko")):
        with open(os.path.join(data_dir, name), encoding="utf-8") as f:
            lines = f.read().splitlines()
        for line in lines:
            i = json.loads(line)
            key = (lang, i["label"] or f"one-{i['id']}")
            groups.setdefault(key, []).append(i["title"])
    with open(os.path.join(data_dir, "ko_question_pairs.tsv"), encoding="utf-8") as f:
        rows = [line.split("\t") for line in f.read().splitlines()][1:]
    for n, r in enumerate(rows):
        if len(r) >= 3:
            groups[("ko", f"pair-{n}")] = [r[0], r[1]] if r[2].strip() == "0" else [r[0]]
    return [(lang, texts) for (lang, _), texts in sorted(groups.items())]


def perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 3 and rng.random() < 0.3:
        del words[rng.randrange(len(words))]
    if len(words) > 3 and rng.random() < 0.2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def make_threads(n: int, pool, rng: random.Random, start_id: int = 0):
    from forum.topics.cluster import Doc

    en = [g for g in pool if g[0] == "en"]
    ko = [g for g in pool if g[0] == "ko"]
    docs = []
    for k in range(n):
        lang, texts = rng.choice(en if k % 2 else ko)
        title = perturb(rng.choice(texts), rng)
        filler = rng.choice(FILLER_EN if lang == "en" else FILLER_KO)
        body = f"{perturb(rng.choice(texts), rng)}. {filler}. {perturb(rng.choice(texts), rng)}"
        docs.append(Doc(id=start_id + k, title=title, body=body, views=rng.randrange(500), solved=rng.random() < 0.5))
    return docs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--new", type=int, default=1000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = p.parse_args()
    if not os.path.exists(args.data):
        args.data = "/work/shared/data"

    from forum.text import get_analyzer
    from forum.topics.cluster import assign, detect, doc_terms, doc_text, doc_vectors
    from forum.topics.similarity import SimilarityIndex

    rng = random.Random(1)
    pool = load_pool(args.data)
    docs = make_threads(args.n, pool, rng)
    new_docs = make_threads(args.new, pool, rng, start_id=args.n)
    print(f"threads: {len(docs)} (+{len(new_docs)} new); rss after generation {peak_rss_mb():.0f} MB")

    t0 = time.perf_counter()
    analyzer = get_analyzer()
    print(f"analyser load: {time.perf_counter() - t0:.1f} s")

    t0, c0 = time.perf_counter(), time.process_time()
    for d, t in zip(docs, doc_terms(docs, analyzer), strict=False):
        d.terms = t
    analyse_s, analyse_c = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"analysis of {len(docs)} threads: {analyse_s:.1f} s wall, {analyse_c:.1f} s cpu (all threads)"
        f"  (peak rss {peak_rss_mb():.0f} MB)"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    vectors = doc_vectors(docs)  # what the forum stores per thread at import
    print(
        f"sentence embeddings of {len(docs)} threads: {time.perf_counter() - t0:.1f} s wall, "
        f"{time.process_time() - c0:.1f} s cpu  (peak rss {peak_rss_mb():.0f} MB)"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    topics = detect(docs, analyzer, vectors=vectors)
    detect_s, detect_c = time.perf_counter() - t0, time.process_time() - c0
    clustered = sum(t.size for t in topics)
    print(
        f"full detection (terms cached): {detect_s:.1f} s wall, {detect_c:.1f} s cpu -> {len(topics)} topics, "
        f"{clustered} threads clustered  (peak rss {peak_rss_mb():.0f} MB)"
    )
    print(f"full detection incl. analysis: {detect_s + analyse_s:.1f} s wall, {detect_c + analyse_c:.1f} s cpu")
    print("(assign joins by words: new threads' embeddings only matter when they form new topics)")

    t0, c0 = time.perf_counter(), time.process_time()
    _updated, leftovers = assign(new_docs, topics, analyzer)
    fresh = detect(leftovers, analyzer) if len(leftovers) >= 3 else []
    assign_s, assign_c = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"incremental: {len(new_docs)} new threads (analysis included) in {assign_s:.2f} s wall, {assign_c:.2f} s cpu "
        f"({len(new_docs) - len(leftovers)} joined, {len(leftovers)} left over -> {len(fresh)} new topics)"
    )

    t0 = time.perf_counter()
    # as the forum's service does it: from the stored (cached) terms, no second analysis
    features = [analyzer.features(doc_text(d), d.terms) for d in docs]
    index = SimilarityIndex.build([(d.id, doc_text(d)) for d in docs], analyzer, features=features, vectors=vectors)
    del features
    build_s = time.perf_counter() - t0
    print(f"similarity index build (terms cached): {build_s:.1f} s  (peak rss {peak_rss_mb():.0f} MB)")
    t0 = time.perf_counter()
    index.add([(d.id, doc_text(d)) for d in new_docs])
    print(f"index add {len(new_docs)}: {time.perf_counter() - t0:.2f} s")
    lat = []
    qrng = random.Random(3)
    for _ in range(args.queries):
        d = qrng.choice(new_docs)
        q = perturb(d.title, qrng) + " " + qrng.choice(["?", "요", "please"])
        t0 = time.perf_counter()
        index.query(q, 5)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    print(
        f"similar lookup: median {statistics.median(lat):.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms "
        f"over {len(lat)} queries"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
