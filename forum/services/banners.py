"""Announcement banners: written by staff on ``/admin/banners``, shown at the
top of every page in their scope (the whole site, or some categories: their
lists, their threads and the ask page with one of them chosen) from their
start until their end or until the reader closes them.

Every page needs the active banners, so each worker keeps the few banners not
ended yet (:class:`ShowingCache`: one query on the index of ``ends_at``) for a
few seconds and checks their start and end against the clock on every page:
a banner starts and ends on time everywhere; one written, edited or ended on
another worker shows there within ``CACHE_SECONDS`` (at once on this one: any
write of a banner row in this process drops the cache). A signed-in member's
dismissals cost one query by primary key, asked only while a banner shows; an
anonymous reader's are a cookie. The page's ETag changes with what shows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum import hooks, markdown
from forum.clock import utcnow
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import gettext as _
from forum.i18n import lazy
from forum.models import Banner, BannerDismissal, BannerLevel, Category, Thread, ThreadKind, User

LEVELS = {
    BannerLevel.info.value: lazy("Information"),
    BannerLevel.warning.value: lazy("Warning"),
    BannerLevel.outage.value: lazy("Outage"),
}
TEXT_MAX = 1000
#: the cookie that remembers an anonymous reader's closed banners ("3.7.12")
COOKIE = "forum_banners"
COOKIE_MAX_IDS = 30
TIME_FORMAT = "%Y-%m-%dT%H:%M"


def can_manage(user: User | None) -> bool:
    """Banners are staff's: the support team warns of an outage without
    waiting for an administrator."""
    return user is not None and user.is_staff


def _check_can_manage(user: User) -> None:
    if not can_manage(user):
        raise NotAllowed(_("Only staff can manage banners."))


# ---------------------------------------------------------------- showing


@dataclass(frozen=True, slots=True)
class ActiveBanner:
    id: int
    level: str
    html_en: str
    html_ko: str
    starts_at: datetime
    ends_at: datetime
    categories: tuple[int, ...]

    def html(self, locale: str) -> str:
        return self.html_ko if locale == "ko" else self.html_en

    def shows_on(self, category_id: int | None) -> bool:
        return not self.categories or category_id in self.categories


CACHE_SECONDS = 5.0
_ORDER = (col(Banner.starts_at), col(Banner.id))
_NOT_ENDED = select(Banner).where(col(Banner.ends_at) > bindparam("now")).order_by(*_ORDER).limit(50)
_DISMISSED = select(col(BannerDismissal.banner_id)).where(
    col(BannerDismissal.user_id) == bindparam("user_id"),
    col(BannerDismissal.banner_id).in_(bindparam("ids", expanding=True)),
)
_generation = 0  # bumped by every write of a banner row in this process


def _bump(*_: Any) -> None:
    global _generation
    _generation += 1


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(Banner, _event, _bump)


class ShowingCache:
    """One worker's copy of the banners not ended yet (at most 50, soonest
    first), refreshed when older than ``seconds`` or when a banner row was
    written in this process since it was read."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._banners: list[ActiveBanner] = []
        self._read_at = float("-inf")
        self._generation = -1

    async def _not_ended(self, sessionmaker: Any, now: datetime) -> list[ActiveBanner]:
        if self._generation == _generation and time.monotonic() - self._read_at < self.seconds:
            return self._banners
        generation, read_at = _generation, time.monotonic()
        async with sessionmaker() as session:
            rows = (await session.scalars(_NOT_ENDED, {"now": now})).all()
        self._banners = [
            ActiveBanner(b.id, b.level, b.html_en, b.html_ko, b.starts_at, b.ends_at, b.categories)  # type: ignore[arg-type]
            for b in rows
        ]
        self._generation, self._read_at = generation, read_at
        return self._banners

    async def showing(self, sessionmaker: Any, user: Any, now: datetime | None = None) -> list[ActiveBanner]:
        """The banners showing at ``now`` that ``user`` (None: an anonymous
        reader, whose cookie the caller reads) has not closed: no query while
        the copy is fresh and nothing shows."""
        now = now or utcnow()
        shown = [b for b in await self._not_ended(sessionmaker, now) if b.starts_at <= now < b.ends_at][:20]
        if shown and user is not None:
            async with sessionmaker() as session:
                closed = set(await session.scalars(_DISMISSED, {"user_id": user.id, "ids": [b.id for b in shown]}))
            shown = [b for b in shown if b.id not in closed]
        return shown


def cookie_ids(raw: str | None) -> set[int]:
    return {int(x) for x in (raw or "").split(".")[:COOKIE_MAX_IDS] if x.isdigit() and len(x) < 10}


def cookie_value(ids: Iterable[int]) -> str:
    return ".".join(str(i) for i in sorted(set(ids))[-COOKIE_MAX_IDS:])


async def dismiss(session: AsyncSession, banner_id: int, *, user: User) -> bool:
    if await session.get(Banner, banner_id) is None:
        raise NotFound(_("No such banner."))
    if await session.get(BannerDismissal, (user.id, banner_id)) is not None:
        return False
    try:
        async with session.begin_nested():  # a double click loses on the primary key
            assert user.id is not None
            session.add(BannerDismissal(user_id=user.id, banner_id=banner_id))
    except IntegrityError:
        return False
    return True


# ---------------------------------------------------------------- managing


async def list_banners(session: AsyncSession, *, limit: int = 100) -> Sequence[Banner]:
    """Newest first: the ones running or to come, then the ended ones."""
    return (
        await session.scalars(select(Banner).order_by(col(Banner.ends_at).desc(), col(Banner.id).desc()).limit(limit))
    ).all()


async def get_banner_or_404(session: AsyncSession, banner_id: int) -> Banner:
    banner = await session.get(Banner, banner_id)
    if banner is None:
        raise NotFound(_("No such banner."))
    return banner


def parse_time(raw: str) -> datetime | None:
    raw = raw.strip()
    for fmt in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            continue
    return None


def format_time(value: datetime | None) -> str:
    return value.strftime(TIME_FORMAT) if value is not None else ""


async def _check(session: AsyncSession, values: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as a banner's fields, or ``ValidationError`` saying what is wrong."""
    errors: dict[str, str] = {}
    text_en = str(values.get("text_en", "")).strip()
    text_ko = str(values.get("text_ko", "")).strip()
    for name, text in (("text_en", text_en), ("text_ko", text_ko)):
        if not text:
            errors[name] = _("Write the banner's text in both languages.")
        elif len(text) > TEXT_MAX:
            errors[name] = _("Banners can have at most %(n)s characters.", n=TEXT_MAX)
    level = str(values.get("level", ""))
    if level not in LEVELS:
        errors["level"] = _("Choose a level.")
    starts_at = parse_time(str(values.get("starts_at", "")))
    ends_at = parse_time(str(values.get("ends_at", "")))
    if starts_at is None:
        errors["starts_at"] = _("Enter a date and time, like 2026-12-05T14:30.")
    if ends_at is None:
        errors["ends_at"] = _("Enter a date and time, like 2026-12-05T14:30.")
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = _("The end must come after the start.")
    raw_ids = values.get("categories") or []
    ids: list[int] = []
    for raw in raw_ids:
        if not str(raw).isdigit() or len(str(raw)) > 9:
            errors["categories"] = _("Choose categories from the list.")
            break
        ids.append(int(raw))
    if ids and "categories" not in errors:
        found = set(await session.scalars(select(col(Category.id)).where(col(Category.id).in_(ids))))
        if found != set(ids):
            errors["categories"] = _("Choose categories from the list.")
    if errors:
        raise ValidationError(errors)
    return {
        "level": level,
        "text_en": text_en,
        "text_ko": text_ko,
        "html_en": markdown.render(text_en),
        "html_ko": markdown.render(text_ko),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "category_ids": ",".join(str(i) for i in sorted(set(ids))),
    }


def snapshot(banner: Banner) -> dict[str, Any]:
    return {
        "level": banner.level,
        "text_en": banner.text_en,
        "text_ko": banner.text_ko,
        "starts_at": banner.starts_at,
        "ends_at": banner.ends_at,
        "category_ids": banner.category_ids,
    }


async def create_banner(session: AsyncSession, *, actor: User, values: Mapping[str, Any]) -> Banner:
    _check_can_manage(actor)
    banner = Banner(**await _check(session, values), created_by_id=actor.id, created_at=utcnow())
    session.add(banner)
    await session.flush()
    await hooks.run_admin_change(session, actor, "banner.create", "banner", banner.id, None, snapshot(banner))
    return banner


async def update_banner(session: AsyncSession, banner: Banner, *, actor: User, values: Mapping[str, Any]) -> bool:
    _check_can_manage(actor)
    fields = await _check(session, values)
    before = snapshot(banner)
    for name, value in fields.items():
        setattr(banner, name, value)
    after = snapshot(banner)
    if after == before:
        return False
    session.add(banner)
    await session.flush()
    await hooks.run_admin_change(session, actor, "banner.edit", "banner", banner.id, before, after)
    return True


async def end_banner(session: AsyncSession, banner: Banner, *, actor: User) -> bool:
    """Ends a banner now (kept, for the dashboard's comparison)."""
    _check_can_manage(actor)
    now = utcnow()
    if banner.ends_at <= now:
        return False
    before = snapshot(banner)
    banner.ends_at = now
    banner.starts_at = min(banner.starts_at, now)
    session.add(banner)
    await session.flush()
    await hooks.run_admin_change(session, actor, "banner.end", "banner", banner.id, before, snapshot(banner))
    return True


# ---------------------------------------------------------------- effect


@dataclass(frozen=True)
class BannerEffect:
    banner: Banner
    start: datetime
    end: datetime
    asked: int
    asked_week_before: int


async def recent_effects(
    session: AsyncSession, *, now: datetime | None = None, days: int = 30, limit: int = 10
) -> list[BannerEffect]:
    """For each banner that ran in the last ``days``: the questions asked in
    its categories (all, for a site-wide banner) while it ran, and in the same
    span a week earlier. Two counts per banner, on the index of threads by
    category and creation time."""
    now = now or utcnow()
    banners = (
        await session.scalars(
            select(Banner)
            .where(col(Banner.ends_at) > now - timedelta(days=days), col(Banner.starts_at) <= now)
            .order_by(col(Banner.starts_at).desc(), col(Banner.id).desc())
            .limit(limit)
        )
    ).all()
    effects: list[BannerEffect] = []
    for banner in banners:
        start, end = banner.starts_at, min(banner.ends_at, now)

        async def asked(lo: datetime, hi: datetime, banner: Banner = banner) -> int:
            where = [
                col(Thread.created_at) >= lo,
                col(Thread.created_at) < hi,
                col(Thread.kind) == ThreadKind.question.value,
                col(Thread.deleted_at).is_(None),
            ]
            if banner.categories:
                where.append(col(Thread.category_id).in_(banner.categories))
            return int(await session.scalar(select(func.count()).select_from(Thread).where(*where)) or 0)

        week = timedelta(days=7)
        effects.append(BannerEffect(banner, start, end, await asked(start, end), await asked(start - week, end - week)))
    return effects
