"""Full-text search over threads (title and all visible posts) and articles.

One text analyser (``forum.text``) makes the terms for both the index and the
query; the database's own full-text machinery stores and ranks them: SQLite
FTS5 (``forum.search.sqlite``) or PostgreSQL tsvector + GIN
(``forum.search.postgres``). Both index one document per thread or article.

Keeping the index current: ``forum.services.threads`` calls ``index_thread``
(ask, edit) and ``add_post`` (reply); ``forum.services.state`` calls
``index_thread`` when a post is hidden, deleted or restored. Whatever the
timing, a hidden or deleted thread is never found (search joins on the
thread's current state), and a thread whose index entry holds another
``content_version`` than the thread (the database counts every change to its
posts, however made: migration 0022) is checked against its visible text
before it is shown. Knowledge-base articles are indexed by ``index_article`` (and left
out by ``remove_article``); only published ones are ever shown.

Ranking: the backend's text score (title weighing more), times boosts for
solved threads, official answers and articles. A common word matches most
threads of a big forum, so only the RANK_WINDOW most recently indexed matches
are ranked (see ``_matches``): that keeps a search near 20-40 ms on 100,000
threads (``scripts/bench_search.py``). Sorting by date sorts that same window.

Functions take the session first and flush, never commit.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any, NamedTuple
from urllib.parse import quote

from sqlalchemy import DateTime, and_, bindparam, column, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from forum import read
from forum.clock import utcnow
from forum.db import id_col
from forum.direct import DirectRead
from forum.models import Category, Post, Thread, ThreadKind, User
from forum.models.search import DocType, FailedSearch, SearchDocument
from forum.models.thread import ThreadRules
from forum.pagination import Page
from forum.search import postgres, sqlite
from forum.search.query import Entry, ParsedQuery, Source, clean, parse
from forum.search.snippets import Snippet, highlighter, kept_snippet, snippet_of
from forum.services import tags
from forum.text import get_analyzer
from forum.urls import thread_url

__all__ = [
    "FailedSearches",
    "Filters",
    "Hit",
    "Results",
    "Sort",
    "add_post",
    "articles_supported",
    "clean",
    "failed_searches",
    "index_article",
    "index_thread",
    "index_threads",
    "reindex_all",
    "remove_article",
    "remove_thread",
    "search",
]

# A count above this shows as "1,000+ results": counting every match of a
# common word costs as much as the search itself.
COUNT_CAP = 1000
# How many of the most recently indexed matches are ranked, and (where the
# planner needs advice) how far back to look: see _matches. Ranking costs
# every backend a few microseconds for each match it scores (bm25, ts_rank):
# 2,000 made a common query's ranking most of a search page's CPU (7 of its
# 16 ms on SQLite at 1,000 threads, where a rare one costs 3), and a common
# word's 500 newest matches already fill 25 pages of results.
RANK_WINDOW = 500
RANK_SCAN = 20_000
MIN_MATCHES = 100
MAX_PAGE = COUNT_CAP // 10
# Ranking: a document's text score times (1 + these for what applies).
BOOST_SOLVED = 0.5
BOOST_OFFICIAL = 0.2
BOOST_ARTICLE = 0.6


class Sort(enum.StrEnum):
    relevance = "relevance"
    date = "date"


KINDS = (ThreadKind.question.value, ThreadKind.discussion.value, DocType.article.value)


@dataclass(frozen=True)
class Filters:
    category_id: int | None = None
    solved: bool | None = None  # threads only; articles are left out when set
    kind: str | None = None  # question | discussion | article
    since: datetime | None = None
    tag_id: int | None = None  # threads with this tag (articles are left out when set)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.category_id, self.solved, self.kind, self.since, self.tag_id))


@dataclass
class Hit:
    type: str
    id: int
    title: str
    url: str
    snippet: Snippet
    solved: bool
    official: bool
    kind: str
    category: Category | read.CategoryRow | None
    created_at: datetime
    reply_count: int
    score: float
    # Its tags' names (threads).
    tags: tuple[str, ...] = ()


@dataclass
class Results:
    query: ParsedQuery
    page: Page[Hit]
    # The total counted up to COUNT_CAP; True when there are more.
    capped: bool

    @property
    def hits(self) -> Sequence[Hit]:
        return self.page.items

    @property
    def total(self) -> int:
        return self.page.total


def backend(session: AsyncSession) -> ModuleType:
    bind = session.bind
    assert bind is not None
    return postgres if bind.dialect.name == "postgresql" else sqlite


# ---------------------------------------------------------------- articles


@dataclass(frozen=True)
class _ArticleSource:
    model: Any
    table: str
    date_column: str


@functools.cache
def _article_source() -> _ArticleSource | None:
    """The knowledge-base article model, once it exists (``forum.models.kb``):
    looked up once (a search page asked three times)."""
    try:
        from forum.models import kb  # type: ignore[attr-defined]
    except ImportError:
        return None
    model = getattr(kb, "Article", None)
    columns = set(getattr(getattr(model, "__table__", None), "columns", {}).keys()) if model is not None else set()
    if model is None or not {"id", "title", "body", "status", "category_id"} <= columns:
        return None
    date_column = next((c for c in ("published_at", "created_at", "updated_at") if c in columns), None)
    if date_column is None:
        return None
    return _ArticleSource(model, model.__tablename__, date_column)


def articles_supported() -> bool:
    return _article_source() is not None


def _require_articles() -> _ArticleSource:
    source = _article_source()
    if source is None:
        raise RuntimeError("knowledge-base articles (forum.models.kb.Article) are not available yet")
    return source


# ---------------------------------------------------------------- indexing


def _analyse(texts: Sequence[str]) -> list[list[str]]:
    return get_analyzer().terms_many(list(texts)) if texts else []


async def _document_key(session: AsyncSession, doc_type: str, doc_id: int) -> int | None:
    return await session.scalar(
        select(col(SearchDocument.id)).where(
            col(SearchDocument.doc_type) == doc_type, col(SearchDocument.doc_id) == doc_id
        )
    )


async def _put_document(
    session: AsyncSession, doc_type: str, doc_id: int, title: Sequence[str], body: Sequence[str], *, version: int = 0
) -> None:
    """``version``: the thread's ``content_version``, read before its posts (a
    change in between then leaves the entry stale, never current with old text)."""
    now = utcnow()
    key = await _document_key(session, doc_type, doc_id)
    if key is None:
        key = (
            await session.execute(
                insert(SearchDocument)
                .values(doc_type=doc_type, doc_id=doc_id, indexed_at=now, content_version=version)
                .returning(id_col(SearchDocument.id))
            )
        ).scalar_one()
    else:
        await session.execute(
            update(SearchDocument).where(col(SearchDocument.id) == key).values(indexed_at=now, content_version=version)
        )
    await backend(session).put(session, [Entry(key, doc_type, doc_id, title, body)])


async def _remove_document(session: AsyncSession, doc_type: str, doc_id: int) -> bool:
    key = await _document_key(session, doc_type, doc_id)
    if key is None:
        return False
    await backend(session).delete(session, [key])
    await session.execute(delete(SearchDocument).where(col(SearchDocument.id) == key))
    return True


def _visible_posts(thread_ids: Sequence[int] | None = None):  # type: ignore[no-untyped-def]
    stmt = select(col(Post.thread_id), col(Post.body)).where(
        col(Post.hidden_at).is_(None),
        col(Post.deleted_at).is_(None),
    )
    if thread_ids is not None:
        stmt = stmt.where(col(Post.thread_id).in_(thread_ids))
    return stmt.order_by(col(Post.thread_id), col(Post.created_at), col(Post.id))


async def index_thread(session: AsyncSession, thread_id: int) -> None:
    """(Re)indexes a thread: its title and every visible post."""
    await session.flush()
    thread = (
        await session.execute(select(col(Thread.title), col(Thread.content_version)).where(col(Thread.id) == thread_id))
    ).first()
    if thread is None:
        await remove_thread(session, thread_id)
        return
    bodies = (await session.execute(_visible_posts([thread_id]))).scalars(1).all()
    analysed = _analyse([thread.title, *bodies])
    body = [t for a in analysed[1:] for t in a]
    await _put_document(session, DocType.thread.value, thread_id, analysed[0], body, version=thread.content_version)
    await session.flush()


async def add_post(session: AsyncSession, post: Post) -> None:
    """Adds a new reply (inserted: its thread's ``content_version`` counted it)
    to its thread's entry without analysing the thread again. The entry's
    version goes up by one too: current if it was, stale if it was stale."""
    if not post.visible:
        return
    key = await _document_key(session, DocType.thread.value, post.thread_id)
    if key is None or not await backend(session).append(session, key, _analyse([post.body])[0]):
        await index_thread(session, post.thread_id)
        return
    await session.execute(
        update(SearchDocument)
        .where(col(SearchDocument.id) == key)
        .values(content_version=col(SearchDocument.content_version) + 1)
    )


async def remove_thread(session: AsyncSession, thread_id: int) -> bool:
    return await _remove_document(session, DocType.thread.value, thread_id)


async def index_article(session: AsyncSession, article_id: int) -> None:
    """(Re)indexes a knowledge-base article (drafts too: search shows only
    published ones, checked when searching)."""
    source = _require_articles()
    await session.flush()
    row = (
        await session.execute(select(source.model.title, source.model.body).where(source.model.id == article_id))
    ).first()
    if row is None:
        await remove_article(session, article_id)
        return
    title, body = _analyse([row[0], row[1]])
    await _put_document(session, DocType.article.value, article_id, title, body)
    await session.flush()


async def remove_article(session: AsyncSession, article_id: int) -> bool:
    _require_articles()
    return await _remove_document(session, DocType.article.value, article_id)


async def reindex_all(
    session: AsyncSession, *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Rebuilds the whole index from the threads (and articles); returns the
    number of documents. ``progress(n)`` is called after each batch of n."""
    be = backend(session)
    await be.bulk_start(session)
    await be.clear(session)
    await session.execute(delete(SearchDocument))
    done = 0
    last_id = 0
    while True:
        threads = (
            await session.execute(
                select(col(Thread.id), col(Thread.title), col(Thread.content_version))
                .where(col(Thread.id) > last_id)
                .order_by(col(Thread.id))
                .limit(batch_size)
            )
        ).all()
        if not threads:
            break
        last_id = threads[-1].id
        await _put_threads(session, threads)
        done += len(threads)
        if progress is not None:
            progress(len(threads))
    source = _article_source()
    if source is not None:
        rows = (await session.execute(select(source.model.id, source.model.title, source.model.body))).all()
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            await _put_batch(session, DocType.article.value, [(r[0], r[1], [r[2]], 0) for r in chunk])
            done += len(chunk)
            if progress is not None:
                progress(len(chunk))
    await be.bulk_finish(session)
    return done


async def index_threads(session: AsyncSession, thread_ids: Sequence[int], *, batch_size: int = 500) -> None:
    """(Re)indexes many threads at once, analysing them in batches: for imports."""
    await session.flush()
    ids = sorted(set(thread_ids))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        keys = (
            await session.scalars(
                select(col(SearchDocument.id)).where(
                    col(SearchDocument.doc_type) == DocType.thread.value,
                    col(SearchDocument.doc_id).in_(chunk),
                )
            )
        ).all()
        if keys:
            await backend(session).delete(session, keys)
            await session.execute(delete(SearchDocument).where(col(SearchDocument.id).in_(keys)))
        threads = (
            await session.execute(
                select(col(Thread.id), col(Thread.title), col(Thread.content_version))
                .where(col(Thread.id).in_(chunk))
                .order_by(col(Thread.id))
            )
        ).all()
        await _put_threads(session, threads)
    await session.flush()


async def _put_threads(session: AsyncSession, threads: Sequence[Any]) -> None:
    """Indexes (id, title, content_version) rows of threads that have no entry,
    with their visible posts (read after the rows: see ``_put_document``)."""
    if not threads:
        return
    ids = [t.id for t in threads]
    bodies: dict[int, list[str]] = {i: [] for i in ids}
    for thread_id, body in await session.execute(_visible_posts(ids)):
        bodies[thread_id].append(body)
    docs = [(t.id, t.title, bodies[t.id], t.content_version) for t in threads]
    await _put_batch(session, DocType.thread.value, docs)


async def _put_batch(session: AsyncSession, doc_type: str, docs: Sequence[tuple[int, str, Sequence[str], int]]) -> None:
    """Indexes documents that have no entry yet: (id, title, [body texts], version)."""
    texts: list[str] = []
    for _, title, parts, _ in docs:
        texts.append(title)
        texts.extend(parts)
    analysed = iter(_analyse(texts))
    now = utcnow()
    keys = (
        (
            await session.execute(
                insert(SearchDocument).returning(id_col(SearchDocument.id), sort_by_parameter_order=True),
                [
                    {"doc_type": doc_type, "doc_id": doc_id, "indexed_at": now, "content_version": version}
                    for doc_id, _, _, version in docs
                ],
            )
        )
        .scalars()
        .all()
    )
    rows = []
    for key, (doc_id, _, parts, _) in zip(keys, docs, strict=True):
        title_terms = next(analysed)
        body_terms = [t for _ in parts for t in next(analysed)]
        rows.append(Entry(key, doc_type, doc_id, title_terms, body_terms))
    await backend(session).put(session, rows)


# ---------------------------------------------------------------- searching


def _conditions(filters: Filters, articles: _ArticleSource | None, doc_type: str) -> tuple[str, dict[str, object]]:
    """Which documents may be shown, and the filters, on their current state."""
    params: dict[str, object] = {}
    thread = [f"{doc_type} = 'thread'", "t.deleted_at IS NULL", "t.hidden_at IS NULL"]
    article = [f"{doc_type} = 'article'", "a.status = 'published'"] if articles is not None else None
    if filters.category_id is not None:
        params["category_id"] = filters.category_id
        thread.append("t.category_id = :category_id")
        if article is not None:
            article.append("a.category_id = :category_id")
    if filters.since is not None:
        params["since"] = filters.since
        thread.append("t.created_at >= :since")
        if article is not None and articles is not None:
            article.append(f"a.{articles.date_column} >= :since")
    if filters.tag_id is not None:
        params["tag_id"] = filters.tag_id
        thread.append("EXISTS (SELECT 1 FROM thread_tags tt WHERE tt.thread_id = t.id AND tt.tag_id = :tag_id)")
        article = None
    if filters.solved is not None:
        thread.append("t.solved_at IS NOT NULL" if filters.solved else "t.solved_at IS NULL")
        article = None
    if filters.kind == DocType.article.value:
        thread = ["1 = 0"]
    elif filters.kind in (ThreadKind.question.value, ThreadKind.discussion.value):
        params["kind"] = filters.kind
        thread.append("t.kind = :kind")
        article = None
    branches = ["(" + " AND ".join(thread) + ")"]
    if article is not None:
        branches.append("(" + " AND ".join(article) + ")")
    return "(" + " OR ".join(branches) + ")", params


@dataclass(frozen=True)
class _Statement:
    source: Source
    body: str
    # The same without the match condition, for a window of keys known to match.
    body_for_keys: str
    score: str
    date: str
    params: dict[str, object]
    # For ranking in one pass (_newest_ranked): the joins and conditions alone,
    # and the boost that multiplies the text score.
    joins: str
    where: str
    boost: str


def _statement(query: ParsedQuery, filters: Filters, session: AsyncSession, *, recent: bool = False) -> _Statement:
    """``recent``: on the backend's index of the newest documents (FTS5's; see
    ``forum.search.sqlite``)."""
    articles = _article_source()
    src = backend(session).source(query, recent=True) if recent else backend(session).source(query)
    where, filter_params = _conditions(filters, articles, src.doc_type)
    joins = f"LEFT JOIN threads t ON {src.doc_type} = 'thread' AND t.id = {src.doc_id}"
    if articles is not None:
        joins += f" LEFT JOIN {articles.table} a ON {src.doc_type} = 'article' AND a.id = {src.doc_id}"
    date = f"COALESCE(t.created_at, a.{articles.date_column})" if articles is not None else "t.created_at"
    boost = (
        f"(1.0 + CASE WHEN t.solved_at IS NOT NULL THEN {BOOST_SOLVED} ELSE 0 END"
        f" + CASE WHEN t.official_post_id IS NOT NULL THEN {BOOST_OFFICIAL} ELSE 0 END"
        f" + CASE WHEN {src.doc_type} = 'article' THEN {BOOST_ARTICLE} ELSE 0 END)"
    )
    return _Statement(
        source=src,
        body=f"FROM {src.documents} {joins} WHERE {src.match} AND {where}",
        body_for_keys=f"FROM {src.documents} {joins} WHERE {where}",
        score=f"{src.score} * {boost}",
        date=date,
        params={**src.params, **filter_params},
        joins=joins,
        where=where,
        boost=boost,
    )


# The content version a page's entry holds (read for the page's rows only).
_INDEXED_VERSION = "(SELECT sd.content_version FROM search_documents sd WHERE sd.id = ranked.key) AS indexed_version"


async def _matches(
    session: AsyncSession, query: ParsedQuery, filters: Filters, sort: Sort, limit: int, offset: int
) -> tuple[list[Any], int, bool]:
    """The page's rows, the number of matches ranked, and whether only some
    of the matches were ranked (the most recent ones).

    Ranking costs a little for every matching document, and a common word
    matches most threads of a big forum. So only the RANK_WINDOW most recently
    indexed matches are ranked: the index finds them in key order cheaply, and
    recent threads are the likelier answers anyway. Without filters the window
    is found on the index alone (a hidden thread in it only makes it a little
    smaller).

    PostgreSQL's planner needs advice to read its index the right way (see
    ``postgres.planner``): a probe of recent documents tells a common query
    from a rare one. A common one walks back from the newest document until
    RANK_WINDOW matches, but no further than RANK_SCAN documents; a rare one
    ranks its matches among the RANK_SCAN most recent documents, or among all
    documents when those hold fewer than MIN_MATCHES."""
    be = backend(session)
    if be.NEWEST_IN_ONE_PASS:
        return await _newest_first(session, query, filters, sort, limit, offset)
    # From here on, PostgreSQL's way (``forum.search.postgres``).
    st = _statement(query, filters, session)
    key = st.source.key
    order = "score DESC, key DESC" if sort == Sort.relevance else "created DESC, key DESC"
    values = {**st.params, "window": RANK_WINDOW, "limit": limit, "offset": offset}
    # The ranked rows are kept once and counted there (a window function over
    # them, count(*) OVER (), cost PostgreSQL and SQLite a second sort).
    select_ranked = (
        f"SELECT {key} AS key, {st.source.doc_type} AS doc_type, {st.source.doc_id} AS doc_id, "
        f"{st.score} AS score, {st.date} AS created"
    )
    page_of_ranked = f", {_INDEXED_VERSION} FROM ranked ORDER BY {order} LIMIT :limit OFFSET :offset"

    async def ranked(window: str) -> list[Any]:
        statement = text(
            f"WITH ranked AS MATERIALIZED ({select_ranked} {st.body}{window} ORDER BY {order} LIMIT :window) "
            f"SELECT key, doc_type, doc_id, score, created, (SELECT count(*) FROM ranked) AS matched {page_of_ranked}"
        ).columns(created=DateTime)
        return list((await session.execute(statement, values)).all())

    async with be.planned(session, query, sparse_below=RANK_WINDOW / RANK_SCAN) as plan:
        floor = plan.newest - RANK_SCAN if plan.newest > RANK_SCAN else None
        values["floor"] = floor
        rows: list[Any] | None = None
        windowed = False
        if not plan.sparse:
            # The RANK_WINDOW newest matches (past the floor), found walking
            # the keys back, then ranked by their keys without matching again;
            # one statement, which also tells how many it found.
            window_source = st.body if filters.any else f"FROM {st.source.index} WHERE {st.source.match}"
            limit_scan = f" AND {key} > :floor" if floor is not None else ""
            statement = text(
                f"WITH newest AS MATERIALIZED (SELECT {key} AS key {window_source}{limit_scan} "
                f"ORDER BY {key} DESC LIMIT :window), "
                f"ranked AS MATERIALIZED ({select_ranked} {st.body_for_keys} AND {key} IN (SELECT key FROM newest) "
                f"ORDER BY {order} LIMIT :window) "
                "SELECT key, doc_type, doc_id, score, created, (SELECT count(*) FROM ranked) AS matched, "
                f"(SELECT count(*) FROM newest) AS scanned {page_of_ranked}"
            ).columns(created=DateTime)
            found = list((await session.execute(statement, values)).all())
            # With no row (all hidden, or a page past the last) the window's
            # size is not known: the rare query's way below decides.
            scanned = found[0].scanned if found else 0
            full = scanned == RANK_WINDOW
            if found and (full or floor is None or scanned >= MIN_MATCHES):
                rows, windowed = found, full or floor is not None
        if rows is None:
            # Rare, or common only among the newest documents.
            rare = plan.sparse
            await plan.set_sparse()
            if rare and floor is not None:
                rows, windowed = await ranked(f" AND {key} > :floor"), True
            if rows is None or (rows[0].matched if rows else 0) < MIN_MATCHES:
                rows, windowed = await ranked(""), False
    total = rows[0].matched if rows else 0
    return rows, total, windowed or total >= RANK_WINDOW


async def _newest_first(
    session: AsyncSession, query: ParsedQuery, filters: Filters, sort: Sort, limit: int, offset: int
) -> tuple[list[Any], int, bool]:
    """``_matches`` for FTS5: ranked among the newest documents' index (as
    PostgreSQL ranks among its RANK_SCAN newest), or among all documents when
    that index holds them all, or fewer than MIN_MATCHES matches (a rare
    query: its matches, and bm25's count of them, are few wherever they are)."""
    if await backend(session).older_than_recent(session):
        recent = _statement(query, filters, session, recent=True)
        rows, total, _ = await _newest_ranked(session, recent, filters, sort, limit, offset)
        if total >= MIN_MATCHES:
            return rows, total, True
    return await _newest_ranked(session, _statement(query, filters, session), filters, sort, limit, offset)


class _Ranked(NamedTuple):
    """A row of :func:`_newest_ranked`'s statement."""

    key: int
    doc_type: str
    doc_id: int
    score: float
    created: Any
    matched: int
    scanned: int
    indexed_version: int


# _newest_ranked's statements, one per shape (filters and sort), built once: run
# as DirectReads, a search page's reads on SQLite all go to the driver.
_RANKINGS: dict[str, DirectRead] = {}
_RANKING_SHAPES = 64


def _ranking(sql: str) -> DirectRead:
    found = _RANKINGS.get(sql)
    if found is None:
        if len(_RANKINGS) >= _RANKING_SHAPES:
            _RANKINGS.clear()
        columns: list[Any] = [column(name) for name in _Ranked._fields]
        columns[_Ranked._fields.index("created")] = column("created", DateTime)
        found = _RANKINGS[sql] = DirectRead(text(sql).columns(*columns))
    return found


async def _newest_ranked(
    session: AsyncSession, st: _Statement, filters: Filters, sort: Sort, limit: int, offset: int
) -> tuple[list[Any], int, bool]:
    """``_matches`` in one statement, for an index that reads its matches
    newest first and stops there (FTS5): the RANK_WINDOW newest matches (of
    the index alone, or with the filters when there are some) are scored as
    they are read, then joined to their threads, filtered and ranked: the
    same rows, scores and counts as finding the window's oldest key first and
    ranking from it, without reading the matches twice. (With no row, as on a
    page past the last, the window is not reported: nothing is shown.) The
    window bounds the ranked rows: they are sorted once, for the page."""
    src = st.source
    key = src.key
    newest_source = st.body if filters.any else f"FROM {src.index} WHERE {src.match}"
    order = "score DESC, key DESC" if sort == Sort.relevance else "created DESC, key DESC"
    # Sorted by date, the text score orders nothing: not computed (most of the
    # statement's time is bm25's, for every match in the window).
    text_score, bonus = (src.score, src.window_bonus) if sort == Sort.relevance else ("0.0", "0")
    sql = (
        "WITH newest AS MATERIALIZED ("
        f"SELECT {key} AS key, {text_score} AS text_score {newest_source} ORDER BY {key} DESC LIMIT :window), "
        "ranked AS MATERIALIZED ("
        f"SELECT w.key AS key, {src.doc_type} AS doc_type, {src.doc_id} AS doc_id, "
        f"(w.text_score + {bonus}) * {st.boost} AS score, {st.date} AS created "
        f"FROM {src.window_documents} {st.joins} WHERE {st.where}) "
        "SELECT key, doc_type, doc_id, score, created, (SELECT count(*) FROM ranked) AS matched, "
        f"(SELECT count(*) FROM newest) AS scanned, {_INDEXED_VERSION} "
        f"FROM ranked ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    values = {**st.params, "window": RANK_WINDOW, "limit": limit, "offset": offset}
    rows = [_Ranked(*r) for r in await _ranking(sql).rows(session, values)]
    total = rows[0].matched if rows else 0
    windowed = bool(rows) and rows[0].scanned >= RANK_WINDOW
    return rows, total, windowed or total >= RANK_WINDOW


async def search(
    session: AsyncSession,
    query: str,
    *,
    filters: Filters = Filters(),
    sort: Sort = Sort.relevance,
    page: int = 1,
    size: int = 20,
    viewer: User | None = None,
    categories: Sequence[read.CategoryRow] | None = None,
) -> Results:
    """One page of what ``query`` finds among public threads and published
    articles (everyone sees the same: hidden and deleted content never shows).
    A fixed number of queries whatever the data size. ``categories``: the
    forum's categories, when the caller has read them already (the hits
    show theirs)."""
    parsed = parse(query)
    size = max(1, min(size, 100))
    page = max(1, min(page, MAX_PAGE))
    if parsed.empty:
        return Results(parsed, Page(items=[], number=1, size=size, total=0), capped=False)
    rows, total, partial = await _matches(session, parsed, filters, sort, size, (page - 1) * size)
    hits = await _load_hits(session, parsed, rows, categories)
    # Stale entries dropped from this page still count in the total: close enough.
    capped = partial or total > COUNT_CAP
    total = min(total, COUNT_CAP)
    return Results(parsed, Page(items=hits, number=page, size=size, total=max(total, len(hits))), capped=capped)


@dataclass(slots=True)
class _HitThread(ThreadRules):
    """What a hit shows of its thread, and what tells whether it may: read
    alone, without the author and the category the thread pages join (their
    rows and times cost a search page more than the reading)."""

    id: int
    title: str
    slug: str
    kind: str
    category_id: int
    created_at: datetime
    reply_count: int
    official_post_id: int | None
    solved_at: datetime | None
    locked_at: datetime | None
    hidden_at: datetime | None
    deleted_at: datetime | None
    content_version: int


_HIT_THREADS = DirectRead(
    select(*read.columns_of(read.THREADS, _HitThread)).where(read.THREADS.c.id.in_(bindparam("ids", expanding=True)))
)
_POSTS = read.POSTS
_VISIBLE_POST = and_(_POSTS.c.hidden_at.is_(None), _POSTS.c.deleted_at.is_(None))
# The visible posts' text of a page's threads, in order (for the snippets).
_POSTS_OF_HITS = DirectRead(
    select(_POSTS.c.thread_id, _POSTS.c.body)
    .where(_POSTS.c.thread_id.in_(bindparam("ids", expanding=True)), _VISIBLE_POST)
    .order_by(_POSTS.c.thread_id, _POSTS.c.created_at, _POSTS.c.id)
)


async def _load_hits(
    session: AsyncSession, query: ParsedQuery, rows: Sequence[Any], known: Sequence[read.CategoryRow] | None
) -> list[Hit]:
    thread_ids = [r.doc_id for r in rows if r.doc_type == DocType.thread.value]
    article_ids = [r.doc_id for r in rows if r.doc_type == DocType.article.value]
    threads: dict[int, _HitThread] = {}
    marks = highlighter(query)
    # Per thread: its snippet's version, whether its entry is stale, the
    # snippet kept for it, or else its visible posts' text.
    versions: dict[int, tuple[Any, ...]] = {}
    stale: set[int] = set()
    snippets: dict[int, Snippet] = {}
    bodies: dict[int, list[str]] = {}
    chips: dict[int, Any] = {}
    if thread_ids:
        threads = {t.id: t for t in (_HitThread(*r) for r in await _HIT_THREADS.rows(session, {"ids": thread_ids}))}
        for row in rows:
            thread = threads.get(row.doc_id) if row.doc_type == DocType.thread.value else None
            if thread is None:
                continue
            if thread.content_version != row.indexed_version:
                stale.add(thread.id)
                continue
            # The creation time tells a thread from one that took the id of a
            # thread purged since (SQLite gives the highest id again).
            versions[thread.id] = (DocType.thread.value, thread.id, thread.created_at, thread.content_version)
            if (kept := kept_snippet(marks, versions[thread.id])) is not None:
                snippets[thread.id] = kept
        if unread := [i for i in thread_ids if i not in snippets and i in threads]:
            for thread_id, body in await _POSTS_OF_HITS.rows(session, {"ids": unread}):
                bodies.setdefault(thread_id, []).append(body)
        chips = await tags.chips_for(session, thread_ids)
    articles: dict[int, Any] = {}
    source = _article_source()
    if article_ids and source is not None:
        articles = {
            a.id: a for a in (await session.scalars(select(source.model).where(source.model.id.in_(article_ids)))).all()
        }
    categories: dict[int, read.CategoryRow] = {}
    if threads or articles:
        categories = {c.id: c for c in (known if known is not None else await read.categories(session))}

    hits: list[Hit] = []
    for row in rows:
        if row.doc_type == DocType.thread.value:
            thread = threads.get(row.doc_id)
            if thread is None or not thread.visible:
                continue
            visible = bodies.get(row.doc_id, [])
            if row.doc_id in stale and not _still_matches(query, thread.title, visible):
                continue
            snippet = snippets.get(row.doc_id)
            if snippet is None:
                # A stale entry's snippet is kept by its text's digest.
                version = None if row.doc_id in stale else versions.get(row.doc_id)
                snippet = snippet_of(marks, visible, version=version)
            hits.append(
                Hit(
                    type=DocType.thread.value,
                    id=row.doc_id,
                    title=thread.title,
                    url=thread_url(thread),
                    snippet=snippet,
                    solved=thread.solved,
                    official=thread.official_post_id is not None,
                    kind=thread.kind,
                    category=categories.get(thread.category_id),
                    created_at=thread.created_at,
                    reply_count=thread.reply_count,
                    score=float(row.score or 0),
                    tags=tuple(chip.name for chip in chips.get(thread.id, ())),
                )
            )
        else:
            article = articles.get(row.doc_id)
            if article is None or article.status != "published":
                continue
            hits.append(
                Hit(
                    type=DocType.article.value,
                    id=row.doc_id,
                    title=article.title,
                    url=_article_url(article),
                    snippet=snippet_of(marks, [article.body]),
                    solved=False,
                    official=True,
                    kind=DocType.article.value,
                    category=categories.get(article.category_id),
                    created_at=getattr(article, source.date_column) if source else row.created,
                    reply_count=0,
                    score=float(row.score or 0),
                )
            )
    return hits


def _article_url(article: Any) -> str:
    slug = getattr(article, "slug", "")
    return f"/kb/{article.id}/{quote(slug)}" if slug else f"/kb/{article.id}"


def _still_matches(query: ParsedQuery, title: str, bodies: Sequence[str]) -> bool:
    analysed = _analyse([title, *bodies])
    return query.matches([t for terms in analysed for t in terms])


# ---------------------------------------------------------------- searches that found nothing


def query_key(query: str) -> str:
    return " ".join(query.casefold().split())[:200]


def _failed_row(query: str, locale: str) -> dict[str, Any] | None:
    """A search that found nothing, as its row; None for a query with nothing
    searchable in it (empty, punctuation): not worth a row."""
    shown = clean(query)
    if parse(shown).empty:
        return None
    return {"query": shown, "query_key": query_key(shown), "locale": locale[:8], "created_at": utcnow()}


class FailedSearches:
    """Searches that found nothing, kept by this process and written in batches
    (:meth:`flush`, every few seconds, with the view counts: ``forum.views.flush_forever``).

    A search is a read: recording what it did not find in its own request took a
    write transaction (on SQLite the database's one write lock, beside every reply
    being posted) for each such search. A crash loses the last few seconds of them,
    as it does view counts; at most ``keep`` wait at once (a flood of searches
    while the database is away is not kept without bound)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self._rows: list[dict[str, Any]] = []

    def add(self, query: str, *, locale: str) -> bool:
        """Keeps one (False for a query with nothing searchable in it)."""
        row = _failed_row(query, locale)
        if row is None:
            return False
        if len(self._rows) < self.keep:
            self._rows.append(row)
        return True

    def pending(self) -> int:
        """How many are kept here, not written yet."""
        return len(self._rows)

    async def flush(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Writes the kept ones (one statement) and forgets them; on a database error
        they are kept for the next flush."""
        rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            async with sessionmaker.begin() as session:
                await session.execute(insert(FailedSearch), rows)
        except Exception:
            self._rows = (rows + self._rows)[: self.keep]
            raise
        return len(rows)


@dataclass(frozen=True)
class FailedSearchCount:
    query: str
    count: int
    last_at: datetime
    locales: tuple[str, ...]


async def failed_searches(
    session: AsyncSession, *, since: datetime | None = None, limit: int = 200
) -> list[FailedSearchCount]:
    """Queries that found nothing, most frequent first."""
    where = [col(FailedSearch.created_at) >= since] if since is not None else []
    rows = (
        await session.execute(
            select(
                col(FailedSearch.query_key),
                func.min(FailedSearch.query).label("query"),
                func.count().label("n"),
                func.max(FailedSearch.created_at).label("last_at"),
                func.min(FailedSearch.locale).label("locale_a"),
                func.max(FailedSearch.locale).label("locale_b"),
            )
            .where(*where)
            .group_by(FailedSearch.query_key)
            .order_by(func.count().desc(), func.max(FailedSearch.created_at).desc())
            .limit(limit)
        )
    ).all()
    return [FailedSearchCount(r.query, r.n, r.last_at, tuple(sorted({r.locale_a, r.locale_b}))) for r in rows]
