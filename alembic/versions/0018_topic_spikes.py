"""topic_spikes: spike alerts (a topic growing much faster than its own recent rate)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 02:06:15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'topic_spikes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('suggestion_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('checked_at', sa.DateTime(), nullable=False),
        sa.Column('recent_count', sa.Integer(), nullable=False),
        sa.Column('peak_count', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Float(), nullable=False),
        sa.Column('thread_ids', sa.Text(), nullable=False),
        sa.Column('notified_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['suggestion_id'],
            ['topic_suggestions.id'],
            name=op.f('fk_topic_spikes_suggestion_id_topic_suggestions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_spikes')),
    )
    with op.batch_alter_table('topic_spikes', schema=None) as batch_op:
        batch_op.create_index('ix_topic_spikes_closed_at_opened_at', ['closed_at', 'opened_at'], unique=False)
        batch_op.create_index('ix_topic_spikes_suggestion_id_closed_at', ['suggestion_id', 'closed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('topic_spikes', schema=None) as batch_op:
        batch_op.drop_index('ix_topic_spikes_suggestion_id_closed_at')
        batch_op.drop_index('ix_topic_spikes_closed_at_opened_at')
    op.drop_table('topic_spikes')
