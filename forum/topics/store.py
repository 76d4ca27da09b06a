"""The database side of topic detection and similar questions.

Synchronous SQLAlchemy on purpose: these functions run in command-line
processes and in worker threads of the web app (``asyncio.to_thread``), where
heavy numpy and Kiwi work happens anyway, and bulk reads are simpler and
faster without an event loop.

* Thread texts: title + opening post, for the public threads that take part.
* Terms: every thread is analysed once; ``thread_terms`` keeps the analyser's
  terms with a digest of the text and of the analyser, so a stale row is
  re-analysed and a fresh one never is.
* Analysers: one per set of staff-edited synonym lines (``synonym_lines``).
* Blobs: stored models and indexes, with a fingerprint of everything they
  depend on (analyser, synonyms, algorithm source), so a stale one is rebuilt.
* Leases: one process runs the job at a time.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from forum.clock import utcnow
from forum.models import (
    Article,
    ArticleStatus,
    JobLease,
    Post,
    SynonymLine,
    Thread,
    ThreadTerms,
    TopicBlob,
)
from forum.text import BODY_CHARS, Analyzer, Synonyms, ThreadText, get_analyzer
from forum.topics import cluster, embed

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

# Analysed in batches of this many texts (Kiwi uses all its threads per batch).
ANALYSE_BATCH = 2000
# SQLite allows 32k bound parameters per statement; stay well below.
IN_CHUNK = 900
# Above this many ids, one scan of thread_terms beats thousands of IN (...) queries.
READ_ALL_ABOVE = 50_000


# ---------------------------------------------------------------- fingerprints


def _source(module_file: str | None) -> bytes:
    try:
        return Path(module_file or "").read_bytes()
    except OSError:
        return b""


def terms_fingerprint() -> str:
    """Changes whenever the analyser could produce different terms."""
    from forum.text import analysis_fingerprint

    return analysis_fingerprint()


def model_fingerprint(synonym_lines: Sequence[str]) -> str:
    """Changes whenever stored vectors could be stale: the analyser, the
    shipped and staff synonyms, or the similarity/clustering code."""
    import forum.text
    from forum.topics import similarity

    h = hashlib.sha256(terms_fingerprint().encode())
    h.update(_source(getattr(forum.text, "DEFAULT_SYNONYMS_PATH", None)))
    h.update("\n".join(synonym_lines).encode())
    h.update(_source(similarity.__file__))
    h.update(_source(cluster.__file__))
    h.update(embed.fingerprint().encode())
    return h.hexdigest()[:32]


def text_digest(title: str, body: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(terms_fingerprint().encode())
    h.update(title.encode())
    h.update(b"\x00")
    h.update(body.encode())
    return h.hexdigest()


# ---------------------------------------------------------------- analysers


def synonym_lines(conn: Connection) -> list[str]:
    rows = conn.execute(
        select(col(SynonymLine.line)).order_by(col(SynonymLine.position), col(SynonymLine.id))
    ).scalars()
    return [line for line in rows if line.strip()]


_analyzer_lock = threading.Lock()
_analyzers: dict[str, Analyzer] = {}


def analyzer_for(lines: Sequence[str]) -> Analyzer:
    """The shipped analyser, or one that also knows the staff's synonym lines.
    Only the newest custom analyser is kept (each holds its own Kiwi)."""
    if not lines:
        return get_analyzer()
    key = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    with _analyzer_lock:
        found = _analyzers.get(key)
        if found is None:
            _analyzers.clear()
            found = _analyzers[key] = Analyzer(Synonyms(extra=list(lines)))
        return found


# ---------------------------------------------------------------- thread texts


@dataclass
class LoadedThread:
    id: int
    title: str
    body: str  # the opening post, cut to BODY_CHARS
    created_at: datetime
    views: int
    solved: bool
    category_id: int
    external_id: str | None
    slug: str

    @property
    def digest(self) -> str:
        return text_digest(self.title, self.body)

    @property
    def text(self) -> ThreadText:
        return ThreadText(self.title, self.body)

    def index_text(self) -> str:
        """What the similar-question index reads."""
        return self.text.index_text()


def public_thread_conditions() -> list:  # type: ignore[type-arg]
    """Threads anyone may see, whose opening post anyone may read."""
    return [
        col(Thread.hidden_at).is_(None),
        col(Thread.deleted_at).is_(None),
        col(Post.hidden_at).is_(None),
        col(Post.deleted_at).is_(None),
    ]


def _text_query(*where, public: bool = True):  # type: ignore[no-untyped-def]
    return (
        select(
            col(Thread.id),
            col(Thread.title),
            func.substr(Post.body, 1, BODY_CHARS),
            col(Thread.created_at),
            col(Thread.views),
            col(Thread.solved_at),
            col(Thread.category_id),
            col(Thread.external_id),
            col(Thread.slug),
        )
        .join(Post, and_(col(Post.thread_id) == col(Thread.id), col(Post.is_first).is_(True)))
        .where(*(public_thread_conditions() if public else []), *where)
        .order_by(col(Thread.id))
    )


def _to_text(row) -> LoadedThread:  # type: ignore[no-untyped-def]
    return LoadedThread(
        id=row[0],
        title=row[1],
        body=row[2] or "",
        created_at=row[3],
        views=row[4] or 0,
        solved=row[5] is not None,
        category_id=row[6],
        external_id=row[7],
        slug=row[8],
    )


def load_texts(conn: Connection, *where, limit: int | None = None) -> list[LoadedThread]:  # type: ignore[no-untyped-def]
    """Public threads matching ``where`` (conditions on Thread/Post), by id (the first ``limit``)."""
    query = _text_query(*where)
    return [_to_text(r) for r in conn.execute(query if limit is None else query.limit(limit))]


def load_texts_by_id(conn: Connection, ids: Iterable[int], *, public: bool = True) -> list[LoadedThread]:
    ids = sorted(set(ids))
    out: list[LoadedThread] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = col(Thread.id).in_(ids[start : start + IN_CHUNK])
        out.extend(_to_text(r) for r in conn.execute(_text_query(chunk, public=public)))
    out.sort(key=lambda t: t.id)
    return out


def max_thread_id(conn: Connection) -> int:
    return conn.execute(select(func.max(Thread.id))).scalar() or 0


# ---------------------------------------------------------------- terms


Terms = tuple[list[str], list[str]]  # (title terms, body terms)


def _split(joined: str) -> list[str]:
    return joined.split(" ") if joined else []


def _term_rows(conn: Connection, cols: Sequence[Any], ids: Iterable[int] | None) -> Iterator[Any]:
    """``thread_terms`` rows of ``ids``, an ``IN (...)`` chunk at a time; every row
    when ``ids`` is None or so many that one scan beats thousands of queries."""
    wanted = None if ids is None else sorted(set(ids))
    if wanted is None or len(wanted) >= READ_ALL_ABOVE:
        yield from conn.execute(select(*cols))
        return
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        yield from conn.execute(select(*cols).where(col(ThreadTerms.thread_id).in_(chunk)))


def cached_terms(conn: Connection, ids: Sequence[int] | None = None) -> dict[int, tuple[str, Terms]]:
    """Stored (digest, terms) per thread id; all rows when ``ids`` is None."""
    cols = (ThreadTerms.thread_id, ThreadTerms.digest, ThreadTerms.title_terms, ThreadTerms.body_terms)
    return {tid: (digest, (_split(tt), _split(bt))) for tid, digest, tt, bt in _term_rows(conn, cols, ids)}


def current_keys(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """(terms digest, vector key) stored for each of ``ids`` that has a row."""
    cols = (ThreadTerms.thread_id, ThreadTerms.digest, ThreadTerms.vector_model)
    return {tid: (digest, key) for tid, digest, key in _term_rows(conn, cols, ids)}


def analyse(analyzer: Analyzer, texts: Sequence[LoadedThread]) -> list[Terms]:
    titles = analyzer.terms_many([t.title for t in texts])
    bodies = analyzer.terms_many([t.body for t in texts])
    return list(zip(titles, bodies, strict=True))


def _upsert_terms(conn: Connection, rows: list[dict]) -> None:  # type: ignore[type-arg]
    if not rows:
        return
    table = ThreadTerms.__table__  # type: ignore[attr-defined]
    # The two dialects' INSERTs are different classes with the same upsert method.
    stmt: postgresql.Insert | sqlite.Insert
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        stmt = postgresql_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.thread_id],
        set_={
            "digest": stmt.excluded.digest,
            "title_terms": stmt.excluded.title_terms,
            "body_terms": stmt.excluded.body_terms,
        },
    )
    conn.execute(stmt, rows)


def store_terms(conn: Connection, texts: Sequence[LoadedThread], terms: Sequence[Terms]) -> None:
    rows = [
        {"thread_id": t.id, "digest": t.digest, "title_terms": " ".join(tt), "body_terms": " ".join(bt)}
        for t, (tt, bt) in zip(texts, terms, strict=True)
    ]
    for start in range(0, len(rows), 500):
        _upsert_terms(conn, rows[start : start + 500])


def ensure_terms(
    engine: Engine,
    texts: Sequence[LoadedThread],
    analyzer: Analyzer,
    *,
    cache: dict[int, tuple[str, Terms]] | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict[int, Terms]:
    """Terms of every text: from the cache when fresh, else analysed now and
    stored (committed batch by batch, so an interrupted run keeps its work)."""
    if cache is None:
        with engine.connect() as conn:
            cache = cached_terms(conn, [t.id for t in texts])
    out: dict[int, Terms] = {}
    todo: list[LoadedThread] = []
    for t in texts:
        hit = cache.get(t.id)
        if hit is not None and hit[0] == t.digest:
            out[t.id] = hit[1]
        else:
            todo.append(t)
    if advance and len(out):
        advance(len(out))
    for start in range(0, len(todo), ANALYSE_BATCH):
        batch = todo[start : start + ANALYSE_BATCH]
        got = analyse(analyzer, batch)
        with engine.begin() as conn:
            store_terms(conn, batch, got)
        for t, terms in zip(batch, got, strict=True):
            out[t.id] = terms
        if advance:
            advance(len(batch))
    return out


# ---------------------------------------------------------------- embeddings

#: Encoded and stored in batches of this many texts.
ENCODE_BATCH = 1000


def vector_key(title: str, body: str, encoder: str | None = None) -> str:
    """What a stored vector must carry to describe this text: a hash of the encoders
    (:func:`forum.topics.embed.fingerprint`, whole: the column is shorter than it) and a
    hash of exactly what they encoded (independent of the analyser, so a new analyser
    does not mean encoding every thread again)."""
    h = hashlib.blake2b(ThreadText(title, body).encoding_text().encode(), digest_size=8).hexdigest()
    return f"{_encoder_tag(encoder)}:{h}"


def _encoder_tag(encoder: str | None = None) -> str:
    """The encoder part of :func:`vector_key`."""
    return hashlib.blake2b((encoder or embed.fingerprint()).encode(), digest_size=8).hexdigest()


def stored_vectors(conn: Connection, ids: Iterable[int]) -> tuple[list[int], np.ndarray]:
    """(thread ids, float32 embeddings) of those of ``ids`` whose stored vector comes from
    the current encoder, whatever text it was encoded from (a thread edited since is
    encoded again when it is next looked at as a changed thread). Float32 because the
    caller computes with them: converted here a thousand rows at a time, where numpy
    converts fast, instead of a few rows at a time later, where it does not."""
    wanted = set(ids)
    encoder = _encoder_tag() + ":"
    width = embed.dim() * 2  # bytes of a float16 vector
    found: list[int] = []
    out = np.empty((len(wanted), embed.dim()), dtype=np.float32)
    blobs: list[bytes] = []

    def flush() -> None:  # many rows at a time: one join, one copy
        if not blobs:
            return
        start = len(found) - len(blobs)
        out[start : len(found)] = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1)
        blobs.clear()

    cols = (ThreadTerms.thread_id, ThreadTerms.vector_model, ThreadTerms.vector)
    for tid, key, blob in _term_rows(conn, cols, wanted):
        if blob is not None and key is not None and len(blob) == width and key[:-16] == encoder and tid in wanted:
            found.append(int(tid))
            blobs.append(blob)
            if len(blobs) >= ENCODE_BATCH:
                flush()
    flush()
    return found, out[: len(found)]


def _read_vectors(
    conn: Connection, texts: Sequence[LoadedThread], keys: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The stored vectors of ``texts`` whose key is ``keys`` (float16 rows, zero where
    none), and which were found."""
    pos = {t.id: i for i, t in enumerate(texts)}
    out = np.zeros((len(texts), embed.dim()), dtype=np.float16)
    found = np.zeros(len(texts), dtype=bool)
    cols = (ThreadTerms.thread_id, ThreadTerms.vector_model, ThreadTerms.vector)
    for tid, key, blob in _term_rows(conn, cols, pos):
        i = pos.get(tid)
        if i is not None and blob is not None and keys[i] == key:
            out[i] = np.frombuffer(blob, dtype=np.float16)
            found[i] = True
    return out, found


def stored_only(
    conn: Connection, texts: Sequence[LoadedThread], *, vectors: bool
) -> tuple[list[LoadedThread], dict[int, Terms], np.ndarray | None]:
    """Of ``texts``, those whose terms (and, with ``vectors``, sentence embedding) are
    stored and current, with them: what a web process may add to its index without
    analysing or encoding anything (the job runner stores the rest)."""
    cache = cached_terms(conn, [t.id for t in texts])
    have = [t for t in texts if (hit := cache.get(t.id)) is not None and hit[0] == t.digest]
    if not vectors or not embed.enabled():
        return have, {t.id: cache[t.id][1] for t in have}, None
    encoder = embed.fingerprint()
    V, found = _read_vectors(conn, have, [vector_key(t.title, t.body, encoder) for t in have])
    keep = np.flatnonzero(found)
    have = [have[i] for i in keep.tolist()]
    return have, {t.id: cache[t.id][1] for t in have}, V[keep]


def ensure_vectors(
    engine: Engine,
    texts: Sequence[LoadedThread],
    *,
    advance: Callable[[int], None] | None = None,
) -> np.ndarray | None:
    """Sentence embeddings of ``texts``, one float16 row each (as stored: half the memory
    of float32 at 100,000 threads; callers compute in float32) in the same order (see
    :mod:`forum.topics.embed`): stored ones when they belong to the same text and
    encoder (:func:`vector_key`), else encoded now and stored beside the terms
    (call :func:`ensure_terms` first: it writes the rows). None when embeddings are off."""
    if not embed.enabled():
        return None
    encoder = embed.fingerprint()
    keys = [vector_key(t.title, t.body, encoder) for t in texts]
    with engine.connect() as conn:
        out, found = _read_vectors(conn, texts, keys)
    if advance and found.any():
        advance(int(found.sum()))
    todo = np.flatnonzero(~found).tolist()
    table = ThreadTerms.__table__  # type: ignore[attr-defined]
    for start in range(0, len(todo), ENCODE_BATCH):
        batch = todo[start : start + ENCODE_BATCH]
        V = embed.encode([texts[i].text.encoding_text() for i in batch])
        with engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.thread_id == bindparam("tid"))
                .values(vector=bindparam("vec"), vector_model=bindparam("key")),
                [{"tid": texts[i].id, "key": keys[i], "vec": embed.to_bytes(v)} for i, v in zip(batch, V, strict=True)],
            )
        out[batch] = V  # rounded to float16 like the stored value: it reads the same fresh or stored
        if advance:
            advance(len(batch))
    return out


def prepare(engine: Engine, *where, progress: Callable[[str, int], AbstractContextManager[Any]] | None = None) -> int:  # type: ignore[no-untyped-def]
    """Analyses and encodes the public threads matching ``where`` ahead of the topic
    job and the similar-question index (``forum import threads`` calls this for
    what it imported, so that the next detection run only groups). Returns how
    many threads it looked at."""
    with engine.connect() as conn:
        analyzer = analyzer_for(synonym_lines(conn))
        texts = load_texts(conn, *where)
    if not texts:
        return 0

    def phase(label: str) -> AbstractContextManager[Any]:
        return progress(label, len(texts)) if progress else nullcontext()

    with phase("Analysing") as bar:
        ensure_terms(engine, texts, analyzer, advance=bar.advance if bar else None)
    if embed.enabled():
        with phase("Encoding") as bar:
            ensure_vectors(engine, texts, advance=bar.advance if bar else None)
    return len(texts)


# ---------------------------------------------------------------- articles


@dataclass
class ArticleText:
    id: int
    title: str
    body: str
    slug: str
    updated_at: datetime

    def index_text(self) -> str:
        return ThreadText(self.title, self.body).index_text()


def published_articles(conn: Connection) -> list[ArticleText]:
    rows = conn.execute(
        select(
            col(Article.id),
            col(Article.title),
            func.substr(col(Article.body), 1, BODY_CHARS),
            col(Article.slug),
            col(Article.updated_at),
        )
        .where(col(Article.status) == ArticleStatus.published.value)
        .order_by(col(Article.id))
    )
    return [ArticleText(r[0], r[1], r[2] or "", r[3], r[4]) for r in rows]


# ---------------------------------------------------------------- blobs


@dataclass
class Blob:
    data: bytes
    fingerprint: str
    high_water: int
    doc_count: int
    built_at: datetime


def load_blob(conn: Connection, name: str) -> Blob | None:
    row = conn.execute(
        select(
            col(TopicBlob.data),
            col(TopicBlob.fingerprint),
            col(TopicBlob.high_water),
            col(TopicBlob.doc_count),
            col(TopicBlob.built_at),
        ).where(col(TopicBlob.name) == name)
    ).first()
    return Blob(bytes(row[0]), row[1], row[2], row[3], row[4]) if row else None


def blob_info(conn: Connection, name: str) -> tuple[str, int, datetime] | None:
    """(fingerprint, high_water, built_at) without reading the data."""
    row = conn.execute(
        select(col(TopicBlob.fingerprint), col(TopicBlob.high_water), col(TopicBlob.built_at)).where(
            col(TopicBlob.name) == name
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


def save_blob(
    conn: Connection,
    name: str,
    data: bytes | memoryview,
    *,
    fingerprint: str,
    high_water: int,
    doc_count: int,
    built_at: datetime | None = None,
) -> None:
    values = {
        "data": data,
        "fingerprint": fingerprint,
        "high_water": high_water,
        "doc_count": doc_count,
        "built_at": built_at or utcnow(),
    }
    done = conn.execute(update(TopicBlob).where(col(TopicBlob.name) == name).values(**values)).rowcount
    if not done:
        conn.execute(insert(TopicBlob).values(name=name, **values))


# ---------------------------------------------------------------- leases


def new_holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(engine: Engine, name: str, holder: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
    """Takes the lease if it is free, expired or ours. Atomic on both databases:
    one conditional UPDATE, or the INSERT of a new row (the primary key stops a
    concurrent second INSERT)."""
    now = now or utcnow()
    with engine.begin() as conn:
        taken = conn.execute(
            update(JobLease)
            .where(col(JobLease.name) == name, (col(JobLease.expires_at) < now) | (col(JobLease.holder) == holder))
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        ).rowcount
        if taken:
            return True
        exists = conn.execute(select(col(JobLease.name)).where(col(JobLease.name) == name)).first()
    if exists:
        return False
    try:
        with engine.begin() as conn:
            conn.execute(insert(JobLease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def renew_lease(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    now = utcnow()
    with engine.begin() as conn:
        return bool(
            conn.execute(
                update(JobLease)
                .where(col(JobLease.name) == name, col(JobLease.holder) == holder)
                .values(expires_at=now + ttl)
            ).rowcount
        )


def release_lease(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(JobLease).where(col(JobLease.name) == name, col(JobLease.holder) == holder))
