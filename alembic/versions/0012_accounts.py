"""Accounts people can recover and delete: user_sessions.last_seen_at (the idle timeout) and users.deleted_at

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
    # A session open before the upgrade was last seen (as far as we know) when it began.
    op.execute('UPDATE user_sessions SET last_seen_at = created_at')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(), nullable=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Not a batch: on SQLite that rebuilds users, which other tables reference
    # (a foreign key failure once there are rows). SQLite 3.35+ drops a column itself.
    op.execute('ALTER TABLE users DROP COLUMN deleted_at')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
