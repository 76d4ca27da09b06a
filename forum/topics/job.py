"""The repeated-topic job: turns groups of threads that ask the same thing
into knowledge-base suggestions, and keeps those suggestions stable.

A **full run** groups every eligible thread (public, created in the last
``topics_window_days`` days, not linked to an article, not taken out of a
suggestion by staff), then reconciles the topics with the stored suggestions
(:mod:`forum.topics.stages.reconcile`). It also rebuilds the stored
similar-questions index.

An **incremental run** looks only at what changed since the last run: threads
above the last run's high-water mark and threads edited since, which join the
suggestion they resemble most; threads that became hidden, deleted, linked or
too old leave their suggestions; the threads that joined nothing since the last
full run are grouped among themselves for new topics. A full run happens instead
when there was none yet, when the analyser, synonyms or settings changed, when
the last full run is older than ``topics_full_every`` seconds, or when much changed.

Both kinds run the stages of :mod:`forum.topics.stages` (load, analyse, group,
reconcile, write and rank) and record the run in ``topic_runs``. One process runs
the job at a time (a lease row in ``job_leases``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from forum.clock import utcnow
from forum.config import Settings
from forum.text import release_kiwi
from forum.topics import similar_index, store
from forum.topics.settings import DEFAULT_SETTINGS, ClusterSettings
from forum.topics.similarity import TextModel
from forum.topics.stages import analyse, group, load, reconcile, write

log = logging.getLogger("forum.topics")

LEASE = "topics"
LEASE_TTL = timedelta(minutes=30)

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

    def add(self, written: write.Written) -> None:
        self.created += written.created
        self.updated += written.updated
        self.reopened += written.reopened
        self.covered += written.covered
        self.expired += written.expired


def run(
    settings: Settings,
    *,
    mode: str = "auto",
    engine: Engine | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    rebuild_similar: bool = True,
    release_models: bool = False,
    cluster_settings: ClusterSettings = DEFAULT_SETTINGS,
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
            job = _Run(settings, cluster_settings, engine, progress, now or utcnow(), holder)
            return job.execute(mode, rebuild_similar=rebuild_similar, release_models=release_models)
        finally:
            store.release_lease(engine, LEASE, holder)
    finally:
        if own_engine:
            engine.dispose()


def release_memory() -> None:
    """Hands memory that Python freed back to the system (glibc keeps it otherwise,
    and the next phase of a long run would add to the peak instead of reusing it)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class _Run:
    """One run: the stages in order, with the run's clock, progress and report."""

    def __init__(
        self,
        settings: Settings,
        cluster: ClusterSettings,
        engine: Engine,
        progress: Progress | None,
        now: datetime,
        holder: str,
    ) -> None:
        self.settings = settings
        self.cluster = cluster
        self.engine = engine
        self.progress = progress
        self.now = now
        self.holder = holder
        self.report = RunReport()
        self.window_start = now - timedelta(days=settings.topics_window_days)
        self.min_size = max(2, settings.topics_min_size)
        self.run_id = 0
        self._clock = time.perf_counter()

    def _phase(self, label: str, total: int | None = None) -> AbstractContextManager[Any]:
        return self.progress(label, total) if self.progress else nullcontext(None)

    def _lap(self, name: str) -> None:
        t = time.perf_counter()
        self.report.timings[name] = round(t - self._clock, 3)
        self._clock = t
        store.renew_lease(self.engine, LEASE, self.holder, LEASE_TTL)

    def execute(self, mode: str, *, rebuild_similar: bool, release_models: bool) -> RunReport:
        started = time.perf_counter()
        past = load.history(self.engine)
        self.analyzer = store.analyzer_for(past.synonym_lines)
        self.fingerprint = store.model_fingerprint(
            [*past.synonym_lines, f"window={self.settings.topics_window_days}", f"min={self.min_size}"]
        )
        if mode == "auto":
            mode = self._choose(past)
        elif mode == "incremental" and not self._can_continue(past):
            mode = "full"
        self.run_id = write.start_run(self.engine, mode=mode, now=self.now, fingerprint=self.fingerprint)
        self.report.run_id, self.report.mode = self.run_id, mode
        high_water: int | None
        try:
            if mode == "full":
                high_water = self._full(rebuild_similar, release_models)
            else:
                high_water = self._incremental(past)
                if high_water is None:  # too much changed: a full run is cheaper and better
                    self.report.mode = mode = "full"
                    high_water = self._full(rebuild_similar, release_models)
        except Exception as exc:
            write.fail_run(self.engine, self.run_id, exc, time.perf_counter() - started)
            raise
        self.report.seconds = time.perf_counter() - started
        self.report.suggestions_open = write.finish_run(
            self.engine,
            self.run_id,
            mode=mode,
            high_water=high_water,
            values={
                "threads_seen": self.report.threads_seen,
                "threads_changed": self.report.threads_changed,
                "seconds": self.report.seconds,
            },
        )
        return self.report

    def _can_continue(self, past: load.History) -> bool:
        return past.last is not None and past.last_full is not None and past.last_full.fingerprint == self.fingerprint

    def _choose(self, past: load.History) -> str:
        if not self._can_continue(past):
            return "full"
        finished = past.last_full.finished_at
        if finished is None or self.now - finished >= timedelta(seconds=max(0, self.settings.topics_full_every)):
            return "full"
        return "incremental" if load.has_model(self.engine) else "full"

    # ------------------------------------------------------------ full run

    def _full(self, rebuild_similar: bool, release_models: bool) -> int:
        loaded = load.load_full(self.engine, self.window_start)
        high_water, articles = loaded.high_water, loaded.articles
        self.report.threads_seen = self.report.threads_changed = len(loaded.texts)
        self._lap("load")
        analysed = analyse.analyse(self.engine, loaded.texts, self.analyzer, phase=self._phase)
        self._lap("analyse")
        if rebuild_similar and similar_index.needs_rebuild(self.engine):
            # now, while the window's terms and vectors are at hand (the index reads the rest).
            # A failure here must not cost the run its topics: the index keeps its last
            # build (the web process rebuilds it when stale) and the next full run tries again.
            try:
                with self._phase("Indexing similar questions", None):
                    similar_index.rebuild(self.engine, known=(loaded.texts, dict(analysed.terms), analysed.vectors))
            except Exception as exc:
                log.exception("rebuilding the similar-questions index failed; the topics are detected all the same")
                self.report.similar_error = f"{type(exc).__name__}: {exc}"
            self._lap("similar_index")
        docs = list(analysed.docs)
        handed = [analysed.vectors] if analysed.vectors is not None else None
        del analysed, loaded  # the clustering needs all the memory it can get
        if release_models:
            release_kiwi()
        release_memory()
        with self._phase("Clustering", None):
            grouped = group.group_all(docs, self.analyzer, handed, min_size=self.min_size, settings=self.cluster)
        del handed, docs
        self._lap("detect")
        found = group.mark_covered(grouped.model, self.analyzer, grouped.found, articles, self.cluster)
        with self._phase("Saving", None):
            self.report.add(
                write.write_full(
                    self.engine,
                    self.run_id,
                    found,
                    window_start=self.window_start,
                    now=self.now,
                    min_size=self.min_size,
                    settings=self.cluster,
                )
            )
            write.refresh_stats(self.engine)
            if grouped.model is not None:
                write.save_model(self.engine, grouped.model, fingerprint=self.fingerprint, high_water=high_water)
        self._lap("save")
        return high_water

    # ------------------------------------------------------------ incremental run

    def _incremental(self, past: load.History) -> int | None:
        last, last_full = past.last, past.last_full
        changes = load.load_changes(self.engine, self.window_start, last)
        changed = {t.id: t for t in [*changes.new_texts, *changes.edited]}
        self.report.threads_changed = len(changed) + len(changes.gone)
        if (
            len(changed) > max(self.cluster.full_run_min, self.cluster.full_run_share * changes.window_count)
            or changes.model_blob is None
        ):
            return None
        self._lap("load")
        model = TextModel.from_bytes(changes.model_blob)
        self._lap("load_model")
        stored = changes.stored
        membership = reconcile.leave(stored, changes.gone, {t.id for t in changes.edited})

        texts = sorted(changed.values(), key=lambda t: t.id)
        analysed = analyse.analyse(self.engine, texts, self.analyzer, encoded=False, phase=self._phase)
        self._lap("analyse")
        targets = group.join_targets(stored, membership, model)
        leftovers = analysed.docs
        if targets and analysed.docs:
            # With embeddings, new threads join by their nearest members (see cluster.assign).
            new_vectors = analyse.encode(self.engine, texts, self._phase)
            members = None
            if new_vectors is not None:
                member_ids = {d for _, t in targets for d in t.doc_ids}
                new_vectors, members = load.member_vectors(self.engine, new_vectors, member_ids)
            self._lap("member_vectors")
            joined = group.join_stored(analysed.docs, targets, self.analyzer, model, new_vectors, members, self.cluster)
            membership = reconcile.join(membership, joined.joined)
            leftovers = joined.leftovers
        self._lap("assign")

        # New topics among the threads that joined nothing since the last full run.
        pool = load.load_pool(self.engine, self.window_start, last_full.high_water, changes.high_water)
        taken = {t for m in membership.after.values() for t in m}
        leftover_ids = {d.id for d in leftovers}
        pool = [t for t in pool if t.id not in taken and (t.id in leftover_ids or t.id not in changed)]
        new_found: tuple[group.Found, ...] = ()
        if len(pool) >= self.min_size:
            pooled = analyse.analyse(self.engine, pool, self.analyzer, phase=self._phase)
            new_found = group.group_pool(
                list(pooled.docs), self.analyzer, pooled.vectors, min_size=self.min_size, settings=self.cluster
            )
        self._lap("detect_new")

        recentred, new_found = group.recentre(
            model,
            stored,
            membership,
            new_found,
            lambda ids: analyse.tfidf_rows(self.engine, model, self.analyzer, ids),
            self.cluster,
        )
        new_found = group.mark_covered(model, self.analyzer, new_found, changes.articles, self.cluster)
        cover_of = group.covers(model, self.analyzer, stored, membership, recentred, changes.articles, self.cluster)
        self._lap("centroids")

        self.report.add(
            write.write_changes(
                self.engine,
                self.run_id,
                stored,
                membership,
                recentred,
                new_found,
                cover_of,
                now=self.now,
                min_size=self.min_size,
                settings=self.cluster,
            )
        )
        write.refresh_stats(self.engine)
        self._lap("save")
        return max(changes.high_water, last.high_water)
