"""Group: find the topics of a run.

A full run groups every document (:func:`group_all`); an incremental run lets new
documents join the stored suggestions (:func:`join_stored`) and groups the rest of
what arrived since the last full run among themselves (:func:`group_pool`). Then
centroids (exact, or shifted from the stored ones) and the published articles that
cover a topic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from forum.models import SuggestionState
from forum.text import Analyzer
from forum.topics.cluster import Doc, Topic, assign, detect, doc_features, mean_similarities
from forum.topics.settings import DEFAULT_SETTINGS, ClusterSettings
from forum.topics.similarity import TextModel
from forum.topics.stages.load import Stored
from forum.topics.store import ArticleText

if TYPE_CHECKING:
    from forum.topics.stages.reconcile import Membership


@dataclass(frozen=True, slots=True)
class Found:
    """A topic as this run sees it."""

    doc_ids: tuple[int, ...]
    title: str
    key_terms: tuple[str, ...]
    representative_id: int | None
    centroid: Mapping[str, float] | None = None
    cohesion: float = 0.0
    #: the published article that covers it, if any
    covered_by: int | None = None
    agreement: float = 0.0  # see forum.topics.cluster.Topic.agreement


@dataclass(frozen=True, slots=True)
class Grouped:
    """A full run's topics and the model they were described in."""

    found: tuple[Found, ...]
    model: TextModel | None


@dataclass(frozen=True, slots=True)
class Joined:
    """New documents that joined stored suggestions (suggestion id -> thread ids), and the
    documents that joined none."""

    joined: Mapping[int, tuple[int, ...]]
    leftovers: tuple[Doc, ...]


def found_of(topic: Topic, settings: ClusterSettings, *, described: bool = True) -> Found:
    return Found(
        tuple(topic.doc_ids),
        topic.title,
        tuple(topic.key_terms[: settings.key_terms]),
        topic.representative_id,
        dict(topic.centroid) if described else None,
        topic.cohesion if described else 0.0,
        agreement=topic.agreement if described else 0.0,
    )


def group_all(
    docs: list[Doc],
    analyzer: Analyzer,
    handed: list[np.ndarray] | None,
    *,
    min_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> Grouped:
    """Every document grouped at once. ``handed``: a list holding the documents'
    embeddings, which the clustering empties (so that they are freed while it works)."""
    topics = detect(docs, analyzer, min_size=min_size, vectors=handed, settings=settings)
    model = next((t.model for t in topics if t.model is not None), None)
    if model is None and docs:
        model = TextModel.fit(doc_features(docs, analyzer))
    return Grouped(tuple(found_of(t, settings) for t in topics), model)


def join_targets(stored: Mapping[int, Stored], membership: Membership, model: TextModel) -> list[tuple[int, Topic]]:
    """The stored suggestions new threads may join (those with threads and a centroid), as topics."""
    return [
        (
            s.id,
            Topic(
                doc_ids=sorted(membership.after[s.id]),
                title=s.title,
                key_terms=list(s.key_terms),
                centroid=dict(s.centroid),
                cohesion=s.cohesion,
                key=str(s.id),
                model=model,
            ),
        )
        for s in stored.values()
        if membership.after[s.id] and s.centroid
    ]


def join_stored(
    docs: Sequence[Doc],
    stored: Sequence[tuple[int, Topic]],
    analyzer: Analyzer,
    model: TextModel,
    vectors: np.ndarray | None,
    members: tuple[list[int], np.ndarray] | None,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> Joined:
    """New documents join the stored suggestions they resemble (``stored``: (suggestion
    id, the suggestion as a topic)); see :func:`forum.topics.cluster.assign`."""
    topics = [t for _, t in stored]
    updated, leftovers = assign(
        list(docs), topics, analyzer, model=model, vectors=vectors, members=members, settings=settings
    )
    joined: dict[int, tuple[int, ...]] = {}
    for (sid, before), after in zip(stored, updated, strict=True):
        had = set(before.doc_ids)
        extra = tuple(d for d in after.doc_ids if d not in had)
        if extra:
            joined[sid] = extra
    return Joined(joined, tuple(leftovers))


def group_pool(
    docs: list[Doc],
    analyzer: Analyzer,
    vectors: np.ndarray | None,
    *,
    min_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> tuple[Found, ...]:
    """New topics among the threads that joined nothing (described later, in the stored model)."""
    topics = detect(docs, analyzer, min_size=min_size, vectors=vectors, settings=settings)
    return tuple(found_of(t, settings, described=False) for t in topics)


def centroid_of(
    model: TextModel,
    vectors: Mapping[int, sp.csr_matrix],
    ids: Sequence[int],
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> tuple[dict[str, float], float]:
    """The normalised mean vector of ``ids`` (its strongest features) and their
    average pairwise similarity, as :func:`forum.topics.cluster.detect` gives them."""
    rows = [vectors[i] for i in ids if i in vectors]
    if not rows:
        return {}, 0.0
    total = np.asarray(sp.vstack(rows).sum(axis=0)).ravel()
    k = len(rows)
    sq = float(total @ total)
    cohesion = (sq - k) / (k * (k - 1)) if k > 1 else 1.0
    norm = math.sqrt(sq) or 1.0
    features = model._features()
    nz = np.flatnonzero(total)
    top = nz[np.argsort(-total[nz], kind="stable")][: settings.centroid_size]
    return {features[j]: float(total[j] / norm) for j in top}, cohesion


def shifted_centroid(
    model: TextModel,
    centroid: Mapping[str, float],
    cohesion: float,
    size: int,
    added: Sequence[sp.csr_matrix],
    removed: Sequence[sp.csr_matrix],
    new_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> tuple[dict[str, float], float]:
    """``centroid_of`` after threads joined and left, from the stored centroid
    alone: the members' vector sum is the centroid times its length
    (``sqrt(cohesion k (k-1) + k)`` for unit vectors), shifted by the vectors
    that came and went. Only the strongest features of the sum are stored, so
    this is an approximation that the next full run replaces."""
    if new_size <= 0:
        return {}, 0.0
    vocab = model.vocab
    length = math.sqrt(max(cohesion * size * (size - 1) + size, 0.0))
    cols = [vocab[f] for f in centroid if f in vocab]
    vals = [centroid[f] * length for f in centroid if f in vocab]
    total = sp.csr_matrix((np.asarray(vals, np.float32), ([0] * len(cols), cols)), shape=(1, len(vocab)))
    delta = sp.csr_matrix((1, len(vocab)), dtype=np.float32)
    for x in added:
        delta = delta + x
    for x in removed:
        delta = delta - x
    # |S + d|^2 = |S|^2 + 2 S.d + |d|^2, with |S|^2 known exactly.
    sq = length * length + 2.0 * float((total @ delta.T).toarray()[0, 0]) + float((delta @ delta.T).toarray()[0, 0])
    summed = (total + delta).tocsr()
    k = new_size
    new_cohesion = (sq - k) / (k * (k - 1)) if k > 1 else 1.0
    norm = math.sqrt(max(sq, 1e-9))
    features = model._features()
    order = np.argsort(-summed.data, kind="stable")[: settings.centroid_size]
    out = {features[summed.indices[i]]: float(summed.data[i] / norm) for i in order if summed.data[i] > 0}
    return out, new_cohesion


def covered_by(
    model: TextModel,
    analyzer: Analyzer,
    topics: Sequence[tuple[Mapping[str, float], float, int]],
    articles: Sequence[ArticleText],
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> list[int | None]:
    """For each topic (centroid, cohesion, size), the published article that
    covers it, if any: the article (read like a thread: title twice, then the
    start of its text) is on average as similar to the topic's threads as
    threads must be to each other to form a topic (``settings.threshold``)."""
    if not topics or not articles:
        return [None] * len(topics)
    docs = [Doc(id=-a.id, title=a.title, body=a.body) for a in articles]
    S = mean_similarities(model, model.tfidf(doc_features(docs, analyzer)), topics)
    out: list[int | None] = []
    for ti in range(len(topics)):
        best = int(np.argmax(S[:, ti]))
        out.append(articles[best].id if S[best, ti] >= settings.threshold else None)
    return out


def mark_covered(
    model: TextModel | None,
    analyzer: Analyzer,
    found: Sequence[Found],
    articles: Sequence[ArticleText],
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> tuple[Found, ...]:
    """``found`` with the article that covers each topic, if any."""
    if model is None or not articles or not found:
        return tuple(found)
    best = covered_by(
        model, analyzer, [(f.centroid or {}, f.cohesion, len(f.doc_ids)) for f in found], articles, settings
    )
    return tuple(replace(f, covered_by=a) for f, a in zip(found, best, strict=True))


def recentre(
    model: TextModel,
    stored: Mapping[int, Stored],
    membership: Membership,
    new_found: Sequence[Found],
    rows_of: Callable[[set[int]], Mapping[int, sp.csr_matrix]],
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> tuple[dict[int, tuple[dict[str, float], float]], tuple[Found, ...]]:
    """Centroids in the stored model for whatever changed: a changed suggestion's stored
    centroid shifted by the threads that came and went (so the cost follows the changes;
    computed afresh when it has none), and the new topics' centroids. ``rows_of``: the
    tf-idf rows of threads by id."""
    changed = membership.changed()
    before, after = membership.before, membership.after
    moved = {t for sid in changed for t in (after[sid] ^ before[sid])}
    rebuild = [sid for sid in changed if not stored[sid].centroid]
    need = moved | {t for f in new_found for t in f.doc_ids} | {t for sid in rebuild for t in after[sid]}
    vectors = rows_of(need)
    out: dict[int, tuple[dict[str, float], float]] = {}
    for sid in changed:
        s = stored[sid]
        if s.centroid:
            out[sid] = shifted_centroid(
                model,
                s.centroid,
                s.cohesion,
                len(before[sid]),
                [vectors[t] for t in after[sid] - before[sid] if t in vectors],
                [vectors[t] for t in before[sid] - after[sid] if t in vectors],
                len(after[sid]),
                settings,
            )
        else:
            out[sid] = centroid_of(model, vectors, sorted(after[sid]), settings)
    described = []
    for f in new_found:
        centroid, cohesion = centroid_of(model, vectors, f.doc_ids, settings)
        described.append(replace(f, centroid=centroid, cohesion=cohesion))
    return out, tuple(described)


def covers(
    model: TextModel,
    analyzer: Analyzer,
    stored: Mapping[int, Stored],
    membership: Membership,
    recentred: Mapping[int, tuple[Mapping[str, float], float]],
    articles: Sequence[ArticleText],
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> dict[int, int | None]:
    """Open suggestion (with threads) -> the published article that covers it, if any."""
    open_now = [s for s in stored.values() if s.state == SuggestionState.open.value and membership.after[s.id]]
    if not open_now or not articles:
        return {s.id: None for s in open_now}
    topics = [(*recentred.get(s.id, (s.centroid, s.cohesion)), len(membership.after[s.id])) for s in open_now]
    found = covered_by(model, analyzer, topics, articles, settings)  # type: ignore[arg-type]
    return {s.id: a for s, a in zip(open_now, found, strict=True)}
