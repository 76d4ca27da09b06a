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

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum import hooks, read
from forum.clock import utcnow
from forum.direct import DirectRead
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Category, Role, Thread, User
from forum.read import CategoryRow
from forum.services import tags
from forum.textutil import one_line

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
_TOTALS = {(b, h): DirectRead(_total_statement(by_category=b, hidden=h)) for b in (False, True) for h in (False, True)}


async def listed_total(session: AsyncSession, *, category_id: int | None, hidden: bool) -> int:
    """The number of threads on a list's pages, from the stored counters: one
    category's, or the whole forum's (a sum over the categories, which are
    few). ``hidden``: moderators' lists, which hold hidden threads too."""
    stmt = _TOTALS[(category_id is not None, hidden)]
    row = await stmt.first(session, {"category_id": category_id})
    return int(row[0] or 0) if row is not None else 0


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


# ---------------------------------------------------------------- the admin page


SLUG_RE = re.compile(r"^[0-9a-z가-힣][0-9a-z가-힣-]{0,59}$")
CATEGORY_FIELDS = ("slug", "name_en", "name_ko", "description_en", "description_ko")


def can_manage(user: User | None) -> bool:
    """Categories are the forum's shape (and carry SLA targets): administrators'."""
    return user is not None and user.role == Role.admin.value


def _check_can_manage(user: User) -> None:
    if not can_manage(user):
        raise NotAllowed(_("Only administrators can manage categories."))


def snapshot(category: Category) -> dict[str, Any]:
    return {name: getattr(category, name) for name in (*CATEGORY_FIELDS, "position", "archived_at")}


def check_fields(values: Mapping[str, str]) -> dict[str, str]:
    """The form's fields, trimmed, or ``ValidationError`` saying what is wrong."""
    fields = {name: one_line(values.get(name, "")) for name in CATEGORY_FIELDS}
    fields["slug"] = fields["slug"].lower()
    errors: dict[str, str] = {}
    if not SLUG_RE.match(fields["slug"]):
        errors["slug"] = _(
            "Slugs are 1 to 60 lowercase letters, digits, Hangul or '-', starting with a letter or digit."
        )
    for name in ("name_en", "name_ko"):
        if not fields[name]:
            errors[name] = _("Enter the name in both languages.")
        elif len(fields[name]) > 80:
            errors[name] = _("Names can have at most %(n)s characters.", n=80)
    for name in ("description_en", "description_ko"):
        if len(fields[name]) > 300:
            errors[name] = _("Descriptions can have at most %(n)s characters.", n=300)
    if errors:
        raise ValidationError(errors)
    return fields


async def admin_create(session: AsyncSession, *, actor: User, values: Mapping[str, str]) -> Category:
    """A new category from the admin page, last in the order."""
    _check_can_manage(actor)
    fields = check_fields(values)
    last = await session.scalar(select(func.max(Category.position)))
    category = await create_category(session, position=(last or 0) + 1, **fields)
    await hooks.run_admin_change(session, actor, "category.create", "category", category.id, None, snapshot(category))
    return category


async def admin_update(session: AsyncSession, category: Category, *, actor: User, values: Mapping[str, str]) -> bool:
    _check_can_manage(actor)
    fields = check_fields(values)
    if fields["slug"] != category.slug and await get_category_by_slug(session, fields["slug"]) is not None:
        raise ValidationError({"slug": _("A category with that slug already exists.")})
    before = snapshot(category)
    for name, value in fields.items():
        setattr(category, name, value)
    if snapshot(category) == before:
        return False
    session.add(category)
    await session.flush()
    await hooks.run_admin_change(session, actor, "category.edit", "category", category.id, before, snapshot(category))
    return True


async def admin_move(session: AsyncSession, category: Category, *, actor: User, step: int) -> bool:
    """Moves a category one place up (``step`` -1) or down (+1); the order is
    renumbered 1, 2, 3 … on the way. Says whether it moved."""
    _check_can_manage(actor)
    ordered = list(await all_categories(session))
    index = next(i for i, c in enumerate(ordered) if c.id == category.id)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(ordered):
        return False
    before = [c.id for c in ordered]
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, c in enumerate(ordered, start=1):
        if c.position != position:
            c.position = position
            session.add(c)
    await session.flush()
    await hooks.run_admin_change(
        session, actor, "category.move", "category", category.id, {"order": before}, {"order": [c.id for c in ordered]}
    )
    return True


async def admin_archive(session: AsyncSession, category: Category, *, actor: User, archived: bool) -> bool:
    """An archived category leaves the ask form and the home page's list; its
    threads and its page stay readable. Undone by ``archived=False``."""
    _check_can_manage(actor)
    if (category.archived_at is not None) == archived:
        return False
    before = snapshot(category)
    category.archived_at = utcnow() if archived else None
    session.add(category)
    await session.flush()
    action = "category.archive" if archived else "category.unarchive"
    await hooks.run_admin_change(session, actor, action, "category", category.id, before, snapshot(category))
    return True


async def get_category_or_404(session: AsyncSession, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound(_("No such category."))
    return category
