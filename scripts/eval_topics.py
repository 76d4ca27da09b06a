#!/usr/bin/env python3
"""Score the topic-detection algorithm directly (no database, no CLI).

    python scripts/eval_topics.py clusters ../shared/data/clinc150_threads.jsonl
    python scripts/eval_topics.py clusters ../shared/data/ko_support_dev.jsonl
    python scripts/eval_topics.py pairs ../shared/data/ko_question_pairs.tsv

Mirrors ../shared/tools/topic_quality.py (and imports its metrics): in clusters
mode every item is a thread (title + body); topics come from
forum.topics.cluster.detect; similar questions are the titles of 500 random
labelled items (random.Random(7)), limit 6, the query itself left out.
In pairs mode the index holds every distinct question2 and each question1 of a
same-meaning pair must find its partner in the top 5.
In incremental mode (clusters files) topics are detected on a random share of the
threads (random.Random(3)); the rest then arrive as an incremental run does it:
they join topics (forum.topics.cluster.assign: nearest members and words, or words
alone) and the ones that join nothing are grouped among themselves. Scored like
clusters mode, beside a full run over everything.

    python scripts/eval_topics.py incremental ../shared/data/ko_support_dev.jsonl --new-share 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _tools_path(explicit: str | None) -> str:
    for cand in [explicit, os.path.join(ROOT, "..", "shared", "tools"), "/work/shared/tools"]:
        if cand and os.path.exists(os.path.join(cand, "topic_quality.py")):
            return os.path.abspath(cand)
    sys.exit("cannot find topic_quality.py; pass --tools DIR")


def cmd_clusters(args, tq) -> None:
    from forum.text import get_analyzer
    from forum.topics.cluster import Doc, detect
    from forum.topics.similarity import SimilarityIndex

    with open(args.file, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    labels = {str(i["id"]): i.get("label") for i in items}
    t0 = time.perf_counter()
    analyzer = get_analyzer()
    load_s = time.perf_counter() - t0
    docs = [Doc(id=n, title=i["title"], body=i.get("body") or i["title"]) for n, i in enumerate(items)]
    t0 = time.perf_counter()
    topics = (
        detect(docs, analyzer, min_size=args.min_topic_size, threshold=args.threshold)
        if args.threshold
        else detect(docs, analyzer, min_size=args.min_topic_size)
    )
    detect_s = time.perf_counter() - t0
    ext = [str(i["id"]) for i in items]
    suggestions = [[ext[d] for d in t.doc_ids] for t in topics]
    scores = tq.suggestion_scores(labels, suggestions, args.min_topic_size)

    t0 = time.perf_counter()
    index = SimilarityIndex.build(
        [(n, f"{i['title']}\n{i.get('body') or i['title']}") for n, i in enumerate(items)], analyzer
    )
    build_s = time.perf_counter() - t0
    rng = random.Random(7)
    labelled = [i for i in items if i.get("label") is not None]
    sample = rng.sample(labelled, min(args.queries, len(labelled)))
    pos = {str(i["id"]): n for n, i in enumerate(items)}
    t0 = time.perf_counter()
    results = [[ext[d] for d, _ in index.query(tq.one_line(i["title"]), args.limit + 1)] for i in sample]
    query_ms = (time.perf_counter() - t0) / max(1, len(sample)) * 1000
    p5 = tq.precision_at_k(labels, [str(i["id"]) for i in sample], results, args.limit)
    del pos
    print(
        json.dumps(
            {
                **scores,
                "similar_p@5": p5,
                "detect_s": detect_s,
                "analyzer_load_s": load_s,
                "index_build_s": build_s,
                "query_ms": query_ms,
            },
            indent=1,
        )
    )
    print(
        "topics: b3_f1={b3_f1:.3f} (P={b3_precision:.3f} R={b3_recall:.3f}) purity={purity:.3f} "
        "coverage={coverage:.3f} redundancy={redundancy:.2f} noise={noise:.3f} "
        "similar_p@5={p5:.3f} detect_s={d:.1f}".format(**scores, p5=p5, d=detect_s)
    )
    if args.show:
        for t in topics[: args.show]:
            print(
                f"  [{t.size}] {t.title} | {', '.join(t.key_terms[:6])} | cohesion={t.cohesion:.2f} | "
                + ",".join(sorted({str(labels[ext[d]]) for d in t.doc_ids}))
            )


def cmd_incremental(args, tq) -> None:
    from forum.text import get_analyzer
    from forum.topics.cluster import Doc, assign, detect, doc_vectors

    with open(args.file, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    labels = {str(i["id"]): i.get("label") for i in items}
    ext = [str(i["id"]) for i in items]
    analyzer = get_analyzer()
    docs = [Doc(id=n, title=i["title"], body=i.get("body") or i["title"]) for n, i in enumerate(items)]
    order = list(range(len(docs)))
    random.Random(3).shuffle(order)
    cut = len(docs) - int(len(docs) * args.new_share)
    first, rest = sorted(order[:cut]), sorted(order[cut:])
    V = doc_vectors(docs)
    k = args.min_topic_size

    def line(name: str, groups) -> None:  # type: ignore[no-untyped-def]
        sc = tq.suggestion_scores(labels, [[ext[d] for d in g] for g in groups], k)
        print(f"{name}: b3_f1={sc['b3_f1']:.3f} (P={sc['b3_precision']:.3f} R={sc['b3_recall']:.3f})")

    line("full run over everything", [t.doc_ids for t in detect(docs, analyzer, min_size=k, vectors=V)])
    base = detect([docs[i] for i in first], analyzer, min_size=k, vectors=V[first])
    line(f"full run over the first {len(first)}", [t.doc_ids for t in base])
    members = sorted({d for t in base for d in t.doc_ids})
    for name, kw in (
        ("words alone", {}),
        ("nearest members and words", {"vectors": V[rest], "members": (members, V[members])}),
    ):
        joined, left = assign([docs[i] for i in rest], base, analyzer, **kw)
        ids = [d.id for d in left]
        new = detect([docs[i] for i in ids], analyzer, min_size=k, vectors=V[ids]) if len(ids) >= k else []
        line(
            f"then {len(rest)} arrive, {len(rest) - len(left)} join by {name}",
            [t.doc_ids for t in joined] + [t.doc_ids for t in new],
        )


def cmd_pairs(args, tq) -> None:
    from forum.text import get_analyzer
    from forum.topics.similarity import SimilarityIndex

    with open(args.file, encoding="utf-8") as f:
        rows = [line.split("\t") for line in f.read().splitlines()][1:]
    rows = [r for r in rows if len(r) >= 3]
    ids: dict[str, str] = {}
    for _q1, q2, _ in rows:
        ids.setdefault(tq.one_line(q2), f"t{len(ids)}")
    same = [
        (tq.one_line(q1), ids[tq.one_line(q2)])
        for q1, q2, dup in rows
        if dup.strip() == "0" and tq.one_line(q1) != tq.one_line(q2)
    ]
    analyzer = get_analyzer()
    texts = list(ids)
    t0 = time.perf_counter()
    index = SimilarityIndex.build([(n, f"{t}\n{t}") for n, t in enumerate(texts)], analyzer)
    build_s = time.perf_counter() - t0
    ext = [ids[t] for t in texts]
    t0 = time.perf_counter()
    results = [[ext[d] for d, _ in index.query(q, 5)] for q, _ in same]
    query_ms = (time.perf_counter() - t0) / max(1, len(same)) * 1000
    scores = tq.retrieval_scores([t for _, t in same], results)
    print(
        json.dumps(
            {**scores, "queries": len(same), "threads": len(ids), "index_build_s": build_s, "query_ms": query_ms},
            indent=1,
        )
    )
    print("pairs: recall@1={recall@1:.3f} recall@5={recall@5:.3f} mrr={mrr:.3f}".format(**scores))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["clusters", "pairs", "incremental"])
    p.add_argument("file")
    p.add_argument("--tools", default=None, help="folder holding topic_quality.py (default: ../shared/tools)")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--min-topic-size", type=int, default=3)
    p.add_argument("--threshold", type=float, default=None, help="override the clustering threshold (experiments)")
    p.add_argument("--show", type=int, default=0, help="print the first N topics")
    p.add_argument("--new-share", type=float, default=0.1, help="incremental: share of threads that arrive later")
    args = p.parse_args()
    sys.path.insert(0, _tools_path(args.tools))
    import topic_quality as tq

    {"clusters": cmd_clusters, "pairs": cmd_pairs, "incremental": cmd_incremental}[args.mode](args, tq)


if __name__ == "__main__":
    main()
