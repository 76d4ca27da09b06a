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

In folds mode (held-out evaluation) the topics of each clusters file are split into
K folds (random.Random(11); one-off threads spread over the folds too). Every
perturbed copy of a file drops a random share of its threads and adds noise to every
thread's vector; the clustering runs over all remaining threads, as in a forum. The
cohesion check's bars (forum.topics.cluster.prune) are chosen on the other folds'
topics and scored on the held-out fold's threads only: B-cubed precision / recall / F1
averaged over the held-out threads (their groups counted whole, so a group mixing a
held-out topic with a tuning one costs precision) and similar-questions precision@5
of held-out titles. Bars for English are chosen on all English files together (a bar
must serve CLINC and HWU64 at once), Korean ones on the Korean file: among the bars
whose tuning precision reaches --precision-target, the best F1. Pairs files are split
into K folds of pairs (recall@5 mean and spread). Embeddings are cached in $EVAL_CACHE
(default /tmp/eval-topics-cache). Means ± standard deviations over folds x copies.

    python scripts/eval_topics.py folds ../shared/data/ko_support_dev.jsonl \
        ../shared/data/clinc150_threads.jsonl ../shared/data/hwu64_threads.jsonl \
        ../shared/data/ko_question_pairs.tsv --folds 5 --perturb 2

In small mode (a forum of fewer than ClusterSettings.small_forum threads, as a new
community or the demo is) each sample is a small forum drawn from a clusters file
(random.Random(seed) for seeds --seed .. --seed + --samples - 1): 30, 45, 60 or 80
threads, holding 3-5 threads of each of size/8 labels and filled with threads of
other labels, which count as one-offs. Each sample is grouped with every smoothing
floor of --floors (ClusterSettings.smooth_floor) on the same vectors; B-cubed P / R /
F1 over all its threads (topic_quality's suggestion_scores), mean ± spread over the
samples, and the groups that mix labels.

    python scripts/eval_topics.py small ../shared/data/ko_support_dev.jsonl --floors 0,0.5 --samples 40
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
    from forum.text import ThreadText, get_analyzer
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
        [(n, ThreadText(i["title"], i.get("body") or i["title"]).index_text()) for n, i in enumerate(items)], analyzer
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


# ---------------------------------------------------------------- held-out folds


def _cached_vectors(items: list[dict]):  # type: ignore[no-untyped-def]
    """Every item's stored-style embedding (title + body), cached on disk by content."""
    import hashlib

    import numpy as np

    from forum.text import ThreadText
    from forum.topics import embed

    texts = [ThreadText(i["title"], _body_of(i)).encoding_text() for i in items]
    key = hashlib.sha256(("\x00".join(texts) + embed.fingerprint()).encode()).hexdigest()[:20]
    folder = os.environ.get("EVAL_CACHE", "/tmp/eval-topics-cache")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{key}.npy")
    if os.path.exists(path):
        return np.load(path)
    V = embed.encode(texts)
    np.save(path, V)
    return V


def _body_of(item: dict) -> str:
    from forum.text import ThreadText

    return ThreadText(item["title"], item.get("body") or item["title"]).analysed_body


def _memo_query_encoder() -> None:
    """Queries are encoded once per text however many folds and copies ask them."""
    import numpy as np

    from forum.topics import embed

    real = embed.encode
    memo: dict[tuple[str, bool, bool], np.ndarray] = {}

    def encode(texts, *, batch=256, query=False, quick=True):  # type: ignore[no-untyped-def]
        texts = list(texts)
        key = (query, query and quick)
        todo = [t for t in dict.fromkeys(texts) if (t, *key) not in memo]
        if todo:
            for t, v in zip(todo, real(todo, batch=batch, query=query, quick=quick), strict=True):
                memo[(t, *key)] = v
        return np.stack([memo[(t, *key)] for t in texts]) if texts else real(texts, query=query, quick=quick)

    embed.encode = encode  # type: ignore[assignment]


def _b3_held_out(labels: dict[str, str | None], clusters: list[list[str]], held: set[str]) -> tuple[float, float]:
    """B-cubed precision and recall averaged over the held-out items only; clusters count
    whole (all their members, held out or not), labels over every item given."""
    import collections

    cluster_of: dict[str, int] = {}
    for c, members in enumerate(clusters):
        for m in members:
            cluster_of.setdefault(m, c)
    total = collections.Counter(v for v in labels.values() if v is not None)
    counts = [collections.Counter(labels[m] for m in c if labels[m] is not None) for c in clusters]
    p = r = 0.0
    for item in held:
        lab, c = labels[item], cluster_of.get(item)
        if c is None:
            p += 1.0
            r += 1.0 / total[lab] if lab is not None else 1.0
            continue
        same = counts[c][lab] if lab is not None else 1
        p += same / len(clusters[c])
        r += same / total[lab] if lab is not None else 1.0
    n = len(held) or 1
    return p / n, r / n


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _folds_of(items: list[dict], k: int) -> list[set[str]]:
    """Topic folds (every topic's items in one fold), one-offs spread round-robin."""
    labs = sorted({i["label"] for i in items if i.get("label") is not None})
    random.Random(11).shuffle(labs)
    fold_of = {lab: n % k for n, lab in enumerate(labs)}
    folds: list[set[str]] = [set() for _ in range(k)]
    singles = [str(i["id"]) for i in items if i.get("label") is None]
    random.Random(12).shuffle(singles)
    for i in items:
        if i.get("label") is not None:
            folds[fold_of[i["label"]]].add(str(i["id"]))
    for n, s in enumerate(singles):
        folds[n % k].add(s)
    return folds


#: merge thresholds tried (None: the code's own)
THRESHOLDS: dict[bool, list[float | None]] = {True: [None, 0.50, 0.52, 0.58], False: [None, 0.70, 0.72, 0.74, 0.76]}
BAR_GRID = {
    True: [
        (m, r, g)
        for m in (-1.0, 0.20, 0.23, 0.26)
        for r in (0.0, 0.7, 0.75, 0.8, 0.85, 0.9)
        for g in (-1.0, 0.25, 0.30)
    ],
    False: [(m, r, g) for m in (-1.0, 0.40, 0.43, 0.46) for r in (0.0, 0.8, 0.85, 0.9) for g in (-1.0, 0.45, 0.50)],
}


def cmd_small(args, tq) -> None:
    import dataclasses

    import numpy as np

    from forum.text import get_analyzer
    from forum.topics import cluster
    from forum.topics.settings import DEFAULT_SETTINGS

    analyzer = get_analyzer()
    floors = [float(x) for x in args.floors.split(",")]
    with open(args.file, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    V = _cached_vectors(items)
    by_label: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        if item.get("label") is not None:
            by_label.setdefault(item["label"], []).append(n)
    labels = sorted(label for label, rows in by_label.items() if len(rows) >= 4)
    scores: dict[float, list[tuple[float, float, float, int, int]]] = {f: [] for f in floors}
    for seed in range(args.seed, args.seed + args.samples):
        rng = random.Random(seed)
        size = rng.choice([30, 45, 60, 80])
        topics = rng.sample(labels, k=max(3, size // 8))
        chosen: list[int] = []
        for label in topics:
            rows = by_label[label]
            chosen += rng.sample(rows, k=min(len(rows), rng.choice([3, 3, 4, 5])))
        others = [n for n in range(len(items)) if items[n].get("label") not in topics]
        chosen = sorted(chosen + rng.sample(others, k=max(0, size - len(chosen))))[:size]
        # the scorer's labels: threads of the other labels are one-offs (None)
        truth = {str(n): items[n]["label"] if items[n].get("label") in topics else None for n in chosen}
        docs = [cluster.Doc(id=n, title=items[n]["title"], body=_body_of(items[n])) for n in chosen]
        for floor in floors:
            settings = dataclasses.replace(DEFAULT_SETTINGS, smooth_floor=floor)
            found = cluster.detect(docs, analyzer, vectors=V[chosen].copy(), settings=settings)
            groups = [[str(d) for d in t.doc_ids] for t in found]
            b3 = tq.suggestion_scores(truth, groups, args.min_topic_size)
            mixed = sum(1 for g in groups if len({truth[d] or d for d in g}) > 1)
            scores[floor].append((b3["b3_precision"], b3["b3_recall"], b3["b3_f1"], len(found), mixed))
    for floor in floors:
        a = np.array(scores[floor])
        print(
            f"{os.path.basename(args.file)} floor {floor}: P {a[:, 0].mean():.3f}  R {a[:, 1].mean():.3f}  "
            f"F1 {a[:, 2].mean():.3f} ± {a[:, 2].std():.3f}  groups {int(a[:, 3].sum())}, mixing labels "
            f"{int(a[:, 4].sum())} ({args.samples} forums)"
        )


def cmd_folds(args, tq) -> None:
    import numpy as np

    from forum.text import ThreadText, get_analyzer
    from forum.topics import cluster
    from forum.topics.similarity import SimilarityIndex

    _memo_query_encoder()
    analyzer = get_analyzer()
    K = args.folds
    cluster_files = [f for f in args.file if f.endswith(".jsonl")]
    pair_files = [f for f in args.file if not f.endswith(".jsonl")]
    # runs[file] = list of (copy, labels, raw topics, index, kept ids); one detect per copy
    runs: dict[str, list] = {}
    folds: dict[str, list[set[str]]] = {}
    korean_file: dict[str, bool] = {}
    for path in cluster_files:
        with open(path, encoding="utf-8") as f:
            items = [json.loads(line) for line in f if line.strip()]
        V = _cached_vectors(items)
        folds[path] = _folds_of(items, K)
        n_korean = sum(cluster._is_korean(cluster.Doc(0, i["title"], _body_of(i))) for i in items)
        korean_file[path] = n_korean > len(items) / 2
        runs[path] = {}
        for th in [None] if args.keep_threshold else THRESHOLDS[korean_file[path]]:
            runs[path][th] = []
            for copy in range(args.perturb):
                rng = np.random.default_rng(100 + copy)
                keep = np.sort(rng.permutation(len(items))[: len(items) - int(args.drop * len(items))])
                noise = rng.standard_normal((len(keep), V.shape[1])).astype(np.float32)
                norms = np.linalg.norm(V[keep], axis=1, keepdims=True)
                noise *= args.noise * norms / np.sqrt(V.shape[1])
                Vp = V[keep] + noise
                Vp *= norms / np.maximum(np.linalg.norm(Vp, axis=1, keepdims=True), 1e-9)
                sub = [items[i] for i in keep]
                docs = [
                    cluster.Doc(id=n, title=i["title"], body=i.get("body") or i["title"]) for n, i in enumerate(sub)
                ]
                t0 = time.perf_counter()
                topics = cluster.detect(
                    docs,
                    analyzer,
                    min_size=args.min_topic_size,
                    vectors=Vp,
                    check=False,
                    threshold=th,
                    pair_bars=args.pair_bars,
                )
                detect_s = time.perf_counter() - t0
                ext = [str(i["id"]) for i in sub]
                for t in topics:  # doc ids -> external ids
                    t.doc_ids = [ext[d] for d in t.doc_ids]  # type: ignore[misc]
                    t.strengths = {ext[d]: v for d, v in t.strengths.items()}  # type: ignore[misc]
                index = SimilarityIndex.build(
                    [(n, ThreadText(i["title"], i.get("body") or i["title"]).index_text()) for n, i in enumerate(sub)],
                    analyzer,
                    vectors=Vp,
                )
                labels = {str(i["id"]): i.get("label") for i in sub}
                runs[path][th].append((copy, labels, topics, index, ext, sub))
                print(
                    f"# {os.path.basename(path)} threshold {th} copy {copy}: {len(sub)} threads, "
                    f"detect {detect_s:.1f} s",
                    file=sys.stderr,
                )

    def score(path: str, copy_run, fold_ids: set[str], bar_k, bar_o, with_similar: bool = False) -> dict:
        _, labels, topics, index, ext, sub = copy_run
        kept, _maybe = cluster.prune_topics(topics, args.min_topic_size, bar_k, bar_o)
        clusters = [list(t.doc_ids) for t in kept]
        held = {i for i in fold_ids if i in labels}
        p, r = _b3_held_out(labels, clusters, held)
        out = {"P": p, "R": r, "F1": _f1(p, r)}
        if with_similar:
            pos = {e: n for n, e in enumerate(ext)}
            index.set_groups({pos[d]: g for g, t in enumerate(kept) for d in t.doc_ids})
            qs = [i for i in sub if str(i["id"]) in held and i.get("label") is not None]
            qs = random.Random(7).sample(qs, min(len(qs), args.queries // K + 1))
            res = [[ext[d] for d, _ in index.query(tq.one_line(i["title"]), args.limit + 1)] for i in qs]
            out["p@5"] = tq.precision_at_k(labels, [str(i["id"]) for i in qs], res, args.limit)
        return out

    none = (-1.0, 0.0, -1.0)
    default = {True: (None, none), False: (None, none)}
    korean_paths = [p for p in cluster_files if korean_file[p]]
    other_paths = [p for p in cluster_files if not korean_file[p]]
    results: dict[str, dict[str, list[dict]]] = {p: {"baseline": [], "held-out": []} for p in cluster_files}
    chosen: list[tuple] = []
    for fold in range(K):
        picks = {}
        for lang, paths in ((True, korean_paths), (False, other_paths)):
            if not paths or args.baseline:
                picks[lang] = default[lang]
                continue
            best, best_key = default[lang], None
            for th, bar in [(th, bar) for th in runs[paths[0]] for bar in BAR_GRID[lang]]:
                f1s, ps = [], []
                for path in paths:
                    tune = set().union(*[folds[path][j] for j in range(K) if j != fold])
                    for run in runs[path][th]:
                        s = score(path, run, tune, bar if lang else none, bar if not lang else none)
                        f1s.append(s["F1"])
                        ps.append(s["P"])
                f1, p = sum(f1s) / len(f1s), sum(ps) / len(ps)
                # precision first: among bars keeping tuning precision >= the target, the best F1
                key = (p >= args.precision_target, f1 if p >= args.precision_target else p)
                if best_key is None or key > best_key:
                    best, best_key = (th, bar), key
            picks[lang] = best
        chosen.append((fold, picks[True], picks[False]))
        for path in cluster_files:
            th, bar = picks[korean_file[path]]
            for run in runs[path][None]:
                results[path]["baseline"].append(score(path, run, folds[path][fold], none, none, True))
            if args.baseline:
                continue
            for run in runs[path][th]:
                results[path]["held-out"].append(score(path, run, folds[path][fold], bar, bar, True))
    for fold, bk, bo in chosen:
        print(f"fold {fold}: (threshold, bars) chosen on the other folds: Korean {bk}, other {bo}")
    for path in cluster_files:
        for name, rows in results[path].items():
            if args.baseline and name != "baseline":
                continue
            line = [f"{os.path.basename(path)} {name}:"]
            for m in ("P", "R", "F1", "p@5"):
                vals = np.array([r[m] for r in rows])
                line.append(f"{m} {vals.mean():.3f} ± {vals.std():.3f}")
            print("  ".join(line))
    for path in pair_files:
        _folds_pairs(path, args, tq, analyzer)


def _folds_pairs(path: str, args, tq, analyzer) -> None:
    import numpy as np

    from forum.topics.similarity import SimilarityIndex

    with open(path, encoding="utf-8") as f:
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
    texts = list(ids)
    items = [{"title": t, "body": t} for t in texts]
    V = _cached_vectors(items)
    index = SimilarityIndex.build([(n, f"{t}\n{t}") for n, t in enumerate(texts)], analyzer, vectors=V)
    ext = [ids[t] for t in texts]
    results = [[ext[d] for d, _ in index.query(q, 5)] for q, _ in same]
    order = list(range(len(same)))
    random.Random(13).shuffle(order)
    r5 = []
    for fold in range(args.folds):
        part = order[fold :: args.folds]
        r5.append(tq.retrieval_scores([same[i][1] for i in part], [results[i] for i in part])["recall@5"])
    a = np.array(r5)
    print(f"{os.path.basename(path)}: pairs recall@5 {a.mean():.3f} ± {a.std():.3f} over {args.folds} folds")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["clusters", "pairs", "incremental", "folds", "small"])
    p.add_argument("file", nargs="+")
    p.add_argument("--tools", default=None, help="folder holding topic_quality.py (default: ../shared/tools)")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--min-topic-size", type=int, default=3)
    p.add_argument("--threshold", type=float, default=None, help="override the clustering threshold (experiments)")
    p.add_argument("--show", type=int, default=0, help="print the first N topics")
    p.add_argument("--new-share", type=float, default=0.1, help="incremental: share of threads that arrive later")
    p.add_argument("--folds", type=int, default=5, help="folds: number of topic folds")
    p.add_argument("--perturb", type=int, default=2, help="folds: perturbed copies of each file")
    p.add_argument("--drop", type=float, default=0.1, help="folds: share of threads each perturbation drops")
    p.add_argument("--noise", type=float, default=0.05, help="folds: relative noise added to each vector")
    p.add_argument("--precision-target", type=float, default=0.9, help="folds: tuning precision to keep")
    p.add_argument(
        "--pair-bars",
        type=lambda v: tuple(float(x) for x in v.split(",")),
        default=None,
        help="folds: KOREAN,OTHER bars of joining best matches (above 1: off)",
    )
    p.add_argument("--keep-threshold", action="store_true", help="folds: choose bars only, not merge thresholds")
    p.add_argument("--baseline", action="store_true", help="folds: score without the cohesion check only")
    p.add_argument("--floors", default="0,0.5", help="small: comma list of smoothing floors to compare")
    p.add_argument("--samples", type=int, default=40, help="small: forums drawn")
    p.add_argument("--seed", type=int, default=0, help="small: first sample's seed")
    args = p.parse_args()
    sys.path.insert(0, _tools_path(args.tools))
    import topic_quality as tq

    if args.mode == "folds":
        cmd_folds(args, tq)
        return
    for f in list(args.file):
        args.file = f
        modes = {"clusters": cmd_clusters, "pairs": cmd_pairs, "incremental": cmd_incremental, "small": cmd_small}
        modes[args.mode](args, tq)


if __name__ == "__main__":
    main()
