"""search_recent_index: SQLite ranks among the newest documents' own FTS5 index

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 20:30:00

``search_fts_recent`` holds the entries of the 20,000 newest documents of
``search_fts`` (see forum.search.sqlite): FTS5's bm25 counts, for each phrase
of a query, the documents of its whole table that hold it, so ranking on the
whole index cost more as the forum grew. Filled here from the existing index.
Nothing changes on PostgreSQL.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEEP = 20_000


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_recent USING fts5("
        "title, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '2')"
    )
    op.execute(
        "INSERT INTO search_fts_recent (rowid, title, body) SELECT rowid, title, body FROM search_fts "
        f"WHERE rowid > coalesce((SELECT max(id) FROM search_documents), 0) - {KEEP}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS search_fts_recent")
