"""Who hears about answers: notifications in the forum, thread watches,
email preferences, and the outbox rows that ``forum.mail`` sends after
commit.

The ``notify_*`` functions are called by ``forum.services.threads`` inside
the request's transaction; they flush, never commit. Nobody hears about
their own action, about a post others cannot see, or while banned; each
user gets at most one notification per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.db import id_col
from forum.errors import NotFound
from forum.i18n import gettext as _
from forum.models import (
    Article,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxEmail,
    Post,
    Thread,
    ThreadWatch,
    User,
)
from forum.pagination import Page, check_page, count_up_to_last_page
from forum.permissions import can_see_thread
from forum.services import mentions
from forum.urls import article_url, post_url

if TYPE_CHECKING:
    from forum.read import ThreadRow

# Emailed under "my questions and answers" (the rest under "threads I watch"):
# a mention is addressed to its recipient as much as an answer is.
OWN_KINDS = frozenset(
    {
        NotificationKind.answer,
        NotificationKind.accepted,
        NotificationKind.official,
        NotificationKind.article,
        NotificationKind.mention,
        NotificationKind.spike,
    }
)


# ---------------------------------------------------------------- watching


async def is_watching(session: AsyncSession, thread: Thread | ThreadRow, user: User | None) -> bool:
    """The asker watches their thread unless they stopped; others once they
    replied or chose to."""
    if user is None:
        return False
    row = await session.get(ThreadWatch, (thread.id, user.id))
    if row is not None:
        return row.watching
    return thread.author_id == user.id


async def set_watching(session: AsyncSession, thread: Thread, *, user: User, watching: bool) -> bool:
    """Watch or stop watching; says whether anything changed."""
    if await is_watching(session, thread, user) == watching:
        return False
    row = await session.get(ThreadWatch, (thread.id, user.id))
    if row is None:
        assert thread.id is not None and user.id is not None
        row = ThreadWatch(thread_id=thread.id, user_id=user.id, watching=watching)
    row.watching = watching
    session.add(row)
    await session.flush()
    return True


async def watch_after_reply(session: AsyncSession, thread: Thread, *, user: User) -> None:
    """Someone who replies watches the thread, unless they stopped watching it."""
    if thread.author_id == user.id:
        return
    exists = await session.scalar(
        select(col(ThreadWatch.watching)).where(
            col(ThreadWatch.thread_id) == thread.id, col(ThreadWatch.user_id) == user.id
        )
    )
    if exists is not None:
        return
    try:
        # A savepoint: a concurrent first reply by the same user loses on the primary key.
        async with session.begin_nested():
            assert thread.id is not None and user.id is not None
            session.add(ThreadWatch(thread_id=thread.id, user_id=user.id))
    except IntegrityError:
        pass


# ---------------------------------------------------------------- fan-out


async def _preferences(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, NotificationPreference]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(NotificationPreference).where(col(NotificationPreference.user_id).in_(ids)))
    return {row.user_id: row for row in rows}


def wants_email(kind: NotificationKind, preference: NotificationPreference | None) -> bool:
    # A table model is not validated on construction: the defaults need no user.
    preference = preference or NotificationPreference()  # type: ignore[call-arg]
    return bool(preference.email_own if kind in OWN_KINDS else preference.email_watched)


async def _deliver(
    session: AsyncSession, post: Post, *, actor: User, recipients: dict[int, NotificationKind]
) -> list[Notification]:
    """One notification about ``post`` per recipient who may still hear from the forum."""
    assert actor.id is not None and post.id is not None
    recipients.pop(actor.id, None)
    if not recipients or not post.visible:
        return []
    return await _write(
        session, [(user_id, kind, post.thread_id, post.id) for user_id, kind in recipients.items()], actor=actor
    )


async def _write(
    session: AsyncSession, entries: list[tuple[int, NotificationKind, int, int]], *, actor: User | None
) -> list[Notification]:
    """The notifications (user, kind, thread, post) of users who are not banned, and
    an outbox row for each whose owner wants it by email (``actor`` None: the forum
    itself, e.g. a spike alert)."""
    entries = [e for e in entries if actor is None or e[0] != actor.id]
    users: dict[int, User] = {}
    ids = sorted({e[0] for e in entries})
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found = await session.scalars(select(User).where(col(User.id).in_(chunk), col(User.banned_at).is_(None)))
        users.update((u.id, u) for u in found if u.id is not None)
    preferences = await _preferences(session, users)
    now = utcnow()
    created: list[Notification] = []
    for user_id, kind, thread_id, post_id in sorted(entries, key=lambda e: (e[0], e[2])):
        if user_id not in users:
            continue
        notification = Notification(
            user_id=user_id,
            kind=kind.value,
            thread_id=thread_id,
            post_id=post_id,
            actor_id=actor.id if actor is not None else None,
            created_at=now,
        )
        session.add(notification)
        created.append(notification)
    await session.flush()
    for notification in created:
        user = users[notification.user_id]
        if (
            user.email
            and user.email_confirmed_at is not None
            and wants_email(NotificationKind(notification.kind), preferences.get(notification.user_id))
        ):
            assert notification.id is not None
            session.add(OutboxEmail(notification_id=notification.id, created_at=now, next_attempt_at=now))
    await session.flush()
    return created


async def notify_mentions(session: AsyncSession, thread: Thread, post: Post, *, actor: User) -> list[Notification]:
    """The members a visible post mentions ("@username") hear of it: the first
    ``mentions.MAX_NOTIFIED`` of them, each once per post (an edit that adds a
    mention tells only the newly mentioned; anyone already told of the post by
    another notification is not told again), never the actor, never someone who
    cannot see the thread. A hidden or held post tells nobody until it is
    restored (``forum.services.state.restore_post`` calls this again)."""
    if not post.visible or not thread.visible or "@" not in post.body:
        return []
    users = await mentions.mentioned_users(session, post.body)
    wanted = {u.id: u for u in users if u.id is not None and u.id != actor.id and can_see_thread(u, thread)}
    if not wanted:
        return []
    told = set(
        (
            await session.scalars(
                select(col(Notification.user_id)).where(
                    col(Notification.post_id) == post.id, col(Notification.user_id).in_(list(wanted))
                )
            )
        ).all()
    )
    recipients = {user_id: NotificationKind.mention for user_id in wanted if user_id not in told}
    return await _deliver(session, post, actor=actor, recipients=recipients)


async def notify_reply(session: AsyncSession, thread: Thread, post: Post, *, author: User) -> list[Notification]:
    """A new visible reply: whoever it mentions hears of the mention, the asker
    of an answer, the watchers of a reply (one notification each)."""
    if not post.visible or not thread.visible:
        return []
    mentioned = await notify_mentions(session, thread, post, actor=author)
    rows = (
        await session.execute(
            select(col(ThreadWatch.user_id), col(ThreadWatch.watching)).where(col(ThreadWatch.thread_id) == thread.id)
        )
    ).all()
    choices = {user_id: watching for user_id, watching in rows}
    recipients = {user_id: NotificationKind.reply for user_id, watching in choices.items() if watching}
    if choices.get(thread.author_id, True):
        recipients[thread.author_id] = NotificationKind.answer if thread.is_question else NotificationKind.reply
    for notification in mentioned:
        recipients.pop(notification.user_id, None)
    return mentioned + await _deliver(session, post, actor=author, recipients=recipients)


async def notify_marked(session: AsyncSession, post: Post, *, kind: NotificationKind, by: User) -> list[Notification]:
    """An answer accepted or marked official: its author hears of it."""
    if not post.thread.visible:
        return []
    return await _deliver(session, post, actor=by, recipients={post.author_id: kind})


async def notified_about(session: AsyncSession, post: Post) -> bool:
    """Whether anyone has been told of this post already."""
    found = await session.scalar(select(col(Notification.id)).where(col(Notification.post_id) == post.id).limit(1))
    return found is not None


async def notify_answered_by_article(
    session: AsyncSession, thread_ids: Iterable[int], *, by: User
) -> list[Notification]:
    """Unsolved questions just linked to a published knowledge-base article: each
    asker hears that the answer is there (about their opening post)."""
    ids = sorted(set(thread_ids))
    entries: list[tuple[int, NotificationKind, int, int]] = []
    for start in range(0, len(ids), 900):
        rows = await session.execute(
            select(col(Thread.author_id), id_col(Thread.id), id_col(Post.id))
            .join(Post, (col(Post.thread_id) == col(Thread.id)) & col(Post.is_first).is_(True))
            .where(
                col(Thread.id).in_(ids[start : start + 900]),
                col(Thread.hidden_at).is_(None),
                col(Thread.deleted_at).is_(None),
            )
        )
        entries += [(author_id, NotificationKind.article, thread_id, post_id) for author_id, thread_id, post_id in rows]
    return await _write(session, entries, actor=by) if entries else []


async def notify_staff_of_spike(session: AsyncSession, *, thread_id: int) -> list[Notification]:
    """A spike alert opened (:mod:`forum.services.spikes`): every staff member who
    is not banned hears of it once, about the newest thread of the spike (its
    opening post), emailed under "my questions and answers"."""
    post_id = await session.scalar(
        select(id_col(Post.id)).where(col(Post.thread_id) == thread_id, col(Post.is_first).is_(True)).limit(1)
    )
    if post_id is None:
        return []
    staff_ids = (
        await session.scalars(select(id_col(User.id)).where(col(User.role) != "member", col(User.banned_at).is_(None)))
    ).all()
    entries = [(user_id, NotificationKind.spike, thread_id, post_id) for user_id in staff_ids]
    return await _write(session, entries, actor=None) if entries else []


# ---------------------------------------------------------------- reading


# The header shows "99+" past this: counting further is work no one reads.
UNREAD_SHOWN = 99


async def unread_count(session: AsyncSession, user: User) -> int:
    """Unread notifications, counted up to ``UNREAD_SHOWN + 1`` (every page a
    signed-in member loads asks)."""
    return await session.scalar(_UNREAD, {"user_id": user.id}) or 0


_UNREAD = select(func.count()).select_from(
    select(col(Notification.id))
    .where(col(Notification.user_id) == bindparam("user_id"), col(Notification.read_at).is_(None))
    .limit(UNREAD_SHOWN + 1)
    .subquery()
)


async def list_notifications(session: AsyncSession, user: User, *, page: int = 1, size: int = 30) -> Page[Notification]:
    """A user's notifications, newest first, with their thread, post and actor."""
    where = (col(Notification.user_id) == user.id,)
    # Counted only as far as the list's pages reach (forum.pagination).
    total = await session.scalar(count_up_to_last_page(select(col(Notification.id)).where(*where), size)) or 0
    check_page(page, total=total, size=size)
    rows = await session.scalars(
        select(Notification)
        .options(
            joinedload(Notification.thread),  # type: ignore[arg-type]
            joinedload(Notification.post),  # type: ignore[arg-type]
            joinedload(Notification.actor),  # type: ignore[arg-type]
        )
        .where(*where)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    return Page(items=rows.all(), number=page, size=size, total=total)


SPIKES_PATH = "/support/spikes"


def leads_to(notification: Notification, article: Article | None = None) -> str:
    """Where a notification leads, both when it is opened on the web and in its
    email's link (a path; the email puts the site's address before it): a spike
    alert to the Spikes tab; a question answered by a knowledge-base article to
    that article while it is published; anything else to its post.

    ``article``: the article now answering the notification's thread (see
    ``answering_article``), needed for that kind only; without it, or when it
    is unpublished, the notification leads to the question itself."""
    if notification.kind == NotificationKind.spike.value:
        return SPIKES_PATH
    if (
        notification.kind == NotificationKind.article.value
        and article is not None
        and article.published
        and article.id == notification.thread.article_id
    ):
        return article_url(article)
    return post_url(notification.thread, notification.post)


async def answering_article(session: AsyncSession, notification: Notification) -> Article | None:
    """For an article notification, the article its thread is linked to now (for
    ``leads_to``); None for the other kinds. The thread must be loaded."""
    if notification.kind != NotificationKind.article.value or notification.thread.article_id is None:
        return None
    return await session.get(Article, notification.thread.article_id)


async def get_own_notification_or_404(session: AsyncSession, notification_id: int, *, user: User) -> Notification:
    """Another user's notification is a 404, the same as none at all."""
    notification = await session.scalar(
        select(Notification)
        .options(joinedload(Notification.thread), joinedload(Notification.post))  # type: ignore[arg-type]
        .where(col(Notification.id) == notification_id)
    )
    if notification is None or notification.user_id != user.id:
        raise NotFound(_("No such notification."))
    return notification


async def mark_read(session: AsyncSession, notification: Notification) -> bool:
    if notification.read_at is not None:
        return False
    notification.read_at = utcnow()
    session.add(notification)
    await session.flush()
    return True


async def mark_all_read(session: AsyncSession, *, user: User) -> int:
    result = await session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


async def unread_about(session: AsyncSession, *, user: User, thread_id: int) -> bool:
    """Whether ``user`` has unread notifications about a thread (one indexed
    lookup, asked only when the header says something is unread)."""
    found = await session.scalar(
        select(col(Notification.id))
        .where(
            col(Notification.user_id) == user.id,
            col(Notification.read_at).is_(None),
            col(Notification.thread_id) == thread_id,
        )
        .limit(1)
    )
    return found is not None


async def mark_thread_read(session: AsyncSession, *, user: User, thread_id: int) -> int:
    """Opening a thread reads what it was notified about: its notifications are
    marked read. Returns how many were."""
    result = await session.execute(
        update(Notification)
        .where(
            col(Notification.user_id) == user.id,
            col(Notification.read_at).is_(None),
            col(Notification.thread_id) == thread_id,
        )
        .values(read_at=utcnow())
    )
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


# ---------------------------------------------------------------- preferences


@dataclass(frozen=True)
class EmailChoices:
    own: bool
    watched: bool


async def email_choices(session: AsyncSession, user: User) -> EmailChoices:
    row = await session.get(NotificationPreference, user.id)
    # A table model is not validated on construction: the defaults need no user.
    row = row or NotificationPreference()  # type: ignore[call-arg]
    return EmailChoices(own=row.email_own, watched=row.email_watched)


async def set_email_choices(session: AsyncSession, *, user: User, own: bool, watched: bool) -> None:
    assert user.id is not None
    row = await session.get(NotificationPreference, user.id) or NotificationPreference(user_id=user.id)
    row.email_own, row.email_watched = own, watched
    session.add(row)
    await session.flush()
