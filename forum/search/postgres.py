"""The index on PostgreSQL: a tsvector of analysed terms with a GIN index.

``search_fts(doc_key, doc_type, doc_id, tsv)`` holds one row per
``search_documents`` row (the type and id repeated, so searching needs no
join to it). The
tsvector is written as a literal built here from the analyser's terms (title
terms weighted A, body terms B), so PostgreSQL's own parsers and dictionaries
never touch the text: Korean morphemes and English stems stay exactly as the
analyser made them, which is what the 'simple' configuration would do, without
its word splitting. Ranking is ts_rank with the title weighing more (ts_rank_cd, which also looks at how
close the words are, costs ten times as much per document).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from forum.db import read_transaction
from forum.search.query import Alternative, Entry, ParsedQuery, Source

NAME = "postgresql"
# ts_rank weights for {D, C, B, A}: title terms are A, body terms B.
WEIGHTS = "{0.1, 0.2, 0.25, 1.0}"
# 1: divide by 1 + log(document length), so long threads do not win by size alone.
NORMALISATION = 1
MAX_POSITION = 16383
# Positions kept per term and document. They serve only ranking (queries use
# no phrase operators: see _alternative), and ts_rank on a query of several
# groups ("login error": (login | …) & (error | …)) compares every position of
# one term with every position of the others: with up to 256 each, ranking a
# thousand long threads took 14 ms of PostgreSQL's time, with 8 it takes 3 ms.
# The first eight occurrences (the title's come first) say where a word is
# used; more add next to nothing to its weight (ts_rank counts the j-th at
# 1/j², as bm25 saturates). A reply appended to a thread (``append``) adds up
# to eight more; ``forum search reindex`` rewrites vectors made before.
MAX_POSITIONS_PER_TERM = 8
# New entries go into the index at once, not into GIN's pending list, which
# every search would read entry by entry (migration 0019 says how much that
# cost): a reply's update pays a fraction of a millisecond instead.
GIN_OPTIONS = "fastupdate = off"
# Recent documents looked at to tell a common query from a rare one.
PROBE = 500

CREATE = [
    "CREATE TABLE search_fts ("
    " doc_key INTEGER PRIMARY KEY REFERENCES search_documents (id) ON DELETE CASCADE,"
    " doc_type VARCHAR(16) NOT NULL,"
    " doc_id INTEGER NOT NULL,"
    " tsv TSVECTOR NOT NULL)",
    f"CREATE INDEX search_fts_tsv_idx ON search_fts USING gin (tsv) WITH ({GIN_OPTIONS})",
]
DROP = ["DROP TABLE IF EXISTS search_fts"]


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(title: Sequence[str], body: Sequence[str], *, first: int = 1) -> str:
    """A tsvector in its text form: every term quoted, with positions and weights."""
    positions: dict[str, list[str]] = {}
    pos = first
    for weight, terms in (("A", title), ("B", body)):
        for term in terms:
            found = positions.setdefault(term, [])
            if len(found) < MAX_POSITIONS_PER_TERM and pos <= MAX_POSITION:
                found.append(f"{pos}{weight}")
            pos += 1
        pos += 1
    return " ".join(f"{_lexeme(t)}:{','.join(p)}" if p else _lexeme(t) for t, p in positions.items())


def _alternative(alt: Alternative) -> str:
    """Synonym phrases ("money back") are written as all their words, not as a
    phrase: GIN cannot check that words are adjacent, so a phrase makes
    PostgreSQL re-read every document holding both words (tens of thousands
    for two common ones) to look at positions. FTS5 keeps phrases."""
    if alt.mode == "prefix":
        return _lexeme(alt.terms[0]) + ":*"
    return "(" + " & ".join(_lexeme(t) for t in alt.terms) + ")"


def tsquery_literal(query: ParsedQuery) -> str:
    """The tsquery in its text form: every term quoted, so nothing typed is syntax."""
    return " & ".join("(" + " | ".join(_alternative(a) for a in g.alternatives) + ")" for g in query.groups)


# The planner needs advice to find the newest matches (forum.search._matches).
NEWEST_IN_ONE_PASS = False


def source(query: ParsedQuery) -> Source:
    return Source(
        index="search_fts f",
        documents="search_fts f",
        key="f.doc_key",
        doc_type="f.doc_type",
        doc_id="f.doc_id",
        match="f.tsv @@ CAST(:ts_query AS tsquery)",
        score=f"ts_rank('{WEIGHTS}', f.tsv, CAST(:ts_query AS tsquery), {NORMALISATION})",
        params={"ts_query": tsquery_literal(query)},
    )


async def put(session: AsyncSession, rows: Sequence[Entry]) -> None:
    """Replaces the entries of these documents."""
    if not rows:
        return
    await session.execute(
        text(
            "INSERT INTO search_fts (doc_key, doc_type, doc_id, tsv) "
            "VALUES (:key, :doc_type, :doc_id, CAST(:tsv AS tsvector)) "
            "ON CONFLICT (doc_key) DO UPDATE SET tsv = EXCLUDED.tsv"
        ),
        [
            {"key": r.key, "doc_type": r.doc_type, "doc_id": r.doc_id, "tsv": tsvector_literal(r.title, r.body)}
            for r in rows
        ],
    )


async def append(session: AsyncSession, key: int, body: Sequence[str]) -> bool:
    """Adds terms at the end of a document's body (``||`` shifts their
    positions after the existing ones); False if it has no entry."""
    result = await session.execute(
        text("UPDATE search_fts SET tsv = tsv || CAST(:tsv AS tsvector) WHERE doc_key = :key"),
        {"key": key, "tsv": tsvector_literal((), body, first=2)},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete(session: AsyncSession, keys: Sequence[int]) -> None:
    if keys:
        await session.execute(text("DELETE FROM search_fts WHERE doc_key = ANY(:keys)"), {"keys": list(keys)})


async def clear(session: AsyncSession) -> None:
    await session.execute(text("DELETE FROM search_fts"))


async def bulk_start(session: AsyncSession) -> None:
    """Before a full rebuild. Building a GIN index once is much faster than
    growing it row by row, but dropping it locks searches out until the
    rebuild commits: done only for a first build, when there is nothing to
    search yet."""
    if not await session.scalar(text("SELECT EXISTS (SELECT 1 FROM search_fts)")):
        await session.execute(text("DROP INDEX IF EXISTS search_fts_tsv_idx"))


async def bulk_finish(session: AsyncSession) -> None:
    await session.execute(
        text(f"CREATE INDEX IF NOT EXISTS search_fts_tsv_idx ON search_fts USING gin (tsv) WITH ({GIN_OPTIONS})")
    )
    await session.execute(text("ANALYZE search_fts"))
    await session.execute(text("ANALYZE search_documents"))


_DENSITY = (
    "(SELECT count(*) FROM (SELECT tsv FROM search_fts ORDER BY doc_key DESC LIMIT :probe) AS r"
    " WHERE r.tsv @@ CAST(:ts_query AS tsquery))"
)
# The planner settings a search changes: walking the primary key backwards is
# right for a common query (the newest matches come first), the GIN index for a
# rare one; and the few hundred or thousand rows of a window join best row by row.
_ALWAYS_OFF = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")
_COMMON_OFF, _SPARSE_OFF = "enable_bitmapscan", "enable_indexscan"
_SETTINGS = (*_ALWAYS_OFF, _COMMON_OFF, _SPARSE_OFF)


def _choose(sparse: str) -> str:
    """set_config() calls for the settings: ``sparse`` is an SQL boolean; a
    setting left on keeps the value it had (``p.v0`` … from ``previous``)."""
    calls = [f"set_config('{n}', 'off', true)" for n in _ALWAYS_OFF]
    i, j = _SETTINGS.index(_COMMON_OFF), _SETTINGS.index(_SPARSE_OFF)
    calls.append(f"set_config('{_COMMON_OFF}', CASE WHEN {sparse} THEN p.v{i} ELSE 'off' END, true)")
    calls.append(f"set_config('{_SPARSE_OFF}', CASE WHEN {sparse} THEN 'off' ELSE p.v{j} END, true)")
    return ", ".join(calls)


_PREVIOUS = ", ".join(f"current_setting('{n}') AS v{i}" for i, n in enumerate(_SETTINGS))
_PREVIOUS_VALUES = ", ".join(f"p.v{i}" for i in range(len(_SETTINGS)))


def _values(previous: Sequence[str]) -> dict[str, str]:
    """The settings' previous values as the parameters ``:v0`` … of a statement."""
    return {f"v{i}": v for i, v in enumerate(previous)}


class Plan:
    """What ``planned`` found: the newest document's key, and whether the
    planner is set for a rare query (``sparse``)."""

    def __init__(self, session: AsyncSession, newest: int, sparse: bool, previous: Sequence[str]):
        self.session = session
        self.newest, self.sparse = newest, sparse
        self.previous = previous

    async def set_sparse(self) -> None:
        """Sets the planner for a rare query after all (a query common among
        the newest documents with too few matches past the floor)."""
        if not self.sparse:
            params = ", ".join(f"CAST(:v{i} AS text) AS v{i}" for i in range(len(_SETTINGS)))
            statement = text(f"SELECT {_choose('true')} FROM (SELECT {params}) AS p")
            await self.session.execute(statement, _values(self.previous))
            self.sparse = True


@contextlib.asynccontextmanager
async def planned(session: AsyncSession, query: ParsedQuery, *, sparse_below: float) -> AsyncIterator[Plan]:
    """Tells the planner how common the query is, for the search's statements,
    in one round trip: the share of the PROBE most recent documents that match
    (a cheap, exact look; PostgreSQL's own tsvector estimates are often far
    off, and each wrong guess reads a whole table) decides the settings, set in
    the same statement. A query matching fewer than ``sparse_below`` of them is
    rare.

    On a reading session (autocommit: forum.db.make_read_engine) the settings
    last as long as a transaction of their own, whose end forgets them; in a
    session's own transaction they are put back as they were afterwards."""
    statement = text(
        f"WITH p AS MATERIALIZED (SELECT {_PREVIOUS}, {_DENSITY} AS hits, "
        "(SELECT max(id) FROM search_documents) AS newest) "
        f"SELECT p.hits, p.newest, {_PREVIOUS_VALUES}, {_choose('p.hits < CAST(:rare_below AS float8)')} FROM p"
    )
    rare_below = sparse_below * PROBE  # matching probes
    params = {"probe": PROBE, "ts_query": tsquery_literal(query), "rare_below": rare_below}
    async with read_transaction(session) as own:
        row = (await session.execute(statement, params)).one()
        hits, newest, previous = row[0] or 0, row[1] or 0, row[2 : 2 + len(_SETTINGS)]
        plan = Plan(session, newest, hits < rare_below, previous)
        if own:
            yield plan
            return
    try:
        yield plan
    finally:
        restore = ", ".join(f"set_config('{n}', :v{i}, true)" for i, n in enumerate(_SETTINGS))
        await session.execute(text(f"SELECT {restore}"), _values(previous))
