"""Schema management through Alembic: the only way the schema changes."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from forum.db import ensure_sqlite_folder
from forum.paths import ALEMBIC_DIR


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Alembic's object filter. The search index tables are made with
    database-specific DDL (FTS5 on SQLite, tsvector + GIN on PostgreSQL) that
    no model describes: autogenerate and the models-vs-migrations test skip them."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith("search_fts")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
