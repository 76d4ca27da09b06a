"""The repeated-topic job: turns groups of threads that ask the same thing
into knowledge-base suggestions, and keeps those suggestions stable.

A **full run** clusters every eligible thread (public, created in the last
``topics_window_days`` days, not linked to an article) with
:func:`forum.topics.cluster.detect`, then reconciles the topics with the stored
suggestions: a topic continues the suggestion it shares most threads with (at
least half of the smaller of the two), so each suggestion keeps its id, state
and history; new topics become new suggestions; open suggestions no longer
found expire. It also rebuilds the stored similar-questions index.

An **incremental run** looks only at what changed since the last run: threads
above the last run's high-water mark and threads edited since, which join the
suggestion they resemble most (:func:`forum.topics.cluster.assign`); threads
that became hidden, deleted, linked or too old leave their suggestions; the
threads that joined nothing since the last full run are clustered among
themselves for new topics. A full run happens instead when there was none
yet, when the analyser, synonyms or settings changed, when the last full run
is older than ``topics_full_every`` seconds, or when much changed.

Both kinds then apply the rules: a dismissed suggestion stays dismissed unless
it grows markedly (by half and by at least three threads); an open suggestion
that a published article already covers (the article resembles the threads as
much as they resemble each other) becomes covered; counts and the ranking
score are refreshed. State changes are conditional updates, so a staff action
that lands during a run is never overwritten.

One process runs the job at a time (a lease row in ``job_leases``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Connection, Engine, and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Mapped
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.db import id_col
from forum.models import (
    Post,
    SuggestionState,
    Thread,
    TopicEvent,
    TopicMember,
    TopicRemoval,
    TopicRun,
    TopicSuggestion,
)
from forum.text import release_kiwi
from forum.topics import embed, store
from forum.topics.cluster import DEFAULT_THRESHOLD, Doc, Topic, assign, detect, doc_features
from forum.topics.similarity import SimilarityIndex, TextModel

log = logging.getLogger("forum.topics")

LEASE = "topics"
LEASE_TTL = timedelta(minutes=30)
MODEL_BLOB = "cluster_model"
CENTROID_SIZE = 300
KEY_TERMS = 8
# A dismissed suggestion comes back when it grows by this share and this many threads.
REOPEN_GROWTH = 0.5
REOPEN_MIN_NEW = 3
# Overlap a topic needs with a stored suggestion to continue it (share of the smaller).
MATCH_SHARE = 0.5
# An incremental run turns into a full one when more than this share of the window changed.
FULL_RUN_SHARE = 0.1
FULL_RUN_MIN = 500

Progress = Callable[[str, int | None], AbstractContextManager[Any]]


@dataclass
class RunReport:
    run_id: int | None = None
    mode: str = ""
    skipped: bool = False
    threads_seen: int = 0
    threads_changed: int = 0
    created: int = 0
    updated: int = 0
    reopened: int = 0
    expired: int = 0
    covered: int = 0
    suggestions_open: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    #: why the similar-questions index could not be rebuilt (the topics were saved all the same)
    similar_error: str | None = None


def saving_score(threads: int, views: int, unsolved: int) -> float:
    """What an article would save: every thread is a question someone asked and
    someone answered, an unsolved one costs twice (the asker is still stuck),
    and views are readers with the same question (counted on a log scale)."""
    if threads <= 0:
        return 0.0
    return round((threads + unsolved) * (1.0 + math.log10(1.0 + views / threads)), 4)


def grew_markedly(dismissed_size: int | None, size: int) -> bool:
    base = dismissed_size or 0
    return size >= base + REOPEN_MIN_NEW and size >= base * (1 + REOPEN_GROWTH)


# ---------------------------------------------------------------- entry point


def run(
    settings: Settings,
    *,
    mode: str = "auto",
    engine: Engine | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    rebuild_similar: bool = True,
    release_models: bool = False,
) -> RunReport:
    """Runs the job once (``mode``: "auto", "full" or "incremental"). Returns
    a report with ``skipped=True`` when another process holds the lease.
    ``release_models``: free the Korean analyser's model once every text is
    analysed (a one-off process; not the web app, whose requests need it)."""
    from forum.db import make_sync_engine

    own_engine = engine is None
    engine = engine or make_sync_engine(settings.database_url)
    holder = store.new_holder()
    try:
        if not store.acquire_lease(engine, LEASE, holder, LEASE_TTL):
            return RunReport(skipped=True)
        try:
            return _Run(settings, engine, progress, now or utcnow(), holder, rebuild_similar, release_models).execute(
                mode
            )
        finally:
            store.release_lease(engine, LEASE, holder)
    finally:
        if own_engine:
            engine.dispose()


# ---------------------------------------------------------------- stored state


@dataclass
class Stored:
    id: int
    state: str
    title: str
    article_id: int | None
    dismissed_size: int | None
    thread_count: int
    centroid: dict[str, float]
    cohesion: float
    key_terms: list[str]
    members: set[int] = field(default_factory=set)


@dataclass
class Found:
    """A topic as this run sees it."""

    doc_ids: list[int]
    title: str
    key_terms: list[str]
    representative_id: int | None
    centroid: dict[str, float] | None = None
    cohesion: float = 0.0
    covered_by: int | None = None
    agreement: float = 0.0  # see forum.topics.cluster.Topic.agreement


def _load_stored(conn: Connection, *, with_centroids: bool) -> dict[int, Stored]:
    # Columns of several types, read back by position.
    cols: list[Mapped[Any]] = [
        col(TopicSuggestion.id),
        col(TopicSuggestion.state),
        col(TopicSuggestion.title),
        col(TopicSuggestion.article_id),
        col(TopicSuggestion.dismissed_size),
        col(TopicSuggestion.thread_count),
        col(TopicSuggestion.cohesion),
        col(TopicSuggestion.key_terms),
    ]
    if with_centroids:
        cols.append(col(TopicSuggestion.centroid))
    out: dict[int, Stored] = {}
    for row in conn.execute(select(*cols)):
        out[row[0]] = Stored(
            id=row[0],
            state=row[1],
            title=row[2],
            article_id=row[3],
            dismissed_size=row[4],
            thread_count=row[5],
            cohesion=row[6] or 0.0,
            key_terms=json.loads(row[7] or "[]"),
            centroid=json.loads(row[8] or "{}") if with_centroids else {},
        )
    for thread_id, suggestion_id in conn.execute(select(col(TopicMember.thread_id), col(TopicMember.suggestion_id))):
        if suggestion_id in out:
            out[suggestion_id].members.add(thread_id)
    return out


def _last_run(conn: Connection, *, mode: str | None = None) -> Any:
    stmt = select(TopicRun).where(col(TopicRun.status) == "done")
    if mode:
        stmt = stmt.where(col(TopicRun.mode) == mode)
    return conn.execute(stmt.order_by(col(TopicRun.id).desc()).limit(1)).first()


def last_run_info(conn: Connection) -> Any:
    """The last finished run (for pages that show when suggestions were updated)."""
    return _last_run(conn)


# ---------------------------------------------------------------- the run


class _Run:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        progress: Progress | None,
        now: datetime,
        holder: str,
        rebuild_similar: bool,
        release_models: bool,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.progress = progress
        self.now = now
        self.holder = holder
        self.rebuild_similar = rebuild_similar
        self.release_models = release_models
        self.report = RunReport()
        self.window_start = now - timedelta(days=settings.topics_window_days)
        self.min_size = max(2, settings.topics_min_size)
        self._events: list[dict[str, Any]] = []
        self._clock = time.perf_counter()

    # ------------------------------------------------------------ helpers

    def _phase(self, label: str, total: int | None = None) -> AbstractContextManager[Any]:
        return self.progress(label, total) if self.progress else nullcontext(None)

    def _lap(self, name: str) -> None:
        t = time.perf_counter()
        self.report.timings[name] = round(t - self._clock, 3)
        self._clock = t
        store.renew_lease(self.engine, LEASE, self.holder, LEASE_TTL)

    def _eligible(self) -> list:  # type: ignore[type-arg]
        """Threads the job groups: in the window, not linked to an article, not taken out of a
        suggestion by staff (a removal is remembered)."""
        return [
            col(Thread.created_at) >= self.window_start,
            col(Thread.article_id).is_(None),
            col(Thread.id).not_in(select(col(TopicRemoval.thread_id))),
        ]

    def _docs(self, texts: Sequence[store.ThreadText], terms: dict[int, store.Terms]) -> list[Doc]:
        docs = []
        for t in texts:
            tt, bt = terms[t.id]
            # Mirrors cluster.doc_text: the title counts twice, a body equal to the title not at all.
            doc_terms = tt + tt + ([] if t.body.strip() == t.title.strip() else bt)
            docs.append(
                Doc(
                    id=t.id,
                    title=t.title,
                    body=t.body,
                    created_at=t.created_at,
                    views=t.views,
                    solved=t.solved,
                    terms=doc_terms,
                )
            )
        return docs

    def _terms(self, texts: Sequence[store.ThreadText], label: str) -> dict[int, store.Terms]:
        with self._phase(label, len(texts)) as bar:
            return store.ensure_terms(self.engine, texts, self.analyzer, advance=bar.advance if bar else None)

    def _embeddings(self, texts: Sequence[store.ThreadText]) -> np.ndarray | None:
        """Stored (or newly computed) sentence embeddings, a row per text; None when they are off."""
        if not embed.enabled():
            return None
        with self._phase("Encoding", len(texts)) as bar:
            return store.ensure_vectors(self.engine, texts, advance=bar.advance if bar else None)

    # ------------------------------------------------------------ orchestration

    def execute(self, mode: str) -> RunReport:
        started = time.perf_counter()
        with self.engine.connect() as conn:
            lines = store.synonym_lines(conn)
            last = _last_run(conn)
            last_full = _last_run(conn, mode="full")
        self.analyzer = store.analyzer_for(lines)
        self.fingerprint = store.model_fingerprint(
            [*lines, f"window={self.settings.topics_window_days}", f"min={self.min_size}"]
        )
        if mode == "auto":
            mode = self._choose(last, last_full)
        elif mode == "incremental" and (last is None or last_full is None or last_full.fingerprint != self.fingerprint):
            mode = "full"
        with self.engine.begin() as conn:
            run_id = conn.execute(
                insert(TopicRun).values(mode=mode, status="running", started_at=self.now, fingerprint=self.fingerprint)
            ).inserted_primary_key[0]  # type: ignore[index]
        self.report.run_id, self.report.mode = run_id, mode
        high_water: int | None
        try:
            if mode == "full":
                high_water = self._full()
            else:
                high_water = self._incremental(last, last_full)
                if high_water is None:  # too much changed: a full run is cheaper and better
                    self.report.mode = mode = "full"
                    high_water = self._full()
        except Exception as exc:
            with self.engine.begin() as conn:
                conn.execute(
                    update(TopicRun)
                    .where(col(TopicRun.id) == run_id)
                    .values(
                        status="failed",
                        finished_at=utcnow(),
                        error=f"{type(exc).__name__}: {exc}"[:2000],
                        seconds=time.perf_counter() - started,
                    )
                )
            raise
        self.report.seconds = time.perf_counter() - started
        with self.engine.begin() as conn:
            self.report.suggestions_open = (
                conn.execute(
                    select(func.count())
                    .select_from(TopicSuggestion)
                    .where(col(TopicSuggestion.state) == SuggestionState.open.value)
                ).scalar()
                or 0
            )
            conn.execute(
                update(TopicRun)
                .where(col(TopicRun.id) == run_id)
                .values(
                    mode=mode,
                    status="done",
                    finished_at=utcnow(),
                    high_water=high_water,
                    threads_seen=self.report.threads_seen,
                    threads_changed=self.report.threads_changed,
                    suggestions_open=self.report.suggestions_open,
                    seconds=self.report.seconds,
                )
            )
        return self.report

    def _choose(self, last: Any, last_full: Any) -> str:
        if last is None or last_full is None or last_full.fingerprint != self.fingerprint:
            return "full"
        if last_full.finished_at is None or self.now - last_full.finished_at >= timedelta(
            seconds=max(0, self.settings.topics_full_every)
        ):
            return "full"
        with self.engine.connect() as conn:
            if store.blob_info(conn, MODEL_BLOB) is None:
                return "full"
        return "incremental"

    # ------------------------------------------------------------ full run

    def _full(self) -> int:
        with self.engine.connect() as conn:
            high_water = store.max_thread_id(conn)
            texts = store.load_texts(conn, col(Thread.id) <= high_water, *self._eligible())
            articles = store.published_articles(conn)
        self.report.threads_seen = self.report.threads_changed = len(texts)
        self._lap("load")
        terms = self._terms(texts, "Analysing")
        vectors = self._embeddings(texts)
        self._lap("analyse")
        from forum.services import similar

        if self.rebuild_similar and similar.needs_rebuild(self.engine):
            # now, while the window's terms and vectors are at hand (the index reads the rest)
            # A failure here must not cost the run its topics: the index keeps its last
            # build (the web process rebuilds it when stale) and the next full run tries again.
            try:
                with self._phase("Indexing similar questions", None):
                    similar.rebuild(self.engine, known=(texts, terms, vectors))
            except Exception as exc:
                log.exception("rebuilding the similar-questions index failed; the topics are detected all the same")
                self.report.similar_error = f"{type(exc).__name__}: {exc}"
            self._lap("similar_index")
        docs = self._docs(texts, terms)
        del terms, texts  # the clustering needs all the memory it can get
        if self.release_models:
            release_kiwi()
        release_memory()
        with self._phase("Clustering", None):
            handed = [vectors] if vectors is not None else None
            del vectors  # detect frees them once it has them in its smaller bases
            topics = detect(docs, self.analyzer, min_size=self.min_size, vectors=handed)
        self._lap("detect")
        model = next((t.model for t in topics if t.model is not None), None)
        if model is None and docs:
            model = TextModel.fit(doc_features(docs, self.analyzer))
        found = [
            Found(
                list(t.doc_ids),
                t.title,
                list(t.key_terms)[:KEY_TERMS],
                t.representative_id,
                dict(t.centroid),
                t.cohesion,
                agreement=t.agreement,
            )
            for t in topics
        ]
        del topics, docs
        self._mark_covered(model, found, articles)
        with self._phase("Saving", None):
            self._write_full(found)
            self._refresh_stats()
            if model is not None:
                with self.engine.begin() as conn:
                    store.save_blob(
                        conn,
                        MODEL_BLOB,
                        model.to_bytes(),
                        fingerprint=self.fingerprint,
                        high_water=high_water,
                        doc_count=model.n_docs,
                    )
        self._lap("save")
        return high_water

    def _write_full(self, found: list[Found]) -> None:
        with self.engine.begin() as conn:
            _take_write_lock(conn, self.report.run_id)
            stored = _load_stored(conn, with_centroids=False)
            member_of: dict[int, int] = {}
            for s in stored.values():
                for tid in s.members:
                    member_of[tid] = s.id
            added_at = dict(conn.execute(select(col(TopicMember.thread_id), col(TopicMember.added_at))).all())
            pairs: list[tuple[int, int, int]] = []
            for ti, f in enumerate(found):
                counts = Counter(member_of[t] for t in f.doc_ids if t in member_of)
                for sid, inter in counts.items():
                    if inter >= MATCH_SHARE * min(len(f.doc_ids), len(stored[sid].members)):
                        pairs.append((-inter, sid, ti))
            pairs.sort()
            match: dict[int, int] = {}  # topic index -> suggestion id
            taken: set[int] = set()
            for _, sid, ti in pairs:
                if ti not in match and sid not in taken:
                    match[ti] = sid
                    taken.add(sid)

            # Threads found in a topic now, and hidden or deleted ones: no suggestion keeps them.
            hidden = {t for t, why in _ineligible_members(conn, self.window_start).items() if why == "hidden"}
            claimed = {t for f in found for t in f.doc_ids} | hidden
            members: dict[int, int] = {}  # thread -> suggestion
            new = [f for ti, f in enumerate(found) if ti not in match and f.covered_by is None]
            for f, sid in zip(new, self._create_many(conn, new), strict=True):
                for t in f.doc_ids:
                    members[t] = sid
            continued = [(stored[sid], found[ti]) for ti, sid in match.items()]
            self._continue_many(conn, continued)
            for s, f in continued:
                for t in f.doc_ids:
                    members[t] = s.id
            for s in stored.values():
                if s.id in taken:
                    if s.state in (SuggestionState.drafted.value, SuggestionState.covered.value):
                        # Threads it had that were linked to its article since stay with it.
                        for t in s.members - claimed:
                            members.setdefault(t, s.id)
                    continue
                for t in s.members - claimed:
                    members.setdefault(t, s.id)
                if s.state == SuggestionState.open.value and _set_state(conn, s, SuggestionState.expired.value):
                    self._event(conn, s.id, "expired", len(s.members), note=None)
                    self.report.expired += 1
            conn.execute(delete(TopicMember))
            rows = [
                {
                    "thread_id": t,
                    "suggestion_id": sid,
                    "added_at": added_at.get(t, self.now) if member_of.get(t) == sid else self.now,
                }
                for t, sid in sorted(members.items())
            ]
            for start in range(0, len(rows), 1000):
                conn.execute(insert(TopicMember), rows[start : start + 1000])
            self._flush_events(conn)

    def _row(self, f: Found) -> dict[str, Any]:
        return {
            "state": SuggestionState.open.value,
            "title": f.title[:300],
            "key_terms": json.dumps(f.key_terms, ensure_ascii=False),
            "representative_thread_id": f.representative_id,
            "centroid": json.dumps(f.centroid or {}, ensure_ascii=False),
            "cohesion": f.cohesion,
            "agreement": f.agreement,
            "thread_count": len(f.doc_ids),
            "created_at": self.now,
            "updated_at": self.now,
            "last_seen_at": self.now,
        }

    def _create_many(self, conn: Connection, found: Sequence[Found]) -> list[int]:
        """New open suggestions (one statement for all), with their "created" events."""
        if not found:
            return []
        table = TopicSuggestion.__table__  # type: ignore[attr-defined]
        ids = list(
            conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), [self._row(f) for f in found]
            ).scalars()
        )
        for f, sid in zip(found, ids, strict=True):
            self._event(conn, sid, "created", len(f.doc_ids))
        self.report.created += len(ids)
        return ids

    def _continue_many(self, conn: Connection, pairs: Sequence[tuple[Stored, Found]]) -> None:
        """Stored suggestions found again: new description, then the rules."""
        if not pairs:
            return
        table = TopicSuggestion.__table__  # type: ignore[attr-defined]
        conn.execute(
            table.update()
            .where(table.c.id == bindparam("sid"))
            .values(
                title=bindparam("title"),
                key_terms=bindparam("key_terms"),
                representative_thread_id=bindparam("representative_thread_id"),
                centroid=bindparam("centroid"),
                cohesion=bindparam("cohesion"),
                agreement=bindparam("agreement"),
                last_seen_at=bindparam("last_seen_at"),
                updated_at=bindparam("updated_at"),
            ),
            [
                {
                    "sid": s.id,
                    "title": f.title[:300],
                    "key_terms": json.dumps(f.key_terms, ensure_ascii=False),
                    "representative_thread_id": f.representative_id,
                    "centroid": json.dumps(f.centroid or {}, ensure_ascii=False),
                    "cohesion": f.cohesion,
                    "agreement": f.agreement,
                    "last_seen_at": self.now,
                    "updated_at": self.now,
                }
                for s, f in pairs
            ],
        )
        self.report.updated += len(pairs)
        for s, f in pairs:
            self._after_change(conn, s, len(f.doc_ids), len(s.members) or s.thread_count, f.covered_by)

    def _after_change(self, conn: Connection, s: Stored, size: int, previous: int, covered_by: int | None) -> None:
        """The rules every changed suggestion goes through."""
        if size > previous:
            self._event(conn, s.id, "grew", size, previous=previous)
        elif size < previous:
            self._event(conn, s.id, "shrank", size, previous=previous)
        expired, dismissed, open_ = (
            SuggestionState.expired.value,
            SuggestionState.dismissed.value,
            SuggestionState.open.value,
        )
        if s.state == expired and size >= self.min_size and _set_state(conn, s, open_):
            self._event(conn, s.id, "revived", size, previous=previous)
        if s.state == dismissed and grew_markedly(s.dismissed_size, size) and _set_state(conn, s, open_):
            self._event(conn, s.id, "reopened", size, previous=s.dismissed_size)
            self.report.reopened += 1
        if (
            s.state == open_
            and covered_by is not None
            and _set_state(conn, s, SuggestionState.covered.value, article_id=covered_by)
        ):
            self._event(conn, s.id, "covered", size, article_id=covered_by)
            self.report.covered += 1

    def _event(
        self,
        conn: Connection,
        sid: int,
        kind: str,
        size: int,
        *,
        previous: int | None = None,
        note: str | None = None,
        article_id: int | None = None,
    ) -> None:
        """Records an event; written with the others by ``_flush_events``."""
        self._events.append(
            {
                "suggestion_id": sid,
                "at": self.now,
                "kind": kind,
                "size": size,
                "previous_size": previous,
                "note": note,
                "article_id": article_id,
                "user_id": None,
            }
        )

    def _flush_events(self, conn: Connection) -> None:
        for start in range(0, len(self._events), 1000):
            conn.execute(insert(TopicEvent), self._events[start : start + 1000])
        self._events.clear()

    # ------------------------------------------------------------ coverage

    def _mark_covered(self, model: TextModel | None, found: Sequence[Found], articles) -> None:  # type: ignore[no-untyped-def]
        if model is None or not articles or not found:
            return
        best = covered_by(
            model, self.analyzer, [(f.centroid or {}, f.cohesion, len(f.doc_ids)) for f in found], articles
        )
        for f, article_id in zip(found, best, strict=True):
            f.covered_by = article_id

    # ------------------------------------------------------------ incremental run

    def _member_vectors(
        self, new_vectors: np.ndarray, member_ids: set[int]
    ) -> tuple[np.ndarray, tuple[list[int], np.ndarray]]:
        """(the new threads' vectors, (member ids, their vectors)) in one space, for the
        nearest-member joins. The similar-questions index keeps every thread's vector in
        its 256 leading directions (rebuilt by the last full run, kept current by the
        web processes): at 100,000 threads reading those takes 0.5 s, reading every
        member's stored vector 1 to 2 s. Members it lacks are read from ``thread_terms``."""
        from forum.services import similar

        with self.engine.connect() as conn:
            blob = store.load_blob(conn, similar.BLOB)
            kept = SimilarityIndex.stored_embeddings(blob.data) if blob is not None else None
            ids, E, P = kept if kept is not None else (None, None, None)
            if E is None or (P is None and E.shape[1] != embed.dim()) or (P is not None and P.shape[0] != embed.dim()):
                return new_vectors, store.stored_vectors(conn, member_ids)  # no index, or an older encoder's
            assert ids is not None  # stored with E
            del blob
            keep = np.flatnonzero(np.isin(ids, np.fromiter(member_ids, dtype=np.int64, count=len(member_ids))))
            found = ids[keep].tolist()
            vectors = np.asarray(E[keep], dtype=np.float32)
            del E
            missing = member_ids - set(found)
            if missing:
                more_ids, more = store.stored_vectors(conn, missing)
                found += more_ids
                vectors = np.vstack([vectors, embed.project(more, P)])
        return embed.project(new_vectors, P), (found, vectors)

    def _incremental(self, last: Any, last_full: Any) -> int | None:
        with self.engine.connect() as conn:
            high_water = store.max_thread_id(conn)
            window_count = (
                conn.execute(
                    select(func.count()).select_from(Thread).where(col(Thread.created_at) >= self.window_start)
                ).scalar()
                or 0
            )
            new_texts = store.load_texts(
                conn, col(Thread.id) > last.high_water, col(Thread.id) <= high_water, *self._eligible()
            )
            edited_ids = set(
                conn.execute(
                    select(col(Post.thread_id)).where(
                        col(Post.is_first).is_(True),
                        col(Post.edited_at) > last.started_at,
                        col(Post.thread_id) <= last.high_water,
                    )
                ).scalars()
            )
            edited = (
                [t for t in store.load_texts_by_id(conn, edited_ids) if t.created_at >= self.window_start]
                if edited_ids
                else []
            )
            gone = _ineligible_members(conn, self.window_start)
            stored = _load_stored(conn, with_centroids=True)
            articles = store.published_articles(conn)
            blob = store.load_blob(conn, MODEL_BLOB)
        linked_edited = {t.id for t in edited}
        changed = {t.id: t for t in [*new_texts, *edited]}
        self.report.threads_changed = len(changed) + len(gone)
        if len(changed) > max(FULL_RUN_MIN, FULL_RUN_SHARE * window_count) or blob is None:
            return None
        self._lap("load")
        model = TextModel.from_bytes(blob.data)
        self._lap("load_model")

        # Who leaves: hidden, deleted, linked or aged-out threads, and edited ones (they are placed again).
        member_of = {t: s.id for s in stored.values() for t in s.members}
        before = {s.id: set(s.members) for s in stored.values()}
        for tid, reason in gone.items():
            sid = member_of.get(tid)
            if sid is None:
                continue
            s = stored[sid]
            if reason == "hidden" or s.state in (
                SuggestionState.open.value,
                SuggestionState.dismissed.value,
                SuggestionState.expired.value,
            ):
                s.members.discard(tid)
        for tid in linked_edited:
            sid = member_of.get(tid)
            if sid is not None:
                stored[sid].members.discard(tid)

        texts = sorted(changed.values(), key=lambda t: t.id)
        terms = self._terms(texts, "Analysing")
        docs = self._docs(texts, terms)
        self._lap("analyse")
        order = [s for s in stored.values() if s.members and s.centroid]
        topics = [
            Topic(
                doc_ids=sorted(s.members),
                title=s.title,
                key_terms=s.key_terms,
                centroid=s.centroid,
                cohesion=s.cohesion,
                key=str(s.id),
                model=model,
            )
            for s in order
        ]
        joined: dict[int, list[int]] = defaultdict(list)
        leftovers = docs
        if topics and docs:
            # With embeddings, new threads join by their nearest members (see cluster.assign).
            new_vectors = self._embeddings(texts)
            members = None
            if new_vectors is not None:
                new_vectors, members = self._member_vectors(new_vectors, {d for t in topics for d in t.doc_ids})
            self._lap("member_vectors")
            updated, leftovers = assign(docs, topics, self.analyzer, model=model, vectors=new_vectors, members=members)
            for s, t in zip(order, updated, strict=True):
                extra = [d for d in t.doc_ids if d not in s.members]
                if extra:
                    joined[s.id] = extra
                    s.members.update(extra)
        self._lap("assign")

        # New topics among the threads that joined nothing since the last full run.
        with self.engine.connect() as conn:
            pool_texts = store.load_texts(
                conn, col(Thread.id) > last_full.high_water, col(Thread.id) <= high_water, *self._eligible()
            )
        taken = {t for s in stored.values() for t in s.members}
        leftover_ids = {d.id for d in leftovers}
        pool_texts = [t for t in pool_texts if t.id not in taken and (t.id in leftover_ids or t.id not in changed)]
        new_found: list[Found] = []
        if len(pool_texts) >= self.min_size:
            pool_terms = self._terms(pool_texts, "Analysing")
            pool_docs = self._docs(pool_texts, pool_terms)
            pool_vectors = self._embeddings(pool_texts)
            for t in detect(pool_docs, self.analyzer, min_size=self.min_size, vectors=pool_vectors):
                new_found.append(Found(list(t.doc_ids), t.title, list(t.key_terms)[:KEY_TERMS], t.representative_id))
        self._lap("detect_new")

        # Centroids in the stored model for whatever changed (shifted by the
        # threads that came and went, so the cost follows the changes), then coverage.
        changed_s = [s for s in stored.values() if s.members != before[s.id]]
        moved = {t for s in changed_s for t in (s.members ^ before[s.id])}
        rebuild = [s for s in changed_s if not s.centroid]
        need = moved | {t for f in new_found for t in f.doc_ids} | {t for s in rebuild for t in s.members}
        vectors = self._vectors(model, need)
        for s in changed_s:
            if s.centroid:
                s.centroid, s.cohesion = shifted_centroid(
                    model,
                    s.centroid,
                    s.cohesion,
                    len(before[s.id]),
                    [vectors[t] for t in s.members - before[s.id] if t in vectors],
                    [vectors[t] for t in before[s.id] - s.members if t in vectors],
                    len(s.members),
                )
            else:
                s.centroid, s.cohesion = centroid_of(model, vectors, sorted(s.members))
        for f in new_found:
            f.centroid, f.cohesion = centroid_of(model, vectors, f.doc_ids)
        self._mark_covered(model, new_found, articles)
        open_now = [s for s in stored.values() if s.state == SuggestionState.open.value and s.members]
        covers = (
            covered_by(model, self.analyzer, [(s.centroid, s.cohesion, len(s.members)) for s in open_now], articles)
            if open_now and articles
            else [None] * len(open_now)
        )
        cover_of = {s.id: a for s, a in zip(open_now, covers, strict=True)}
        self._lap("centroids")

        with self.engine.begin() as conn:
            _take_write_lock(conn, self.report.run_id)
            fresh_state = dict(conn.execute(select(col(TopicSuggestion.id), col(TopicSuggestion.state))).all())
            live = [s for s in changed_s if s.id in fresh_state]
            if live:
                table = TopicSuggestion.__table__  # type: ignore[attr-defined]
                conn.execute(
                    table.update()
                    .where(table.c.id == bindparam("sid"))
                    .values(
                        centroid=bindparam("centroid"),
                        cohesion=bindparam("cohesion"),
                        updated_at=bindparam("now"),
                        last_seen_at=bindparam("now"),
                    ),
                    [
                        {
                            "sid": s.id,
                            "centroid": json.dumps(s.centroid, ensure_ascii=False),
                            "cohesion": s.cohesion,
                            "now": self.now,
                        }
                        for s in live
                    ],
                )
                self.report.updated += len(live)
            removed_all: list[int] = []
            added_rows: list[dict[str, Any]] = []
            for s in stored.values():
                if s.id not in fresh_state:
                    continue
                s.state = fresh_state[s.id]
                if s.members != before[s.id]:
                    self._after_change(conn, s, len(s.members), len(before[s.id]), cover_of.get(s.id))
                elif cover_of.get(s.id) is not None:
                    self._after_change(conn, s, len(s.members), len(s.members), cover_of[s.id])
                if (
                    s.state == SuggestionState.open.value
                    and len(s.members) < self.min_size
                    and _set_state(conn, s, SuggestionState.expired.value)
                ):
                    self._event(conn, s.id, "expired", len(s.members))
                    self.report.expired += 1
                removed_all.extend(before[s.id] - s.members)
                added_rows.extend(
                    {"thread_id": t, "suggestion_id": s.id, "added_at": self.now}
                    for t in sorted(s.members - before[s.id])
                )
            fresh_topics = [f for f in new_found if f.covered_by is None]
            for f, sid in zip(fresh_topics, self._create_many(conn, fresh_topics), strict=True):
                added_rows.extend({"thread_id": t, "suggestion_id": sid, "added_at": self.now} for t in f.doc_ids)
            # A thread is in one suggestion at most: clear where the added ones were.
            cleared = sorted(set(removed_all) | {r["thread_id"] for r in added_rows})
            for start in range(0, len(cleared), store.IN_CHUNK):
                conn.execute(
                    delete(TopicMember).where(col(TopicMember.thread_id).in_(cleared[start : start + store.IN_CHUNK]))
                )
            for start in range(0, len(added_rows), 1000):
                conn.execute(insert(TopicMember), added_rows[start : start + 1000])
            self._flush_events(conn)
        self._refresh_stats()
        self._lap("save")
        return max(high_water, last.high_water)

    def _vectors(self, model: TextModel, ids: set[int]) -> dict[int, sp.csr_matrix]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            # Also threads hidden since: their vectors leave their suggestion's centroid.
            texts = store.load_texts_by_id(conn, ids, public=False)
        terms = store.ensure_terms(self.engine, texts, self.analyzer)
        docs = self._docs(texts, terms)
        X = model.tfidf(doc_features(docs, self.analyzer))
        return {d.id: X[i] for i, d in enumerate(docs)}

    # ------------------------------------------------------------ stats

    def _refresh_stats(self) -> None:
        """Counts, times, main category and ranking score of every suggestion, from its members."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(
                    col(TopicMember.suggestion_id),
                    func.count(),
                    func.coalesce(func.sum(Thread.views), 0),
                    func.sum(case((col(Thread.solved_at).is_(None), 1), else_=0)),
                    func.min(Thread.created_at),
                    func.max(Thread.created_at),
                )
                .join(Thread, col(Thread.id) == col(TopicMember.thread_id))
                .group_by(col(TopicMember.suggestion_id))
            ).all()
            cats: dict[int, Counter[int]] = defaultdict(Counter)
            for sid, cat, n in conn.execute(
                select(col(TopicMember.suggestion_id), col(Thread.category_id), func.count())
                .join(Thread, col(Thread.id) == col(TopicMember.thread_id))
                .group_by(col(TopicMember.suggestion_id), col(Thread.category_id))
            ):
                cats[sid][cat] = n
            seen = set()
            params = []
            for sid, n, views, unsolved, first, last in rows:
                seen.add(sid)
                unsolved = int(unsolved or 0)
                category = min(cats[sid].items(), key=lambda kv: (-kv[1], kv[0]))[0] if cats[sid] else None
                params.append(
                    {
                        "sid": sid,
                        "thread_count": n,
                        "views": int(views),
                        "unsolved_count": unsolved,
                        "first_thread_at": first,
                        "last_thread_at": last,
                        "category_id": category,
                        "score": saving_score(n, int(views), unsolved),
                    }
                )
            current = {
                row[0]: row[1:]
                for row in conn.execute(
                    select(
                        col(TopicSuggestion.id),
                        col(TopicSuggestion.thread_count),
                        col(TopicSuggestion.views),
                        col(TopicSuggestion.unsolved_count),
                        col(TopicSuggestion.first_thread_at),
                        col(TopicSuggestion.last_thread_at),
                        col(TopicSuggestion.category_id),
                        col(TopicSuggestion.score),
                    )
                )
            }
            empty = [sid for sid in current if sid not in seen]
            params += [
                {
                    "sid": sid,
                    "thread_count": 0,
                    "views": 0,
                    "unsolved_count": 0,
                    "first_thread_at": None,
                    "last_thread_at": None,
                    "category_id": None,
                    "score": 0.0,
                }
                for sid in empty
            ]
            keys = (
                "thread_count",
                "views",
                "unsolved_count",
                "first_thread_at",
                "last_thread_at",
                "category_id",
                "score",
            )
            params = [p for p in params if current.get(p["sid"]) != tuple(p[k] for k in keys)]  # only what changed
            if params:
                table = TopicSuggestion.__table__  # type: ignore[attr-defined]
                conn.execute(
                    table.update()
                    .where(table.c.id == bindparam("sid"))
                    .values(
                        thread_count=bindparam("thread_count"),
                        views=bindparam("views"),
                        unsolved_count=bindparam("unsolved_count"),
                        first_thread_at=bindparam("first_thread_at"),
                        last_thread_at=bindparam("last_thread_at"),
                        category_id=bindparam("category_id"),
                        score=bindparam("score"),
                    ),
                    params,
                )


# ---------------------------------------------------------------- shared helpers


def release_memory() -> None:
    """Hands memory that Python freed back to the system (glibc keeps it otherwise,
    and the next phase of a long run would add to the peak instead of reusing it)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _take_write_lock(conn: Connection, run_id: int | None) -> None:
    """Writes first, so that SQLite takes its write lock before this
    transaction reads anything (a deferred transaction that reads, then writes
    after another process committed, fails instead of waiting)."""
    conn.execute(update(TopicRun).where(col(TopicRun.id) == run_id).values(status="running"))


def _set_state(conn: Connection, s: Stored, state: str, *, article_id: int | None = None) -> bool:
    """Moves a suggestion to ``state`` unless someone changed its state meanwhile."""
    values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
    if article_id is not None:
        values["article_id"] = article_id
    done = conn.execute(
        update(TopicSuggestion)
        .where(col(TopicSuggestion.id) == s.id, col(TopicSuggestion.state) == s.state)
        .values(**values)
    ).rowcount
    if done:
        s.state = state
    return bool(done)


def _ineligible_members(conn: Connection, window_start: datetime) -> dict[int, str]:
    """Members that must leave their suggestion: "hidden" (hidden or deleted:
    they leave any suggestion) or "out" (linked to an article, or older than
    the window: they leave open, dismissed and expired ones)."""
    out: dict[int, str] = {}
    rows = conn.execute(
        select(
            id_col(Thread.id), col(Thread.hidden_at), col(Thread.deleted_at), col(Post.hidden_at), col(Post.deleted_at)
        )
        .join(TopicMember, col(TopicMember.thread_id) == col(Thread.id))
        .join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
        .where(
            or_(
                col(Thread.hidden_at).is_not(None),
                col(Thread.deleted_at).is_not(None),
                col(Post.hidden_at).is_not(None),
                col(Post.deleted_at).is_not(None),
                col(Thread.article_id).is_not(None),
                col(Thread.created_at) < window_start,
            )
        )
    )
    for tid, th, td, ph, pd in rows:
        out[tid] = "hidden" if (th or td or ph or pd) else "out"
    return out


def centroid_of(
    model: TextModel, vectors: dict[int, sp.csr_matrix], ids: Sequence[int]
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
    top = nz[np.argsort(-total[nz], kind="stable")][:CENTROID_SIZE]
    return {features[j]: float(total[j] / norm) for j in top}, cohesion


def shifted_centroid(
    model: TextModel,
    centroid: dict[str, float],
    cohesion: float,
    size: int,
    added: Sequence[sp.csr_matrix],
    removed: Sequence[sp.csr_matrix],
    new_size: int,
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
    order = np.argsort(-summed.data, kind="stable")[:CENTROID_SIZE]
    out = {features[summed.indices[i]]: float(summed.data[i] / norm) for i in order if summed.data[i] > 0}
    return out, new_cohesion


def covered_by(
    model: TextModel,
    analyzer,
    topics: Sequence[tuple[dict[str, float], float, int]],
    articles,  # type: ignore[no-untyped-def]
) -> list[int | None]:
    """For each topic (centroid, cohesion, size), the published article that
    covers it, if any: the article (read like a thread: title twice, then the
    start of its text) is on average as similar to the topic's threads as
    threads must be to each other to form a topic (cluster.DEFAULT_THRESHOLD)."""
    if not topics or not articles:
        return [None] * len(topics)
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
    docs = [Doc(id=-a.id, title=a.title, body=a.body) for a in articles]
    A = model.tfidf(doc_features(docs, analyzer))
    S = (A @ C.T).toarray() * scale[None, :]
    out: list[int | None] = []
    for ti in range(len(topics)):
        best = int(np.argmax(S[:, ti]))
        out.append(articles[best].id if S[best, ti] >= DEFAULT_THRESHOLD else None)
    return out
