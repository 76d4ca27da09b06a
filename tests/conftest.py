"""Test fixtures: a migrated database per test (SQLite by default, PostgreSQL
when FORUM_TEST_DATABASE_URL names one), the app, a client, role users."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from forum import migrations
from forum.app import close_app, create_app
from forum.config import Settings
from forum.models import Role, User
from tests.factories import make_user
from tests.webclient import WebClient

PG_URL = os.environ.get("FORUM_TEST_DATABASE_URL", "")
# The SMTP server fixtures (``smtp``, ``mail_settings``) and the S3 server's
# (``s3_endpoint``, ``s3``).
pytest_plugins = ["tests.mailbox", "tests.s3server"]


def _pg_admin_dsn(url: str) -> str:
    u = make_url(url)
    return u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def _pg_exec(url: str, sql: str) -> None:
    with psycopg.connect(_pg_admin_dsn(url), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrated once per run; each test gets a copy."""
    if PG_URL:
        name = f"{make_url(PG_URL).database}_tpl_{uuid.uuid4().hex[:8]}"
        _pg_exec(PG_URL, f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
        _pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        migrations.upgrade(url)
        yield url


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        template = make_url(template_database).database
        name = f"{make_url(PG_URL).database}_{uuid.uuid4().hex[:12]}"
        _pg_exec(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        source = Path(make_url(template_database).database or "")
        target = tmp_path / "forum.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-" + "x" * 32, data_dir=tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    yield application
    await close_app(application)


@pytest.fixture
def db(app: Starlette):  # type: ignore[no-untyped-def]
    """The app's sessionmaker: ``async with db.begin() as s:`` to seed data."""
    return app.state.runtime.sessionmaker


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[WebClient]:
    async with WebClient(app) as c:
        yield c


@pytest.fixture
async def other_client(app: Starlette) -> AsyncIterator[WebClient]:
    async with WebClient(app) as c:
        yield c


async def _role_user(db, role: Role, name: str) -> User:  # type: ignore[no-untyped-def]
    async with db.begin() as session:
        return await make_user(session, username=name, role=role)


@pytest.fixture
async def member(db) -> User:  # type: ignore[no-untyped-def]
    return await _role_user(db, Role.member, "member")


@pytest.fixture
async def other_member(db) -> User:  # type: ignore[no-untyped-def]
    return await _role_user(db, Role.member, "other")


@pytest.fixture
async def staff(db) -> User:  # type: ignore[no-untyped-def]
    return await _role_user(db, Role.staff, "staff")


@pytest.fixture
async def moderator(db) -> User:  # type: ignore[no-untyped-def]
    return await _role_user(db, Role.moderator, "moderator")


@pytest.fixture
async def admin(db) -> User:  # type: ignore[no-untyped-def]
    return await _role_user(db, Role.admin, "admin")


__all__ = ["httpx"]
