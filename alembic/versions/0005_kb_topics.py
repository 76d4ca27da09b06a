"""knowledge base, similar questions and topic suggestions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:51:39.831639
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('topic_blobs',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('high_water', sa.Integer(), nullable=False),
    sa.Column('doc_count', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_topic_blobs'))
    )
    op.create_table('topic_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('high_water', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('threads_seen', sa.Integer(), nullable=False),
    sa.Column('threads_changed', sa.Integer(), nullable=False),
    sa.Column('suggestions_open', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_runs'))
    )
    op.create_index('ix_topic_runs_status_mode_finished_at', 'topic_runs', ['status', 'mode', 'finished_at'], unique=False)

    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('helped_yes', sa.Integer(), nullable=False),
    sa.Column('helped_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_articles_author_id_users')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_articles_category_id_categories'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles'))
    )
    op.create_index('ix_articles_category_id_status', 'articles', ['category_id', 'status'], unique=False)
    op.create_index('ix_articles_status_published_at', 'articles', ['status', 'published_at'], unique=False)
    op.create_index('ix_articles_updated_at', 'articles', ['updated_at'], unique=False)

    op.create_table('synonym_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_synonym_lines_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_synonym_lines'))
    )
    op.create_table('article_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('browser_key', sa.String(length=64), nullable=True),
    sa.Column('helped', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_feedback_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_article_feedback_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_feedback')),
    sa.UniqueConstraint('article_id', 'browser_key', name=op.f('uq_article_feedback_article_id_browser_key')),
    sa.UniqueConstraint('article_id', 'user_id', name=op.f('uq_article_feedback_article_id_user_id'))
    )
    op.create_table('thread_terms',
    sa.Column('thread_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.Column('title_terms', sa.Text(), nullable=False),
    sa.Column('body_terms', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_terms_thread_id_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_thread_terms'))
    )
    op.create_table('topic_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('key_terms', sa.Text(), nullable=False),
    sa.Column('representative_thread_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('thread_count', sa.Integer(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('unsolved_count', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('cohesion', sa.Float(), nullable=False),
    sa.Column('centroid', sa.Text(), nullable=False),
    sa.Column('first_thread_at', sa.DateTime(), nullable=True),
    sa.Column('last_thread_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('dismissed_reason', sa.String(length=500), nullable=True),
    sa.Column('dismissed_size', sa.Integer(), nullable=True),
    sa.Column('dismissed_at', sa.DateTime(), nullable=True),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_topic_suggestions_article_id_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_topic_suggestions_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'], name=op.f('fk_topic_suggestions_dismissed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['representative_thread_id'], ['threads.id'], name=op.f('fk_topic_suggestions_representative_thread_id_threads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_suggestions'))
    )
    op.create_index('ix_topic_suggestions_state_score', 'topic_suggestions', ['state', 'score'], unique=False)

    op.create_table('topic_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('previous_size', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_topic_events_article_id_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['suggestion_id'], ['topic_suggestions.id'], name=op.f('fk_topic_events_suggestion_id_topic_suggestions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_topic_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_events'))
    )
    op.create_index('ix_topic_events_suggestion_id_at', 'topic_events', ['suggestion_id', 'at'], unique=False)

    op.create_table('topic_members',
    sa.Column('thread_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['suggestion_id'], ['topic_suggestions.id'], name=op.f('fk_topic_members_suggestion_id_topic_suggestions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_topic_members_thread_id_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_topic_members'))
    )
    op.create_index('ix_topic_members_suggestion_id', 'topic_members', ['suggestion_id'], unique=False)

    # A plain ALTER on both databases (no foreign key: see forum.models.thread).
    op.add_column('threads', sa.Column('article_id', sa.Integer(), nullable=True))
    op.create_index('ix_threads_article_id', 'threads', ['article_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_threads_article_id', table_name='threads')
    if op.get_bind().dialect.name == "sqlite":
        # A plain ALTER (SQLite >= 3.35): batch mode would copy and drop the
        # threads table, and dropping it cascades into posts.
        op.execute("ALTER TABLE threads DROP COLUMN article_id")
    else:
        op.drop_column('threads', 'article_id')
    op.drop_index('ix_topic_members_suggestion_id', table_name='topic_members')
    op.drop_table('topic_members')
    op.drop_index('ix_topic_events_suggestion_id_at', table_name='topic_events')
    op.drop_table('topic_events')
    op.drop_index('ix_topic_suggestions_state_score', table_name='topic_suggestions')
    op.drop_table('topic_suggestions')
    op.drop_table('thread_terms')
    op.drop_table('article_feedback')
    op.drop_table('synonym_lines')
    op.drop_index('ix_articles_updated_at', table_name='articles')
    op.drop_index('ix_articles_status_published_at', table_name='articles')
    op.drop_index('ix_articles_category_id_status', table_name='articles')
    op.drop_table('articles')
    op.drop_index('ix_topic_runs_status_mode_finished_at', table_name='topic_runs')
    op.drop_table('topic_runs')
    op.drop_table('topic_blobs')
    op.drop_table('job_leases')
