"""The index on SQLite: an FTS5 table of analysed terms.

``search_fts(title, body)`` holds each document's analysed terms joined by
spaces (its rowid is ``search_documents.id``); the ``unicode61`` tokenizer
splits them on the spaces again, so FTS5 sees exactly the analyser's terms.
Ranking is FTS5's bm25 with the title weighing more than the body.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from forum.search.query import Alternative, Entry, ParsedQuery, Source

NAME = "sqlite"
TITLE_WEIGHT = 4.0
BODY_WEIGHT = 1.0
TITLE_BONUS = 2.0

CREATE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '2')",
]
DROP = ["DROP TABLE IF EXISTS search_fts"]


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
    Literal alternatives are listed twice: bm25 sums over the query's
    phrases, so the words typed count double against their synonyms."""
    groups = []
    for group in query.groups:
        parts = []
        for alt in group.alternatives:
            parts.append(_alternative(alt))
            if alt.literal:
                parts.append(_alternative(alt))
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


# Whether window_condition lists the window's keys (they are known to match).
WINDOW_IS_KEYS = False
# FTS5 reads matches newest first and stops at a LIMIT: the window is ranked
# in one statement (forum.search._newest_ranked).
NEWEST_IN_ONE_PASS = True


def window_condition(key: str) -> str:
    """The ranking window (see forum.search._matches): FTS5 seeks to its oldest key."""
    return f"{key} >= :bound"


def source(query: ParsedQuery) -> Source:
    """bm25 gives a word found in most documents next to no weight, however it
    is placed, so a title holding the words typed also earns a fixed bonus:
    titles are what threads are about. The ``:bound`` parameter (a key, or
    NULL) limits that lookup to the keys being ranked."""
    return Source(
        index="search_fts",
        documents="search_fts JOIN search_documents d ON d.id = search_fts.rowid",
        key="search_fts.rowid",
        window_documents="newest w JOIN search_documents d ON d.id = w.key",
        doc_type="d.doc_type",
        doc_id="d.doc_id",
        match="search_fts MATCH :fts_query",
        score=(
            f"(-bm25(search_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) + CASE WHEN search_fts.rowid IN "
            "(SELECT rowid FROM search_fts WHERE search_fts MATCH :fts_title AND rowid >= coalesce(:bound, 0))"
            f" THEN {TITLE_BONUS} ELSE 0 END)"
        ),
        params={"fts_query": match_expression(query), "fts_title": title_expression(query)},
    )


async def put(session: AsyncSession, rows: Sequence[Entry]) -> None:
    """Replaces the entries of these documents."""
    if not rows:
        return
    await delete(session, [row.key for row in rows])
    await session.execute(
        text("INSERT INTO search_fts (rowid, title, body) VALUES (:key, :title, :body)"),
        [{"key": row.key, "title": " ".join(row.title), "body": " ".join(row.body)} for row in rows],
    )


async def append(session: AsyncSession, key: int, body: Sequence[str]) -> bool:
    """Adds terms at the end of a document's body; False if it has no entry."""
    result = await session.execute(
        text("UPDATE search_fts SET body = body || ' ' || :terms WHERE rowid = :key"),
        {"key": key, "terms": " ".join(body)},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete(session: AsyncSession, keys: Sequence[int]) -> None:
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        await session.execute(text(f"DELETE FROM search_fts WHERE rowid IN ({', '.join(str(int(k)) for k in chunk)})"))


async def clear(session: AsyncSession) -> None:
    await session.execute(text("DELETE FROM search_fts"))


async def bulk_start(session: AsyncSession) -> None:
    """Before a full rebuild (readers keep the old index until it commits)."""


async def bulk_finish(session: AsyncSession) -> None:
    # Merges the index's b-trees into one: faster queries after a rebuild.
    await session.execute(text("INSERT INTO search_fts (search_fts) VALUES ('optimize')"))


async def density(session: AsyncSession, query: ParsedQuery) -> tuple[float, int] | None:
    """FTS5 always reads its own index: no planner to advise."""
    return None


@contextlib.asynccontextmanager
async def planner(session: AsyncSession, *, sparse: bool) -> AsyncIterator[None]:
    yield
