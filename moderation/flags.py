"""Flags and the review queue.

A member flags a post once. When a post's open flags reach the threshold
(``flag_threshold_members`` from members, or ``flag_threshold_moderators``
from moderators) it is hidden at once, its author is told why, and the
system's action is audited. Moderators then dismiss the flags (restoring
the post) or uphold them by hiding or deleting it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.errors import Conflict, ValidationError
from forum.i18n import gettext as _
from forum.i18n import lazy
from forum.models import Post, Thread, User
from forum.pagination import Page
from forum.permissions import is_moderator
from forum.services import state
from forum.textutil import one_line
from moderation import audit
from moderation.models import Flag, FlagReason, NoticeKind, Resolution, Sanction
from moderation.notices import notify
from moderation.permissions import check_flag

# What members choose from, with their labels.
MEMBER_REASONS: dict[str, str] = {
    FlagReason.spam.value: lazy("Spam or advertising"),
    FlagReason.abuse.value: lazy("Abusive or a rant"),
    FlagReason.off_topic.value: lazy("Off-topic"),
    FlagReason.other.value: lazy("Something else"),
}
REASON_LABELS: dict[str, str] = {
    **MEMBER_REASONS,
    FlagReason.review.value: lazy("Matched a watched word"),
}
FLAG_TEXT_MAX = 500


def check_flag_input(reason: str, text: str) -> tuple[str, str]:
    text = one_line(text)
    errors: dict[str, str] = {}
    if reason not in MEMBER_REASONS:
        errors["reason"] = _("Choose why you are flagging this post.")
    elif reason == FlagReason.other.value and not text:
        errors["text"] = _("Tell the moderators what is wrong.")
    if len(text) > FLAG_TEXT_MAX:
        errors["text"] = _("Keep it under %(n)s characters.", n=FLAG_TEXT_MAX)
    if errors:
        raise ValidationError(errors)
    return reason, text


async def has_flagged(session: AsyncSession, post: Post, user: User) -> bool:
    found = await session.scalar(select(col(Flag.id)).where(col(Flag.post_id) == post.id, col(Flag.user_id) == user.id))
    return found is not None


@dataclass(frozen=True)
class FlagResult:
    flag: Flag
    hidden: bool


async def flag_post(
    session: AsyncSession, post: Post, *, user: User | None, reason: str, text: str = "", settings: Settings
) -> FlagResult:
    """Records a flag; hides the post if it reaches the threshold. Raises
    ``Conflict`` if this user already flagged it."""
    flagger = check_flag(user, post)
    reason, text = check_flag_input(reason, text)
    if await has_flagged(session, post, flagger):
        raise Conflict(_("You have already flagged this post."))
    assert post.id is not None
    flag = Flag(post_id=post.id, user_id=flagger.id, reason=reason, text=text, by_moderator=is_moderator(flagger))
    try:
        # A savepoint: a double submit racing this one loses on the unique
        # constraint without spoiling the transaction.
        async with session.begin_nested():
            session.add(flag)
    except IntegrityError:
        raise Conflict(_("You have already flagged this post.")) from None
    hidden = await _hide_if_over_threshold(session, post, settings)
    return FlagResult(flag=flag, hidden=hidden)


async def _hide_if_over_threshold(session: AsyncSession, post: Post, settings: Settings) -> bool:
    rows = (
        await session.execute(
            select(col(Flag.by_moderator), col(Flag.reason), func.count())
            .where(
                col(Flag.post_id) == post.id,
                col(Flag.resolved_at).is_(None),
                col(Flag.user_id).is_not(None),
            )
            .group_by(col(Flag.by_moderator), col(Flag.reason))
        )
    ).all()
    by_members = sum(n for by_mod, _reason, n in rows if not by_mod)
    by_moderators = sum(n for by_mod, _reason, n in rows if by_mod)
    if by_members < settings.flag_threshold_members and by_moderators < settings.flag_threshold_moderators:
        return False
    if not post.visible:
        return False
    reasons: Counter[str] = Counter()
    for _by_mod, reason, n in rows:
        reasons[reason] += n
    before = audit.post_snapshot(post, post.thread)
    await state.hide_post(session, post, reason="flags")
    codes = ",".join(reason for reason, _n in reasons.most_common())
    await notify(session, post, kind=NoticeKind.post_flagged, reason=codes)
    await audit.record(
        session,
        actor=None,
        action="post.auto_hide",
        target=post,
        subject=post.author_id,
        reason=", ".join(f"{reason} x{n}" for reason, n in reasons.most_common()),
        before=before,
        after=audit.post_snapshot(post, post.thread),
    )
    return True


async def raise_system_flag(session: AsyncSession, post: Post, *, note: str) -> Flag:
    """Puts a post held for review into the queue."""
    assert post.id is not None
    flag = Flag(post_id=post.id, user_id=None, reason=FlagReason.review.value, text=note[:FLAG_TEXT_MAX])
    session.add(flag)
    await session.flush()
    return flag


async def resolve_open_flags(session: AsyncSession, post: Post, *, by: User, resolution: Resolution) -> int:
    """Closes the post's open flags; returns how many."""
    result = await session.execute(
        update(Flag)
        .where(col(Flag.post_id) == post.id, col(Flag.resolved_at).is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=by.id, resolution=resolution.value)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the queue


@dataclass
class AuthorHistory:
    user: User
    posts: int = 0
    hidden_posts: int = 0
    sanctions: list[Sanction] = field(default_factory=list)


@dataclass
class QueueItem:
    post: Post
    flags: list[Flag]
    author: AuthorHistory
    opening: Post | None
    flag_count: int
    last_flag_at: datetime

    @property
    def thread(self) -> Thread:
        return self.post.thread

    @property
    def reasons(self) -> list[tuple[str, int]]:
        return Counter(f.reason for f in self.flags).most_common()


SORTS = ("most", "newest")


async def load_queue(session: AsyncSession, *, page: int = 1, size: int = 20, sort: str = "most") -> Page[QueueItem]:
    """Posts with open flags, grouped by post: most flagged then newest
    (``sort="most"``) or newest first. Seven queries whatever the queue's
    length."""
    open_flag = col(Flag.resolved_at).is_(None)
    total = await session.scalar(select(func.count(func.distinct(Flag.post_id))).where(open_flag)) or 0
    count = func.count().label("n")
    last = func.max(Flag.created_at).label("last")
    order = (count.desc(), last.desc()) if sort != "newest" else (last.desc(), count.desc())
    grouped = (
        await session.execute(
            select(col(Flag.post_id), count, last)
            .where(open_flag)
            .group_by(col(Flag.post_id))
            .order_by(*order, col(Flag.post_id).desc())
            .limit(size)
            .offset((page - 1) * size)
        )
    ).all()
    post_ids = [row[0] for row in grouped]
    if not post_ids:
        return Page(items=[], number=page, size=size, total=total)
    posts = {
        p.id: p
        for p in (
            await session.scalars(
                select(Post)
                .options(
                    joinedload(Post.author),  # type: ignore[arg-type]
                    joinedload(Post.thread).joinedload(Thread.category),  # type: ignore[arg-type]
                )
                .where(col(Post.id).in_(post_ids))
            )
        ).all()
    }
    flags: dict[int, list[Flag]] = {pid: [] for pid in post_ids}
    for flag in (
        await session.scalars(
            select(Flag)
            .options(joinedload(Flag.user))  # type: ignore[arg-type]
            .where(col(Flag.post_id).in_(post_ids), open_flag)
            .order_by(col(Flag.created_at), col(Flag.id))
        )
    ).all():
        flags[flag.post_id].append(flag)
    author_ids = {p.author_id for p in posts.values()}
    histories = {p.author_id: AuthorHistory(user=p.author) for p in posts.values()}
    for author_id, n, hidden in (
        await session.execute(
            select(
                col(Post.author_id),
                func.count(),
                func.count(case((or_(col(Post.hidden_at).is_not(None), col(Post.deleted_at).is_not(None)), 1))),
            )
            .where(col(Post.author_id).in_(author_ids))
            .group_by(col(Post.author_id))
        )
    ).all():
        histories[author_id].posts = n
        histories[author_id].hidden_posts = hidden
    for sanction in (
        await session.scalars(
            select(Sanction).where(col(Sanction.user_id).in_(author_ids)).order_by(col(Sanction.created_at).desc())
        )
    ).all():
        histories[sanction.user_id].sanctions.append(sanction)
    thread_ids = {p.thread_id for p in posts.values() if not p.is_first}
    openings: dict[int, Post] = {}
    if thread_ids:
        openings = {
            p.thread_id: p
            for p in (
                await session.scalars(
                    select(Post).where(col(Post.thread_id).in_(thread_ids), col(Post.is_first) == True)  # noqa: E712
                )
            ).all()
        }
    items = [
        QueueItem(
            post=posts[pid],
            flags=flags[pid],
            author=histories[posts[pid].author_id],
            opening=openings.get(posts[pid].thread_id),
            flag_count=n,
            last_flag_at=last_at,
        )
        for pid, n, last_at in grouped
        if pid in posts
    ]
    return Page(items=items, number=page, size=size, total=total)
