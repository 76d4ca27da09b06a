"""related questions stored per thread (computed by a job, read by the page); job requests

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'related_lists',
        sa.Column('thread_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('queued_at', sa.DateTime(), nullable=True),
        sa.Column('computed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_related_lists_thread_id_threads'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_related_lists')),
    )
    op.create_index('ix_related_lists_queued_at', 'related_lists', ['queued_at'], unique=False)
    op.create_index('ix_related_lists_computed_at', 'related_lists', ['computed_at'], unique=False)
    op.create_table(
        'related_items',
        sa.Column('thread_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('target_thread_id', sa.Integer(), nullable=True),
        sa.Column('target_article_id', sa.Integer(), nullable=True),
        sa.Column('score', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_related_items_thread_id_threads'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['target_thread_id'], ['threads.id'], name=op.f('fk_related_items_target_thread_id_threads'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['target_article_id'], ['articles.id'], name=op.f('fk_related_items_target_article_id_articles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('thread_id', 'position', name=op.f('pk_related_items')),
    )
    op.create_table(
        'job_requests',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_job_requests')),
    )
    # Every existing thread waits for its list: the job computes them in the background.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.execute(
        sa.text('INSERT INTO related_lists (thread_id, queued_at) SELECT id, :now FROM threads').bindparams(now=now)
    )


def downgrade() -> None:
    op.drop_table('job_requests')
    op.drop_table('related_items')
    op.drop_index('ix_related_lists_computed_at', table_name='related_lists')
    op.drop_index('ix_related_lists_queued_at', table_name='related_lists')
    op.drop_table('related_lists')
