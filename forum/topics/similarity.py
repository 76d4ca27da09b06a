"""Similar-question index: weighted TF-IDF over analyser features plus a small
LSA (latent semantic) component learned from the corpus itself.

Features of a text (see :meth:`forum.text.Analyzer.features`):

* canonicalised terms (synonym groups collapsed: 환불 / 돈 돌려받기 -> ~refund),
* adjacent term pairs ("log in", "api key"),
* Korean character bigrams (robust against spacing and compound variation).

Each feature kind has a weight; term frequency is sublinear (1 + log tf) and
scaled by a smoothed idf; vectors are L2-normalised, so the dot product is the
cosine similarity.  The LSA part (randomised truncated SVD of the same matrix)
bridges words that never co-occur in one question but share contexts across
the corpus; its share in the final score is ``lsa_weight``.

Everything is deterministic (fixed random seed, stable orderings).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Sequence
from itertools import chain, pairwise, repeat

import numpy as np
import scipy.sparse as sp

from forum.text import ThreadText, is_korean

from .settings import DEFAULT_SIMILARITY, SimilaritySettings

__all__ = ["SimilarityIndex", "TextModel", "feature_kind", "knn_graph", "pair_dots"]


def feature_kind(f: str) -> str:
    if f.startswith("#"):
        return "char"
    if " " in f:
        return "pair"
    return "term"


class TextModel:
    """Vocabulary, idf and (optionally) an LSA projection learned from a corpus."""

    def __init__(
        self,
        vocab: dict[str, int],
        idf: np.ndarray,
        n_docs: int,
        components: np.ndarray | None = None,
        lsa_weight: float = 0.0,
        kind_weights: dict[str, float] | None = None,
    ):
        self.vocab = vocab
        self.idf = idf.astype(np.float32)
        self.n_docs = n_docs
        self.components = components  # (V, k) float32, or None
        self.lsa_weight = float(lsa_weight if components is not None else 0.0)
        self.kind_weights = dict(kind_weights or DEFAULT_SIMILARITY.kind_weights(search=False))
        self._col_weight = (
            self.idf * np.array([self.kind_weights[feature_kind(f)] for f in self._features()], dtype=np.float32)
            if vocab
            else np.zeros(0, np.float32)
        )
        self.unknown_idf = float(math.log((1 + n_docs) / 1) + 1)
        self.df: np.ndarray | None = None  # document frequencies (set by fit)

    def _features(self) -> list[str]:
        cached = getattr(self, "_feature_list", None)
        if cached is not None and len(cached) == len(self.vocab):
            return cached
        out = [""] * len(self.vocab)
        for f, j in self.vocab.items():
            out[j] = f
        self._feature_list = out
        return out

    # ------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        feature_lists: Sequence[Sequence[str]],
        *,
        lsa_dim: int = 0,
        lsa_weight: float = 0.0,
        min_df: int = 1,
        kind_weights: dict[str, float] | None = None,
    ) -> TextModel:
        return cls.fit_transform(
            feature_lists, lsa_dim=lsa_dim, lsa_weight=lsa_weight, min_df=min_df, kind_weights=kind_weights
        )[0]

    @classmethod
    def fit_transform(
        cls,
        feature_lists: Sequence[Sequence[str]],
        *,
        lsa_dim: int = 0,
        lsa_weight: float = 0.0,
        min_df: int = 1,
        kind_weights: dict[str, float] | None = None,
    ) -> tuple[TextModel, sp.csr_matrix]:
        """Learn vocabulary and idf from ``feature_lists`` and return the model with the
        corpus's own tf-idf rows (one pass, vectorised)."""
        return cls.fit_transform_chunks(
            [feature_lists], lsa_dim=lsa_dim, lsa_weight=lsa_weight, min_df=min_df, kind_weights=kind_weights
        )

    @classmethod
    def fit_transform_chunks(
        cls,
        chunks: Iterable[Sequence[Sequence[str]]],
        *,
        lsa_dim: int = 0,
        lsa_weight: float = 0.0,
        min_df: int = 1,
        kind_weights: dict[str, float] | None = None,
    ) -> tuple[TextModel, sp.csr_matrix]:
        """:meth:`fit_transform` over feature lists that arrive in chunks (a generator),
        so that only one chunk of feature strings is held in memory at a time."""
        first: dict[str, int] = {}
        parts = [_count_matrix(chunk, first, grow=True) for chunk in chunks]
        names = list(first)
        V = len(names)
        parts = [sp.csr_matrix((c.data, c.indices, c.indptr), shape=(c.shape[0], V)) for c in parts]
        if not parts:
            C = sp.csr_matrix((0, V), dtype=np.float32)
        else:
            C = sp.vstack(parts, format="csr") if len(parts) != 1 else parts[0]
        del parts
        n = C.shape[0]
        df = np.bincount(C.indices, minlength=len(names)) if C.nnz else np.zeros(len(names), np.int64)
        order = sorted((j for j in range(len(names)) if df[j] >= min_df), key=names.__getitem__)
        remap = np.full(len(names), -1, dtype=np.int64)
        remap[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
        vocab = {names[j]: r for r, j in enumerate(order)}
        C = _remap_columns(C, remap, len(order))
        dfk = df[np.asarray(order, dtype=np.int64)] if order else np.zeros(0, np.int64)
        idf = (np.log((1.0 + n) / (1.0 + dfk)) + 1.0).astype(np.float32)
        model = cls(vocab, idf, n, None, 0.0, kind_weights)
        model.df = dfk.astype(np.int64)
        X = model._weigh(C)
        if lsa_dim > 0 and n >= 50 and len(vocab) > lsa_dim:
            model.components = _randomised_svd_components(X, min(lsa_dim, n // 4))
            model.lsa_weight = float(lsa_weight)
        return model, X

    # ------------------------------------------------------------ vectors
    def counts(self, feature_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Raw feature counts (unknown features dropped)."""
        return _count_matrix(feature_lists, self.vocab, grow=False)

    def _weigh(self, C: sp.csr_matrix) -> sp.csr_matrix:
        X = C.astype(np.float32, copy=True)
        if X.nnz:
            X.data = (1.0 + np.log(X.data)) * self._col_weight[X.indices]
        return _l2_rows(X)

    def tfidf(self, feature_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """L2-normalised weighted tf-idf rows (unknown features are dropped)."""
        return self._weigh(self.counts(feature_lists))

    def dense(self, X: sp.csr_matrix) -> np.ndarray | None:
        if self.components is None:
            return None
        D = np.asarray(X @ self.components, dtype=np.float32)
        norms = np.linalg.norm(D, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return D / norms

    def vectors(self, feature_lists: Sequence[Sequence[str]]) -> tuple[sp.csr_matrix, np.ndarray | None]:
        X = self.tfidf(feature_lists)
        return X, self.dense(X)

    def similarity(self, Xa, Da, Xb, Db) -> np.ndarray:
        """Blended cosine similarity matrix between two sets of rows (dense result)."""
        S = (Xa @ Xb.T).toarray().astype(np.float32)
        if self.lsa_weight and Da is not None and Db is not None:
            S *= 1.0 - self.lsa_weight
            S += self.lsa_weight * np.clip(Da @ Db.T, 0.0, None)
        return S

    # ------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {
            "n_docs": self.n_docs,
            "lsa_weight": self.lsa_weight,
            "kind_weights": self.kind_weights,
            "features": self._features(),
        }
        arrays: dict[str, np.ndarray] = {
            "idf": self.idf,
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8),
        }
        if self.components is not None:
            arrays["components"] = self.components.astype(np.float32)
        # numpy's stub: mypy matches **arrays against the bool allow_pickle too
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> TextModel:
        z = np.load(io.BytesIO(blob))
        meta = json.loads(bytes(z["meta"]).decode())
        vocab = {f: j for j, f in enumerate(meta["features"])}
        comps = z["components"] if "components" in z.files else None
        return cls(vocab, z["idf"], meta["n_docs"], comps, meta["lsa_weight"], meta["kind_weights"])


def _l2_rows(X: sp.csr_matrix) -> sp.csr_matrix:
    X = sp.csr_matrix(X, dtype=np.float32)
    if not X.nnz:
        return X
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    sq = np.sqrt(np.bincount(rows, weights=X.data.astype(np.float64) ** 2, minlength=X.shape[0]))
    sq[sq == 0] = 1.0
    X.data = (X.data / sq[rows]).astype(np.float32)
    return X


def _count_matrix(feature_lists: Sequence[Sequence[str]], vocab: dict[str, int], *, grow: bool) -> sp.csr_matrix:
    """Rows of feature counts.  ``grow``: unknown features get new ids in ``vocab``
    (first-seen order); otherwise they are dropped."""
    n = len(feature_lists)
    lens = np.fromiter((len(f) for f in feature_lists), dtype=np.int64, count=n)
    total = int(lens.sum())
    flat = list(chain.from_iterable(feature_lists))
    if grow:
        for f in dict.fromkeys(flat):
            if f not in vocab:
                vocab[f] = len(vocab)
        cols = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=total)
    else:
        get = vocab.get
        cols = np.fromiter(map(get, flat, repeat(-1, total)), dtype=np.int64, count=total)
    del flat
    rows = np.repeat(np.arange(n, dtype=np.int64), lens)
    keep = cols >= 0
    if not keep.all():
        rows, cols = rows[keep], cols[keep]
    C = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
    C.sum_duplicates()
    C.sort_indices()
    return C


def _remap_columns(C: sp.csr_matrix, remap: np.ndarray, width: int) -> sp.csr_matrix:
    cols = remap[C.indices]
    rows = np.repeat(np.arange(C.shape[0], dtype=np.int64), np.diff(C.indptr))
    keep = cols >= 0
    out = sp.csr_matrix((C.data[keep], (rows[keep], cols[keep])), shape=(C.shape[0], width), dtype=np.float32)
    out.sort_indices()
    return out


#: entries of the rows :func:`pair_dots` copies at a time (~100 MB): smoothed vectors and
#: group sums have thousands each, so a fixed number of pairs could take gigabytes
PAIR_ENTRIES = 8_000_000


def pair_dots(
    X: sp.csr_matrix, a: np.ndarray, b: np.ndarray, *, E: np.ndarray | None = None, entries: int = PAIR_ENTRIES
) -> np.ndarray:
    """Row-wise dot products ``X[a[i]] . X[b[i]]`` for many pairs, vectorised in chunks
    of about ``entries`` row entries (plus ``E[a[i]] . E[b[i]]`` when rows also have a
    dense part ``E``)."""
    out = np.zeros(len(a), dtype=np.float32)
    if len(a):
        lens = np.diff(X.indptr).astype(np.int64)
        cum = np.cumsum(lens[a] + lens[b])
        cuts = np.unique(np.searchsorted(cum, np.arange(entries, int(cum[-1]), entries), side="right"))
        bounds = [0, *[int(c) for c in cuts if 0 < c < len(a)], len(a)]
        for s, t in pairwise(bounds):
            A = X[a[s:t]]
            B = X[b[s:t]]
            out[s:t] = np.asarray(A.multiply(B).sum(axis=1), dtype=np.float32).ravel()
    if E is not None:
        out += dense_dots(E, a, b)
    return out


def dense_dots(E: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products ``E[a[i]] . E[b[i]]`` of a dense matrix, in blocks."""
    out = np.zeros(len(a), dtype=np.float32)
    step = 16_384  # two (step x dim) float32 blocks at a time: ~64 MB for 512 dimensions
    for s in range(0, len(a), step):
        out[s : s + step] = np.einsum("ij,ij->i", E[a[s : s + step]], E[b[s : s + step]])
    return out


def _randomised_svd_components(X: sp.csr_matrix, k: int, n_iter: int = 4, seed: int = 0) -> np.ndarray:
    """Right singular vectors (V x k) of X by randomised SVD (Halko et al.)."""
    rng = np.random.default_rng(seed)
    _n, V = X.shape
    p = min(V, k + 10)
    Q = rng.standard_normal((V, p)).astype(np.float32)
    Xt = X.T.tocsr()
    Y = X @ Q
    for _ in range(n_iter):
        Y, _ = np.linalg.qr(Y)
        Z, _ = np.linalg.qr(Xt @ Y)
        Y = X @ Z
    Qy, _ = np.linalg.qr(Y)
    B = (Xt @ Qy).T  # p x V
    _, _s, Vt = np.linalg.svd(B, full_matrices=False)
    comps = Vt[:k].T.astype(np.float32)
    # drop the first component's sign ambiguity for determinism
    signs = np.sign(comps[np.abs(comps).argmax(axis=0), range(comps.shape[1])])
    signs[signs == 0] = 1
    return comps * signs


EXACT_KNN_LIMIT = 15_000
#: Above EXACT_KNN_LIMIT rows, candidate neighbours come from the rarer features only:
#: the commonest features are left out until the sparse product costs at most this
#: many multiply-adds (sum of squared document frequencies); candidates are then
#: re-scored exactly.
KNN_PRODUCT_BUDGET = 3e7
#: candidate pairs whose partial (rare-feature) similarity is below this are not re-scored
CANDIDATE_FLOOR = 0.02


def _top_k_rows(S: np.ndarray, cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of S, the k best (column id, value), best first, ties by column id."""
    kk = min(k, S.shape[1])
    idx = (
        np.argpartition(-S, kk - 1, axis=1)[:, :kk]
        if kk < S.shape[1]
        else np.tile(np.arange(S.shape[1]), (S.shape[0], 1))
    )
    vals = np.take_along_axis(S, idx, axis=1)
    ids = cols[idx]
    order = np.lexsort((ids, -vals), axis=1)
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _top_k_sparse(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k best (col, val) of every row in a list of (row, col, val) entries; best
    first, ties by column id.  One integer sort: (row, quantised value, column)
    packed into an int64 key (values are cosines in [0, 1])."""
    if not len(rows):
        return rows, cols, vals
    r0 = int(rows.min())
    rr = rows - r0
    span_r = int(rr.max()) + 1
    col_bits = max(1, int(cols.max()).bit_length())
    q = np.round((1.0 - np.clip(vals, 0.0, 1.0)) * ((1 << 20) - 1)).astype(np.int64)
    if span_r.bit_length() + 20 + col_bits <= 62:
        key = (rr << (20 + col_bits)) | (q << col_bits) | cols
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((cols, q, rr))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    run = np.diff(np.r_[starts, len(rows)])
    rank = np.arange(len(rows)) - np.repeat(starts, run)
    keep = rank < k
    return rows[keep], cols[keep], vals[keep]


def knn_graph(
    model: TextModel,
    X: sp.csr_matrix,
    D: np.ndarray | None,
    k: int,
    *,
    chunk: int = 512,
    min_sim: float = 0.0,
    E: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of every row (itself excluded).

    Rows may have a dense part ``E`` (scaled sentence embeddings): the
    similarity is then ``X X^T + E E^T``.

    Returns (nbr, sim): int32/float32 arrays of shape (n, k), best first;
    missing neighbours have index -1 and similarity 0.  Exact up to
    ``EXACT_KNN_LIMIT`` rows (row chunks, memory O(chunk * n)); above that,
    candidates come from a sparse product over the rarer features (see
    ``KNN_PRODUCT_BUDGET``) and, with ``E``, from the nearest dense rows in a
    few nearby k-means cells; all are re-scored exactly (:func:`_pruned_knn`)."""
    n = X.shape[0]
    k = max(1, min(k, n - 1)) if n > 1 else 1
    nbr = np.full((n, k), -1, dtype=np.int32)
    sim = np.zeros((n, k), dtype=np.float32)
    if n <= 1:
        return nbr, sim
    if n > EXACT_KNN_LIMIT and not (model.lsa_weight and D is not None):
        return _pruned_knn(X, k, min_sim=min_sim, E=E)
    XT = X.T.tocsr()
    allcols = np.arange(n)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        S = (X[start:stop] @ XT).toarray()
        if model.lsa_weight and D is not None:
            S *= 1.0 - model.lsa_weight
            S += model.lsa_weight * np.clip(D[start:stop] @ D.T, 0.0, None)
        if E is not None:
            S += E[start:stop] @ E.T
        rows = np.arange(stop - start)
        S[rows, rows + start] = -1.0
        idx, vals = _top_k_rows(S, allcols, k)
        vals = np.where(vals < min_sim, 0.0, vals)
        idx = np.where(vals <= 0, -1, idx)
        nbr[start:stop] = idx
        sim[start:stop] = np.maximum(vals, 0)
    return nbr, sim


def _dense_candidates(E: np.ndarray, k: int, *, probes: int = 3, iters: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Candidate neighbour pairs (row, col) from the dense rows alone: k-means
    cells (about sqrt(n) of them, learned on a sample), and for every row its
    ``k`` most similar rows among the members of its own cell and the
    ``probes - 1`` cells nearest to it (an inverted-file search)."""
    n = E.shape[0]
    cells = max(1, int(math.sqrt(n)))
    rng = np.random.default_rng(0)
    sample = E[np.sort(rng.choice(n, min(n, cells * 30), replace=False))]
    C = sample[np.sort(rng.choice(len(sample), cells, replace=False))].copy()
    for _ in range(iters):
        near = np.argmax(sample @ C.T, axis=1)
        sums = np.zeros_like(C)
        np.add.at(sums, near, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        C = np.where(norms > 0, sums / np.maximum(norms, 1e-12), C)
    cell = np.concatenate([np.argmax(E[s : s + 20_000] @ C.T, axis=1) for s in range(0, n, 20_000)])
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(cells + 1))
    members = [order[bounds[j] : bounds[j + 1]] for j in range(cells)]
    nearest = np.argsort(-(C @ C.T), axis=1, kind="stable")[:, : max(1, probes)]
    out_r: list[np.ndarray] = []
    out_c: list[np.ndarray] = []
    for j in range(cells):
        rows = members[j]
        if not len(rows):
            continue
        cand = np.concatenate([members[m] for m in nearest[j]])
        S = E[rows] @ E[cand].T
        S[rows[:, None] == cand[None, :]] = -np.inf
        idx, _ = _top_k_rows(S, cand, min(k, len(cand)))
        out_r.append(np.repeat(rows, idx.shape[1]))
        out_c.append(idx.ravel())
    if not out_r:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    r = np.concatenate(out_r).astype(np.int64)
    c = np.concatenate(out_c).astype(np.int64)
    keep = r != c  # a tiny cell can leave a row only itself
    return r[keep], c[keep]


def _pruned_knn(
    X: sp.csr_matrix,
    k: int,
    *,
    min_sim: float = 0.0,
    extra: int = 2,
    chunk: int = 1000,
    budget: float | None = None,
    E: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate kNN for large n: candidates by a sparse product restricted to the
    rarer features (rarest first, up to ``budget`` multiply-adds), plus, with a
    dense part ``E``, the nearest dense rows (:func:`_dense_candidates`); the best
    ``extra * k`` of them re-scored with the full vectors."""
    n, V = X.shape
    budget = KNN_PRODUCT_BUDGET if budget is None else budget
    df = np.bincount(X.indices, minlength=V).astype(np.float64)
    order = np.argsort(df, kind="stable")
    cum = np.cumsum(df[order] ** 2)
    keep = np.zeros(V, dtype=bool)
    keep[order[cum <= budget]] = True
    Xr = X.copy()
    Xr.data = Xr.data * keep[Xr.indices]
    Xr.eliminate_zeros()
    XrT = Xr.T.tocsr()
    kk = k * extra
    cand_r: list[np.ndarray] = []
    cand_c: list[np.ndarray] = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        S = (Xr[start:stop] @ XrT).tocoo()
        r = S.row.astype(np.int64) + start
        c = S.col.astype(np.int64)
        v = S.data
        ok = (r != c) & (v >= CANDIDATE_FLOOR)
        r, c, _ = _top_k_sparse(r[ok], c[ok], v[ok], kk)
        cand_r.append(r)
        cand_c.append(c)
    if E is not None:
        dr, dc = _dense_candidates(E, kk)
        cand_r.append(dr)
        cand_c.append(dc)
    r = np.concatenate(cand_r) if cand_r else np.zeros(0, np.int64)
    c = np.concatenate(cand_c) if cand_c else np.zeros(0, np.int64)
    if E is not None and len(r):
        _, first = np.unique(r * n + c, return_index=True)
        r, c = r[first], c[first]
    v = pair_dots(X, r, c, E=E)
    r, c, v = _top_k_sparse(r, c, v, k)
    ok = (v > 0) & (v >= min_sim)
    r, c, v = r[ok], c[ok], v[ok]
    nbr = np.full((n, k), -1, dtype=np.int32)
    sim = np.zeros((n, k), dtype=np.float32)
    starts = np.searchsorted(r, np.arange(n))
    pos = np.arange(len(r)) - starts[r]
    nbr[r, pos] = c
    sim[r, pos] = v
    return nbr, sim


class SimilarityIndex:
    """Similar-question lookup over (doc_id, text) pairs.

    ``build`` learns the model (vocabulary, idf, LSA) from the documents;
    ``add`` appends documents with the same model (new words are ignored until
    the next ``build``), ``remove`` drops ids.  Rebuild now and then (the
    topic job does) so the model follows the corpus. ``settings``: how matches
    are ranked (the blend of words and meaning, the topic boost).
    """

    def __init__(self, model: TextModel, analyzer=None, *, settings: SimilaritySettings = DEFAULT_SIMILARITY):
        self.model = model
        self.analyzer = analyzer
        self.settings = settings
        self.ids: list[int] = []
        self._pos: dict[int, int] = {}
        self._blocks_X: list[sp.csr_matrix] = []
        self._blocks_D: list[np.ndarray] = []
        self._blocks_E: list[np.ndarray] = []
        self._X: sp.csr_matrix | None = None
        self._D: np.ndarray | None = None
        self._E: np.ndarray | None = None
        #: the basis the embeddings are kept in (see :func:`forum.topics.embed.basis`;
        #: fitted on the vectors the index is built from), or None: as encoded
        self._P: np.ndarray | None = None
        self._alive: np.ndarray = np.zeros(0, dtype=bool)
        #: each row's topic (see :meth:`set_groups`), -1: none
        self._group: np.ndarray = np.zeros(0, dtype=np.int64)
        #: each row's embedding was put together as a Korean text's (1) or another's (0);
        #: -1: not known (an index stored before this was kept), read as the query's language
        self._korean: np.ndarray = np.zeros(0, dtype=np.int8)
        self._cross: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self._grouped = False
        #: share of the sentence-embedding cosine in the score (0: lexical only)
        self.embed_weight = 0.0

    # ------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        docs: Sequence[tuple[int, str]],
        analyzer,
        *,
        lsa_dim: int = 0,
        lsa_weight: float = 0.3,
        features: Sequence[Sequence[str]] | None = None,
        kind_weights: dict[str, float] | None = None,
        vectors: np.ndarray | None = None,
        embed_weight: float | None = None,
        settings: SimilaritySettings = DEFAULT_SIMILARITY,
    ) -> SimilarityIndex:
        """An index of ``docs`` ((id, text) pairs; a text is "title\nbody").

        ``vectors``: the docs' sentence embeddings when already known (else they are
        computed when embeddings are on, see :mod:`forum.topics.embed`)."""
        from . import embed

        texts = [t for _, t in docs]
        if features is None:
            terms = (
                analyzer.terms_many(texts) if hasattr(analyzer, "terms_many") else [analyzer.terms(t) for t in texts]
            )
            features = [analyzer.features(t, tt) for t, tt in zip(texts, terms, strict=False)]
        model = TextModel.fit(
            features,
            lsa_dim=lsa_dim,
            lsa_weight=lsa_weight,
            kind_weights=kind_weights or settings.kind_weights(search=True),
        )
        index = cls(model, analyzer, settings=settings)
        if embed_weight is None:
            embed_weight = settings.search_weight if (vectors is not None or embed.enabled()) else 0.0
        index.embed_weight = float(embed_weight)
        index.add(docs, features, vectors)
        return index

    @classmethod
    def build_chunked(
        cls,
        ids: Sequence[int],
        feature_chunks: Iterable[Sequence[Sequence[str]]],
        analyzer,
        *,
        vectors: np.ndarray | None = None,
        embed_weight: float = 0.0,
        kind_weights: dict[str, float] | None = None,
        settings: SimilaritySettings = DEFAULT_SIMILARITY,
    ) -> SimilarityIndex:
        """:meth:`build` from features that arrive in chunks (a generator, in ``ids``
        order), so that a large corpus never holds every document's features at once."""
        model, X = TextModel.fit_transform_chunks(
            feature_chunks, kind_weights=kind_weights or settings.kind_weights(search=True)
        )
        index = cls(model, analyzer, settings=settings)
        index.embed_weight = float(embed_weight)
        index._append_rows(ids, X, None, vectors)
        return index

    def _append(self, ids: Sequence[int], features: Sequence[Sequence[str]], vectors: np.ndarray | None = None) -> None:
        if not ids:
            return
        X, D = self.model.vectors(features)
        self._append_rows(ids, X, D, vectors)

    def _append_rows(
        self, ids: Sequence[int], X: sp.csr_matrix, D: np.ndarray | None, vectors: np.ndarray | None
    ) -> None:
        if not ids:
            return
        if self.embed_weight:
            if vectors is None or len(vectors) != len(ids):
                raise ValueError("this index blends sentence embeddings: every document needs its vector")
            from . import embed

            if not self.ids and not self._blocks_E:
                self._P = embed.basis(vectors)
            self._blocks_E.append(embed.project(vectors, self._P))
            self._E = None
            korean = embed.stored_korean(vectors).astype(np.int8)
        else:
            korean = np.full(len(ids), -1, dtype=np.int8)
        base = len(self.ids)
        for off, i in enumerate(ids):
            i = int(i)
            old = self._pos.get(i)
            if old is not None:
                self._alive[old] = False
            self._pos[i] = base + off
        self.ids.extend(int(i) for i in ids)
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._group = np.concatenate([self._group, np.full(len(ids), -1, dtype=np.int64)])
        self._korean = np.concatenate([self._korean, korean])
        self._blocks_X.append(X)
        if D is not None:
            self._blocks_D.append(D)
        self._X = None
        self._D = None
        self._XT = None

    def add(
        self,
        docs: Sequence[tuple[int, str]],
        features: Sequence[Sequence[str]] | None = None,
        vectors: np.ndarray | None = None,
    ) -> None:
        """Append (or replace) documents ((id, "title\nbody") pairs); ``features`` and
        ``vectors`` skip analysis and encoding when already known."""
        texts = [t for _, t in docs]
        if features is None:
            terms = (
                self.analyzer.terms_many(texts)
                if hasattr(self.analyzer, "terms_many")
                else [self.analyzer.terms(t) for t in texts]
            )
            features = [self.analyzer.features(t, tt) for t, tt in zip(texts, terms, strict=False)]
        if self.embed_weight and vectors is None:
            from . import embed

            vectors = embed.encode([ThreadText.from_index_text(t).encoding_text() for t in texts])
        self._append([d for d, _ in docs], features, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        for i in ids:
            p = self._pos.pop(int(i), None)
            if p is not None:
                self._alive[p] = False

    def __len__(self) -> int:
        return len(self._pos)

    def set_groups(self, group_of: dict[int, int]) -> None:
        """Which documents ask the same thing: doc id -> group (a topic suggestion's id);
        documents not named are in none. Replaces the previous groups."""
        group = np.full(len(self.ids), -1, dtype=np.int64)
        pos = self._pos
        for doc_id, g in group_of.items():
            p = pos.get(doc_id)
            if p is not None:
                group[p] = g
        self._group = group
        self._grouped = bool((group >= 0).any())

    def _matrices(self):
        if self._X is None:
            if self._blocks_X:
                self._X = sp.vstack(self._blocks_X, format="csr") if len(self._blocks_X) > 1 else self._blocks_X[0]
                self._blocks_X = [self._X]
            else:
                self._X = sp.csr_matrix((0, len(self.model.vocab)), dtype=np.float32)
            if self._blocks_D:
                self._D = np.vstack(self._blocks_D) if len(self._blocks_D) > 1 else self._blocks_D[0]
                self._blocks_D = [self._D]
        if self._E is None and self._blocks_E:
            self._E = np.vstack(self._blocks_E) if len(self._blocks_E) > 1 else self._blocks_E[0]
            self._blocks_E = [self._E]
        return self._X, self._D

    def _query_vectors(self, texts: Sequence[str], *, quick: bool = True) -> np.ndarray | None:
        """Each query's embedding, twice: (queries, 2, dims), the first for the rows of
        Korean texts, the second for the others (see :func:`forum.topics.embed.for_documents`).
        ``quick``: see :func:`forum.topics.embed.encode`."""
        if not self.embed_weight:
            return None
        from . import embed

        texts = list(texts)
        Q = embed.encode(texts, query=True, quick=quick)
        pair = [embed.project(embed.for_documents(Q, texts, korean_docs=k), self._P) for k in (True, False)]
        return np.stack(pair, axis=1)

    def _embed_scores(self, qe: np.ndarray, korean_query: bool) -> np.ndarray:
        """Embedding cosine of every row with a query (``qe``: its pair of vectors).

        One pass over the embeddings with the vector for the query's own language (at
        100,000 rows a pass reads 100 MB: ~10 ms on this machine, a second one would
        double it); then the settings' ``cross_rescore`` best rows of the other language are
        scored again with the vector meant for them. The rest of that language keeps
        the first score, a little off, far below anything shown."""
        E = self._E
        assert E is not None
        own = 0 if korean_query else 1
        e = E @ qe[own]
        cross = self._cross_rows(korean_query)
        if len(cross):
            limit = self.settings.cross_rescore
            if len(cross) > limit:
                cross = cross[np.argpartition(-e[cross], limit - 1)[:limit]]
            e[cross] = E[cross] @ qe[1 - own]
        return e

    def _cross_rows(self, korean_query: bool) -> np.ndarray:
        """Positions of the rows in the other language than a Korean (or other) query's."""
        cached = self._cross.get(korean_query)
        if cached is None or cached[0] is not self._korean:  # appending makes a new array
            cached = self._cross[korean_query] = (
                self._korean,
                np.flatnonzero(self._korean == (0 if korean_query else 1)),
            )
        return cached[1]

    # ------------------------------------------------------------ querying
    def query_vector(self, text: str):
        feats = self.analyzer.features(text)
        return self.model.vectors([feats])

    def query(self, text: str, limit: int = 5, exclude: set[int] | None = None) -> list[tuple[int, float]]:
        """Best matches for ``text``: (doc_id, score in [0, 1]), best first."""
        if not self._pos or limit <= 0:
            return []
        from . import embed

        with embed.one_blas_thread():
            q, qd = self.query_vector(text)
            qe = self._query_vectors([text])
            return self._top(q, qd, limit, exclude, None if qe is None else qe[0], self._weight(text), text)

    def query_many(
        self, texts: Sequence[str], limit: int = 5, exclude: Sequence[set[int] | None] | None = None
    ) -> list[list[tuple[int, float]]]:
        """:meth:`query` for several texts at once (analysed and encoded together);
        ``exclude``: ids to leave out, one set (or None) per text. Run by the job runner
        (related questions), whose e5 is the stored vectors' graph: the queries are read
        with it rather than with a second, quicker one."""
        terms = self.analyzer.terms_many(list(texts))
        feats = [self.analyzer.features(t, tt) for t, tt in zip(texts, terms, strict=False)]
        Q, QD = self.model.vectors(feats)
        QE = self._query_vectors(texts, quick=False)
        from . import embed

        with embed.one_blas_thread():
            return [
                self._top(
                    Q[i],
                    None if QD is None else QD[i : i + 1],
                    limit,
                    exclude[i] if exclude is not None else None,
                    None if QE is None else QE[i],
                    self._weight(t),
                    t,
                )
                for i, t in enumerate(texts)
            ]

    def _weight(self, text: str) -> float:
        """The embedding's share for this query (see :func:`forum.topics.embed.search_weight`)."""
        if not self.embed_weight:
            return 0.0
        from . import embed

        return embed.search_weight(text, self.settings)

    def _scores(self, q: sp.csr_matrix) -> np.ndarray:
        """Cosine of the query row with every indexed row, through the postings of the
        query's features only (an inverted index: X transposed)."""
        X, _ = self._matrices()
        XT = getattr(self, "_XT", None)
        if XT is None or XT.shape[1] != X.shape[0]:
            XT = self._XT = X.T.tocsr()
        q = sp.csr_matrix(q)
        if not q.nnz:
            return np.zeros(X.shape[0], dtype=np.float32)
        # The postings of the query's few features, gathered and summed per row with
        # numpy alone: scipy's sparse product built eight matrices a query for this.
        starts, stops = XT.indptr[q.indices], XT.indptr[q.indices + 1]
        rows = np.concatenate([XT.indices[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True)])
        weights = np.concatenate(
            [XT.data[a:b] * v for a, b, v in zip(starts.tolist(), stops.tolist(), q.data.tolist(), strict=True)]
        )
        return np.bincount(rows, weights=weights, minlength=X.shape[0]).astype(np.float32)

    def _top(self, q, qd, limit, exclude, qe=None, w=0.0, text=""):
        _, D = self._matrices()
        s = self._scores(q)
        if self.model.lsa_weight and D is not None and qd is not None:
            s = (1.0 - self.model.lsa_weight) * s + self.model.lsa_weight * np.clip(D @ qd.ravel(), 0.0, None)
        if w and qe is not None and self._E is not None and qe.any() and s.any():
            # Meaning alone finds a "nearest" text even for gibberish: a query must share
            # something (a word, a concept, two Hangul syllables) with the corpus at all,
            # and a match must share something with the query or mean much the same.
            e = np.clip(self._embed_scores(qe, is_korean(text)), 0.0, None)
            s = np.where((s > 0) | (e >= self.settings.meaning_alone), (1.0 - w) * s + w * e, 0.0)
        s = np.where(self._alive, s, -1.0)
        s = self._feedback(s, self.settings.feedback_weight(is_korean(text)))
        s = self._boost_best_topic(s)
        if exclude:
            for i in exclude:
                p = self._pos.get(int(i))
                if p is not None:
                    s[p] = -1.0
        want = min(limit, len(s))
        if want <= 0:
            return []
        cand = np.argpartition(-s, want - 1)[:want] if want < len(s) else np.arange(len(s))
        ids = self.ids
        order = sorted(cand.tolist(), key=lambda p: (-s[p], ids[p]))
        return [(int(ids[p]), float(min(1.0, max(0.0, s[p])))) for p in order if s[p] > 0]

    def _feedback(self, s: np.ndarray, weight: float) -> np.ndarray:
        """``s`` with each of its settings' ``feedback_pool`` best rows raised by ``weight``
        (the settings' ``feedback_weight_korean`` or ``feedback_weight_other``) times its mean
        embedding cosine with the ``feedback_docs`` best ones (pseudo-relevance feedback: a
        match that agrees with the best matches is more likely right than one that only
        agrees with the query). The stored vectors compared hold what a query's do not
        (MiniLM's part of an English text, the start of the body), and no encoder runs for
        it: a few hundred dot products. Like the topic boost, chosen before ``exclude``
        applies (a thread's own text is the best evidence of what it asks)."""
        m = self.settings.feedback_docs
        E = self._E
        if not weight or m <= 0 or E is None or len(s) <= m:
            return s
        pool = min(self.settings.feedback_pool, len(s) - 1)
        cand = np.argpartition(-s, pool)[:pool]
        cand = cand[s[cand] > 0]
        if len(cand) <= m:
            return s
        best = cand[np.lexsort((cand, -s[cand]))[:m]]
        fb = (E[cand] @ E[best].T).mean(axis=1)
        out = s.copy()
        out[cand] += np.float32(weight) * np.clip(fb, 0.0, None)
        return out

    def _boost_best_topic(self, s: np.ndarray) -> np.ndarray:
        """``s`` with the best match's topic siblings (as the repeated-topic job grouped
        them, see :meth:`set_groups`: they ask what it asks) raised by the settings'
        ``topic_boost`` times its score. Chosen before ``exclude`` applies: for a thread's
        related questions the best match is the thread itself, and its own topic is the
        best evidence."""
        if not self._grouped or not len(s):
            return s
        best = int(np.argmax(s))
        g = self._group[best]
        if g < 0 or s[best] <= 0:
            return s
        return np.where((self._group == g) & self._alive, s + self.settings.topic_boost * s[best], s)

    # ------------------------------------------------------------ persistence
    def to_bytes(self) -> memoryview:
        """The index as one .npz blob (a view of it: store it or copy it)."""
        X, D = self._matrices()
        alive = self._alive
        everyone = bool(alive.all())

        def live(M):  # type: ignore[no-untyped-def]
            return M if everyone else M[alive]  # no copy of large matrices when nothing was removed

        buf = io.BytesIO()
        model_blob = np.frombuffer(self.model.to_bytes(), np.uint8)
        Xa = live(X) if X.shape[0] else None
        arrays = {
            "ids": np.asarray(self.ids, dtype=np.int64)[alive],
            "data": Xa.data if Xa is not None else np.zeros(0, np.float32),
            "indices": Xa.indices if Xa is not None else np.zeros(0, np.int32),
            "indptr": Xa.indptr if Xa is not None else np.zeros(1, np.int64),
            "model": model_blob,
        }
        if D is not None:
            arrays["dense"] = live(D).astype(np.float16)
        if self.embed_weight and self._E is not None:
            arrays["embed"] = live(self._E).astype(np.float16)
            arrays["embed_korean"] = live(self._korean)
            arrays["embed_weight"] = np.asarray([self.embed_weight], dtype=np.float64)
            if self._P is not None:
                arrays["embed_basis"] = self._P
        np.savez(buf, **arrays)  # uncompressed: embeddings barely compress, and loading stays fast
        del arrays
        return buf.getbuffer()  # no second copy of a blob that can weigh 100+ MB

    @staticmethod
    def stored_embeddings(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        """(doc ids, embeddings as kept: float16, in the basis; the basis or None) of a
        stored index (:meth:`to_bytes`), without loading the rest; None when it has none."""
        z = np.load(io.BytesIO(blob))
        if "embed" not in z.files:
            return None
        return z["ids"], z["embed"], z["embed_basis"] if "embed_basis" in z.files else None

    @classmethod
    def from_bytes(
        cls, blob: bytes | memoryview, analyzer, *, settings: SimilaritySettings = DEFAULT_SIMILARITY
    ) -> SimilarityIndex:
        z = np.load(io.BytesIO(blob))
        model = TextModel.from_bytes(bytes(z["model"]))
        index = cls(model, analyzer, settings=settings)
        ids = z["ids"].tolist()
        X = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(len(ids), len(model.vocab)))
        index.ids = [int(i) for i in ids]
        index._pos = {i: p for p, i in enumerate(index.ids)}
        index._alive = np.ones(len(ids), dtype=bool)
        index._group = np.full(len(ids), -1, dtype=np.int64)
        index._korean = (
            z["embed_korean"].astype(np.int8) if "embed_korean" in z.files else np.full(len(ids), -1, dtype=np.int8)
        )
        index._blocks_X = [X]
        if "dense" in z.files:
            index._blocks_D = [z["dense"].astype(np.float32)]
        if "embed" in z.files:
            index.embed_weight = float(z["embed_weight"][0])
            index._blocks_E = [z["embed"].astype(np.float32)]
            if "embed_basis" in z.files:
                index._P = z["embed_basis"]
        return index
