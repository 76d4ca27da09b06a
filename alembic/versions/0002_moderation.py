"""moderation: flags, sanctions, notices, words, audit log, post revisions

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log is append-only: the app never updates or deletes it, and
# these triggers make the database refuse it too.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER moderation_audit_log_no_update BEFORE UPDATE ON moderation_audit_log
    BEGIN SELECT RAISE(ABORT, 'moderation_audit_log is append-only'); END""",
    """CREATE TRIGGER moderation_audit_log_no_delete BEFORE DELETE ON moderation_audit_log
    BEGIN SELECT RAISE(ABORT, 'moderation_audit_log is append-only'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION moderation_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'moderation_audit_log is append-only'; END $$""",
    """CREATE TRIGGER moderation_audit_log_no_change BEFORE UPDATE OR DELETE ON moderation_audit_log
    FOR EACH ROW EXECUTE FUNCTION moderation_audit_log_append_only()""",
    """CREATE TRIGGER moderation_audit_log_no_truncate BEFORE TRUNCATE ON moderation_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION moderation_audit_log_append_only()""",
]


def upgrade() -> None:
    op.create_table("moderation_audit_log",
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_moderation_audit_log_actor_id_users')),
    sa.ForeignKeyConstraint(['subject_id'], ['users.id'], name=op.f('fk_moderation_audit_log_subject_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_audit_log'))
    )
    op.create_index('ix_moderation_audit_log_action_created_at', 'moderation_audit_log', ['action', 'created_at'], unique=False)
    op.create_index('ix_moderation_audit_log_actor_id_created_at', 'moderation_audit_log', ['actor_id', 'created_at'], unique=False)
    op.create_index('ix_moderation_audit_log_created_at', 'moderation_audit_log', ['created_at'], unique=False)
    op.create_table('moderation_words',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('word', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('word_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_moderation_words_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_words')),
    sa.UniqueConstraint('kind', 'word_key', name=op.f('uq_moderation_words_kind_word_key'))
    )
    op.create_table('moderation_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('by_moderator', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_moderation_flags_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_moderation_flags_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_moderation_flags_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_flags')),
    sa.UniqueConstraint('post_id', 'user_id', name=op.f('uq_moderation_flags_post_id_user_id'))
    )
    op.create_index('ix_moderation_flags_resolved_at_post_id', 'moderation_flags', ['resolved_at', 'post_id'], unique=False)
    op.create_index('ix_moderation_flags_user_id_created_at', 'moderation_flags', ['user_id', 'created_at'], unique=False)
    op.create_table('moderation_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_moderation_notices_post_id_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_moderation_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_notices'))
    )
    op.create_index('ix_moderation_notices_user_id_read_at', 'moderation_notices', ['user_id', 'read_at'], unique=False)
    op.create_table('moderation_sanctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_moderation_sanctions_lifted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_moderation_sanctions_moderator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_moderation_sanctions_post_id_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_moderation_sanctions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_sanctions'))
    )
    op.create_index('ix_moderation_sanctions_user_id_created_at', 'moderation_sanctions', ['user_id', 'created_at'], unique=False)
    op.create_table('post_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('edited_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], name=op.f('fk_post_revisions_editor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_revisions_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_revisions'))
    )
    op.create_index('ix_post_revisions_post_id_id', 'post_revisions', ['post_id', 'id'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_post_revisions_post_id_id", table_name='post_revisions')
    op.drop_table('post_revisions')
    op.drop_index('ix_moderation_sanctions_user_id_created_at', table_name='moderation_sanctions')
    op.drop_table('moderation_sanctions')
    op.drop_index('ix_moderation_notices_user_id_read_at', table_name='moderation_notices')
    op.drop_table('moderation_notices')
    op.drop_index('ix_moderation_flags_user_id_created_at', table_name='moderation_flags')
    op.drop_index('ix_moderation_flags_resolved_at_post_id', table_name='moderation_flags')
    op.drop_table('moderation_flags')
    op.drop_table('moderation_words')
    op.drop_index('ix_moderation_audit_log_created_at', table_name='moderation_audit_log')
    op.drop_index('ix_moderation_audit_log_actor_id_created_at', table_name='moderation_audit_log')
    op.drop_index('ix_moderation_audit_log_action_created_at', table_name='moderation_audit_log')
    op.drop_table('moderation_audit_log')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS moderation_audit_log_append_only()")
