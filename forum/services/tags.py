"""Tags: names, who may make them, a thread's tags, category restrictions,
and the staff's renames and merges.

Names are normalised one way everywhere (forms, URLs, imports, the API):
Unicode NFKC (full-width letters become half-width), case folded, trimmed,
and every run of spaces inside becomes one hyphen ("Apple  Watch" is
"apple-watch"). A name holds letters (Hangul too), digits and ``- . + #``,
at most ``NAME_MAX`` characters, and at least one letter or digit.

Who makes tags: staff (and moderators, administrators) may type a new name
and it is created; members choose among existing tags. A category may be
restricted to a list of tags (``CategoryTag``): a thread there takes no other.

``Tag.thread_count`` counts the visible threads (neither hidden nor deleted)
with the tag. It moves in the transaction that changes it: tagging here, and a
thread's visibility through ``forum.services.categories.thread_changed``
(which every hide, delete and restore goes through). ``forum recount`` repairs it.

Staff changes (create, labels, rename, merge, delete, category lists) are
reported to the audit log through ``forum.hooks.run_audit``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum import hooks, read
from forum.direct import DirectRead
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Category, CategoryTag, Tag, Thread, ThreadTag, User
from forum.models.tags import TagRules
from forum.pagination import Page, check_page, count_up_to_last_page
from forum.read import ThreadRow

MAX_TAGS = 5
NAME_MAX = 30
LABEL_MAX = 60
SUGGESTIONS = 10

TAGS: Table = Tag.__table__  # type: ignore[attr-defined]
THREAD_TAGS: Table = ThreadTag.__table__  # type: ignore[attr-defined]
CATEGORY_TAGS: Table = CategoryTag.__table__  # type: ignore[attr-defined]
THREADS: Table = Thread.__table__  # type: ignore[attr-defined]

_SPACES = re.compile(r"\s+")
_EXTRA = frozenset("-.+#")


@dataclass(frozen=True, slots=True)
class TagChip(TagRules):
    """A tag as a thread row shows it (hashable: part of a list row's cache key)."""

    name: str
    label_en: str
    label_ko: str


# ---------------------------------------------------------------- names


def normalise_name(raw: str) -> str:
    """NFKC, case folded, trimmed, inner spaces as one hyphen."""
    text = unicodedata.normalize("NFKC", raw)
    text = unicodedata.normalize("NFKC", text.casefold())
    return _SPACES.sub("-", text.strip())


def check_name(name: str) -> str | None:
    """Why a normalised name cannot be a tag (None: it can)."""
    if not name:
        return _("A tag needs a name.")
    if len(name) > NAME_MAX:
        return _("Tags can have at most %(n)s characters: %(name)s", n=NAME_MAX, name=name[: NAME_MAX + 10])
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in _EXTRA)})
    if bad:
        return _(
            "Tag %(name)s has characters tags cannot hold (%(chars)s). Use letters, digits and - . + #.",
            name=name,
            chars=" ".join(bad[:5]),
        )
    if not any(ch.isalnum() for ch in name):
        return _("Tag %(name)s needs at least one letter or digit.", name=name)
    return None


def parse_names(raw: str | Iterable[str], *, limit: int | None = MAX_TAGS) -> list[str]:
    """Names from a comma-separated field (or a list), normalised, without
    repeats, in the order given. Raises ``ValidationError({"tags": ...})``."""
    parts = [raw] if isinstance(raw, str) else list(raw)
    names: list[str] = []
    for part in parts:
        # NFKC first: a full-width comma (，) separates too.
        for piece in unicodedata.normalize("NFKC", part).split(","):
            name = normalise_name(piece)
            if not name:
                continue
            problem = check_name(name)
            if problem:
                raise ValidationError({"tags": problem})
            if name not in names:
                names.append(name)
    if limit is not None and len(names) > limit:
        raise ValidationError({"tags": _("A thread can have at most %(n)s tags.", n=limit)})
    return names


def can_create_tags(user: User | None) -> bool:
    return user is not None and user.is_staff


def can_manage_tags(user: User | None) -> bool:
    return user is not None and user.is_staff


def check_manager(user: User | None) -> User:
    if user is None or not can_manage_tags(user):
        raise NotAllowed(_("Only staff can manage tags."))
    return user


def _snapshot(tag: Tag) -> dict[str, Any]:
    return {"name": tag.name, "label_en": tag.label_en, "label_ko": tag.label_ko, "thread_count": tag.thread_count}


async def _audit(
    session: AsyncSession,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await hooks.run_audit(
        session,
        hooks.AuditChange(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before or {},
            after=after or {},
        ),
    )


# ---------------------------------------------------------------- reading


async def get_tag_or_404(session: AsyncSession, name: str) -> Tag:
    tag = await session.scalar(select(Tag).where(col(Tag.name) == normalise_name(name)))
    if tag is None:
        raise NotFound(_("No such tag."))
    return tag


async def tags_by_name(session: AsyncSession, names: Sequence[str]) -> dict[str, Tag]:
    if not names:
        return {}
    found = await session.scalars(select(Tag).where(col(Tag.name).in_(list(names))))
    return {tag.name: tag for tag in found}


_CHIPS = DirectRead(
    select(THREAD_TAGS.c.thread_id, TAGS.c.name, TAGS.c.label_en, TAGS.c.label_ko)
    .join_from(THREAD_TAGS, TAGS, TAGS.c.id == THREAD_TAGS.c.tag_id)
    .where(THREAD_TAGS.c.thread_id.in_(bindparam("ids", expanding=True)))
    .order_by(THREAD_TAGS.c.thread_id, TAGS.c.name)
)


async def chips_for(session: AsyncSession, thread_ids: Sequence[int]) -> dict[int, tuple[TagChip, ...]]:
    """Every thread's tags, in one query (run for an empty page too: a page's
    query count does not depend on its rows)."""
    found: dict[int, list[TagChip]] = {}
    for thread_id, name, label_en, label_ko in await _CHIPS.rows(session, {"ids": sorted(set(thread_ids))}):
        found.setdefault(thread_id, []).append(TagChip(name, label_en, label_ko))
    return {k: tuple(v) for k, v in found.items()}


async def attach(session: AsyncSession, *groups: Sequence[ThreadRow]) -> None:
    """Sets ``tags`` on read rows (of one or several lists), in one query."""
    rows = [row for group in groups for row in group]
    chips = await chips_for(session, [row.id for row in rows])
    for row in rows:
        row.tags = chips.get(row.id, ())


async def field_value(session: AsyncSession, thread_id: int) -> str:
    """A thread's tags as the edit form's field shows them."""
    chips = (await chips_for(session, [thread_id])).get(thread_id, ())
    return ", ".join(chip.name for chip in chips)


async def popular(session: AsyncSession, *, page: int = 1, size: int = 100) -> Page[Tag]:
    """Tags with visible threads, most used first."""
    total = int(await session.scalar(select(func.count()).select_from(Tag).where(col(Tag.thread_count) > 0)) or 0)
    check_page(page, total=total, size=size)
    rows = await session.scalars(
        select(Tag)
        .where(col(Tag.thread_count) > 0)
        .order_by(col(Tag.thread_count).desc(), col(Tag.name))
        .limit(size)
        .offset((page - 1) * size)
    )
    return Page(items=rows.all(), number=page, size=size, total=total)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def suggest(session: AsyncSession, query: str, *, limit: int = SUGGESTIONS) -> Sequence[Tag]:
    """Existing tags whose name (or a label) starts with what was typed, most
    used first."""
    q = normalise_name(query)[:NAME_MAX]
    stmt = select(Tag).order_by(col(Tag.thread_count).desc(), col(Tag.name)).limit(limit)
    if q:
        pattern = _like_prefix(q)
        label = _like_prefix(query.strip()[:LABEL_MAX])
        stmt = stmt.where(
            col(Tag.name).like(pattern, escape="\\")
            | func.lower(col(Tag.label_en)).like(label.lower(), escape="\\")
            | col(Tag.label_ko).like(label, escape="\\")
        )
    return (await session.scalars(stmt)).all()


async def allowed_in(session: AsyncSession, category_id: int) -> list[Tag]:
    """The tags a category is restricted to (empty: any tag)."""
    rows = await session.scalars(
        select(Tag)
        .join(CategoryTag, col(CategoryTag.tag_id) == col(Tag.id))
        .where(col(CategoryTag.category_id) == category_id)
        .order_by(col(Tag.name))
    )
    return list(rows.all())


async def restrictions(session: AsyncSession) -> dict[int, list[str]]:
    """Every restricted category's tag names."""
    found: dict[int, list[str]] = {}
    rows = await session.execute(
        select(col(CategoryTag.category_id), col(Tag.name))
        .join(Tag, col(Tag.id) == col(CategoryTag.tag_id))
        .order_by(col(CategoryTag.category_id), col(Tag.name))
    )
    for category_id, name in rows:
        found.setdefault(category_id, []).append(name)
    return found


# ---------------------------------------------------------------- a thread's tags


async def _create(session: AsyncSession, name: str, *, actor: User | None) -> Tag:
    tag = Tag(name=name)
    try:
        async with session.begin_nested():  # a racing request made it first: use theirs
            session.add(tag)
    except IntegrityError:
        existing = await session.scalar(select(Tag).where(col(Tag.name) == name))
        assert existing is not None
        return existing
    await _audit(session, actor, "tag.create", "tag", tag.id, after=_snapshot(tag))
    return tag


async def resolve(
    session: AsyncSession,
    names: Sequence[str],
    *,
    user: User | None,
    category_id: int | None,
    kept: Iterable[str] = (),
) -> list[Tag]:
    """The tags of ``names`` (already parsed), creating new ones if ``user``
    may; refused with a clear message if not, or if the category does not
    take one of them. ``kept``: names the thread already has (never refused:
    a category restricted later does not stop the thread being edited)."""
    found = await tags_by_name(session, names)
    missing = [n for n in names if n not in found]
    kept = set(kept)
    if category_id is not None and names:
        allowed = {t.name for t in await allowed_in(session, category_id)}
        if allowed:
            refused = [n for n in names if n not in allowed and n not in kept]
            if refused:
                raise ValidationError(
                    {
                        "tags": _(
                            "This category takes only these tags: %(allowed)s. Not allowed here: %(refused)s.",
                            allowed=", ".join(sorted(allowed)),
                            refused=", ".join(refused),
                        )
                    }
                )
    if missing and user is not None and not can_create_tags(user):
        raise ValidationError(
            {
                "tags": _(
                    "There is no tag %(names)s yet. Choose existing tags: only staff create new ones.",
                    names=", ".join(missing),
                )
            }
        )
    for name in missing:
        found[name] = await _create(session, name, actor=user)
    return [found[n] for n in names]


async def _counted_tag_ids(session: AsyncSession, thread_id: int) -> list[int]:
    return list(
        (await session.scalars(select(col(ThreadTag.tag_id)).where(col(ThreadTag.thread_id) == thread_id))).all()
    )


async def _add_counts(session: AsyncSession, tag_ids: Iterable[int], n: int) -> None:
    ids = sorted(set(tag_ids))  # in id order: no two transactions lock them in opposite orders
    if ids and n:
        await session.execute(update(TAGS).where(TAGS.c.id.in_(ids)).values(thread_count=TAGS.c.thread_count + n))


async def set_thread_tags(
    session: AsyncSession,
    thread: Thread,
    raw: str | Iterable[str],
    *,
    user: User | None,
    check_category: bool = True,
) -> bool:
    """Gives ``thread`` exactly the tags of ``raw`` (a comma-separated field
    or a list of names). ``user`` None: the system (imports) may create any
    tag. Says whether anything changed."""
    assert thread.id is not None
    names = parse_names(raw)
    current_names = [c.name for c in (await chips_for(session, [thread.id])).get(thread.id, ())]
    category_id = thread.category_id if check_category else None
    tags = await resolve(session, names, user=user, category_id=category_id, kept=current_names)
    wanted = {t.id for t in tags if t.id is not None}
    current = set(await _counted_tag_ids(session, thread.id))
    added, removed = wanted - current, current - wanted
    if not added and not removed:
        return False
    if removed:
        await session.execute(
            delete(THREAD_TAGS).where(THREAD_TAGS.c.thread_id == thread.id, THREAD_TAGS.c.tag_id.in_(sorted(removed)))
        )
    if added:
        await session.execute(insert(THREAD_TAGS), [{"thread_id": thread.id, "tag_id": t} for t in sorted(added)])
    if thread.visible:
        await _add_counts(session, added, 1)
        await _add_counts(session, removed, -1)
    await session.flush()
    return True


async def names_of(session: AsyncSession, thread_id: int) -> list[str]:
    """A thread's tag names."""
    return [c.name for c in (await chips_for(session, [thread_id])).get(thread_id, ())]


async def refused_in(session: AsyncSession, thread_id: int, category_id: int) -> list[str]:
    """The names of the thread's tags that the category does not take (none
    when it takes any tag)."""
    allowed = {t.name for t in await allowed_in(session, category_id)}
    if not allowed:
        return []
    return [name for name in await names_of(session, thread_id) if name not in allowed]


async def fit_to_category(session: AsyncSession, thread: Thread, category: Category, *, drop: bool) -> list[str]:
    """Before ``thread`` moves to ``category``: the tags it has that the
    category does not take. Without ``drop`` they stop the move (a
    ``ValidationError`` on "tags" naming them, nothing changed); with it they
    are taken off the thread (their counts too) and their names returned."""
    assert thread.id is not None and category.id is not None
    refused = await refused_in(session, thread.id, category.id)
    if not refused:
        return []
    if not drop:
        allowed = [t.name for t in await allowed_in(session, category.id)]
        raise ValidationError(
            {
                "tags": _(
                    "This category takes only these tags: %(allowed)s. This thread has others: %(refused)s. "
                    "Remove them to move it.",
                    allowed=", ".join(allowed),
                    refused=", ".join(refused),
                )
            }
        )
    kept = [name for name in await names_of(session, thread.id) if name not in refused]
    await set_thread_tags(session, thread, kept, user=None, check_category=False)
    return refused


async def visibility_changed(session: AsyncSession, thread_id: int, *, visible: bool) -> None:
    """A thread became visible (or stopped being): its tags count it (or not)."""
    await _add_counts(session, await _counted_tag_ids(session, thread_id), 1 if visible else -1)


async def tags_added(session: AsyncSession, links: Sequence[tuple[int, int, bool]]) -> None:
    """Links made by the importer: (thread id, tag id, whether the thread is visible)."""
    if not links:
        return
    await session.execute(insert(THREAD_TAGS), [{"thread_id": t, "tag_id": g} for t, g, _v in links])
    counts: dict[int, int] = {}
    for _t, tag_id, visible in links:
        if visible:
            counts[tag_id] = counts.get(tag_id, 0) + 1
    for tag_id, n in sorted(counts.items()):
        await _add_counts(session, [tag_id], n)


# ---------------------------------------------------------------- lists of threads


def _visible(moderator: bool) -> list[Any]:
    t = THREADS.c
    return [t.deleted_at.is_(None)] if moderator else [t.deleted_at.is_(None), t.hidden_at.is_(None)]


def tagged_statement(*, tag_id: int, moderator: bool, category_id: int | None) -> Select[Any]:
    """Threads with a tag, most recently active first (the thread lists' order)."""
    t = THREADS.c
    has_tag = exists().where(THREAD_TAGS.c.thread_id == t.id, THREAD_TAGS.c.tag_id == tag_id)
    where = [*_visible(moderator), has_tag]
    if category_id is not None:
        where.append(t.category_id == category_id)
    return read.thread_select().where(*where).order_by(t.last_activity_at.desc(), t.id.desc())


async def tagged(
    session: AsyncSession,
    tag: Tag,
    *,
    moderator: bool,
    category_id: int | None = None,
    page: int = 1,
    size: int = 30,
) -> Page[ThreadRow]:
    """A page of the threads with ``tag`` (those a member sees, or a moderator).
    The list's size is the tag's stored count where it is exact (members, all
    categories), else a count bounded by the pages a list shows."""
    assert tag.id is not None
    stmt = tagged_statement(tag_id=tag.id, moderator=moderator, category_id=category_id)
    if not moderator and category_id is None:
        total = tag.thread_count
    else:
        total = int(await session.scalar(count_up_to_last_page(stmt, size)) or 0)
    check_page(page, total=total, size=size)
    rows = await read.threads(session, stmt.limit(size).offset((page - 1) * size))
    await attach(session, rows)
    return Page(items=rows, number=page, size=size, total=total)


def has_tag_condition(tag_id: int) -> Any:
    """For other lists (queues, search): the thread has this tag."""
    return exists().where(and_(THREAD_TAGS.c.thread_id == THREADS.c.id, THREAD_TAGS.c.tag_id == tag_id))


# ---------------------------------------------------------------- staff


def _check_label(value: str) -> str | None:
    return _("Labels can have at most %(n)s characters.", n=LABEL_MAX) if len(value) > LABEL_MAX else None


async def create_tag(session: AsyncSession, *, actor: User, name: str, label_en: str = "", label_ko: str = "") -> Tag:
    check_manager(actor)
    name = normalise_name(name)
    label_en, label_ko = " ".join(label_en.split()), " ".join(label_ko.split())
    problems = {
        "name": check_name(name),
        "label_en": _check_label(label_en),
        "label_ko": _check_label(label_ko),
    }
    if not problems["name"] and await session.scalar(select(col(Tag.id)).where(col(Tag.name) == name)):
        problems["name"] = _("A tag named %(name)s already exists.", name=name)
    found = {k: v for k, v in problems.items() if v}
    if found:
        raise ValidationError(found)
    tag = Tag(name=name, label_en=label_en, label_ko=label_ko)
    session.add(tag)
    await session.flush()
    await _audit(session, actor, "tag.create", "tag", tag.id, after=_snapshot(tag))
    return tag


async def edit_tag(session: AsyncSession, tag: Tag, *, actor: User, name: str, label_en: str, label_ko: str) -> bool:
    """Renames a tag and sets its labels (threads keep it: they point at its id)."""
    check_manager(actor)
    new_name = normalise_name(name)
    label_en, label_ko = " ".join(label_en.split()), " ".join(label_ko.split())
    problems = {
        "name": check_name(new_name),
        "label_en": _check_label(label_en),
        "label_ko": _check_label(label_ko),
    }
    if (
        not problems["name"]
        and new_name != tag.name
        and await session.scalar(select(col(Tag.id)).where(col(Tag.name) == new_name))
    ):
        problems["name"] = _("A tag named %(name)s already exists: merge into it instead.", name=new_name)
    found = {k: v for k, v in problems.items() if v}
    if found:
        raise ValidationError(found)
    before = _snapshot(tag)
    if (new_name, label_en, label_ko) == (tag.name, tag.label_en, tag.label_ko):
        return False
    renamed = new_name != tag.name
    tag.name, tag.label_en, tag.label_ko = new_name, label_en, label_ko
    session.add(tag)
    await session.flush()
    await _audit(session, actor, "tag.rename" if renamed else "tag.edit", "tag", tag.id, before, _snapshot(tag))
    return True


def _count_statement(tag_id: int) -> Any:
    t = THREADS.c
    return (
        select(func.count())
        .select_from(THREAD_TAGS.join(THREADS, t.id == THREAD_TAGS.c.thread_id))
        .where(THREAD_TAGS.c.tag_id == tag_id, t.deleted_at.is_(None), t.hidden_at.is_(None))
        .scalar_subquery()
    )


async def merge_tags(session: AsyncSession, source: Tag, target: Tag, *, actor: User) -> int:
    """Moves every thread (and category list) of ``source`` to ``target`` and
    deletes ``source``; says how many threads gained ``target``."""
    check_manager(actor)
    if source.id == target.id:
        raise ValidationError({"into": _("Choose another tag to merge into.")})
    assert source.id is not None and target.id is not None
    before = {"source": _snapshot(source), "target": _snapshot(target)}
    tt = THREAD_TAGS.c
    # Locked in id order (both counters change).
    await session.execute(select(TAGS.c.id).where(TAGS.c.id.in_(sorted([source.id, target.id]))).with_for_update())
    already = select(tt.thread_id).where(tt.tag_id == target.id)
    moved = await session.execute(
        update(THREAD_TAGS).where(tt.tag_id == source.id, tt.thread_id.not_in(already)).values(tag_id=target.id)
    )
    await session.execute(delete(THREAD_TAGS).where(tt.tag_id == source.id))
    ct = CATEGORY_TAGS.c
    await session.execute(
        update(CATEGORY_TAGS)
        .where(ct.tag_id == source.id, ct.category_id.not_in(select(ct.category_id).where(ct.tag_id == target.id)))
        .values(tag_id=target.id)
    )
    await session.execute(delete(CATEGORY_TAGS).where(ct.tag_id == source.id))
    await session.execute(update(TAGS).where(TAGS.c.id == target.id).values(thread_count=_count_statement(target.id)))
    await session.execute(delete(TAGS).where(TAGS.c.id == source.id))
    session.expunge(source)
    await session.refresh(target)
    await _audit(session, actor, "tag.merge", "tag", target.id, before, {"target": _snapshot(target)})
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


async def delete_tag(session: AsyncSession, tag: Tag, *, actor: User) -> None:
    """Deletes a tag no thread has (hidden and deleted threads included)."""
    check_manager(actor)
    used = await session.scalar(select(exists().where(col(ThreadTag.tag_id) == tag.id)))
    if used:
        raise ValidationError(
            {"tag": _("Tag %(name)s is still on threads: merge it into another instead.", name=tag.name)}
        )
    before, tag_id = _snapshot(tag), tag.id
    await session.execute(delete(CATEGORY_TAGS).where(CATEGORY_TAGS.c.tag_id == tag_id))
    await session.delete(tag)
    await session.flush()
    await _audit(session, actor, "tag.delete", "tag", tag_id, before)


async def set_category_tags(session: AsyncSession, category: Category, raw: str, *, actor: User) -> bool:
    """Restricts ``category`` to the tags of ``raw`` (empty: any tag). The
    tags must exist."""
    check_manager(actor)
    assert category.id is not None
    try:
        names = parse_names(raw, limit=None)
    except ValidationError as exc:
        raise ValidationError({"allowed": exc.errors["tags"]}) from None
    found = await tags_by_name(session, names)
    missing = [n for n in names if n not in found]
    if missing:
        raise ValidationError({"allowed": _("There is no tag %(names)s: create it first.", names=", ".join(missing))})
    before = sorted(t.name for t in await allowed_in(session, category.id))
    if before == sorted(names):
        return False
    await session.execute(delete(CATEGORY_TAGS).where(CATEGORY_TAGS.c.category_id == category.id))
    if names:
        await session.execute(
            insert(CATEGORY_TAGS), [{"category_id": category.id, "tag_id": found[n].id} for n in names]
        )
    await session.flush()
    await _audit(
        session, actor, "category.tags", "category", category.id, {"allowed": before}, {"allowed": sorted(names)}
    )
    return True


async def admin_list(session: AsyncSession, *, page: int = 1, size: int = 100) -> Page[Tag]:
    """Every tag (used or not), most used first."""
    total = int(await session.scalar(select(func.count()).select_from(Tag)) or 0)
    check_page(page, total=total, size=size)
    rows = await session.scalars(
        select(Tag).order_by(col(Tag.thread_count).desc(), col(Tag.name)).limit(size).offset((page - 1) * size)
    )
    return Page(items=rows.all(), number=page, size=size, total=total)


async def in_use(session: AsyncSession, tag_ids: Sequence[int]) -> set[int]:
    """Which of these tags any thread has (hidden or deleted ones too)."""
    if not tag_ids:
        return set()
    rows = await session.scalars(select(col(ThreadTag.tag_id)).where(col(ThreadTag.tag_id).in_(tag_ids)).distinct())
    return set(rows.all())
