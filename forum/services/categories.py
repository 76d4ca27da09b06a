"""Categories, and the stored size of their thread lists.

``Category.listed_threads`` and ``Category.hidden_threads`` say how many
threads each category's list pages hold, so that a list page never counts
threads. This module owns the rule of what a thread counts as
(:func:`list_slot`); every change to what the rule looks at (creating a thread,
hiding, deleting, restoring, pinning, moving it, importing threads) moves the
counts in the same transaction, through :func:`thread_changed` or
:func:`threads_added`, with atomic ``n = n + k`` updates. ``forum recount``
(``forum.commands.recount``) recomputes them from the threads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum import read
from forum.errors import NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Category, Thread
from forum.read import CategoryRow
from forum.services import tags

CATEGORIES: Table = Category.__table__  # type: ignore[attr-defined]
THREADS: Table = Thread.__table__  # type: ignore[attr-defined]
LISTED = "listed_threads"
HIDDEN = "hidden_threads"
SLOTS = (LISTED, HIDDEN)


class _ListedThread(Protocol):
    category_id: int
    hidden_at: datetime | None
    deleted_at: datetime | None
    pinned_at: datetime | None


# Where a thread counts: its category and the counter (None: it counts nowhere),
# and whether it is visible (its tags count it: forum.services.tags).
Place = tuple[int, str | None, bool]


def list_slot(*, hidden_at: datetime | None, deleted_at: datetime | None, pinned_at: datetime | None) -> str | None:
    """The counter a thread in this state adds to: the list pages hold
    threads neither deleted nor pinned; members see the visible ones
    (``listed_threads``), moderators the hidden ones as well (``hidden_threads``)."""
    if deleted_at is not None or pinned_at is not None:
        return None
    return HIDDEN if hidden_at is not None else LISTED


def slot_conditions(slot: str) -> list[Any]:
    """:func:`list_slot` as conditions on the threads table: the threads a
    counter counts (``forum recount`` counts them)."""
    t = THREADS.c
    hidden = t.hidden_at.is_(None) if slot == LISTED else t.hidden_at.is_not(None)
    return [t.deleted_at.is_(None), t.pinned_at.is_(None), hidden]


def place(thread: _ListedThread) -> Place:
    """Where ``thread`` counts now: take it before changing the thread, and
    hand it to :func:`thread_changed` after."""
    return (
        thread.category_id,
        list_slot(hidden_at=thread.hidden_at, deleted_at=thread.deleted_at, pinned_at=thread.pinned_at),
        thread.hidden_at is None and thread.deleted_at is None,
    )


async def _add(session: AsyncSession, changes: Counter[tuple[int, str]]) -> None:
    # Categories in id order: two transactions moving threads between the same
    # categories take their row locks in the same order (no deadlock).
    by_category: dict[int, dict[str, int]] = {}
    for (category_id, slot), n in sorted(changes.items()):
        if n:
            by_category.setdefault(category_id, {})[slot] = n
    for category_id, counts in by_category.items():
        await session.execute(
            update(CATEGORIES)
            .where(CATEGORIES.c.id == category_id)
            .values({slot: CATEGORIES.c[slot] + n for slot, n in counts.items()})
        )


async def thread_changed(session: AsyncSession, before: Place | None, thread: _ListedThread) -> bool:
    """Moves ``thread``'s count from where it counted (``before``, from
    :func:`place`; None for a new thread) to where it counts now. Says
    whether any counter moved."""
    after = place(thread)
    if before == after:
        return False
    thread_id = getattr(thread, "id", None)
    if before is not None and before[2] != after[2] and thread_id is not None:
        await tags.visibility_changed(session, thread_id, visible=after[2])
    changes: Counter[tuple[int, str]] = Counter()
    if before is not None and before[1] is not None:
        changes[(before[0], before[1])] -= 1
    if after[1] is not None:
        changes[(after[0], after[1])] += 1
    await _add(session, changes)
    return bool(changes)


async def threads_added(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Counts new threads inserted as rows (the importer's): one statement
    per category."""
    changes: Counter[tuple[int, str]] = Counter()
    for row in rows:
        slot = list_slot(
            hidden_at=row.get("hidden_at"), deleted_at=row.get("deleted_at"), pinned_at=row.get("pinned_at")
        )
        if slot is not None:
            changes[(int(row["category_id"]), slot)] += 1
    await _add(session, changes)


def _total_statement(*, by_category: bool, hidden: bool) -> Any:
    c = CATEGORIES.c
    stmt = select(func.coalesce(func.sum(c.listed_threads + c.hidden_threads if hidden else c.listed_threads), 0))
    return stmt.where(c.id == bindparam("category_id")) if by_category else stmt


# Built once, like the list statements they go with (forum.services.threads.latest).
_TOTALS = {(b, h): _total_statement(by_category=b, hidden=h) for b in (False, True) for h in (False, True)}


async def listed_total(session: AsyncSession, *, category_id: int | None, hidden: bool) -> int:
    """The number of threads on a list's pages, from the stored counters: one
    category's, or the whole forum's (a sum over the categories, which are
    few). ``hidden``: moderators' lists, which hold hidden threads too."""
    stmt = _TOTALS[(category_id is not None, hidden)]
    return int(await session.scalar(stmt, {"category_id": category_id}) or 0)


async def all_categories(session: AsyncSession) -> Sequence[Category]:
    return (await session.scalars(select(Category).order_by(col(Category.position), col(Category.id)))).all()


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
    return await session.scalar(select(Category).where(col(Category.slug) == slug))


async def get_category_by_slug_or_404(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(col(Category.slug) == slug))
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
    if await session.scalar(select(col(Category.id)).where(col(Category.slug) == slug)) is not None:
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
