"""Repeated-topic detection: group threads that ask the same thing.

Pure algorithm, no database; vectorised with numpy/scipy (no Python loops over
pairs).  Steps:

1. Every thread becomes a weighted tf-idf vector over analyser features
   (title counted twice, body once; see :mod:`forum.topics.similarity`),
   built in chunks so memory stays flat.
2. A k-nearest-neighbour graph (exact up to 15,000 threads, candidate
   generation over rarer features plus exact re-scoring above) proposes which
   threads may belong together.
3. Neighbour smoothing: each vector borrows a share of its nearest neighbours'
   vectors, so paraphrases that share neighbours but few words move together;
   the graph's edges are re-scored with the smoothed vectors.
4. Agglomeration along the graph by reciprocal nearest neighbours
   (:func:`rac_cluster`): every round all pairs of groups that are each other's
   best match merge at once, while the cosine of their centroids is at least
   ``threshold``.  Group similarities are exact (from group sum vectors).
5. Groups smaller than ``min_size`` are one-off questions and stay
   unclustered.  Every topic gets its most central member's title, key terms
   and a centroid so new threads can join it later (:func:`assign`).

With sentence embeddings on (the default, :mod:`forum.topics.embed`), every row
is the tf-idf vector (scaled by sqrt(1 - w)) next to the thread's embedding
(scaled by sqrt(w)), so every dot product above is the blend
``(1 - w) tf-idf cosine + w embedding cosine``; Korean and other threads are
grouped separately, each against its own threshold.  Key terms, centroids and
cohesion (what explains a topic and lets new threads join it) stay lexical.

Deterministic: no randomness, ties broken by document id; input order does not matter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from forum.text import ThreadText, english_stem, has_hangul, is_english_word, written_forms

from .settings import DEFAULT_SETTINGS, DEFAULT_SIMILARITY, Bars, ClusterSettings, SimilaritySettings
from .similarity import TextModel, dense_dots, knn_graph, pair_dots

__all__ = ["Doc", "Topic", "assign", "detect", "doc_features"]

#: new threads compared at a time when joining by nearest members
_JOIN_BLOCK = 2048


def smooth_vectors(
    X: sp.csr_matrix,
    nbr: np.ndarray,
    sim: np.ndarray,
    beta: float,
    k: int,
    E: np.ndarray | None = None,
    floor: float = 0.0,
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Each row plus ``beta`` times the similarity-weighted mean of its ``k`` nearest
    neighbours at least ``floor`` similar, re-normalised (over both parts when rows have
    a dense part ``E``)."""
    n = X.shape[0]
    k = min(k, nbr.shape[1])
    rows = np.repeat(np.arange(n), k)
    cols = nbr[:, :k].ravel()
    vals = sim[:, :k].ravel().astype(np.float32)
    ok = cols >= 0
    if floor > 0:
        ok &= vals >= floor
    W = sp.csr_matrix((vals[ok], (rows[ok], cols[ok])), shape=(n, n))
    rowsum = np.asarray(W.sum(axis=1)).ravel()
    rowsum[rowsum == 0] = 1.0
    W = sp.diags((1.0 / rowsum).astype(np.float32)) @ W
    Y = (X + beta * (W @ X)).tocsr()
    if E is None:
        from .similarity import _l2_rows

        return _l2_rows(Y), None
    F = W @ E
    F *= np.float32(beta)
    F += E
    sq = np.asarray(Y.multiply(Y).sum(axis=1)).ravel() + np.einsum("ij,ij->i", F, F)
    inv = (1.0 / np.sqrt(np.maximum(sq, 1e-12))).astype(np.float32)
    F *= inv[:, None]
    return (sp.diags(inv) @ Y).tocsr(), F


@dataclass
class Doc:
    id: int
    title: str
    body: str = ""
    created_at: datetime | None = None
    views: int = 0
    solved: bool = False
    terms: list[str] | None = None  # optional cached analyser terms of title + body

    @property
    def text(self) -> ThreadText:
        return ThreadText(self.title, self.body)


@dataclass
class Topic:
    doc_ids: list[int]
    title: str
    key_terms: list[str]
    centroid: dict[str, float]  # feature -> weight of the normalised mean vector
    cohesion: float = 0.0  # average pairwise cosine similarity of the members
    #: the weakest member's mean similarity to the rest (blend of words and meaning, see
    #: :func:`prune`); 0 when not measured
    agreement: float = 0.0
    #: each member's mean similarity to the rest (doc id -> strength), see :func:`prune`
    strengths: dict[int, float] = field(default_factory=dict, repr=False, compare=False)
    korean: bool = False
    key: str = ""  # stable identity across runs (inherited from the previous run when it overlaps)
    representative_id: int | None = None
    model: TextModel | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.doc_ids)


def doc_text(doc: Doc) -> str:
    return doc.text.analysis_text()


def doc_terms(docs: Sequence[Doc], analyzer) -> list[list[str]]:
    """Analyser terms of every doc's text (``doc.terms`` when cached).  Title and body
    are analysed separately, so the title (counted twice) goes through Kiwi once."""
    out: list[list[str] | None] = [d.terms for d in docs]
    todo = [i for i, d in enumerate(docs) if d.terms is None]
    if todo:
        many = analyzer.terms_many if hasattr(analyzer, "terms_many") else (lambda ts: [analyzer.terms(t) for t in ts])
        titles = many([docs[i].title or "" for i in todo])
        bodies = many([docs[i].text.analysed_body for i in todo])
        for i, t, b in zip(todo, titles, bodies, strict=False):
            out[i] = docs[i].text.terms(t, b)
    return [o or [] for o in out]


def doc_vectors(docs: Sequence[Doc]) -> np.ndarray:
    """Sentence embeddings of every doc, encoded now (the job reads stored ones instead)."""
    from . import embed

    return embed.encode([ThreadText(d.title, d.text.analysed_body).encoding_text() for d in docs])


def _is_korean(doc: Doc) -> bool:
    """Whether a thread is grouped (and joins) as a Korean one (:attr:`forum.text.ThreadText.korean`)."""
    return doc.text.korean


def doc_features(docs: Sequence[Doc], analyzer) -> list[list[str]]:
    terms = doc_terms(docs, analyzer)
    return [analyzer.features(doc_text(d), t) for d, t in zip(docs, terms, strict=False)]


def iter_doc_features(docs: Sequence[Doc], analyzer, chunk: int = 5000):
    """:func:`doc_features` in chunks (a generator), to keep memory flat on large inputs."""
    for s in range(0, len(docs), chunk):
        yield doc_features(docs[s : s + chunk], analyzer)


# ---------------------------------------------------------------- clustering


def _edge_list(
    nbr: np.ndarray, sim: np.ndarray, floor: float, top: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Undirected, de-duplicated kNN edges (a < b) with similarity >= floor, sorted by (a, b),
    how many of the two rows name the other among their neighbours (1 or 2), and how many
    name it among their ``top`` nearest (0, 1 or 2; all zero when ``top`` is 0)."""
    n, k = nbr.shape
    r = np.repeat(np.arange(n, dtype=np.int64), k)
    c = nbr.ravel().astype(np.int64)
    w = sim.ravel().astype(np.float64)
    rank = np.tile(np.arange(k, dtype=np.int64), n)
    ok = (c >= 0) & (c != r) & (w >= floor) & (w > 0)
    a = np.minimum(r[ok], c[ok])
    b = np.maximum(r[ok], c[ok])
    w = w[ok]
    _, first, inv, count = np.unique(a * n + b, return_index=True, return_inverse=True, return_counts=True)
    near = np.bincount(inv.ravel(), weights=(rank[ok] < top).astype(np.float64), minlength=len(first))
    return a[first], b[first], w[first], count.astype(np.float64), near


def rac_cluster(
    X: sp.csr_matrix,
    nbr: np.ndarray,
    sim: np.ndarray,
    threshold: float,
    *,
    linkage: str = "average",
    floor: float | None = None,
    max_rounds: int = 10_000,
    E: np.ndarray | None = None,
    own: bool = False,
    link: float = 0.0,
    link_min: int = 2,
    ranked: tuple[float, float, int] | None = None,
) -> np.ndarray:
    """Agglomerative clustering of the rows of X (unit vectors) along kNN-graph edges,
    by reciprocal nearest neighbours (RAC): every round, each group finds its most
    similar adjacent group, and all pairs that choose each other merge at once.
    For average linkage this gives the same merges as the classic one-at-a-time
    algorithm, but every round is a handful of numpy/scipy operations.

    Group similarity comes from group sum vectors:
    ``average``: mean pairwise cosine ``sum(A).sum(B) / (|A||B|)``;
    ``centroid``: cosine of the sums.  Merging stops below ``threshold``.
    When B merges into A, the edges B had are scored again exactly. The edges A
    already had get the exact dense part (embedding dot products are cheap) but keep
    the sparse part of their dot product (``sum(A).sum(C)`` before the merge, usually
    the smaller part of the new one) until one of their ends is merged into another
    group: a conservative shortcut. Sparse group sums grow long, and scoring their
    every edge exactly took four times as long at 100,000 threads (keeping the dense
    part stale as well scored worse, see docs/topic-tuning.md).
    Rows may have a dense part ``E`` next to ``X`` (with ``own``, E becomes the group
    sums in place instead of being copied).
    ``link`` (the link test, 0: off): two groups of at least ``link_min`` rows each merge
    only when the kNN graph ties them: the neighbour links between them (a row naming a
    row of the other group among its k neighbours counts one) are at least ``link``
    times the ``2 k`` links the smaller group's rows could have there. Two questions
    close enough on average (centroids) but each asked in wordings whose nearest
    neighbours are their own stay apart; the links are counted through the merges
    (cheap), see docs/topic-tuning.md.
    ``ranked`` (bar, share, top; None: off): two groups of at least ``link_min`` rows each
    whose centroids are at least ``bar`` similar (below ``threshold``) merge too when the
    rank links between them (a row naming a row of the other group among its ``top``
    nearest counts one) are at least ``share`` times the links there could be (each row of
    either group naming ``top`` rows, or all of the other group's when it is smaller):
    wordings of one question far apart in words and meaning, but each other's nearest
    neighbours. Single rows never merge this way (a one-off question's nearest neighbours
    are somewhere too), only groups that formed above ``threshold``.
    Returns the group label (its smallest member row) of every row."""
    n = X.shape[0]
    label = np.arange(n, dtype=np.int64)
    if n < 2:
        return label
    floor = threshold * 0.5 if floor is None else floor
    low, share, top = ranked if ranked is not None else (threshold, 0.0, 0)
    if ranked is not None:
        floor = min(floor, low)
    ea, eb, ew, ec, er = _edge_list(nbr, sim, floor, top)
    links = 2.0 * link * max(1, nbr.shape[1])  # times the smaller group's size
    S = sp.csr_matrix(X, dtype=np.float32)
    G = None if E is None else (E if own else np.array(E, dtype=np.float32))  # dense part of the group sums
    size = np.ones(n, dtype=np.float64)
    sqn = np.asarray(S.multiply(S).sum(axis=1), dtype=np.float64).ravel()
    if G is not None:
        sqn += np.einsum("ij,ij->i", G, G)
    ewd = None if G is None else dense_dots(G, ea, eb).astype(np.float64)  # the dense part of each weight
    for _ in range(max_rounds):
        if not len(ea):
            break
        sc = ew / np.sqrt(np.maximum(sqn[ea] * sqn[eb], 1e-12)) if linkage == "centroid" else ew / (size[ea] * size[eb])
        ok = sc >= threshold
        if link > 0:
            smaller = np.minimum(size[ea], size[eb])
            ok &= (smaller < link_min) | (ec >= links * smaller)
        if ranked is not None:
            sa, sb = size[ea], size[eb]
            could = sa * np.minimum(top, sb) + sb * np.minimum(top, sa)
            ok |= (sc >= low) & (er >= share * could) & (np.minimum(sa, sb) >= link_min)
        good = np.flatnonzero(ok)
        if not len(good):
            break
        u = np.concatenate([ea[good], eb[good]])
        v = np.concatenate([eb[good], ea[good]])
        s2 = np.concatenate([sc[good], sc[good]])
        order = np.lexsort((v, -np.round(s2, 6), u))
        u, v = u[order], v[order]
        first = np.r_[True, u[1:] != u[:-1]]
        best = np.full(n, -1, dtype=np.int64)
        best[u[first]] = v[first]
        cand = u[first]
        partner = best[cand]
        mutual = (best[partner] == cand) & (cand < partner)
        A, B = cand[mutual], partner[mutual]
        if not len(A):
            break
        # weight of the merged edges (a, b), a < b: edges are sorted by (a, b)
        keys = ea * n + eb
        wab = ew[np.searchsorted(keys, A * n + B)]
        sqn[A] += sqn[B] + 2.0 * wab
        size[A] += size[B]
        size[B] = 0.0
        m = np.arange(n, dtype=np.int64)
        m[B] = A
        label = m[label]
        M = sp.csr_matrix((np.ones(n, np.float32), (m, np.arange(n))), shape=(n, n))
        S = (M @ S).tocsr()
        if G is not None:
            np.add.at(G, A, G[B])
            G[B] = 0.0
        na, nb = m[ea], m[eb]
        changed = (na != ea) | (nb != eb)
        keep = na != nb
        na, nb, ew, ec, er, changed = na[keep], nb[keep], ew[keep], ec[keep], er[keep], changed[keep]
        if not len(na):
            break
        lo, hi = np.minimum(na, nb), np.maximum(na, nb)
        keys = lo * n + hi
        order = np.argsort(keys, kind="stable")
        keys, lo, hi, ew, changed = keys[order], lo[order], hi[order], ew[order], changed[order]
        first = np.r_[True, keys[1:] != keys[:-1]]
        ec = np.add.reduceat(ec[order], np.flatnonzero(first))  # links between the merged groups add up
        er = np.add.reduceat(er[order], np.flatnonzero(first))
        # an edge that B had gets its exact new weight (see above)
        ch_any = np.maximum.reduceat(changed.astype(np.int8), np.flatnonzero(first)).astype(bool)
        ea, eb, ew = lo[first], hi[first], ew[first]
        if ewd is None:
            if ch_any.any():
                idx = np.flatnonzero(ch_any)
                ew[idx] = pair_dots(S, ea[idx], eb[idx])
            continue
        assert G is not None  # ewd is kept exactly when G is
        ewd = ewd[keep][order][first]
        grown = np.zeros(n, dtype=bool)
        grown[A] = True
        idx = np.flatnonzero(ch_any | grown[ea] | grown[eb])
        if len(idx):
            # the dense part of every edge of a grown group is exact (cheap); the sparse part
            # of the edges A already had stays as it was (see above)
            d = dense_dots(G, ea[idx], eb[idx])
            ew[idx] += d - ewd[idx]
            ewd[idx] = d
        idx = np.flatnonzero(ch_any)
        if len(idx):
            ew[idx] = pair_dots(S, ea[idx], eb[idx]) + ewd[idx]
    return label


def member_strengths(X: sp.csr_matrix, E: np.ndarray | None, groups: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Each member's mean similarity to the rest of its group (rows of ``X`` and ``E``,
    the sparse and dense parts of the same vectors; a dot product of two rows is their
    similarity), from the group sums: ``(x . sum - x . x) / (k - 1)``."""
    if not groups:
        return []
    n = X.shape[0]
    rows = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    gid = np.repeat(np.arange(len(groups)), sizes)
    A = sp.csr_matrix((np.ones(len(rows), np.float32), (gid, rows)), shape=(len(groups), n))
    SX = (A @ X).tocsr()
    SE = None if E is None else np.asarray(A @ E, dtype=np.float32)
    out = np.zeros(len(rows), dtype=np.float64)
    for s in range(0, len(rows), 8192):
        r, g = rows[s : s + 8192], gid[s : s + 8192]
        Xr = X[r]
        dot = np.asarray(Xr.multiply(SX[g]).sum(axis=1), dtype=np.float64).ravel()
        own = np.asarray(Xr.multiply(Xr).sum(axis=1), dtype=np.float64).ravel()
        if SE is not None and E is not None:
            Er = E[r]
            dot += np.einsum("ij,ij->i", Er, SE[g]).astype(np.float64)
            own += np.einsum("ij,ij->i", Er, Er).astype(np.float64)
        k = np.maximum(sizes[g] - 1, 1)
        out[s : s + 8192] = (dot - own) / k
    cuts = np.r_[0, np.cumsum(sizes)]
    return [out[cuts[i] : cuts[i + 1]] for i in range(len(groups))]


def join_best_matches(
    label: np.ndarray, nbr: np.ndarray, sim: np.ndarray, bar: float, min_size: int, max_size: int
) -> np.ndarray:
    """Rows in groups smaller than ``min_size`` that are each other's best matches at
    least ``bar`` similar (see ClusterSettings.pair_bar_korean) join: union of their groups,
    while the union stays at most ``max_size`` rows. Returns the new labels."""
    n = len(label)
    if n < 2 or not nbr.shape[1]:
        return label
    label = label.copy()
    size = np.bincount(label, minlength=n)
    small = size[label] < min_size
    parent = list(range(n))
    count = {int(g): int(c) for g, c in enumerate(size) if c}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs = []
    for i in np.flatnonzero(small).tolist():
        j = int(nbr[i, 0])
        if j < 0 or j == i or not small[j] or float(sim[i, 0]) < bar or i not in nbr[j].tolist():
            continue
        pairs.append((-float(sim[i, 0]), min(i, j), max(i, j)))
    for _, i, j in sorted(set(pairs)):
        a, b = root(int(label[i])), root(int(label[j]))
        if a == b or count[a] + count[b] > max_size:
            continue
        a, b = min(a, b), max(a, b)
        parent[b] = a
        count[a] += count.pop(b)
    roots = np.array([root(int(g)) for g in range(n)], dtype=np.int64)
    return roots[label]


def prune(strengths: Sequence[float], bar: Bars, min_size: int) -> list[int] | None:
    """The cohesion check: which members of a group stay (indices into ``strengths``),
    or None when what is left is not a topic to suggest (fewer than ``min_size``
    members, or members that on average agree less than the group bar). A member whose
    mean similarity to the rest is below the member bar, or below the relative bar times
    the group's mean, leaves: better a thread left out than a group that mixes two
    questions."""
    member_bar, relative, group_bar = bar
    mean = sum(strengths) / len(strengths) if strengths else 0.0
    keep = [i for i, v in enumerate(strengths) if v >= member_bar and v >= relative * mean]
    if len(keep) < min_size:
        return None
    if sum(strengths[i] for i in keep) / len(keep) < group_bar:
        return None
    return keep


def prune_topics(
    topics: Sequence[Topic], min_size: int, korean_bars: Bars, other_bars: Bars
) -> tuple[list[Topic], list[Topic]]:
    """:func:`prune` applied to finished topics (their ``strengths``): (kept, maybe).
    Kept topics lose their weak members (title and terms are not described again);
    used to choose the bars (``scripts/eval_topics.py folds``)."""
    kept: list[Topic] = []
    maybe: list[Topic] = []
    for t in topics:
        st = [t.strengths.get(d, 0.0) for d in t.doc_ids]
        keep = prune(st, korean_bars if t.korean else other_bars, min_size)
        if keep is None:
            maybe.append(t)
            continue
        ids = [t.doc_ids[i] for i in keep]
        kept.append(
            Topic(
                doc_ids=ids,
                title=t.title,
                key_terms=t.key_terms,
                centroid=t.centroid,
                cohesion=t.cohesion,
                agreement=min(st[i] for i in keep),
                strengths={d: t.strengths[d] for d in ids if d in t.strengths},
                korean=t.korean,
                key=t.key,
                representative_id=t.representative_id,
                model=t.model,
            )
        )
    return kept, maybe


def groups_of(label: np.ndarray) -> list[list[int]]:
    order = np.argsort(label, kind="stable")
    lab = label[order]
    cuts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1], True])
    return [order[cuts[i] : cuts[i + 1]].tolist() for i in range(len(cuts) - 1)]


def _describe_many(
    model: TextModel,
    X: sp.csr_matrix,
    groups: list[list[int]],
    ids: Sequence[int],
    titles: Sequence[str],
    analyzer,
    n_terms: int = 8,
    centroid_size: int = 300,
    docs: Sequence[Doc] | None = None,
):
    """(title, representative id, key terms, centroid, cohesion) of every group, with the
    group sums computed in one sparse product. ``docs``: the docs themselves, where key
    terms' written forms are looked for (see :func:`_written`)."""
    if not groups:
        return []
    n = X.shape[0]
    rows = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    gid = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    A = sp.csr_matrix((np.ones(len(rows), np.float32), (gid, rows)), shape=(len(groups), n))
    T = (A @ X).tocsr()
    sq = np.asarray(T.multiply(T).sum(axis=1)).ravel()
    self_sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    features = model._features()
    out = []
    pos = 0
    for g, group in enumerate(groups):
        k = len(group)
        grows = rows[pos : pos + k]
        pos += k
        # centrality of each member: x . sum(group), one group at a time (a copy of
        # the group sum for every member at once can take gigabytes for large groups)
        cen = np.asarray((X[grows] @ T[g].T).toarray(), dtype=np.float64).ravel()
        own = float(self_sq[grows].sum())
        cohesion = (float(sq[g]) - own) / (k * (k - 1)) if k > 1 else 1.0
        best = min(range(k), key=lambda r: (-round(float(cen[r]), 6), ids[int(grows[r])]))
        rep = int(grows[best])
        a, b = T.indptr[g], T.indptr[g + 1]
        cols, vals = T.indices[a:b], T.data[a:b]
        order = np.lexsort((cols, -vals))
        norm = math.sqrt(float(sq[g])) or 1.0
        top = cols[order]
        topv = vals[order]
        centroid = {
            features[j]: float(v / norm)
            for j, v in zip(top[:centroid_size].tolist(), topv[:centroid_size].tolist(), strict=False)
        }
        key_terms: list[str] = []
        # the words of each term shown, in any order ("oil change" and "change oil" say one thing)
        said: set[frozenset[str]] = set()
        korean = sum(1 for r in grows.tolist() if has_hangul(titles[r] or "")) * 2 > k
        readable = [features[j] for j in top[: 4 * n_terms].tolist() if _readable_key_term(features[j])]
        forms = _written(readable, grows.tolist(), docs, analyzer, korean) if docs is not None else None
        for f in readable:
            shown = _display(f, analyzer, korean, forms)
            if not shown:
                continue  # an English stem that no member wrote as a word
            if korean and not has_hangul(shown):
                continue  # a Korean topic's key terms are Korean words
            words = shown.split()
            if len(set(words)) < len(words) or frozenset(words) in said:
                continue  # "name name", or the words of a term already shown
            if " " in f and all(frozenset([w]) in said for w in words):
                continue  # a pair of terms both shown already ("앱 켜다" after 앱 and 켜다)
            said.add(frozenset(words))
            key_terms.append(shown)
            if len(key_terms) >= n_terms:
                break
        out.append((titles[rep], ids[rep], key_terms, centroid, cohesion))
    return out


# Words the analyser keeps for matching ("sign in", negation) that say nothing
# on their own as a topic's key term.
_PARTICLES = frozenset({"not", "in", "out", "up", "on", "off", "down", "over", "back", "to", "with"})


def _readable_key_term(feature: str) -> bool:
    """Character n-grams, particles and lone one-syllable Korean stems (쓰, 되)
    help matching but make poor key terms for a person to read."""
    if feature.startswith("#"):
        return False
    words = feature.split()
    return not any(w in _PARTICLES or (len(w) == 1 and has_hangul(w)) for w in words)


def _display(feature: str, analyzer, korean: bool = False, forms: dict[str, str] | None = None) -> str:
    """A feature as key terms show it, word by word: a synonym group as the variant the
    threads used most (``forms``, from :func:`_written`), else the group's name (its
    Korean variant on a Korean topic); a Korean stem as its whole word (see
    :meth:`forum.text.Analyzer.word_of`); an English stem as the word the threads wrote
    most ("" when none of them wrote one)."""
    syn = getattr(analyzer, "synonyms", None)
    words = []
    for w in feature.split():  # a pair of terms is shown word by word
        if w.startswith("~") and forms and w in forms:
            words.append(forms[w])
        elif w.startswith("~") and syn is not None and hasattr(syn, "display"):
            words.append(syn.display(w, korean) if korean else syn.display(w))
        elif korean and hasattr(analyzer, "word_of"):
            words.append(analyzer.word_of(w))
        elif forms is not None and is_english_word(w):
            words.append(forms.get(w, ""))
        else:
            words.append(w)
    return " ".join(words) if all(words) else ""


# How much of a group a key term's written form is looked for in: its first members'
# titles (and analysed terms), then the start of the first ones' bodies for the words no
# title holds (a group's shared words are mostly in its titles, counted twice).
_WRITTEN_MEMBERS = 20
_WRITTEN_BODIES = 10
_WRITTEN_CHARS = 400


def _written(
    features: Sequence[str], rows: Sequence[int], docs: Sequence[Doc], analyzer, korean: bool
) -> dict[str, str]:
    """How the group's threads wrote the words of these features: each synonym group
    as the variant they used most, and (on a topic not in Korean) each English stem as
    the word they wrote most."""
    members = [docs[r] for r in rows[:_WRITTEN_MEMBERS]]
    words = {w for f in features for w in f.split()}
    out: dict[str, str] = {}
    concepts = sorted(w for w in words if w.startswith("~"))
    syn = getattr(analyzer, "synonyms", None)
    if concepts and syn is not None and hasattr(syn, "written"):
        held = doc_terms(members, analyzer)
        for c in concepts:
            variant = syn.written(c, held, korean)
            if variant:
                out[c] = variant
    if korean:
        return out
    # an English word of the dictionary ("billed") as the threads wrote it ("bill")
    one_word = {c: english_stem(v) for c, v in out.items() if is_english_word(v)}
    stems = {w for w in words if is_english_word(w)} | set(one_word.values())
    if stems:
        forms = written_forms([d.title for d in members], stems)
        if missing := stems - forms.keys():  # words of the bodies only: their start is enough
            forms.update(written_forms([d.body[:_WRITTEN_CHARS] for d in members[:_WRITTEN_BODIES]], missing))
        out.update((c, forms[s]) for c, s in one_word.items() if s in forms)
        out.update((w, forms[w]) for w in words if w in forms)
    return out


def _stable_keys(topics: list[Topic], previous: list[Topic] | None) -> None:
    used: set[str] = set()
    prev = [(p.key or f"t{min(p.doc_ids)}", set(p.doc_ids)) for p in (previous or []) if p.doc_ids]
    owner: dict[int, int] = {}
    for pi, (_, ids) in enumerate(prev):
        for d in ids:
            owner.setdefault(d, pi)
    for t in sorted(topics, key=lambda t: (-t.size, min(t.doc_ids))):
        mine = set(t.doc_ids)
        overlap: dict[int, int] = {}
        for d in mine:
            found = owner.get(d)
            if found is not None:
                overlap[found] = overlap.get(found, 0) + 1
        best, best_j = None, 0.0
        for pi in sorted(overlap):
            key, ids = prev[pi]
            if key in used:
                continue
            inter = len(mine & ids)
            j = inter / len(mine | ids)
            if j > best_j:
                best, best_j = key, j
        if best is not None and best_j >= 0.3:
            t.key = best
        else:
            t.key = f"t{min(t.doc_ids)}"
            while t.key in used:
                t.key += "'"
        used.add(t.key)


def rescore_edges(X: sp.csr_matrix, nbr: np.ndarray, E: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Similarities of the same neighbour lists under new vectors ``X`` (and ``E``), best first."""
    n, k = nbr.shape
    r = np.repeat(np.arange(n, dtype=np.int64), k)
    c = nbr.ravel().astype(np.int64)
    ok = c >= 0
    v = np.zeros(n * k, dtype=np.float32)
    v[ok] = pair_dots(X, r[ok], c[ok], E=E)
    v = v.reshape(n, k)
    nb = np.where(v > 0, nbr, -1)
    order = np.lexsort((nb, -v), axis=1)
    return np.take_along_axis(nb, order, axis=1).astype(np.int32), np.take_along_axis(v, order, axis=1)


def _cluster_rows(
    model: TextModel,
    rows: sp.csr_matrix | list,
    threshold: float,
    k: int,
    smooth: float,
    smooth_k: int,
    linkage: str,
    settings: ClusterSettings,
    *,
    blob: int | None = None,
    best: list | None = None,
    link: float = 0.0,
    ranked: tuple[float, float, int] | None = None,
    floor: float = 0.0,
) -> np.ndarray:
    """kNN graph, neighbour smoothing, reciprocal agglomeration: a group label per row.
    ``best``: a list that gets each row's ``settings.best_of`` nearest rows and similarities (before
    smoothing), for :func:`join_best_matches`.
    ``rows``: the tf-idf rows, or a list [sparse part, dense part] (both already scaled)
    that this function takes over (emptied, so the large dense part can be freed as soon
    as it is replaced).
    ``blob``: a group of more than this many rows is grouped again (:func:`_split_blobs`).
    ``link``: the link test's share (:func:`rac_cluster`; 0: off).
    ``ranked``: the lower bar of rank-linked groups (:func:`rac_cluster`; None: off).
    ``floor``: a neighbour lends in smoothing only at this share of ``threshold`` or more."""
    if isinstance(rows, list):
        X, E = rows.pop(0), rows.pop(0)
    else:
        X, E = rows, None
    nbr, sim = knn_graph(model, X, None, k, E=E)
    if best is not None:
        best += [nbr[:, : settings.best_of].copy(), sim[:, : settings.best_of].copy()]
    # In a small forum, ten neighbours are a good part of everything there is:
    # borrowing from them would blur unrelated questions together.
    smooth_k = min(smooth_k, max(1, X.shape[0] // settings.smooth_per))
    if smooth > 0:
        # only neighbours within reach of the merge bar lend: in a small forum a thread's
        # two nearest can be about the same area (sync, login) and no closer than that,
        # and borrowing from them would make three different questions look like one
        X, E = smooth_vectors(X, nbr, sim, smooth, smooth_k, E, floor=floor * threshold)
        nbr, sim = rescore_edges(X, nbr, E)
    tie = settings.link_min
    if blob is None:
        return rac_cluster(
            X, nbr, sim, threshold, linkage=linkage, E=E, own=True, link=link, link_min=tie, ranked=ranked
        )
    label = rac_cluster(
        X,
        nbr,
        sim,
        threshold,
        linkage=linkage,
        E=None if E is None else E.copy(),
        own=True,
        link=link,
        link_min=tie,
        ranked=ranked,
    )
    return _split_blobs(X, E, nbr, sim, label, threshold, blob, linkage, settings, link, ranked)


def _split_blobs(
    X: sp.csr_matrix,
    E: np.ndarray | None,
    nbr: np.ndarray,
    sim: np.ndarray,
    label: np.ndarray,
    threshold: float,
    bound: int,
    linkage: str,
    settings: ClusterSettings,
    link: float = 0.0,
    ranked: tuple[float, float, int] | None = None,
) -> np.ndarray:
    """A group of more than ``bound`` rows is a chain of related questions (centroid
    linkage chains through a dense region), not one question: its rows are grouped
    again, along the same graph (edges inside the group) and with the same smoothed
    vectors, against a bar raised by ``settings.blob_raise``, again and again until no group is that
    large, the bar no longer splits it (the same question asked very often), or the bar
    reaches ``settings.blob_max_bar`` (the lower bar of ``ranked`` rises with it)."""
    label = label.copy()
    raise_by = settings.blob_raise
    work = [(np.asarray(g, dtype=np.int64), threshold + raise_by) for g in groups_of(label) if len(g) > bound]
    n = X.shape[0]
    while work:
        rows, th = work.pop()
        if th > settings.blob_max_bar:
            continue
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        nb = nbr[rows]
        inside = np.where(nb >= 0, local[np.maximum(nb, 0)], -1)
        sm = np.where(inside >= 0, sim[rows], 0.0).astype(np.float32)
        sub = rac_cluster(
            X[rows],
            inside.astype(np.int32),
            sm,
            th,
            linkage=linkage,
            E=None if E is None else E[rows],
            own=True,
            link=link,
            link_min=settings.link_min,
            ranked=None if ranked is None else (ranked[0] + th - threshold, ranked[1], ranked[2]),
        )
        label[rows] = rows[sub]
        work += [(rows[np.asarray(g)], th + settings.blob_raise) for g in groups_of(sub) if bound < len(g) < len(rows)]
    return label


def detect(
    docs: list[Doc],
    analyzer,
    *,
    min_size: int = 3,
    previous: list[Topic] | None = None,
    threshold: float | None = None,
    smooth: float | None = None,
    features: list[list[str]] | None = None,
    embeddings: bool | None = None,
    vectors: np.ndarray | list[np.ndarray] | None = None,
    check: bool = True,
    pair_bars: tuple[float, float] | None = None,
    settings: ClusterSettings = DEFAULT_SETTINGS,
    similarity: SimilaritySettings = DEFAULT_SIMILARITY,
) -> list[Topic]:
    """Group ``docs`` into topics of at least ``min_size`` threads asking the same thing.

    Returns topics ordered by size (largest first), then by smallest doc id.  Docs in no
    topic are one-offs.  ``previous`` (the last run's topics) only provides stable keys.
    ``embeddings``: blend sentence embeddings into the similarity (see
    :mod:`forum.topics.embed`; None: when they are on or ``vectors`` are given).  Korean
    and other threads are then grouped separately, each against its own threshold
    (``threshold`` overrides both; without embeddings it defaults to ``settings.threshold``).
    ``vectors``: the docs' embeddings, a row per doc in the order given (else encoded now);
    or a list holding them, which this function empties (so that they can be freed while
    it clusters).
    ``smooth``: the neighbour smoothing share (None: ``settings.smooth``, or
    ``settings.smooth_with_embeddings``).
    ``pair_bars``: (Korean, other) bars of :func:`join_best_matches` (None: the settings';
    above 1: off).
    ``similarity``: the blend of words and meaning (each language's embedding share) and
    the feature kinds' weights.
    ``check``: apply the cohesion check (:func:`prune`, each part's bars) to every group;
    without it the groups are returned whole (their members' strengths are measured
    either way, to choose the bars).
    """
    if isinstance(vectors, list):  # handed over: this function holds the only reference
        vectors = vectors.pop()
    order = sorted(range(len(docs)), key=lambda i: docs[i].id)
    if order != list(range(len(docs))):
        docs = [docs[i] for i in order]
        vectors = None if vectors is None else vectors[order]
    if len(docs) < max(2, min_size):
        return []
    kinds = similarity.kind_weights(search=False)
    if features is not None:
        model, X = TextModel.fit_transform(features, kind_weights=kinds)
    else:
        model, X = TextModel.fit_transform_chunks(iter_doc_features(docs, analyzer), kind_weights=kinds)
    from . import embed

    if embeddings is None:
        embeddings = vectors is not None or embed.enabled()
    label = np.arange(len(docs), dtype=np.int64)
    strength = np.zeros(len(docs), dtype=np.float64)
    korean = np.zeros(len(docs), dtype=bool)
    k, smooth_k, linkage = settings.knn_k, settings.smooth_k, settings.linkage
    if not embeddings:
        th = settings.threshold if threshold is None else threshold
        label = _cluster_rows(
            model, X, th, k, settings.smooth if smooth is None else smooth, smooth_k, linkage, settings
        )
        found = [g for g in groups_of(label) if len(g) >= min_size]
        for g, st in zip(found, member_strengths(X, None, found), strict=True):
            strength[g] = st
    else:
        V = doc_vectors(docs) if vectors is None else vectors
        del vectors
        korean = np.array([_is_korean(d) for d in docs], dtype=bool)
        # every part's vectors in its own basis first, so that the full-length ones can go
        # before the clustering needs the memory (when the caller handed them over)
        todo = []
        for rows, ko in ((np.flatnonzero(korean), True), (np.flatnonzero(~korean), False)):
            if len(rows) < max(2, min_size):
                continue
            w = similarity.topic_weight(ko)
            # a part of centre_min threads or more is grouped with its encoders' common
            # direction taken away, against the bar of centred vectors (ClusterSettings)
            centre = settings.centre(ko) and len(rows) >= settings.centre_min
            th = settings.merge_bar(ko, centred=centre)
            part = V[rows]
            mean = embed.part_means(part) if centre else None
            dense = embed.project(part, embed.basis(part, mean=mean), mean)
            del part
            dense *= np.float32(math.sqrt(w))
            todo.append((rows, th, w, [dense]))
            del dense
        del V
        for rows, th, w, dense_parts in todo:
            if threshold is None:
                th = th + settings.small_raise * max(0.0, 1.0 - len(rows) / settings.small_forum)
            else:
                th = threshold
            sm = settings.smooth_with_embeddings if smooth is None else smooth
            bound = max(settings.blob_min, int(settings.blob_share * len(rows)))
            parts = [X[rows] * np.float32(math.sqrt(1.0 - w)), dense_parts.pop()]
            plain = list(parts)  # the unsmoothed vectors, for the cohesion check
            best: list[np.ndarray] = []
            local = _cluster_rows(
                model,
                parts,
                th,
                k,
                sm,
                smooth_k,
                linkage,
                settings,
                blob=bound,
                best=best,
                link=settings.link(bool(korean[rows[0]])),
                # in a small forum a thread's few nearest are a good share of everything
                ranked=settings.ranked(bool(korean[rows[0]])) if len(rows) >= settings.small_forum else None,
                floor=settings.smooth_floor if len(rows) < settings.small_forum else 0.0,
            )
            pair_bar = settings.pair_bar(bool(korean[rows[0]]))
            if pair_bars is not None:
                pair_bar = pair_bars[0] if korean[rows[0]] else pair_bars[1]
            local = join_best_matches(local, best[0], best[1], pair_bar, min_size, settings.pair_max_size)
            del best
            label[rows] = rows[local]
            found = [g for g in groups_of(local) if len(g) >= min_size]
            for g, st in zip(found, member_strengths(plain[0], plain[1], found), strict=True):
                strength[rows[g]] = st
            del plain
    groups = [g for g in groups_of(label) if len(g) >= min_size]
    if check and embeddings:
        pruned = []
        for g in groups:
            keep = prune(strength[g].tolist(), settings.bars(bool(korean[g[0]])), min_size)
            if keep is not None:
                pruned.append([g[i] for i in keep])
        groups = pruned
    ids = [d.id for d in docs]
    titles = [d.title for d in docs]
    topics: list[Topic] = []
    for group, (title, rep, key_terms, centroid, cohesion) in zip(
        groups, _describe_many(model, X, groups, ids, titles, analyzer, docs=docs), strict=False
    ):
        topics.append(
            Topic(
                doc_ids=[ids[r] for r in group],
                title=title,
                key_terms=key_terms,
                centroid=centroid,
                cohesion=cohesion,
                agreement=float(strength[group].min()),
                strengths={ids[r]: float(strength[r]) for r in group},
                korean=bool(korean[group[0]]),
                representative_id=rep,
                model=model,
            )
        )
    topics.sort(key=lambda t: (-t.size, min(t.doc_ids)))
    _stable_keys(topics, previous)
    return topics


def assign(
    new_docs: list[Doc],
    topics: list[Topic],
    analyzer,
    *,
    threshold: float | None = None,
    model: TextModel | None = None,
    vectors: np.ndarray | None = None,
    members: tuple[Sequence[int], np.ndarray] | None = None,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> tuple[list[Topic], list[Doc]]:
    """Let new threads join existing topics.

    A thread joins the topic whose members it resembles most, if its average lexical
    similarity to the members (``x . sum / size``) stays at least ``threshold``
    (None: ``settings.threshold``) times ``settings.join_margin``; synonyms count, meaning does not.

    With sentence embeddings (``vectors``: the new docs' embeddings, in the order
    given; ``members``: (thread ids, embeddings) of the topics' members), a thread
    also joins by its nearest neighbours: its ``settings.join_k`` most similar members that
    are at least ``settings.join_similarity_korean`` / ``_other`` similar vote for their
    topics with their similarity, and it joins the topic holding at least half of
    those votes (ahead of the lexical test). Members ask their topic's question in
    many wordings, so a new wording finds the one closest to it, where a topic's
    average wording is further from each; this brings an incremental run's result close
    to grouping everything again (figures in docs/topic-tuning.md).

    Returns (updated topics, leftovers); leftovers can form new topics at the next
    :func:`detect`.
    """
    if not new_docs:
        return topics, []
    if not topics:
        return topics, list(new_docs)
    order = sorted(range(len(new_docs)), key=lambda i: new_docs[i].id)
    new_docs = [new_docs[i] for i in order]
    bar = (settings.threshold if threshold is None else threshold) * settings.join_margin
    best = _join_by_centroid(new_docs, topics, analyzer, bar, model)
    if vectors is not None and members is not None and len(members[0]):
        near = _join_by_neighbours(new_docs, np.asarray(vectors)[order], topics, members, settings)
        best = [n if n >= 0 else b for n, b in zip(near, best, strict=True)]
    updated = [
        Topic(
            doc_ids=list(t.doc_ids),
            title=t.title,
            key_terms=list(t.key_terms),
            centroid=dict(t.centroid),
            cohesion=t.cohesion,
            key=t.key,
            representative_id=t.representative_id,
            model=t.model,
        )
        for t in topics
    ]
    leftovers: list[Doc] = []
    for d, b in zip(new_docs, best, strict=True):
        if b >= 0:
            updated[b].doc_ids.append(d.id)
        else:
            leftovers.append(d)
    return updated, leftovers


def _join_by_neighbours(
    new_docs: Sequence[Doc],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    members: tuple[Sequence[int], np.ndarray],
    settings: ClusterSettings,
) -> list[int]:
    """The topic (index) each doc joins by its nearest members' votes, or -1.

    Two steps, so the work does not grow with docs x members: each doc's
    ``settings.join_shortlist`` topics by average similarity (its dot product with the topic's
    mean member vector), then its nearest members among those topics' members only."""

    topic_of = {d: ti for ti, t in enumerate(topics) for d in t.doc_ids}
    ids, M = members
    owner = np.array([topic_of.get(int(i), -1) for i in ids], dtype=np.int64)
    n_topics = len(topics)
    if not len(owner) or not (owner >= 0).any():
        return [-1] * len(new_docs)
    M = np.asarray(M, dtype=np.float32)
    ok = np.flatnonzero(owner >= 0)
    A = sp.csr_matrix((np.ones(len(ok), np.float32), (owner[ok], ok)), shape=(n_topics, len(owner)))
    counts = np.bincount(owner[ok], minlength=n_topics).astype(np.float32)
    means = (A @ M) / np.maximum(counts, 1.0)[:, None]  # each topic's mean member vector
    Q = np.asarray(vectors, dtype=np.float32)
    short = min(settings.join_shortlist, n_topics)
    by_topic = np.argsort(owner, kind="stable")
    first = np.searchsorted(owner[by_topic], np.arange(n_topics + 1))
    out: list[int] = []
    for start in range(0, len(Q), _JOIN_BLOCK):
        S = Q[start : start + _JOIN_BLOCK] @ means.T
        shortlist = np.argpartition(-S, short - 1, axis=1)[:, :short] if short < n_topics else None
        for r, d in enumerate(new_docs[start : start + _JOIN_BLOCK]):
            cand_topics = range(n_topics) if shortlist is None else shortlist[r]
            rows = np.sort(np.concatenate([by_topic[first[t] : first[t + 1]] for t in cand_topics]))
            sims = M[rows] @ Q[start + r]
            top = np.argsort(-sims, kind="stable")[: settings.join_k]
            floor = settings.join_similarity(_is_korean(d))
            votes: dict[int, float] = {}
            for p in top.tolist():
                if sims[p] >= floor:
                    t = int(owner[rows[p]])
                    votes[t] = votes.get(t, 0.0) + float(sims[p])
            if not votes:
                out.append(-1)
                continue
            ti, v = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))
            out.append(ti if v >= 0.5 * sum(votes.values()) else -1)
    return out


def mean_similarities(
    model: TextModel, X: sp.csr_matrix, topics: Sequence[tuple[Mapping[str, float], float, int]]
) -> np.ndarray:
    """Each row of ``X``'s average similarity to the members of each topic (its stored
    centroid, cohesion and size), a row per row of ``X``: ``centroid . x`` is
    ``(sum . x) / |sum|``, the average similarity ``(sum . x) / size``, and
    ``|sum| = sqrt(cohesion k (k - 1) + k)`` for k unit vectors."""
    vocab = model.vocab
    rows, cols, vals = [], [], []
    for ti, (centroid, _, _) in enumerate(topics):
        for f, w in centroid.items():
            j = vocab.get(f)
            if j is not None:
                rows.append(ti)
                cols.append(j)
                vals.append(w)
    C = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(topics), len(vocab)))
    scale = np.array([math.sqrt(max(c * n * (n - 1) + n, 1e-9)) / max(n, 1) for _, c, n in topics], dtype=np.float32)
    return (X @ C.T).toarray() * scale[None, :]


def _join_by_centroid(
    new_docs: Sequence[Doc], topics: Sequence[Topic], analyzer, bar: float, model: TextModel | None
) -> list[int]:
    """The topic (index) each doc joins by its average lexical similarity to the members
    (at least ``bar``), or -1."""
    model = model or next((t.model for t in topics if t.model is not None), None)
    feats = doc_features(list(new_docs), analyzer)
    if model is None:
        model = TextModel.fit(feats)
    X = model.tfidf(feats)
    S = mean_similarities(model, X, [(t.centroid, t.cohesion, t.size) for t in topics])
    out: list[int] = []
    for i in range(len(new_docs)):
        best = int(np.argmax(S[i])) if S.shape[1] else -1
        out.append(best if best >= 0 and S[i, best] >= bar else -1)
    return out
