from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from forum import read
from forum.errors import NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Category
from forum.read import CategoryRow


async def all_categories(session: AsyncSession) -> Sequence[Category]:
    return (await session.scalars(select(Category).order_by(Category.position, Category.id))).all()


async def category_rows(session: AsyncSession) -> list[CategoryRow]:
    """Every category as read rows, for pages that only show them."""
    return await read.categories(session)


def pick_or_404(categories: Sequence[CategoryRow], slug: str) -> CategoryRow:
    """The category of ``slug`` among those already read (no query)."""
    for category in categories:
        if category.slug == slug:
            return category
    raise NotFound(_("No such category."))


async def get_category_by_slug(session: AsyncSession, slug: str) -> Category | None:
    if not slug:
        return None
    return await session.scalar(select(Category).where(Category.slug == slug))


async def get_category_by_slug_or_404(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound(_("No such category."))
    return category


async def create_category(
    session: AsyncSession,
    *,
    slug: str,
    name_en: str,
    name_ko: str,
    description_en: str = "",
    description_ko: str = "",
    position: int = 0,
) -> Category:
    if await session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        raise ValidationError({"slug": _("A category with that slug already exists.")})
    category = Category(
        slug=slug,
        name_en=name_en,
        name_ko=name_ko,
        description_en=description_en,
        description_ko=description_ko,
        position=position,
    )
    session.add(category)
    await session.flush()
    return category
