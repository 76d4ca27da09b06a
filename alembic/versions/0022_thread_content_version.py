"""thread_content_version: a thread's posts' version, kept by the database

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 14:00:00

``threads.content_version`` counts the changes to a thread's posts: triggers
add one whenever a post is inserted or deleted, or its text, visibility or
thread changes, however it is changed (the app's services, a direct update, a
script). ``search_documents.content_version`` is the version the thread's
index entry holds (``forum.search``): an entry whose version differs is stale,
and a search page tells that, and keys each thread's kept snippet, from the two
columns alone. It used to read them off the page's posts (an aggregate over
every post of 20 threads: a tenth of a search page's CPU).

Entries already stale by the old rule (a post hidden, deleted or edited since
the thread was indexed) start stale.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANGED = (
    "OLD.body IS {ne} NEW.body OR OLD.hidden_at IS {ne} NEW.hidden_at "
    "OR OLD.deleted_at IS {ne} NEW.deleted_at OR OLD.thread_id IS {ne} NEW.thread_id"
)
_BUMP = "UPDATE threads SET content_version = content_version + 1 WHERE id = {which}.thread_id"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER posts_content_version_insert AFTER INSERT ON posts BEGIN {_BUMP.format(which='NEW')}; END",
    f"CREATE TRIGGER posts_content_version_delete AFTER DELETE ON posts BEGIN {_BUMP.format(which='OLD')}; END",
    "CREATE TRIGGER posts_content_version_update AFTER UPDATE OF body, hidden_at, deleted_at, thread_id ON posts "
    f"WHEN {_CHANGED.format(ne='NOT')} BEGIN "
    "UPDATE threads SET content_version = content_version + 1 WHERE id IN (OLD.thread_id, NEW.thread_id); END",
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION posts_content_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN {_BUMP.format(which="OLD")}; END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.thread_id IS DISTINCT FROM OLD.thread_id) THEN
            {_BUMP.format(which="NEW")};
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER posts_content_version_insert_delete AFTER INSERT OR DELETE ON posts "
    "FOR EACH ROW EXECUTE FUNCTION posts_content_version()",
    "CREATE TRIGGER posts_content_version_update AFTER UPDATE OF body, hidden_at, deleted_at, thread_id ON posts "
    f"FOR EACH ROW WHEN ({_CHANGED.format(ne='DISTINCT FROM')}) EXECUTE FUNCTION posts_content_version()",
]


def upgrade() -> None:
    op.add_column("threads", sa.Column("content_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("search_documents", sa.Column("content_version", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE search_documents SET content_version = -1 WHERE doc_type = 'thread' AND EXISTS ("
        "SELECT 1 FROM posts p WHERE p.thread_id = search_documents.doc_id AND ("
        "p.hidden_at >= search_documents.indexed_at OR p.deleted_at >= search_documents.indexed_at "
        "OR p.edited_at >= search_documents.indexed_at))"
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS posts_content_version_insert_delete ON posts")
        op.execute("DROP TRIGGER IF EXISTS posts_content_version_update ON posts")
        op.execute("DROP FUNCTION IF EXISTS posts_content_version()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS posts_content_version_{name}")
    op.drop_column("search_documents", "content_version")
    op.drop_column("threads", "content_version")
