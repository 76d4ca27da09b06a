"""Questions, answers, votes, accepted and official answers.

Functions take the session first, flush but never commit, and say whether
they changed anything where calling them twice is meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum import hooks, read, search
from forum.clock import utcnow
from forum.config import Settings
from forum.direct import DirectRead
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Category, NotificationKind, Post, PostRevision, Thread, ThreadKind, User, Vote
from forum.pagination import Page, check_page
from forum.permissions import (
    can_accept,
    can_edit_post,
    can_mark_official,
    can_pin_new_thread,
    can_post,
    can_reply,
    can_see_thread,
    can_vote,
    is_moderator,
)
from forum.read import PostRow, ThreadRow
from forum.services import assignments, categories, kb, mentions, notifications, related, state, tags, uploads
from forum.text import ThreadText
from forum.textutil import normalise, one_line, slugify
from forum.views import ViewCounter


@dataclass(frozen=True)
class Limits:
    title_min: int = 4
    title_max: int = 150
    body_min: int = 5
    body_max: int = 30_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.title_min, settings.title_max, settings.body_min, settings.body_max)


def check_title(title: str, limits: Limits) -> str | None:
    if not title:
        return _("Enter a title.")
    if len(title) < limits.title_min:
        return _("Titles need at least %(n)s characters.", n=limits.title_min)
    if len(title) > limits.title_max:
        return _("Titles can have at most %(n)s characters.", n=limits.title_max)
    return None


def check_body(body: str, limits: Limits) -> str | None:
    if not body:
        return _("Write something first.")
    if len(body) < limits.body_min:
        return _("Posts need at least %(n)s characters.", n=limits.body_min)
    if len(body) > limits.body_max:
        return _("Posts can have at most %(n)s characters.", n=limits.body_max)
    return None


def _raise_if(errors: dict[str, str | None]) -> None:
    found = {field: message for field, message in errors.items() if message}
    if found:
        raise ValidationError(found)


def _parse_tags(raw: str | Sequence[str]) -> tuple[list[str], str | None]:
    try:
        return tags.parse_names(raw), None
    except ValidationError as exc:
        return [], exc.errors.get("tags")


def _new_post(thread: Thread, author: User, body: str, *, is_first: bool, at: datetime, html: str) -> Post:
    assert thread.id is not None and author.id is not None
    return Post(
        thread_id=thread.id,
        author_id=author.id,
        is_first=is_first,
        body=body,
        body_html=html,
        by_staff=author.is_staff,
        created_at=at,
    )


async def ask(
    session: AsyncSession,
    *,
    author: User,
    category: Category | None,
    title: str,
    body: str,
    kind: str = ThreadKind.question.value,
    limits: Limits = Limits(),
    created_at: datetime | None = None,
    external_id: str | None = None,
    tag_names: str | Sequence[str] = (),
    pin: bool = False,
) -> Thread:
    """``tag_names``: a comma-separated field or a list (``forum.services.tags``).
    ``pin``: the thread is pinned as it is posted (``can_pin_new_thread``), and
    the pin goes to the audit log through ``forum.hooks`` as any pin does."""
    if not can_post(author):
        raise NotAllowed(_("Your account cannot post right now."))
    if pin and not can_pin_new_thread(author):
        raise NotAllowed(_("Only staff can pin a thread as they post it."))
    title = one_line(title)
    body = normalise(body)
    names, tag_error = _parse_tags(tag_names)
    _raise_if(
        {
            "category": None if category is not None and category.archived_at is None else _("Choose a category."),
            "title": check_title(title, limits),
            "body": check_body(body, limits),
            "kind": None if kind in ThreadKind.__members__ else _("Choose question or discussion."),
            "tags": tag_error,
        }
    )
    assert category is not None and category.id is not None and author.id is not None
    # Refused before anything is written: a tag the category does not take,
    # or a new one from someone who may not create tags.
    await tags.resolve(session, names, user=author, category_id=category.id)
    attempt = await hooks.run_before_post(
        session, hooks.PostAttempt(author=author, body=body, title=title, category=category)
    )
    now = created_at or utcnow()
    thread = Thread(
        category_id=category.id,
        author_id=author.id,
        kind=kind,
        title=title,
        slug=slugify(title),
        language=ThreadText(title, body).language,
        created_at=now,
        last_activity_at=now,
        external_id=external_id,
        pinned_at=now if pin else None,
    )
    if attempt.held:
        thread.hidden_at = now
    session.add(thread)
    await session.flush()
    first = _new_post(thread, author, body, is_first=True, at=now, html=await mentions.render(session, body))
    if attempt.held:
        first.hidden_at, first.hidden_reason = now, "review"
    session.add(first)
    await session.flush()
    await uploads.link_post(session, first)
    if names:
        await tags.set_thread_tags(session, thread, names, user=author)
    await hooks.run_after_post(session, attempt, first)
    if pin:
        await hooks.run_audit(
            session,
            hooks.AuditChange(
                actor=author,
                action="thread.pin",
                target_type="thread",
                target_id=thread.id,
                subject_id=author.id,
                before={"pinned_at": None},
                after={"pinned_at": thread.pinned_at},
            ),
        )
    await search.index_thread(session, thread.id)  # type: ignore[arg-type]
    await related.queue(session, [thread.id], at=now)  # type: ignore[list-item]
    # Last, so the category's row is locked for as short a time as possible
    # (on PostgreSQL every new thread of a category waits for that lock).
    # A thread held for review counts among the hidden ones.
    await categories.thread_changed(session, None, thread)
    await notifications.notify_mentions(session, thread, first, actor=author)
    return thread


async def reply(
    session: AsyncSession,
    thread: Thread,
    *,
    author: User,
    body: str,
    limits: Limits = Limits(),
    created_at: datetime | None = None,
) -> Post:
    if not can_reply(author, thread):
        if thread.locked:
            raise NotAllowed(_("This thread is locked: it takes no new replies."))
        raise NotAllowed(_("Your account cannot post right now."))
    body = normalise(body)
    _raise_if({"body": check_body(body, limits)})
    attempt = await hooks.run_before_post(session, hooks.PostAttempt(author=author, body=body, thread=thread))
    now = created_at or utcnow()
    post = _new_post(thread, author, body, is_first=False, at=now, html=await mentions.render(session, body))
    session.add(post)
    if attempt.held:
        # Held for review: invisible, so not counted until a moderator restores it.
        post.hidden_at, post.hidden_reason = now, "review"
        await session.flush()
        await uploads.link_post(session, post)
        await hooks.run_after_post(session, attempt, post)
        await notifications.watch_after_reply(session, thread, user=author)
        return post
    await state.add_replies(session, thread, 1)
    thread.last_activity_at = max(thread.last_activity_at, now)
    if author.id != thread.author_id:
        if thread.first_response_at is None:
            thread.first_response_at = now
        if post.by_staff:
            thread.staff_replied = True
            if thread.first_staff_response_at is None:
                thread.first_staff_response_at = now
    session.add(thread)
    await session.flush()
    await uploads.link_post(session, post)
    await hooks.run_after_post(session, attempt, post)
    await search.add_post(session, post)
    await notifications.notify_reply(session, thread, post, author=author)
    await notifications.watch_after_reply(session, thread, user=author)
    return post


async def edit_post(
    session: AsyncSession,
    post: Post,
    *,
    editor: User,
    body: str,
    title: str | None = None,
    limits: Limits = Limits(),
    reason: str = "",
    tag_names: str | Sequence[str] | None = None,
) -> bool:
    """Changes a post's text (and, on the first post, its thread's title and,
    unless ``tag_names`` is None, its tags). The replaced text is kept as a
    ``PostRevision`` with the editor and ``reason``."""
    if not can_edit_post(editor, post):
        raise NotAllowed(_("You can only edit your own posts."))
    body = normalise(body)
    new_title = one_line(title) if title is not None and post.is_first else None
    reason = one_line(reason)
    names, tag_error = _parse_tags(tag_names or ())
    _raise_if(
        {
            "body": check_body(body, limits),
            "title": check_title(new_title, limits) if new_title is not None else None,
            "reason": _("Reasons can have at most %(n)s characters.", n=500) if len(reason) > 500 else None,
            "tags": tag_error if post.is_first else None,
        }
    )
    thread = post.thread
    tags_changed = False
    if tag_names is not None and post.is_first:
        tags_changed = await tags.set_thread_tags(session, thread, names, user=editor)
    if body == post.body and (new_title is None or new_title == thread.title):
        return tags_changed
    attempt = await hooks.run_before_post(
        session, hooks.PostAttempt(author=editor, body=body, title=new_title, thread=thread, post=post)
    )
    assert post.id is not None
    session.add(
        PostRevision(
            post_id=post.id,
            body=post.body,
            title=thread.title if post.is_first else None,
            written_at=post.edited_at or post.created_at,
            editor_id=editor.id,
            reason=reason,
        )
    )
    changed = False
    if body != post.body:
        post.body = body
        post.body_html = await mentions.render(session, body)
        changed = True
    if new_title is not None and new_title != thread.title:
        thread.title = new_title
        thread.slug = slugify(new_title)
        session.add(thread)
        changed = True
    if changed:
        post.edited_at = utcnow()
        session.add(post)
        await session.flush()
        await uploads.link_post(session, post)
        if attempt.held:
            await state.hide_post(session, post, reason="review")
        await hooks.run_after_post(session, attempt, post)
        await search.index_thread(session, post.thread_id)
        if post.is_first:
            await related.queue(session, [post.thread_id])
        # Only the newly mentioned hear of it (and not while the post is held or hidden).
        await notifications.notify_mentions(session, thread, post, actor=editor)
    return changed


async def vote(session: AsyncSession, post: Post, *, user: User) -> bool:
    if not can_vote(user, post):
        raise NotAllowed(
            _("You cannot vote for your own post.") if post.author_id == user.id else _("Only answers take votes.")
        )
    existing = await session.scalar(
        select(col(Vote.id)).where(col(Vote.post_id) == post.id, col(Vote.user_id) == user.id)
    )
    if existing is not None:
        return False
    try:
        # A savepoint: a double click racing this request loses on the unique
        # constraint without spoiling the rest of the transaction.
        async with session.begin_nested():
            assert post.id is not None and user.id is not None
            session.add(Vote(post_id=post.id, user_id=user.id))
    except IntegrityError:
        return False
    await session.execute(update(Post).where(col(Post.id) == post.id).values(vote_count=col(Post.vote_count) + 1))
    await session.flush()
    return True


async def unvote(session: AsyncSession, post: Post, *, user: User) -> bool:
    existing = await session.scalar(select(Vote).where(col(Vote.post_id) == post.id, col(Vote.user_id) == user.id))
    if existing is None:
        return False
    await session.delete(existing)
    await session.execute(update(Post).where(col(Post.id) == post.id).values(vote_count=col(Post.vote_count) - 1))
    await session.flush()
    return True


async def _mark(session: AsyncSession, post: Post, *, column: str, marked: bool, at: datetime | None) -> bool:
    """Points the thread's accepted or official answer at ``post`` (or clears
    it) and keeps the solved time; says whether anything changed."""
    thread = post.thread
    if (getattr(thread, column) == post.id) == marked:
        return False
    if marked and not post.visible:
        raise ValidationError({"post": _("A hidden or deleted post cannot be the answer.")})
    setattr(thread, column, post.id if marked else None)
    state.update_solved(thread, at or utcnow())
    session.add(thread)
    await session.flush()
    return True


def _check_can_accept(user: User, post: Post) -> None:
    if not can_accept(user, post.thread, post):
        raise NotAllowed(_("Only the asker or staff can accept an answer to this question."))


def _check_can_mark_official(user: User, post: Post) -> None:
    if not can_mark_official(user, post.thread, post):
        raise NotAllowed(_("Only staff can mark an official answer."))


async def accept(session: AsyncSession, post: Post, *, user: User, at: datetime | None = None) -> bool:
    _check_can_accept(user, post)
    changed = await _mark(session, post, column="accepted_post_id", marked=True, at=at)
    if changed:
        await notifications.notify_marked(session, post, kind=NotificationKind.accepted, by=user)
    return changed


async def unaccept(session: AsyncSession, post: Post, *, user: User) -> bool:
    _check_can_accept(user, post)
    return await _mark(session, post, column="accepted_post_id", marked=False, at=None)


async def mark_official(session: AsyncSession, post: Post, *, user: User, at: datetime | None = None) -> bool:
    _check_can_mark_official(user, post)
    changed = await _mark(session, post, column="official_post_id", marked=True, at=at)
    if changed:
        await notifications.notify_marked(session, post, kind=NotificationKind.official, by=user)
    return changed


async def unmark_official(session: AsyncSession, post: Post, *, user: User) -> bool:
    _check_can_mark_official(user, post)
    return await _mark(session, post, column="official_post_id", marked=False, at=None)


# ---------------------------------------------------------------- reading


# Statements of the hottest pages, built once: SQLAlchemy then skips building and
# hashing them on every request (a third of the ORM's cost on a thread page).
_THREAD_BY_ID = (
    select(Thread)
    .options(joinedload(Thread.category), joinedload(Thread.author))  # type: ignore[arg-type]
    .where(col(Thread.id) == bindparam("thread_id"))
)


async def get_thread_or_404(session: AsyncSession, thread_id: int, *, viewer: User | None) -> Thread:
    """A thread the viewer may see (deleted and held threads are 404 to others)."""
    thread = await session.scalar(_THREAD_BY_ID, {"thread_id": thread_id})
    if thread is None or not can_see_thread(viewer, thread):
        raise NotFound(_("No such thread."))
    return thread


async def get_thread_row_or_404(session: AsyncSession, thread_id: int, *, viewer: User | None) -> ThreadRow:
    """:func:`get_thread_or_404` for a page that only reads (``forum.read``)."""
    thread = await read.thread_by_id(session, thread_id)
    if thread is None or not can_see_thread(viewer, thread):
        raise NotFound(_("No such thread."))
    return thread


async def get_post_or_404(session: AsyncSession, post_id: int, *, viewer: User | None) -> Post:
    """A post with its thread loaded (for permission checks and counters)."""
    post = await session.scalar(
        select(Post).options(joinedload(Post.thread)).where(col(Post.id) == post_id)  # type: ignore[arg-type]
    )
    if post is None or not can_see_thread(viewer, post.thread):
        raise NotFound(_("No such post."))
    if post.deleted_at is not None and not is_moderator(viewer):
        raise NotFound(_("No such post."))
    return post


@dataclass(frozen=True)
class ThreadList:
    pinned: Sequence[ThreadRow]
    page: Page[ThreadRow]


_LISTS: dict[tuple[bool, bool, bool], DirectRead] = {}


def _list_statement(*, moderator: bool, by_category: bool, pinned: bool) -> DirectRead:
    """The statement of one kind of thread list, built once (see ``forum.read``)."""
    key = (moderator, by_category, pinned)
    found = _LISTS.get(key)
    if found is None:
        t = read.THREADS
        where: list[ColumnElement[bool]] = [t.c.deleted_at.is_(None)]
        if not moderator:
            where.append(t.c.hidden_at.is_(None))
        if by_category:
            where.append(t.c.category_id == bindparam("category_id"))
        if pinned:
            stmt = read.thread_select().where(*where, t.c.pinned_at.is_not(None)).order_by(t.c.pinned_at.desc())
        else:
            stmt = (
                read.thread_select()
                .where(*where, t.c.pinned_at.is_(None))
                .order_by(t.c.last_activity_at.desc(), t.c.id.desc())
                .offset(bindparam("offset"))
            )
        found = _LISTS[key] = DirectRead(stmt.limit(bindparam("limit")))
    return found


async def latest(
    session: AsyncSession,
    *,
    viewer: User | None = None,
    category: Category | read.CategoryRow | None = None,
    page: int = 1,
    size: int = 30,
    tag: Any = None,
) -> ThreadList:
    """Pinned threads (on the first page), then the rest by last activity.
    With a ``tag`` (``forum.models.Tag``): its threads, pinned ones among the
    rest (``forum.services.tags.tagged``).
    Three indexed queries whatever the number of threads: the list's size is
    the categories' stored count (``forum.services.categories``), never a
    count of threads, and pages stop at ``MAX_PAGES`` (the deepest offset is
    bounded). A page past the list's last one is not found (without reading
    any thread)."""
    moderator = is_moderator(viewer)
    if tag is not None:
        category_id = category.id if category is not None else None
        found = await tags.tagged(session, tag, moderator=moderator, category_id=category_id, page=page, size=size)
        return ThreadList(pinned=[], page=found)
    params: dict[str, Any] = {"category_id": category.id if category is not None else None}
    total = await categories.listed_total(
        session, category_id=category.id if category is not None else None, hidden=moderator
    )
    check_page(page, total=total, size=size)
    pinned: Sequence[ThreadRow] = []
    if page == 1:
        stmt = _list_statement(moderator=moderator, by_category=category is not None, pinned=True)
        pinned = await read.threads(session, stmt, {**params, "limit": 20})
    stmt = _list_statement(moderator=moderator, by_category=category is not None, pinned=False)
    rows = await read.threads(session, stmt, {**params, "limit": size, "offset": (page - 1) * size})
    await tags.attach(session, pinned, rows)  # one query for the page's tags
    return ThreadList(pinned=pinned, page=Page(items=rows, number=page, size=size, total=total))


@dataclass
class ThreadPage:
    thread: ThreadRow
    question: PostRow
    answers: list[PostRow]
    my_votes: set[int]
    duplicate_of: Thread | None = None
    # Staff only: assignment, its history and SLA clocks (forum.services.assignments.ThreadPanel).
    support: Any = None
    # The knowledge-base article that answers it (forum.services.kb), if linked.
    article: Any = None
    # Whether the viewer hears of new replies (forum.services.notifications).
    watching: bool = False
    # Related questions, as the job last computed them (forum.services.related).
    related: Sequence[Any] = ()
    # Its tags (forum.services.tags.TagChip).
    tags: Sequence[Any] = ()


def answer_order(thread: ThreadRow, post: PostRow) -> tuple[int, int, int, datetime, int]:
    """Accepted first, then official, then by votes, then oldest first."""
    return (
        0 if post.id == thread.accepted_post_id else 1,
        0 if post.id == thread.official_post_id else 1,
        -post.vote_count,
        post.created_at,
        post.id or 0,
    )


async def load_thread_page(session: AsyncSession, thread: ThreadRow, *, viewer: User | None) -> ThreadPage:
    """Everything the thread template shows, in a fixed number of queries."""
    posts = await read.posts_of(session, thread.id)
    question = next((p for p in posts if p.is_first), None)
    if question is None:
        raise NotFound(_("No such thread."))
    moderator = is_moderator(viewer)
    answers = sorted(
        (p for p in posts if not p.is_first and (p.deleted_at is None or moderator)),
        key=lambda p: answer_order(thread, p),
    )
    my_votes: set[int] = set()
    if viewer is not None and answers:
        my_votes = set(
            (
                await session.scalars(
                    select(col(Vote.post_id)).where(
                        col(Vote.user_id) == viewer.id,
                        col(Vote.post_id).in_([p.id for p in answers]),
                    )
                )
            ).all()
        )
    duplicate_of = None
    if thread.duplicate_of_id is not None:
        duplicate_of = await session.get(Thread, thread.duplicate_of_id)
    support = await assignments.thread_panel(session, thread, viewer=viewer)
    article = await kb.linked_article(session, thread, viewer=viewer)
    watching = await notifications.is_watching(session, thread, viewer)
    related_list = await related.related_for(session, thread.id)
    chips = (await tags.chips_for(session, [thread.id])).get(thread.id, ())
    return ThreadPage(
        tags=chips,
        thread=thread,
        question=question,
        answers=answers,
        my_votes=my_votes,
        duplicate_of=duplicate_of,
        support=support,
        article=article,
        watching=watching,
        related=related_list,
    )


async def count_view(counter: ViewCounter, thread: ThreadRow) -> None:
    """Counts a view (written in a batch later: see ``forum.views``); the thread
    (a read row, never written back) shows the views this process counted and
    has not written yet."""
    await counter.hit(thread.id)
    thread.views += counter.pending(thread.id)


@dataclass
class Profile:
    user: User
    questions: Sequence[Thread]
    answers: Sequence[Post]
    question_count: int
    answer_count: int
    accepted_count: int


async def load_profile(session: AsyncSession, user: User, *, limit: int = 20) -> Profile:
    questions = (
        await session.scalars(
            select(Thread)
            .options(joinedload(Thread.category))  # type: ignore[arg-type]
            .where(col(Thread.author_id) == user.id)
            .order_by(col(Thread.created_at).desc())
            .limit(limit)
        )
    ).all()
    answers = (
        await session.scalars(
            select(Post)
            .options(joinedload(Post.thread))  # type: ignore[arg-type]
            .where(col(Post.author_id) == user.id, col(Post.is_first) == False)  # noqa: E712
            .order_by(col(Post.created_at).desc())
            .limit(limit)
        )
    ).all()
    counts = (
        await session.execute(
            select(
                select(func.count()).select_from(Thread).where(col(Thread.author_id) == user.id).scalar_subquery(),
                select(func.count())
                .select_from(Post)
                .where(col(Post.author_id) == user.id, col(Post.is_first) == False)  # noqa: E712
                .scalar_subquery(),
                select(func.count())
                .select_from(Thread)
                .join(Post, col(Post.id) == col(Thread.accepted_post_id))
                .where(col(Post.author_id) == user.id)
                .scalar_subquery(),
            )
        )
    ).one()
    return Profile(user, questions, answers, counts[0], counts[1], counts[2])
