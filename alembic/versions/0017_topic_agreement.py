"""topic_suggestions.agreement (the cohesion check's weakest-member score) and topic_removals (threads staff took out)

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('topic_suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreement', sa.Float(), server_default='0', nullable=False))
    op.create_table(
        'topic_removals',
        sa.Column('thread_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('suggestion_id', sa.Integer(), nullable=True),
        sa.Column('removed_by_id', sa.Integer(), nullable=True),
        sa.Column('removed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['removed_by_id'], ['users.id'], name=op.f('fk_topic_removals_removed_by_id_users'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['suggestion_id'],
            ['topic_suggestions.id'],
            name=op.f('fk_topic_removals_suggestion_id_topic_suggestions'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['thread_id'], ['threads.id'], name=op.f('fk_topic_removals_thread_id_threads'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_topic_removals')),
    )


def downgrade() -> None:
    op.drop_table('topic_removals')
    with op.batch_alter_table('topic_suggestions', schema=None) as batch_op:
        batch_op.drop_column('agreement')
