"""Related questions, computed off the request: the job side of
:mod:`forum.services.related`.

A thread's list is the similar-questions lookup run on the thread's own title
and opening post (what "Related questions" always showed), stored with its
scores. Lists are computed

* when a thread is created or edited (the request queues it in its own
  transaction; the job runner picks the queue up within seconds),
* for the members of topics the repeated-topic job changed (topic siblings
  rank together, see ``SimilaritySettings.topic_boost``), and
* again when a list is older than :data:`REFRESH_AFTER`, a few at a time, so
  that older threads come to list newer ones.

The job runs in one process at a time (a lease), in batches, so that stopping
the process never waits for more than one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, bindparam, delete, insert, select, update

from forum.clock import utcnow
from forum.models import RelatedItem, RelatedList, Thread, TopicMember
from forum.topics import embed, store
from forum.topics.similar_index import Match, SimilarIndex

LISTS: Table = RelatedList.__table__  # type: ignore[attr-defined]
ITEMS: Table = RelatedItem.__table__  # type: ignore[attr-defined]
MEMBERS: Table = TopicMember.__table__  # type: ignore[attr-defined]
THREADS: Table = Thread.__table__  # type: ignore[attr-defined]

#: entries kept per thread (a page shows 5; a few spare for threads hidden since)
KEEP = 8
#: lists computed per batch
BATCH = 32
#: a list older than this is computed again, :data:`STALE_BATCH` at a time when the queue is empty
REFRESH_AFTER = timedelta(days=3)
STALE_BATCH = 16
#: threads looked at per step when catching up with a backlog, and analysed and encoded per batch
BACKLOG_CHUNK = 2000
BACKLOG_BATCH = 100


@dataclass
class Report:
    computed: int = 0
    encoded: int = 0
    more: bool = False  # there is more to do right away


def queued(engine: Engine, limit: int = BATCH) -> list[tuple[int, datetime]]:
    """The oldest queued lists: (thread id, when it was queued)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(LISTS.c.thread_id, LISTS.c.queued_at)
            .where(LISTS.c.queued_at.is_not(None))
            .order_by(LISTS.c.queued_at, LISTS.c.thread_id)
            .limit(limit)
        ).all()
    return [(int(tid), at) for tid, at in rows]


def compute(engine: Engine, index: SimilarIndex, items: Sequence[tuple[int, datetime]]) -> int:
    """Computes and stores the lists of ``items`` (from :func:`queued`). A thread
    queued again while this ran stays queued."""
    if not items:
        return 0
    ids = [tid for tid, _ in items]
    with engine.connect() as conn:
        texts = {t.id: t for t in store.load_texts_by_id(conn, ids, public=False)}
    found = [t for t in (texts.get(tid) for tid in ids) if t is not None]
    results = index.search_many([t.index_text() for t in found], KEEP, exclude=[t.id for t in found])
    lists = {t.id: matches for t, matches in zip(found, results, strict=True)}
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(delete(ITEMS).where(ITEMS.c.thread_id.in_(list(lists))))
        rows = [_row(tid, pos, m) for tid, matches in lists.items() for pos, m in enumerate(matches)]
        if rows:
            conn.execute(insert(ITEMS), rows)
        conn.execute(
            update(LISTS)
            .where(LISTS.c.thread_id == bindparam("tid"), LISTS.c.queued_at == bindparam("queued"))
            .values(queued_at=None, computed_at=bindparam("now")),
            [{"tid": tid, "queued": at, "now": now} for tid, at in items],
        )
    return len(lists)


def _row(thread_id: int, position: int, match: Match) -> dict[str, object]:
    return {
        "thread_id": thread_id,
        "position": position,
        "target_thread_id": match.id if match.type == "thread" else None,
        "target_article_id": match.id if match.type == "article" else None,
        "score": match.score,
    }


def queue_stale(engine: Engine, *, now: datetime | None = None, limit: int = STALE_BATCH) -> int:
    """Queues the ``limit`` lists computed longest ago, if older than :data:`REFRESH_AFTER`."""
    now = now or utcnow()
    with engine.begin() as conn:
        ids = (
            conn.execute(
                select(LISTS.c.thread_id)
                .where(LISTS.c.queued_at.is_(None), LISTS.c.computed_at < now - REFRESH_AFTER)
                .order_by(LISTS.c.computed_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        if ids:
            conn.execute(update(LISTS).where(LISTS.c.thread_id.in_(ids)).values(queued_at=now))
    return len(ids)


def queue_topic_changes(engine: Engine, since: datetime, *, now: datetime | None = None) -> int:
    """Queues every member of the topics that gained a thread since ``since`` (the
    repeated-topic job's run): topic siblings rank together in each other's lists."""
    changed = select(MEMBERS.c.suggestion_id).where(MEMBERS.c.added_at >= since).distinct()
    members = select(MEMBERS.c.thread_id).where(MEMBERS.c.suggestion_id.in_(changed))
    with engine.begin() as conn:
        result = conn.execute(update(LISTS).where(LISTS.c.thread_id.in_(members)).values(queued_at=now or utcnow()))
        return result.rowcount or 0


def encode_backlog(
    engine: Engine, *, after_id: int = 0, chunk: int = BACKLOG_CHUNK, stop: Callable[[], bool] = lambda: False
) -> tuple[int, int | None]:
    """Analyses and encodes the public threads with ids above ``after_id`` (up to
    ``chunk`` of them) whose stored terms or vector are missing or stale: a forum
    upgraded from a version without them, or new encoders. Committed a batch at a
    time; stops early when ``stop()`` says so. Returns (threads brought up to date,
    the id to go on after, or None when every thread has been looked at)."""
    with engine.connect() as conn:
        texts = store.load_texts(conn, THREADS.c.id > after_id, limit=chunk)
        if not texts:
            return 0, None
        analyzer = store.analyzer_for(store.synonym_lines(conn))
        current = store.current_keys(conn, [t.id for t in texts])
    encoder = embed.fingerprint() if embed.enabled() else None
    todo = [
        t
        for t in texts
        if (have := current.get(t.id)) is None
        or have[0] != t.digest
        or (encoder is not None and have[1] != store.vector_key(t.title, t.body, encoder))
    ]
    done = 0
    for start in range(0, len(todo), BACKLOG_BATCH):
        if stop():
            return done, (todo[start - 1].id if start else after_id)
        part = todo[start : start + BACKLOG_BATCH]
        store.ensure_terms(engine, part, analyzer)
        store.ensure_vectors(engine, part)
        done += len(part)
    return done, texts[-1].id
