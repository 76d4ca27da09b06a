"""The schema comes from the migrations alone, and they run both ways."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from forum import migrations
from forum.db import make_sync_engine
from forum.models import metadata
from tests.conftest import PG_URL, _pg_exec


def _fresh_database(tmp_path: Path) -> tuple[str, object]:
    if PG_URL:
        name = f"{make_url(PG_URL).database}_mig_{uuid.uuid4().hex[:8]}"
        _pg_exec(PG_URL, f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        return url, lambda: _pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"sqlite:///{tmp_path / 'migrate.db'}", lambda: None


def test_models_and_migrations_agree(database_url):
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": migrations.include_object}
            )
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_downgrade_upgrade(tmp_path):
    url, drop = _fresh_database(tmp_path)
    try:
        migrations.upgrade(url)
        migrations.downgrade(url, "base")
        engine = make_sync_engine(url)
        try:
            leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
        finally:
            engine.dispose()
        assert leftover == set()
        migrations.upgrade(url)
        engine = make_sync_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"users", "threads", "posts", "votes", "categories"} <= tables
    finally:
        drop()  # type: ignore[operator]


def test_migration_0010_fills_the_category_counts_from_the_threads(tmp_path):
    from sqlalchemy import text

    url, drop = _fresh_database(tmp_path)
    try:
        migrations.upgrade(url, "0009")
        engine = make_sync_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO categories (id, slug, name_en, name_ko, description_en, description_ko, position)"
                        " VALUES (1, 'a', 'A', 'A', '', '', 0), (2, 'b', 'B', 'B', '', '', 1),"
                        " (3, 'c', 'C', 'C', '', '', 2)"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO users (id, username, username_key, display_name, password_hash, role, created_at)"
                        " VALUES (1, 'u', 'u', 'U', '!', 'member', '2026-01-01 00:00:00')"
                    )
                )
                # Category 1: two listed, one hidden, one pinned, one deleted; category 2: one hidden and deleted.
                states = [(1, None, None, None), (1, None, None, None), (1, "h", None, None), (1, None, "p", None)]
                states += [(1, None, None, "d"), (2, "h", None, "d")]
                for n, (category, hidden, pinned, deleted) in enumerate(states, start=1):
                    at = "2026-01-01 00:00:00"
                    conn.execute(
                        text(
                            "INSERT INTO threads (id, category_id, author_id, kind, title, slug, language, created_at,"
                            " last_activity_at, views, reply_count, staff_replied, hidden_at, pinned_at, deleted_at)"
                            " VALUES (:id, :category, 1, 'question', 't', 't', 'en', :at, :at, 0, 0, false,"
                            " :hidden, :pinned, :deleted)"
                        ),
                        {
                            "id": n,
                            "category": category,
                            "at": at,
                            "hidden": at if hidden else None,
                            "pinned": at if pinned else None,
                            "deleted": at if deleted else None,
                        },
                    )
        finally:
            engine.dispose()
        migrations.upgrade(url)
        engine = make_sync_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, listed_threads, hidden_threads FROM categories ORDER BY id")).all()
        finally:
            engine.dispose()
        assert [tuple(r) for r in rows] == [(1, 2, 1), (2, 0, 0), (3, 0, 0)]
        migrations.downgrade(url, "0009")
    finally:
        drop()  # type: ignore[operator]
