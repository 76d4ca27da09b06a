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
