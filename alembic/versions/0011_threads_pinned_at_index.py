"""threads.pinned_at indexed: the pinned threads atop the first list page are found without a scan

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_threads_pinned_at', 'threads', ['pinned_at'])


def downgrade() -> None:
    op.drop_index('ix_threads_pinned_at', table_name='threads')
