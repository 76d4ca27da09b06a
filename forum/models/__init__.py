"""SQLModel tables. The schema itself is owned by the Alembic migrations."""

from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from forum.models.category import Category  # noqa: E402
from forum.models.thread import Post, Thread, ThreadKind, Vote  # noqa: E402
from forum.models.user import Role, User, UserSession  # noqa: E402

metadata = SQLModel.metadata

__all__ = ["Category", "Post", "Role", "Thread", "ThreadKind", "User", "UserSession", "Vote", "metadata"]
