"""The index on SQLite: an FTS5 table of analysed terms.

``search_fts(title, body)`` holds each document's analysed terms joined by
spaces (its rowid is ``search_documents.id``); the ``unicode61`` tokenizer
splits them on the spaces again, so FTS5 sees exactly the analyser's terms.
Ranking is FTS5's bm25 with the title weighing more than the body.

``search_fts_recent`` holds the same entries for the RECENT_DOCUMENTS newest
documents only, and searches rank there first (``forum.search._newest_first``):
bm25 counts, for every phrase of the query, the documents of the whole table
that hold it, before it scores a single row. For a common word on 100,000
threads that count read every doclist (about 30 of the 40 ms that ranking its
2,000 newest matches took); on the newest 5,000 it is bounded whatever the
forum's size. PostgreSQL's ts_rank needs no such count, and ranks a query of
enough recent matches among its RANK_SCAN newest documents.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from forum.direct import DirectRead
from forum.search.query import Alternative, Entry, ParsedQuery, Source

NAME = "sqlite"
TITLE_WEIGHT = 4.0
BODY_WEIGHT = 1.0
TITLE_BONUS = 2.0

# How many of the newest documents search_fts_recent keeps (RANK_SCAN's part
# on PostgreSQL: forum.search._matches). bm25's count still read a common
# phrase's doclist over all of them: with 20,000 a search page at 100,000
# threads cost 1.24 times one at 1,000 (RANK_WINDOW's 500 matches are ranked
# either way; a query with fewer than MIN_MATCHES among these is ranked over
# the whole index, where its doclists are short). A database indexed with
# more keeps them until the next document is indexed.
RECENT_DOCUMENTS = 5_000
TABLES = ("search_fts", "search_fts_recent")
_OPTIONS = "tokenize = 'unicode61 remove_diacritics 0', prefix = '2'"
CREATE = [f"CREATE VIRTUAL TABLE {table} USING fts5(title, body, {_OPTIONS})" for table in TABLES]
DROP = [f"DROP TABLE IF EXISTS {table}" for table in TABLES]


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _alternative(alt: Alternative) -> str:
    if alt.mode == "prefix":
        return _quote(alt.terms[0]) + "*"
    if alt.mode == "all":
        return "(" + " AND ".join(_quote(t) for t in alt.terms) + ")"
    # A quoted string of several terms is an FTS5 phrase.
    return _quote(" ".join(alt.terms))


def match_expression(query: ParsedQuery) -> str:
    """The FTS5 MATCH string: every term quoted, so nothing typed is syntax.
    Each alternative is listed once: bm25's cost grows with the number of
    phrases for every row it scores (listing the words typed twice, to count
    them double against their synonyms, cost a third of a common query's
    ranking); the words typed earn the title bonus instead (title_expression)."""
    groups = []
    for group in query.groups:
        parts = [_alternative(alt) for alt in group.alternatives]
        groups.append("(" + " OR ".join(parts) + ")")
    return " AND ".join(groups)


def title_expression(query: ParsedQuery) -> str:
    """The words typed (no synonyms) in the title column."""
    groups = []
    for group in query.groups:
        parts = [_alternative(a) for a in group.alternatives if a.literal] or [
            _alternative(a) for a in group.alternatives
        ]
        groups.append("(" + " OR ".join(parts) + ")")
    return "{title} : (" + " AND ".join(groups) + ")"


# FTS5 reads matches newest first and stops at a LIMIT: the window is ranked
# in one statement (forum.search._newest_first).
NEWEST_IN_ONE_PASS = True


def source(query: ParsedQuery, *, recent: bool = False) -> Source:
    """bm25 gives a word found in most documents next to no weight, however it
    is placed, so a title holding the words typed also earns a fixed bonus:
    titles are what threads are about. The bonus is looked up among the
    newest window's keys only (``rowid >=`` its oldest, which FTS5 seeks to):
    over the whole index, a common word's title matches grow with the forum.
    ``recent``: the index of the newest documents only (see the module's
    docstring)."""
    table = TABLES[1] if recent else TABLES[0]
    return Source(
        index=table,
        documents=f"{table} JOIN search_documents d ON d.id = {table}.rowid",
        key=f"{table}.rowid",
        window_documents="newest w JOIN search_documents d ON d.id = w.key",
        doc_type="d.doc_type",
        doc_id="d.doc_id",
        match=f"{table} MATCH :fts_query",
        score=f"-bm25({table}, {TITLE_WEIGHT}, {BODY_WEIGHT})",
        window_bonus=(
            f"CASE WHEN w.key IN (SELECT rowid FROM {table} WHERE {table} MATCH :fts_title"
            f" AND rowid >= (SELECT min(key) FROM newest)) THEN {TITLE_BONUS} ELSE 0 END"
        ),
        params={"fts_query": match_expression(query), "fts_title": title_expression(query)},
    )


# Two subqueries: SQLite reads min() or max() alone off the index's ends.
_OLDER_THAN_RECENT = DirectRead(
    text("SELECT (SELECT min(id) FROM search_documents) <= (SELECT max(id) FROM search_documents) - :keep").columns()
)


async def older_than_recent(session: AsyncSession) -> bool:
    """Whether some documents are too old for search_fts_recent."""
    row = await _OLDER_THAN_RECENT.first(session, {"keep": RECENT_DOCUMENTS})
    return bool(row is not None and row[0])


# A bulk rebuild (bulk_start ... bulk_finish) fills search_fts_recent once, at the end.
_BULK = "forum.search.sqlite.bulk"


async def put(session: AsyncSession, rows: Sequence[Entry]) -> None:
    """Replaces the entries of these documents (in search_fts_recent too
    when they are among the newest)."""
    if not rows:
        return
    await delete(session, [row.key for row in rows])
    values = [{"key": row.key, "title": " ".join(row.title), "body": " ".join(row.body)} for row in rows]
    await session.execute(text("INSERT INTO search_fts (rowid, title, body) VALUES (:key, :title, :body)"), values)
    if session.info.get(_BULK):
        return
    await session.execute(
        text(
            "INSERT INTO search_fts_recent (rowid, title, body) SELECT :key, :title, :body "
            "WHERE :key > coalesce((SELECT rowid FROM search_fts_recent ORDER BY rowid DESC LIMIT 1), 0) - :keep"
        ),
        [{**v, "keep": RECENT_DOCUMENTS} for v in values],
    )
    # The oldest leave as new ones come: one FTS5 delete per new document.
    await session.execute(
        text(
            "DELETE FROM search_fts_recent WHERE rowid <= "
            "(SELECT rowid FROM search_fts_recent ORDER BY rowid DESC LIMIT 1) - :keep"
        ),
        {"keep": RECENT_DOCUMENTS},
    )


async def append(session: AsyncSession, key: int, body: Sequence[str]) -> bool:
    """Adds terms at the end of a document's body; False if it has no entry."""
    values = {"key": key, "terms": " ".join(body)}
    result = await session.execute(
        text("UPDATE search_fts SET body = body || ' ' || :terms WHERE rowid = :key"), values
    )
    await session.execute(text("UPDATE search_fts_recent SET body = body || ' ' || :terms WHERE rowid = :key"), values)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete(session: AsyncSession, keys: Sequence[int]) -> None:
    for start in range(0, len(keys), 500):
        listed = ", ".join(str(int(k)) for k in keys[start : start + 500])
        for table in TABLES:
            await session.execute(text(f"DELETE FROM {table} WHERE rowid IN ({listed})"))


async def clear(session: AsyncSession) -> None:
    for table in TABLES:
        await session.execute(text(f"DELETE FROM {table}"))


async def bulk_start(session: AsyncSession) -> None:
    """Before a full rebuild (readers keep the old index until it commits)."""
    session.info[_BULK] = True


async def bulk_finish(session: AsyncSession) -> None:
    session.info.pop(_BULK, None)
    await session.execute(text("DELETE FROM search_fts_recent"))
    await session.execute(
        text(
            "INSERT INTO search_fts_recent (rowid, title, body) SELECT rowid, title, body FROM search_fts "
            "WHERE rowid > coalesce((SELECT max(id) FROM search_documents), 0) - :keep"
        ),
        {"keep": RECENT_DOCUMENTS},
    )
    # Merges the index's b-trees into one: faster queries after a rebuild.
    for table in TABLES:
        await session.execute(text(f"INSERT INTO {table} ({table}) VALUES ('optimize')"))
