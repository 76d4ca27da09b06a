"""Orphan uploads: files nothing uses any more, removed after a grace period.

An upload is used while

* a post's text uses it (``UploadPost``, kept by ``uploads.link_post`` as
  posts are written and edited): any post, hidden and deleted ones included,
  since those can be restored (they are only served to their uploader and
  moderators, ``uploads.get_upload_or_404``);
* it is someone's avatar (``User.avatar_key``);
* an earlier version of a post uses it (``PostRevision``: the history shows
  it, and an edit can be undone), or a knowledge-base article or a banner
  does (their text is scanned for the upload's key, a batch of keys at a time:
  those tables are small beside the posts, whose uses are already indexed).

Anything else older than the grace period (``Settings.upload_orphan_hours``:
a file uploaded while a post is written is used only once the post is sent)
is removed: its row first, in a transaction that checks again that no post or
avatar took it meanwhile, then the stored file (a file whose removal fails is
left behind and logged, never a row without its file). Stored files with no
row, older than the grace period, go too (see ``_stray_files``).

Synchronous on an ``Engine``, like the other background jobs
(``forum.jobs.UploadPruneLoop``, leased, and ``forum uploads prune``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, delete, exists, or_, select
from sqlalchemy.engine import Connection

from forum.clock import utcnow
from forum.models import Article, Banner, PostRevision, Upload, UploadPost, User
from forum.storage import Storage

log = logging.getLogger("forum.uploads")

BATCH = 200

_UPLOADS: Table = Upload.__table__  # type: ignore[attr-defined]
_LINKS: Table = UploadPost.__table__  # type: ignore[attr-defined]
_USERS: Table = User.__table__  # type: ignore[attr-defined]
#: text columns that may name an upload outside the posts' own index
_TEXTS = (
    (PostRevision.__table__.c.body,),  # type: ignore[attr-defined]
    (Article.__table__.c.body,),  # type: ignore[attr-defined]
    (Banner.__table__.c.text_en, Banner.__table__.c.text_ko),  # type: ignore[attr-defined]
)


@dataclass(frozen=True, slots=True)
class Orphan:
    id: int
    key: str
    kind: str
    size: int
    created_at: datetime


@dataclass
class PruneReport:
    dry_run: bool
    removed: list[Orphan] = field(default_factory=list)
    #: files whose rows went but whose removal from storage failed (logged)
    left_in_storage: list[str] = field(default_factory=list)
    #: stored files with no row at all, older than the grace period (removed unless a dry run)
    stray_files: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.removed)


def _unused(now_before: datetime) -> list[object]:
    u = _UPLOADS.c
    no_post = ~exists().where(_LINKS.c.upload_id == u.id)
    return [u.created_at < now_before, no_post]


def _batch(conn: Connection, *, before: datetime, after_id: int, limit: int) -> list[Orphan]:
    """Uploads older than ``before`` with no post using them, in id order after ``after_id``."""
    u = _UPLOADS.c
    rows = conn.execute(
        select(u.id, u.key, u.kind, u.size, u.created_at)
        .where(u.id > after_id, *_unused(before))  # type: ignore[arg-type]
        .order_by(u.id)
        .limit(limit)
    ).all()
    return [Orphan(*row) for row in rows]


def _still_used(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` an avatar, a revision, an article or a banner uses."""
    if not keys:
        return set()
    used = set(
        conn.scalars(select(_USERS.c.avatar_key).where(_USERS.c.avatar_key.in_(sorted(keys)))).all()  # type: ignore[arg-type]
    )
    for columns in _TEXTS:
        for column in columns:
            pattern = or_(*(column.contains(f"/uploads/{key}", autoescape=True) for key in keys))
            for text in conn.scalars(select(column).where(column.contains("/uploads/"), pattern)):
                used.update(k for k in keys if f"/uploads/{k}" in text)
    return used


def _walk(
    engine: Engine,
    *,
    older_than: timedelta,
    now: datetime | None,
    batch: int,
    stop: Callable[[], bool] | None,
) -> Iterator[list[Orphan]]:
    """The orphans, a batch at a time (each batch read in its own short transaction)."""
    before = (now or utcnow()) - older_than
    after_id = 0
    while stop is None or not stop():
        with engine.connect() as conn:
            candidates = _batch(conn, before=before, after_id=after_id, limit=batch)
            if not candidates:
                return
            used = _still_used(conn, [c.key for c in candidates])
        after_id = candidates[-1].id
        yield [c for c in candidates if c.key not in used]


def _remove_rows(engine: Engine, orphans: Sequence[Orphan], *, before: datetime) -> list[Orphan]:
    """Deletes the rows of ``orphans`` that are still unused (a post or an
    avatar may have taken one since they were found); returns those deleted."""
    if not orphans:
        return []
    u = _UPLOADS.c
    ids = [o.id for o in orphans]
    with engine.begin() as conn:
        conn.execute(
            delete(_UPLOADS).where(
                u.id.in_(ids),
                *_unused(before),  # type: ignore[arg-type]
                ~exists().where(_USERS.c.avatar_key == u.key),
            )
        )
        kept = set(conn.scalars(select(u.id).where(u.id.in_(ids))).all())
    return [o for o in orphans if o.id not in kept]


async def _delete_files(storage: Storage, keys: Sequence[str]) -> list[str]:
    failed: list[str] = []
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:  # the row is gone: a stray file is harmless, and retried by nobody
            log.exception("could not remove the stored upload %s", key)
            failed.append(key)
    return failed


def prune(
    engine: Engine,
    storage: Storage,
    *,
    older_than: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
    batch: int = BATCH,
    stop: Callable[[], bool] | None = None,
    on_batch: Callable[[], object] | None = None,
) -> PruneReport:
    """Removes the orphan uploads (rows, then files); ``dry_run`` only lists
    them. ``stop`` is asked between batches; ``on_batch`` runs after each
    (the job renews its lease there)."""
    now = now or utcnow()
    report = PruneReport(dry_run=dry_run)
    for orphans in _walk(engine, older_than=older_than, now=now, batch=batch, stop=stop):
        if dry_run:
            report.removed.extend(orphans)
        else:
            removed = _remove_rows(engine, orphans, before=now - older_than)
            report.removed.extend(removed)
            if removed:
                report.left_in_storage += asyncio.run(_delete_files(storage, [o.key for o in removed]))
        if on_batch is not None:
            on_batch()
    if stop is None or not stop():
        report.stray_files = _stray_files(engine, storage, before=now - older_than, dry_run=dry_run, stop=stop)
    return report


def _stray_files(
    engine: Engine, storage: Storage, *, before: datetime, dry_run: bool, stop: Callable[[], bool] | None
) -> list[str]:
    """Stored files with no row, written before ``before``: a file is stored
    before its row, so a request that failed after storing it (a question
    refused for its title, with a screenshot attached) leaves one behind."""
    found: list[str] = []
    chunk: list[str] = []

    def settle() -> None:
        with engine.connect() as conn:
            known = set(conn.scalars(select(_UPLOADS.c.key).where(_UPLOADS.c.key.in_(chunk))).all())
        stray = [k for k in chunk if k not in known]
        if stray and not dry_run:
            failed = set(asyncio.run(_delete_files(storage, stray)))
            stray = [k for k in stray if k not in failed]
        found.extend(stray)
        chunk.clear()

    for key in storage.keys_before(before):
        chunk.append(key)
        if len(chunk) >= BATCH:
            settle()
            if stop is not None and stop():
                return found
    if chunk:
        settle()
    return found
