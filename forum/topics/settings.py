"""The repeated-topic job's settings: one frozen object, passed explicitly.

The defaults are the tuned values; how they were chosen is in ``docs/topic-tuning.md``.
Tests and experiments build their own with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SETTINGS", "Bars", "ClusterSettings"]

Bars = tuple[float, float, float]  # (member bar, relative bar, group bar), see cluster.prune


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    # ---- grouping (forum.topics.cluster.detect)
    #: centroid cosine two groups need to merge on words alone (no embeddings); also the
    #: similarity at which a published article covers a topic
    threshold: float = 0.40
    #: with embeddings blended in: the bar of Korean threads and of the others (grouped apart)
    korean_threshold: float = 0.55
    other_threshold: float = 0.78
    #: in a language part of fewer than small_forum threads the bar rises by up to small_raise
    #: (linearly, the fewer the more): idf cannot yet tell content words from common verbs
    small_forum: int = 100
    small_raise: float = 0.10
    #: neighbour smoothing share, words alone and with embeddings
    smooth: float = 0.5
    smooth_with_embeddings: float = 0.7
    #: neighbours a vector borrows from in smoothing, at most one per smooth_per threads
    smooth_k: int = 15
    smooth_per: int = 15
    #: neighbours per thread in the kNN graph that proposes merges
    knn_k: int = 15
    linkage: str = "centroid"
    #: a group of more than blob_share of a part's threads (and more than blob_min) is grouped
    #: again, its bar raised by blob_raise each time, never above blob_max_bar
    blob_share: float = 0.05
    blob_min: int = 50
    blob_raise: float = 0.05
    blob_max_bar: float = 0.95
    #: best-match joining (cluster.join_best_matches): threads left out of every group that are
    #: each other's best match (one among the other's best_of best), at least pair_bar similar,
    #: are grouped, in chains of up to pair_max_size threads
    pair_bar_korean: float = 0.45
    pair_bar_other: float = 0.45
    best_of: int = 2
    pair_max_size: int = 4
    #: the cohesion check's bars (cluster.prune): member, relative and group bar of each part
    member_bar_korean: float = 0.0
    relative_bar_korean: float = 0.7
    group_bar_korean: float = 0.0
    member_bar_other: float = 0.0
    relative_bar_other: float = 0.0
    group_bar_other: float = 0.0

    # ---- joining (forum.topics.cluster.assign)
    #: share of the threshold a new thread's similarity to a topic centroid needs to join it
    join_margin: float = 0.65
    #: with embeddings: a new thread's join_k nearest members at least join_similarity_* similar
    #: vote, among the members of its join_shortlist most similar topics
    join_k: int = 5
    join_similarity_korean: float = 0.45
    join_similarity_other: float = 0.6
    join_shortlist: int = 10

    # ---- describing and keeping suggestions (forum.topics.stages)
    #: key terms shown per suggestion, features kept in a stored centroid
    key_terms: int = 8
    centroid_size: int = 300
    #: a topic continues the stored suggestion it shares at least this share of the smaller with
    match_share: float = 0.5
    #: a dismissed suggestion comes back when it grows by this share and this many threads
    reopen_growth: float = 0.5
    reopen_min_new: int = 3
    #: an incremental run turns into a full one when more than this share of the window
    #: (and more than full_run_min threads) changed
    full_run_share: float = 0.1
    full_run_min: int = 500

    def bars(self, korean: bool) -> Bars:
        """The cohesion check's bars of a language part."""
        if korean:
            return (self.member_bar_korean, self.relative_bar_korean, self.group_bar_korean)
        return (self.member_bar_other, self.relative_bar_other, self.group_bar_other)

    def pair_bar(self, korean: bool) -> float:
        return self.pair_bar_korean if korean else self.pair_bar_other

    def join_similarity(self, korean: bool) -> float:
        return self.join_similarity_korean if korean else self.join_similarity_other


DEFAULT_SETTINGS = ClusterSettings()
