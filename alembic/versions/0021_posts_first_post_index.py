"""posts_first_post_index: a thread's first post, and whether it shows, from an index

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 03:00:00

A thread page's related questions leave out threads whose first post is hidden
or deleted: for each entry the join read the thread's posts through
``ix_posts_thread_id_created_at`` and each post's row (its text first) to find
the first one. This partial index holds one entry per thread, with the columns
the join tests: on 1,000 imported threads the related list's statement took 26
µs of SQLite's time instead of 71.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    first = "is_first IS true" if op.get_bind().dialect.name == "postgresql" else "is_first IS 1"
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_posts_first_post ON posts (thread_id, is_first, hidden_at, deleted_at) "
        f"WHERE {first}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_posts_first_post")
