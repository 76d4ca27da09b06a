"""sentence embeddings beside each thread's terms

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('thread_terms', sa.Column('vector', sa.LargeBinary(), nullable=True))
    op.add_column('thread_terms', sa.Column('vector_model', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('thread_terms') as batch:
        batch.drop_column('vector_model')
        batch.drop_column('vector')
