"""uploads: files members upload, the posts that use them, avatars

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('content_type', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_uploads_owner_id_users'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
        sa.UniqueConstraint('key', name=op.f('uq_uploads_key')),
    )
    op.create_index('ix_uploads_owner_id_created_at', 'uploads', ['owner_id', 'created_at'])
    op.create_table(
        'upload_posts',
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['post_id'], ['posts.id'], name=op.f('fk_upload_posts_post_id_posts'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['upload_id'], ['uploads.id'], name=op.f('fk_upload_posts_upload_id_uploads'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('upload_id', 'post_id', name=op.f('pk_upload_posts')),
    )
    op.create_index('ix_upload_posts_post_id', 'upload_posts', ['post_id'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('avatar_key', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Not a batch: on SQLite that rebuilds users, which other tables reference
    # (a foreign key failure once there are rows). SQLite 3.35+ drops a column itself.
    op.execute('ALTER TABLE users DROP COLUMN avatar_key')
    op.drop_index('ix_upload_posts_post_id', table_name='upload_posts')
    op.drop_table('upload_posts')
    op.drop_index('ix_uploads_owner_id_created_at', table_name='uploads')
    op.drop_table('uploads')
