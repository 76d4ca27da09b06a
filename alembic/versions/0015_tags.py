"""tags: tags, the tags of threads, and the tags a category is restricted to

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-05 17:00:40
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'tags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=30), nullable=False),
        sa.Column('label_en', sa.String(length=60), server_default='', nullable=False),
        sa.Column('label_ko', sa.String(length=60), server_default='', nullable=False),
        sa.Column('thread_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
        sa.UniqueConstraint('name', name=op.f('uq_tags_name')),
    )
    op.create_index('ix_tags_thread_count', 'tags', ['thread_count'])
    op.create_table(
        'category_tags',
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['category_id'], ['categories.id'], name=op.f('fk_category_tags_category_id_categories'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_category_tags_tag_id_tags'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('category_id', 'tag_id', name=op.f('pk_category_tags')),
    )
    op.create_index('ix_category_tags_tag_id', 'category_tags', ['tag_id'])
    op.create_table(
        'thread_tags',
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_thread_tags_tag_id_tags'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['thread_id'], ['threads.id'], name=op.f('fk_thread_tags_thread_id_threads'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('thread_id', 'tag_id', name=op.f('pk_thread_tags')),
    )
    op.create_index('ix_thread_tags_tag_id_thread_id', 'thread_tags', ['tag_id', 'thread_id'])


def downgrade() -> None:
    op.drop_index('ix_thread_tags_tag_id_thread_id', table_name='thread_tags')
    op.drop_table('thread_tags')
    op.drop_index('ix_category_tags_tag_id', table_name='category_tags')
    op.drop_table('category_tags')
    op.drop_index('ix_tags_thread_count', table_name='tags')
    op.drop_table('tags')
