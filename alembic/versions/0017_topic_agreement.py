"""topic_suggestions.agreement: the cohesion check's weakest-member score of a suggestion

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('topic_suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreement', sa.Float(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('topic_suggestions', schema=None) as batch_op:
        batch_op.drop_column('agreement')
