"""search: indexed documents, searches that found nothing, the full-text index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:10:00.000000

The full-text index itself is database-specific and not described by the
models: an FTS5 virtual table on SQLite, a tsvector table with a GIN index on
PostgreSQL, both named ``search_fts`` (tests/test_migrations.py ignores tables
starting with that name). The DDL is written out here rather than imported
from forum.search, so this migration keeps its meaning when the app changes.
It creates an empty index: run ``forum search reindex`` to fill it from
existing threads.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "title, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '2')",
]
POSTGRES_CREATE = [
    "CREATE TABLE search_fts ("
    " doc_key INTEGER PRIMARY KEY REFERENCES search_documents (id) ON DELETE CASCADE,"
    " doc_type VARCHAR(16) NOT NULL,"
    " doc_id INTEGER NOT NULL,"
    " tsv TSVECTOR NOT NULL)",
    "CREATE INDEX search_fts_tsv_idx ON search_fts USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=16), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("doc_type", "doc_id", name=op.f("uq_search_documents_doc_type_doc_id")),
    )
    op.create_table(
        "failed_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("query_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_searches")),
    )
    with op.batch_alter_table("failed_searches", schema=None) as batch_op:
        batch_op.create_index("ix_failed_searches_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_failed_searches_query_key_created_at", ["query_key", "created_at"], unique=False
        )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_CREATE if dialect == "postgresql" else SQLITE_CREATE if dialect == "sqlite" else []:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("failed_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_failed_searches_query_key_created_at")
        batch_op.drop_index("ix_failed_searches_created_at")
    op.drop_table("failed_searches")
    op.drop_table("search_documents")
