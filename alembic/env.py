"""Alembic environment: the database comes from the config's ``sqlalchemy.url``
(set by ``forum db upgrade``) or from FORUM_DATABASE_URL."""

import moderation.models  # noqa: F401  (its tables join the metadata)
from alembic import context
from forum.config import Settings
from forum.db import is_sqlite, make_sync_engine
from forum.migrations import include_object
from forum.models import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        render_as_batch=is_sqlite(url),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
