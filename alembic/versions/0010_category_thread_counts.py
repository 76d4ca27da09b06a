"""categories.listed_threads and hidden_threads: the size of each category's thread list, stored

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule of forum.services.categories.list_slot, as of this revision.
_COUNT = (
    'SELECT count(*) FROM threads t WHERE t.category_id = categories.id'
    ' AND t.deleted_at IS NULL AND t.pinned_at IS NULL AND t.hidden_at IS {}'
)


def upgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listed_threads', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('hidden_threads', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        f"UPDATE categories SET listed_threads = ({_COUNT.format('NULL')}),"
        f" hidden_threads = ({_COUNT.format('NOT NULL')})"
    )


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies the table, which foreign keys
    # from threads forbid once there are any (SQLite drops columns since 3.35).
    op.drop_column('categories', 'hidden_threads')
    op.drop_column('categories', 'listed_threads')
