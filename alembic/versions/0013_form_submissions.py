"""form_submissions: the one-use keys of forms that create something (one post per submit)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'form_submissions',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('result_url', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_form_submissions_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('user_id', 'form_key', name=op.f('pk_form_submissions')),
    )
    op.create_index('ix_form_submissions_created_at', 'form_submissions', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_form_submissions_created_at', table_name='form_submissions')
    op.drop_table('form_submissions')
