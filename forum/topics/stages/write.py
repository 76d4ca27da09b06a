"""Write: a reconciled plan applied in one transaction, and what a run records.

State changes are conditional updates (a staff action that lands during a run is never
overwritten); a suggestion's events are written only for the changes that were made.
The transaction writes first, so that SQLite takes its write lock before it reads.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, delete, func, insert, select, update
from sqlmodel import col

from forum.clock import utcnow
from forum.db import id_col
from forum.models import SuggestionState, Thread, TopicEvent, TopicMember, TopicRun, TopicSuggestion
from forum.topics import store
from forum.topics.settings import DEFAULT_SETTINGS, ClusterSettings
from forum.topics.similarity import TextModel
from forum.topics.stages import load, rank, reconcile
from forum.topics.stages.group import Found
from forum.topics.stages.load import MODEL_BLOB, Stored

ROWS = 1000  # rows per INSERT


@dataclass(frozen=True, slots=True)
class Written:
    """What a write changed (the run report's counters)."""

    created: int = 0
    updated: int = 0
    reopened: int = 0
    covered: int = 0
    expired: int = 0


@dataclass
class _Tx:
    """One write transaction: its events (written together at the end) and counters."""

    conn: Connection
    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def event(self, e: reconcile.Event) -> None:
        self.events.append(
            {
                "suggestion_id": e.suggestion_id,
                "at": self.now,
                "kind": e.kind,
                "size": e.size,
                "previous_size": e.previous,
                "note": None,
                "article_id": e.article_id,
                "user_id": None,
            }
        )

    def apply(self, change: reconcile.Change) -> str | None:
        """Records the change's events and makes its steps until one finds another state;
        returns the state the suggestion is left in (as far as this run knows)."""
        for e in change.events:
            self.event(e)
        state = change.steps[0].from_state if change.steps else None
        for step in change.steps:
            if not set_state(self.conn, change.suggestion_id, step.from_state, step.to_state, step.article_id):
                break
            state = step.to_state
            self.event(step.event)
            if step.counts:
                self.counts[step.counts] += 1
        return state

    def flush(self) -> None:
        for start in range(0, len(self.events), ROWS):
            self.conn.execute(insert(TopicEvent), self.events[start : start + ROWS])
        self.events.clear()

    def written(self) -> Written:
        c = self.counts
        return Written(c["created"], c["updated"], c["reopened"], c["covered"], c["expired"])


def _update_each(conn: Connection, params: list[dict[str, Any]]) -> None:
    """Updates each suggestion (``sid``) with the other values of its row (every row has
    the same keys), in one statement."""
    if not params:
        return
    table = TopicSuggestion.__table__  # type: ignore[attr-defined]
    values: dict[str, Any] = {name: bindparam(name) for name in params[0] if name != "sid"}
    conn.execute(table.update().where(table.c.id == bindparam("sid")).values(**values), params)


def take_write_lock(conn: Connection, run_id: int) -> None:
    """Writes first, so that SQLite takes its write lock before this
    transaction reads anything (a deferred transaction that reads, then writes
    after another process committed, fails instead of waiting)."""
    conn.execute(update(TopicRun).where(col(TopicRun.id) == run_id).values(status="running"))


def set_state(conn: Connection, sid: int, from_state: str, state: str, article_id: int | None = None) -> bool:
    """Moves a suggestion to ``state`` unless someone changed its state meanwhile."""
    values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
    if article_id is not None:
        values["article_id"] = article_id
    done = conn.execute(
        update(TopicSuggestion)
        .where(col(TopicSuggestion.id) == sid, col(TopicSuggestion.state) == from_state)
        .values(**values)
    ).rowcount
    return bool(done)


def _description(f: Found) -> dict[str, Any]:
    """A suggestion's columns that describe what the run found (created or found again)."""
    return {
        "title": f.title[:300],
        "key_terms": json.dumps(list(f.key_terms), ensure_ascii=False),
        "representative_thread_id": f.representative_id,
        "centroid": json.dumps(dict(f.centroid or {}), ensure_ascii=False),
        "cohesion": f.cohesion,
        "agreement": f.agreement,
    }


def _create(tx: _Tx, found: Sequence[Found]) -> list[int]:
    """New open suggestions (one statement for all), with their "created" events."""
    if not found:
        return []
    table = TopicSuggestion.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "state": SuggestionState.open.value,
            **_description(f),
            "thread_count": len(f.doc_ids),
            "created_at": tx.now,
            "updated_at": tx.now,
            "last_seen_at": tx.now,
        }
        for f in found
    ]
    ids = list(tx.conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    for f, sid in zip(found, ids, strict=True):
        tx.event(reconcile.Event(sid, "created", len(f.doc_ids)))
    tx.counts["created"] += len(ids)
    return ids


def _describe(tx: _Tx, continued: Sequence[tuple[int, Found]]) -> None:
    """Stored suggestions found again get the new description."""
    if not continued:
        return
    _update_each(
        tx.conn,
        [{"sid": sid, **_description(f), "last_seen_at": tx.now, "updated_at": tx.now} for sid, f in continued],
    )
    tx.counts["updated"] += len(continued)


def write_full(
    engine: Engine,
    run_id: int,
    found: Sequence[Found],
    *,
    window_start: datetime,
    now: datetime,
    min_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> Written:
    """A full run's topics against the stored suggestions (read in the transaction)."""
    with engine.begin() as conn:
        take_write_lock(conn, run_id)
        stored = load.load_stored(conn, with_centroids=False)
        member_of = {t: s.id for s in stored.values() for t in s.members}
        added_at = dict(conn.execute(select(col(TopicMember.thread_id), col(TopicMember.added_at))).all())
        hidden = frozenset(t for t, why in load.ineligible_members(conn, window_start).items() if why == "hidden")
        plan = reconcile.reconcile_full(stored, found, hidden, min_size=min_size, settings=settings)
        tx = _Tx(conn, now)
        new_ids = _create(tx, plan.new)
        _describe(tx, plan.continued)
        states = {}
        for (sid, _), change in zip(plan.continued, plan.changes, strict=True):
            states[sid] = tx.apply(change) or stored[sid].state
        for change in plan.expiries:
            tx.apply(change)
        members = reconcile.full_members(plan, new_ids, states)
        conn.execute(delete(TopicMember))
        rows = [
            {"thread_id": t, "suggestion_id": sid, "added_at": added_at.get(t, now) if member_of.get(t) == sid else now}
            for t, sid in sorted(members.items())
        ]
        for start in range(0, len(rows), ROWS):
            conn.execute(insert(TopicMember), rows[start : start + ROWS])
        tx.flush()
    return tx.written()


def write_changes(
    engine: Engine,
    run_id: int,
    stored: Mapping[int, Stored],
    membership: reconcile.Membership,
    recentred: Mapping[int, tuple[Mapping[str, float], float]],
    new_found: Sequence[Found],
    cover_of: Mapping[int, int | None],
    *,
    now: datetime,
    min_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> Written:
    """An incremental run's changes: new centroids, the rules with the states read now,
    memberships, and new suggestions for the new topics no article covers."""
    with engine.begin() as conn:
        take_write_lock(conn, run_id)
        states: dict[int, str] = {
            sid: state for sid, state in conn.execute(select(id_col(TopicSuggestion.id), col(TopicSuggestion.state)))
        }
        tx = _Tx(conn, now)
        live = [(sid, c) for sid, c in recentred.items() if sid in states]
        if live:
            _update_each(
                conn,
                [
                    {
                        "sid": sid,
                        "centroid": json.dumps(dict(centroid), ensure_ascii=False),
                        "cohesion": c,
                        "updated_at": now,
                        "last_seen_at": now,
                    }
                    for sid, (centroid, c) in live
                ],
            )
            tx.counts["updated"] += len(live)
        plan = reconcile.reconcile_changes(stored, membership, states, cover_of, min_size=min_size, settings=settings)
        for change in plan.changes:
            tx.apply(change)
        added: list[dict[str, Any]] = [{"thread_id": t, "suggestion_id": sid, "added_at": now} for t, sid in plan.added]
        fresh = [f for f in new_found if f.covered_by is None]
        for f, sid in zip(fresh, _create(tx, fresh), strict=True):
            added.extend({"thread_id": t, "suggestion_id": sid, "added_at": now} for t in f.doc_ids)
        # A thread is in one suggestion at most: clear where the added ones were.
        cleared = sorted(set(plan.removed) | {int(r["thread_id"]) for r in added})
        for start in range(0, len(cleared), store.IN_CHUNK):
            conn.execute(
                delete(TopicMember).where(col(TopicMember.thread_id).in_(cleared[start : start + store.IN_CHUNK]))
            )
        for start in range(0, len(added), ROWS):
            conn.execute(insert(TopicMember), added[start : start + ROWS])
        tx.flush()
    return tx.written()


def refresh_stats(engine: Engine) -> None:
    """Counts, times, main category and ranking score of every suggestion, from its
    members (:func:`.rank.rank`); only what changed is written."""
    with engine.begin() as conn:
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
        cats: dict[int, dict[int, int]] = defaultdict(dict)
        for sid, cat, n in conn.execute(
            select(col(TopicMember.suggestion_id), col(Thread.category_id), func.count())
            .join(Thread, col(Thread.id) == col(TopicMember.thread_id))
            .group_by(col(TopicMember.suggestion_id), col(Thread.category_id))
        ):
            cats[sid][cat] = n
        stats = [
            rank.MemberStats(sid, n, int(views), int(unsolved or 0), first, last, cats[sid])
            for sid, n, views, unsolved, first, last in rows
        ]
        current: dict[int, tuple[object, ...]] = {
            row[0]: tuple(row[1:])
            for row in conn.execute(
                select(
                    id_col(TopicSuggestion.id),
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
        params = [
            {
                "sid": r.suggestion_id,
                "thread_count": r.thread_count,
                "views": r.views,
                "unsolved_count": r.unsolved_count,
                "first_thread_at": r.first_thread_at,
                "last_thread_at": r.last_thread_at,
                "category_id": r.category_id,
                "score": r.score,
            }
            for r in rank.rank(stats, current)
            if current.get(r.suggestion_id) != r.values()  # only what changed
        ]
        _update_each(conn, params)


def save_model(engine: Engine, model: TextModel, *, fingerprint: str, high_water: int) -> None:
    """The full run's model, for the incremental runs until the next full one."""
    with engine.begin() as conn:
        store.save_blob(
            conn, MODEL_BLOB, model.to_bytes(), fingerprint=fingerprint, high_water=high_water, doc_count=model.n_docs
        )


# ---------------------------------------------------------------- the run's own row


def start_run(engine: Engine, *, mode: str, now: datetime, fingerprint: str) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(TopicRun).values(mode=mode, status="running", started_at=now, fingerprint=fingerprint)
            ).inserted_primary_key[0]  # type: ignore[index]
        )


def fail_run(engine: Engine, run_id: int, exc: BaseException, seconds: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(TopicRun)
            .where(col(TopicRun.id) == run_id)
            .values(
                status="failed",
                finished_at=utcnow(),
                error=f"{type(exc).__name__}: {exc}"[:2000],
                seconds=seconds,
            )
        )


def finish_run(engine: Engine, run_id: int, *, mode: str, high_water: int | None, values: Mapping[str, Any]) -> int:
    """Marks the run done; returns the number of open suggestions (recorded with it)."""
    with engine.begin() as conn:
        open_count = (
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
                suggestions_open=open_count,
                **values,
            )
        )
    return open_count
