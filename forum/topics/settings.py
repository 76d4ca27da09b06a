"""The repeated-topic job's settings and the similarity settings: frozen objects, passed explicitly.

:class:`ClusterSettings` is how threads are grouped into topics; :class:`SimilaritySettings`
is how a similarity is put together (the encoders' shares, the blend of words and meaning)
and how similar questions are ranked. The defaults are the tuned values; how they were
chosen is in ``docs/topic-tuning.md``. Tests and experiments build their own with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SETTINGS", "DEFAULT_SIMILARITY", "Bars", "ClusterSettings", "SimilaritySettings"]

Bars = tuple[float, float, float]  # (member bar, relative bar, group bar), see cluster.prune
Shares = tuple[float, float, float]  # (USE, e5, MiniLM), see forum.topics.embed
KindWeights = tuple[float, float, float]  # (term, pair, char), see forum.topics.similarity.feature_kind


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
    #: in a language part of fewer than small_forum threads, a neighbour lends to a thread in
    #: smoothing only when their similarity reaches this share of the merge bar (0: every one
    #: of the smooth_k nearest lends)
    smooth_floor: float = 0.6
    #: neighbours per thread in the kNN graph that proposes merges
    knn_k: int = 15
    linkage: str = "centroid"
    #: the link test (cluster.rac_cluster): two groups of at least link_min threads merge only
    #: when the neighbour links between them reach link_* times the 2 knn_k links the smaller
    #: group's threads could have (0: off), Korean threads and the others
    link_korean: float = 0.0
    link_other: float = 0.15
    link_min: int = 2
    #: the rank-linked bar (cluster.rac_cluster; 0: off), Korean threads and the others: two
    #: groups at least ranked_bar_* similar (below the merge bar) merge when the rows naming a
    #: row of the other group among their ranked_top nearest reach ranked_share of the links
    #: there could be; only in a part of at least small_forum threads
    ranked_bar_korean: float = 0.35
    ranked_bar_other: float = 0.0
    ranked_share: float = 0.4
    ranked_top: int = 5
    #: each encoder's part of a language part's embeddings centred (embed.centred) before
    #: grouping, when the part has at least centre_min threads (a handful of threads about
    #: different things have no common direction to take away); the bars of centred vectors
    centre_korean: bool = False
    centre_other: bool = True
    centre_min: int = 100
    centred_korean_threshold: float = 0.55
    centred_other_threshold: float = 0.72
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

    def link(self, korean: bool) -> float:
        """The link test's share of a language part (0: off)."""
        return self.link_korean if korean else self.link_other

    def ranked(self, korean: bool) -> tuple[float, float, int] | None:
        """The rank-linked bar of a language part, its share and its top (None: off)."""
        bar = self.ranked_bar_korean if korean else self.ranked_bar_other
        return (bar, self.ranked_share, self.ranked_top) if bar > 0 else None

    def centre(self, korean: bool) -> bool:
        """Whether a language part's embeddings are centred before grouping."""
        return self.centre_korean if korean else self.centre_other

    def merge_bar(self, korean: bool, *, centred: bool) -> float:
        """The merge bar of a language part's vectors, centred or not."""
        if centred:
            return self.centred_korean_threshold if korean else self.centred_other_threshold
        return self.korean_threshold if korean else self.other_threshold

    def pair_bar(self, korean: bool) -> float:
        return self.pair_bar_korean if korean else self.pair_bar_other

    def join_similarity(self, korean: bool) -> float:
        return self.join_similarity_korean if korean else self.join_similarity_other


DEFAULT_SETTINGS = ClusterSettings()


@dataclass(frozen=True, slots=True)
class SimilaritySettings:
    # ---- the embedding (forum.topics.embed); stored vectors are put together with the shares,
    # so changing them means bumping embed.COMBINE_VERSION
    #: each encoder's share (USE, e5, MiniLM) of a Korean text's embedding cosine
    shares_korean: Shares = (1 / 3, 2 / 3, 0.0)
    #: each encoder's share (USE, e5, MiniLM) of any other text's embedding cosine
    shares_other: Shares = (1 / 3, 1 / 3, 1 / 3)

    # ---- topic detection (forum.topics.cluster.detect)
    #: share of the embedding cosine in the similarity that groups Korean threads
    topic_weight_korean: float = 0.6
    #: share of the embedding cosine in the similarity that groups the other threads
    topic_weight_other: float = 0.9
    #: tf-idf weight of each feature kind (term, pair, Hangul bigram) in topic detection
    topic_kind_weights: KindWeights = (1.0, 0.6, 0.2)

    # ---- similar questions (forum.topics.similarity.SimilarityIndex)
    #: share of the embedding cosine an index with embeddings records (a query's share is below)
    search_weight: float = 0.6
    #: share of the embedding cosine in ranking similar questions for a Korean query
    search_weight_korean: float = 0.7
    #: share of the embedding cosine in ranking similar questions for any other query
    search_weight_other: float = 0.85
    #: tf-idf weight of each feature kind (term, pair, Hangul bigram) in similar questions
    search_kind_weights: KindWeights = (1.0, 0.6, 0.5)
    #: embedding cosine at which a thread matches a query it shares no feature with
    meaning_alone: float = 0.5
    #: rows in the other language than the query's whose embedding cosine is scored exactly
    cross_rescore: int = 256
    #: share of the best match's score that the other threads of its topic gain
    topic_boost: float = 0.3
    #: pseudo-relevance feedback (SimilarityIndex._feedback): each of the feedback_pool best
    #: rows gains feedback_weight_* (a Korean query's, another's) times its mean embedding
    #: cosine with the feedback_docs best
    feedback_weight_korean: float = 0.0
    feedback_weight_other: float = 0.2
    feedback_docs: int = 3
    feedback_pool: int = 100

    def shares(self, korean: bool) -> Shares:
        """Each encoder's share of the embedding cosine of a Korean text or another."""
        return self.shares_korean if korean else self.shares_other

    def topic_weight(self, korean: bool) -> float:
        return self.topic_weight_korean if korean else self.topic_weight_other

    def query_weight(self, korean: bool) -> float:
        """The embedding's share in ranking similar questions for a Korean query or another."""
        return self.search_weight_korean if korean else self.search_weight_other

    def feedback_weight(self, korean: bool) -> float:
        """The pseudo-relevance feedback's weight for a Korean query or another."""
        return self.feedback_weight_korean if korean else self.feedback_weight_other

    def kind_weights(self, *, search: bool) -> dict[str, float]:
        """Feature kind -> tf-idf weight, for similar questions or for topic detection."""
        term, pair, char = self.search_kind_weights if search else self.topic_kind_weights
        return {"term": term, "pair": pair, "char": char}


DEFAULT_SIMILARITY = SimilaritySettings()
