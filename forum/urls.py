"""URLs of things, for templates and redirects (slugs may hold Hangul)."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

from forum.models import Article, Category, Post, Thread, User


class _Linked(Protocol):
    """A thread as any read of one has it (table model, read row, search hit)."""

    @property
    def id(self) -> int | None: ...

    @property
    def slug(self) -> str: ...


def thread_url(thread: _Linked) -> str:
    return f"/t/{thread.id}/{quote(thread.slug)}"


def post_url(thread: Thread, post: Post) -> str:
    return f"{thread_url(thread)}#post-{post.id}"


def article_url(article: Article) -> str:
    return f"/kb/{article.id}/{quote(article.slug)}"


def category_url(category: Category) -> str:
    return f"/c/{quote(category.slug)}"


def user_url(user: User) -> str:
    return f"/u/{quote(user.username)}"


def tag_url(name: str) -> str:
    """A tag's page (names may hold # and +: quoted whole)."""
    return f"/tags/{quote(name, safe='')}"
