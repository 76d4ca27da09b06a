"""The similar-questions index. Similar questions: the ask page, "Related questions" on thread pages,
``GET /api/similar`` and ``forum similar`` all read one index per process.

The index covers public threads (title + opening post) and published
articles (negative ids inside the index). It is stored in the database
(``topic_blobs``, name ``similar``) so a fresh process loads it in a moment
instead of analysing every thread; ``forum topics detect`` rebuilds it with
a model learned from the current corpus. Between rebuilds each process keeps
its copy current itself: every ``similar_refresh`` seconds (when asked) it
adds new and re-shown threads, re-reads edited ones and drops hidden, deleted
and unpublished ones, using the stored terms of each thread (no text is
analysed twice).

Threads that the repeated-topic job grouped into one topic suggestion rank
together: the best match's topic siblings gain a share of its score (see
``topic_boost`` in :class:`forum.topics.settings.SimilaritySettings`), so a thread's related
questions are first its own topic's, whatever words they use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import numpy as np
from sqlalchemy import Connection, Engine, and_, func, select
from sqlmodel import col

from forum.clock import utcnow
from forum.db import id_col
from forum.models import Article, ArticleStatus, Post, SuggestionState, Thread, TopicBlob, TopicMember, TopicSuggestion
from forum.text import Analyzer, ThreadText
from forum.topics import embed, store
from forum.topics.settings import DEFAULT_SIMILARITY, SimilaritySettings
from forum.topics.similarity import SimilarityIndex

log = logging.getLogger(__name__)

BLOB = "similar"
MAX_LIMIT = 20
MAX_QUERY_CHARS = 1000
# Rewrite the stored index once this many threads were added since it was built
# (a fresh process then has little to catch up on).
RESAVE_AFTER = 2000
REBUILD_AFTER = 50
REBUILD_SHARE = 0.2
REBUILD_DAYS = 7
# Threads analysed together when the index is built.
FEATURE_CHUNK = 5_000


@dataclass(frozen=True)
class Match:
    type: str  # "thread" | "article"
    id: int
    title: str
    url: str
    score: float
    solved: bool
    external_id: str | None = None

    def as_api(self, base: str = "") -> dict[str, object]:
        """The JSON of ``/api/similar``; ``base``: the forum's address, for absolute links."""
        return {
            "type": self.type,
            "id": self.id,
            "title": self.title,
            "url": base + self.url,
            "score": self.score,
            "solved": self.solved,
        }

    def as_cli(self) -> dict[str, object]:
        return {
            "id": self.id,
            "external_id": self.external_id,
            "title": self.title,
            "score": self.score,
            "type": self.type,
            "url": self.url,
        }


@dataclass
class _Meta:
    title: str
    slug: str
    solved: bool
    external_id: str | None
    edited_at: datetime | None = None


def thread_path(thread_id: int, slug: str) -> str:
    return f"/t/{thread_id}/{quote(slug)}"


def article_path(article_id: int, slug: str) -> str:
    return f"/kb/{article_id}/{quote(slug)}"


class SimilarIndex:
    """One process's similar-question index. Thread-safe: queries hold a lock
    for a few milliseconds; loading and catching up happen outside it and the
    result is swapped in. ``settings``: how matches are ranked."""

    def __init__(
        self,
        engine: Engine,
        *,
        refresh_every: float = 30.0,
        persist: bool = True,
        in_web: bool = False,
        settings: SimilaritySettings = DEFAULT_SIMILARITY,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.in_web = in_web
        self.refresh_every = refresh_every
        self.persist = persist
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._index: SimilarityIndex | None = None
        self._analyzer: Analyzer | None = None
        self._fingerprint = ""
        self._threads: dict[int, _Meta] = {}
        self._articles: dict[int, _Meta] = {}
        self._article_stamp: dict[int, datetime] = {}
        self._blob_high_water = 0
        self._signature: tuple[object, ...] | None = None
        self._built_docs = 0
        # New words are unknown to an index until it is rebuilt: rebuild once this
        # many threads (or this share of the index) arrived since it was built.
        self.rebuild_after = REBUILD_AFTER
        self.rebuild_share = REBUILD_SHARE
        self._blob_built_at = datetime.min
        self._seen_at: datetime | None = None  # edits after this are caught up on
        self._refreshed = 0.0
        #: public threads a web process could not add yet: their terms or vector are not stored
        self._pending = 0
        #: when the stored index this process found unusable was built (see :meth:`_stand_in`)
        self._unusable_built_at: datetime | None = None

    # ------------------------------------------------------------ state

    @property
    def loaded(self) -> bool:
        return self._index is not None

    def stale(self) -> bool:
        return self._index is None or time.monotonic() - self._refreshed >= self.refresh_every

    def ensure(self) -> None:
        """Loads the index, or catches up if it is older than ``refresh_every``."""
        if not self.stale():
            return
        with self._refresh_lock:
            if self.stale():
                self.refresh()

    def refresh(self) -> None:
        with self.engine.connect() as conn:
            lines = store.synonym_lines(conn)
            fingerprint = store.model_fingerprint(lines)
            analyzer = store.analyzer_for(lines)
            stored = store.blob_info(conn, BLOB)
            newer = stored is not None and stored[0] == fingerprint and stored[2] > self._blob_built_at
            if self._index is None or fingerprint != self._fingerprint or newer:
                # First use, new synonyms or analyser, or a rebuild by the topic job.
                self._load(conn, analyzer, fingerprint)
            if self._index is not None:
                self._catch_up(conn)
        self._refreshed = time.monotonic()

    def _load(self, conn: Connection, analyzer, fingerprint: str, *, rebuild: bool = False) -> None:  # type: ignore[no-untyped-def]
        """Loads the stored index, or builds one (analysing and encoding what is not
        stored yet). A web process never builds: it keeps what it has (or nothing)
        until the job runner has stored an index for the current analyser."""
        blob = None if rebuild else store.load_blob(conn, BLOB)
        if blob is not None and blob.fingerprint == fingerprint:
            index = SimilarityIndex.from_bytes(blob.data, analyzer, settings=self.settings)
            high_water, seen_at = blob.high_water, blob.built_at
        elif self.in_web:
            if self._index is None and blob is not None and blob.built_at != self._unusable_built_at:
                self._stand_in(blob, analyzer, fingerprint)
            return
        else:
            index, high_water, seen_at = build_index(
                self.engine, conn, analyzer, fingerprint, persist=self.persist, settings=self.settings
            )
        if index.embed_weight:
            # load the encoders here, not in the first visitor's request (a web process only
            # those that read a query: its stored vectors come from the job runner)
            embed.encode(["warm up"], query=self.in_web)
        self._install(index, analyzer, fingerprint, high_water, seen_at)

    def _install(self, index: SimilarityIndex, analyzer, fingerprint: str, high_water: int, built_at) -> None:  # type: ignore[no-untyped-def]
        """Swaps in a loaded or built index; the next catch-up fills in its threads."""
        threads = {i: _Meta("", "", False, None) for i in index.ids if i > 0}
        self._built_docs = len(threads)
        with self._lock:
            self._index, self._analyzer, self._fingerprint = index, analyzer, fingerprint
            self._threads, self._articles, self._article_stamp = threads, {}, {}
            self._blob_high_water, self._seen_at, self._blob_built_at = high_water, built_at, built_at
            self._signature = None

    def _stand_in(self, blob: store.Blob, analyzer, fingerprint: str) -> None:  # type: ignore[no-untyped-def]
        """A web process that starts after an upgrade (or a change of synonyms) finds
        only an index stored by the previous code: it answers from that one until the
        job runner has stored the current one (a refresh then sees a newer index with
        the current fingerprint and loads it), rather than answering nothing for as
        long as the runner takes to analyse every thread again. An index this code
        cannot query (other encoders) is not used."""
        try:
            index = SimilarityIndex.from_bytes(blob.data, analyzer, settings=self.settings)
            with embed.one_blas_thread():
                index.query("warm up", 1)
        except Exception:
            log.info("similar questions: the stored index is from other code; waiting for the job runner")
            self._unusable_built_at = blob.built_at  # not read again at every refresh
            return
        log.info("similar questions: answering from the previous code's index until the job runner stores one")
        self._install(index, analyzer, fingerprint, blob.high_water, blob.built_at)

    def _catch_up(self, conn: Connection) -> None:
        """Brings the loaded index up to date with the database (one scan of
        the thread list, stored terms for what changed)."""
        assert self._index is not None
        started = utcnow()
        signature = _signature(conn)
        if signature == self._signature and not self._pending:
            return  # nothing changed since the last look: skip the scan
        rows = conn.execute(
            select(
                id_col(Thread.id),
                col(Thread.title),
                col(Thread.slug),
                col(Thread.solved_at),
                col(Thread.external_id),
                col(Post.edited_at),
            )
            .join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
            .where(*store.public_thread_conditions())
        ).all()
        seen_at = self._seen_at
        current = self._threads
        fresh: dict[int, _Meta] = {}
        todo: list[int] = []
        for tid, title, slug, solved_at, external_id, edited_at in rows:
            meta = _Meta(title, slug, solved_at is not None, external_id, edited_at)
            fresh[tid] = meta
            old = current.get(tid)
            if (
                old is None
                or (old.title and old.title != title)
                or (edited_at is not None and (seen_at is None or edited_at > seen_at) and edited_at != old.edited_at)
            ):
                todo.append(tid)
        gone = [tid for tid in current if tid not in fresh]
        grown = len(fresh) - self._built_docs
        if not self.in_web and grown >= max(self.rebuild_after, self.rebuild_share * self._built_docs):
            self._load(conn, self._analyzer, self._fingerprint, rebuild=True)
            self._catch_up(conn)
            return
        texts = store.load_texts_by_id(conn, todo) if todo else []
        articles = store.published_articles(conn)
        groups = topic_groups(conn)
        features: list[list[str]] = []
        vectors: np.ndarray | None = None
        self._pending = 0
        if texts and self.in_web:
            # Only what the job runner has analysed and encoded; the rest waits for it.
            wanted = len(texts)
            texts, terms, vectors = store.stored_only(conn, texts, vectors=bool(self._index.embed_weight))
            added = {t.id for t in texts}
            for tid in todo:
                if tid not in added:
                    fresh.pop(tid, None)
            self._pending = wanted - len(texts)
        elif texts:
            terms = store.ensure_terms(self.engine, texts, self._analyzer)  # type: ignore[arg-type]
            if self._index.embed_weight:
                vectors = store.ensure_vectors(self.engine, texts)
        if texts:
            features = [self._analyzer.features(t.index_text(), terms[t.id][0] + terms[t.id][1]) for t in texts]  # type: ignore[union-attr]
        new_articles = [a for a in articles if self._article_stamp.get(a.id) != a.updated_at]
        article_features = [self._analyzer.features(a.index_text()) for a in new_articles]  # type: ignore[union-attr]
        article_vectors = (
            embed.encode([ThreadText(a.title, a.body).encoding_text() for a in new_articles])
            if self._index.embed_weight and new_articles
            else None
        )
        dropped_articles = set(self._articles) - {a.id for a in articles}
        with self._lock:
            index = self._index
            index.remove(gone)
            index.remove([-i for i in dropped_articles])
            if texts:
                index.add([(t.id, t.index_text()) for t in texts], features, vectors)
            if new_articles:
                index.add([(-a.id, a.index_text()) for a in new_articles], article_features, article_vectors)
            index.set_groups(groups)
            self._threads = fresh
            self._articles = {a.id: _Meta(a.title, a.slug, True, None) for a in articles}
            self._article_stamp = {a.id: a.updated_at for a in articles}
            self._seen_at = started
            self._signature = signature
        added_since_blob = sum(1 for t in texts if t.id > self._blob_high_water)
        if self.persist and added_since_blob >= RESAVE_AFTER:
            self._resave(conn)

    def _resave(self, conn: Connection) -> None:
        with self._lock:
            data = self._index.to_bytes()  # type: ignore[union-attr]
            # Articles are re-read by every process: keep the stored index threads-only.
            high_water = max(self._threads, default=0)
        index = SimilarityIndex.from_bytes(data, self._analyzer, settings=self.settings)
        index.remove([i for i in index.ids if i < 0])
        with self.engine.begin() as wconn:
            store.save_blob(
                wconn,
                BLOB,
                index.to_bytes(),
                fingerprint=self._fingerprint,
                high_water=high_water,
                doc_count=len(index),
                built_at=self._seen_at,
            )
        self._blob_high_water = high_water
        self._blob_built_at = self._seen_at or self._blob_built_at

    # ------------------------------------------------------------ queries

    def search(
        self,
        text: str,
        limit: int = 5,
        *,
        solved_only: bool = False,
        exclude_thread: int | None = None,
        wait: bool = True,
    ) -> list[Match]:
        """Best matches for ``text``, best first. With ``wait=False`` a query that
        would wait for a refresh answers nothing."""
        text = " ".join((text or "").split())[:MAX_QUERY_CHARS]
        if not text or limit <= 0 or self._index is None:
            return []
        if not self._lock.acquire(timeout=-1 if wait else 0.05):
            return []
        try:
            want = limit * 3 + 10 if solved_only else limit + 5
            hits = self._index.query(text, want, {exclude_thread} if exclude_thread else None)
            return self._matches(hits, limit, solved_only)
        finally:
            self._lock.release()

    def search_many(self, texts: Sequence[str], limit: int, *, exclude: Sequence[int]) -> list[list[Match]]:
        """:meth:`search` for several texts at once, each leaving out its own thread
        (``exclude``, one id per text): related questions, computed by a job."""
        texts = [" ".join((t or "").split())[:MAX_QUERY_CHARS] for t in texts]
        if not texts or self._index is None:
            return [[] for _ in texts]
        with self._lock:
            hits = self._index.query_many(texts, limit + 5, [{tid} for tid in exclude])
            return [self._matches(h, limit, False) for h in hits]

    def _matches(self, hits: Sequence[tuple[int, float]], limit: int, solved_only: bool) -> list[Match]:
        out: list[Match] = []
        for doc_id, score in hits:
            if doc_id > 0:
                meta = self._threads.get(doc_id)
                if meta is None or (solved_only and not meta.solved):
                    continue
                out.append(
                    Match(
                        "thread",
                        doc_id,
                        meta.title,
                        thread_path(doc_id, meta.slug),
                        round(score, 4),
                        meta.solved,
                        meta.external_id,
                    )
                )
            else:
                meta = self._articles.get(-doc_id)
                if meta is None:
                    continue
                out.append(
                    Match("article", -doc_id, meta.title, article_path(-doc_id, meta.slug), round(score, 4), True)
                )
            if len(out) >= limit:
                break
        return out


def topic_groups(conn: Connection) -> dict[int, int]:
    """thread id -> its topic suggestion (any state but expired): the threads the
    repeated-topic job found asking the same thing (see ``topic_boost`` in
    :class:`forum.topics.settings.SimilaritySettings`)."""
    rows = conn.execute(
        select(col(TopicMember.thread_id), col(TopicMember.suggestion_id))
        .join(TopicSuggestion, col(TopicSuggestion.id) == col(TopicMember.suggestion_id))
        .where(col(TopicSuggestion.state) != SuggestionState.expired.value)
    )
    return {int(t): int(g) for t, g in rows}


def _signature(conn: Connection) -> tuple[object, ...]:
    """A summary that changes whenever a thread or article the index shows
    appears, changes, is hidden, deleted, solved or published, or the topic
    job regroups threads (one aggregate query each instead of reading every row)."""
    threads = conn.execute(
        select(
            func.count(),
            func.max(Thread.id),
            func.max(Post.edited_at),
            func.count(col(Thread.solved_at)),
            func.max(Thread.solved_at),
            func.count(col(Thread.hidden_at)),
            func.max(Thread.hidden_at),
            func.count(col(Thread.deleted_at)),
            func.max(Thread.deleted_at),
            func.count(col(Post.hidden_at)),
            func.count(col(Post.deleted_at)),
        ).join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
    ).one()
    articles = conn.execute(
        select(func.count(), func.max(Article.updated_at), func.max(Article.id)).where(
            col(Article.status) == ArticleStatus.published.value
        )
    ).one()
    topics = conn.execute(
        select(
            func.count(col(TopicMember.thread_id)),
            func.max(col(TopicMember.added_at)),
            func.max(col(TopicSuggestion.updated_at)),
        )
        .select_from(TopicSuggestion)
        .outerjoin(TopicMember, col(TopicMember.suggestion_id) == col(TopicSuggestion.id))
    ).one()
    return (*threads, *articles, *topics)


def build_index(
    engine: Engine,
    conn: Connection,
    analyzer,
    fingerprint: str,
    *,
    persist: bool = True,  # type: ignore[no-untyped-def]
    known: Known | None = None,
    settings: SimilaritySettings = DEFAULT_SIMILARITY,
) -> tuple[SimilarityIndex, int, datetime]:
    """A new index of all public threads (from stored terms), saved as the blob.
    ``known``: terms and vectors the caller has already read, of the same texts."""
    started = utcnow()
    high_water = store.max_thread_id(conn)
    texts = store.load_texts(conn, col(Thread.id) <= high_water)
    known_terms, known_vectors = _known(known, texts)

    def feature_chunks():  # type: ignore[no-untyped-def]
        # a chunk at a time: the features of 100,000 threads at once take gigabytes
        for start in range(0, len(texts), FEATURE_CHUNK):
            part = texts[start : start + FEATURE_CHUNK]
            terms = store.ensure_terms(engine, [t for t in part if t.id not in known_terms], analyzer)
            terms.update((t.id, known_terms[t.id]) for t in part if t.id in known_terms)
            yield [analyzer.features(t.index_text(), terms[t.id][0] + terms[t.id][1]) for t in part]

    vectors = _vectors(engine, texts, known_vectors)
    del known_vectors
    index = SimilarityIndex.build_chunked(
        [t.id for t in texts],
        feature_chunks(),
        analyzer,
        vectors=vectors,
        embed_weight=settings.search_weight if vectors is not None else 0.0,
        settings=settings,
    )
    del vectors
    if persist:
        with engine.begin() as wconn:
            store.save_blob(
                wconn,
                BLOB,
                index.to_bytes(),
                fingerprint=fingerprint,
                high_water=high_water,
                doc_count=len(texts),
                built_at=started,
            )
    return index, high_water, started


#: (texts, their terms by thread id, their vectors in the same order or None): what the
#: topic job has read for its window, which the index need not read again
Known = tuple[Sequence[store.LoadedThread], dict[int, store.Terms], np.ndarray | None]


def _known(
    known: Known | None, texts: Sequence[store.LoadedThread]
) -> tuple[dict[int, store.Terms], dict[int, np.ndarray]]:
    """Of ``known``, the terms and vectors of those ``texts`` that are unchanged."""
    if known is None:
        return {}, {}
    ktexts, kterms, kvectors = known
    digest = {t.id: t.digest for t in texts}
    same = [(i, t.id) for i, t in enumerate(ktexts) if digest.get(t.id) == t.digest and t.id in kterms]
    terms = {tid: kterms[tid] for _, tid in same}
    vectors = {tid: kvectors[i] for i, tid in same} if kvectors is not None else {}
    return terms, vectors


def _vectors(engine: Engine, texts: Sequence[store.LoadedThread], known: dict[int, np.ndarray]) -> np.ndarray | None:
    """Every text's vector (float16, as stored): the known ones, the rest read or encoded."""
    if not known:
        return store.ensure_vectors(engine, texts)
    rest = [t for t in texts if t.id not in known]
    more = store.ensure_vectors(engine, rest) if rest else None
    if not embed.enabled():
        return None
    out = np.empty((len(texts), embed.dim()), dtype=np.float16)
    j = 0
    for i, t in enumerate(texts):
        row = known.get(t.id)
        if row is None:
            out[i] = more[j]  # type: ignore[index]
            j += 1
        else:
            out[i] = row
    return out


def needs_rebuild(engine: Engine, *, now: datetime | None = None) -> bool:
    """Whether the stored index should be rebuilt (its model learned again):
    there is none, the analyser or synonyms changed, it is older than
    ``REBUILD_DAYS``, or the forum grew by ``REBUILD_SHARE`` since."""
    with engine.connect() as conn:
        info = store.blob_info(conn, BLOB)
        if info is None:
            return True
        fingerprint, _high_water, built_at = info
        if fingerprint != store.model_fingerprint(store.synonym_lines(conn)):
            return True
        if (now or utcnow()) - built_at > timedelta(days=REBUILD_DAYS):
            return True
        doc_count = conn.execute(select(col(TopicBlob.doc_count)).where(col(TopicBlob.name) == BLOB)).scalar() or 0
        public = (
            conn.execute(
                select(func.count())
                .select_from(Thread)
                .join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
                .where(*store.public_thread_conditions())
            ).scalar()
            or 0
        )
    return public - doc_count >= max(REBUILD_AFTER, REBUILD_SHARE * doc_count)


def rebuild(engine: Engine, *, known: Known | None = None) -> int:
    """Rebuilds and stores the index (the topic job's full runs call this, with the
    texts, terms and vectors of their window as ``known``)."""
    with engine.connect() as conn:
        lines = store.synonym_lines(conn)
        index, _, _ = build_index(engine, conn, store.analyzer_for(lines), store.model_fingerprint(lines), known=known)
    return len(index)
