"""Knowledge-base articles: writing, publishing, reader feedback, threads
answered by an article, and the staff's synonym lines.

Functions take the session first, flush but never commit, and say whether
they changed anything where calling them twice is meaningful. Only staff
write articles; drafts are invisible to everyone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum import markdown, search
from forum.clock import utcnow
from forum.db import id_col
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import (
    Article,
    ArticleFeedback,
    ArticleStatus,
    Category,
    SuggestionState,
    SynonymLine,
    Thread,
    ThreadKind,
    TopicEvent,
    TopicMember,
    TopicSuggestion,
    User,
)
from forum.pagination import Page, check_page, count_up_to_last_page
from forum.services import notifications, state, uploads
from forum.textutil import normalise, one_line, slugify

if TYPE_CHECKING:
    from forum.read import ThreadRow

TITLE_MIN = 4
TITLE_MAX = 200
BODY_MIN = 10
BODY_MAX = 60_000
SYNONYM_LINE_MAX = 500
SYNONYM_LINES_MAX = 2000


def can_write_articles(user: User | None) -> bool:
    return user is not None and user.is_staff


def can_see_article(user: User | None, article: Article) -> bool:
    return article.published or can_write_articles(user)


def _require_writer(user: User | None) -> User:
    if user is None or not can_write_articles(user):
        raise NotAllowed(_("Only staff can write knowledge-base articles."))
    return user


# ---------------------------------------------------------------- reading


async def get_article_or_404(session: AsyncSession, article_id: int, *, viewer: User | None) -> Article:
    """An article the viewer may see (drafts are 404 to everyone but staff)."""
    article = await session.scalar(
        select(Article)
        .options(joinedload(Article.category), joinedload(Article.author))  # type: ignore[arg-type]
        .where(col(Article.id) == article_id)
    )
    if article is None or not can_see_article(viewer, article):
        raise NotFound(_("No such article."))
    return article


async def list_articles(
    session: AsyncSession,
    *,
    viewer: User | None,
    category: Category | None = None,
    page: int = 1,
    size: int = 30,
    drafts: bool = False,
) -> Page[Article]:
    """Published articles, newest first; staff asking for ``drafts`` get the drafts instead."""
    status = ArticleStatus.draft.value if drafts and can_write_articles(viewer) else ArticleStatus.published.value
    where = [col(Article.status) == status]
    if category is not None:
        where.append(col(Article.category_id) == category.id)
    order = col(Article.updated_at).desc() if status == ArticleStatus.draft.value else col(Article.published_at).desc()
    # Counted only as far as the list's pages reach (forum.pagination).
    total = await session.scalar(count_up_to_last_page(select(col(Article.id)).where(*where), size)) or 0
    check_page(page, total=total, size=size)
    rows = await session.scalars(
        select(Article)
        .options(joinedload(Article.category))  # type: ignore[arg-type]
        .where(*where)
        .order_by(order, col(Article.id).desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    return Page(items=rows.all(), number=page, size=size, total=total)


async def linked_article(session: AsyncSession, thread: Thread | ThreadRow, *, viewer: User | None) -> Article | None:
    """The article that answers ``thread``, if the viewer may read it."""
    if thread.article_id is None:
        return None
    article = await session.get(Article, thread.article_id)
    return article if article is not None and can_see_article(viewer, article) else None


async def linked_thread_count(session: AsyncSession, article: Article) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Thread)
            .where(col(Thread.article_id) == article.id, col(Thread.deleted_at).is_(None))
        )
        or 0
    )


@dataclass
class Feedback:
    yes: int
    no: int
    mine: bool | None  # this reader's answer, if any


async def feedback_of(
    session: AsyncSession, article: Article, *, user: User | None, browser_key: str | None
) -> Feedback:
    mine = None
    if user is not None:
        mine = await session.scalar(
            select(col(ArticleFeedback.helped)).where(
                col(ArticleFeedback.article_id) == article.id, col(ArticleFeedback.user_id) == user.id
            )
        )
    elif browser_key:
        mine = await session.scalar(
            select(col(ArticleFeedback.helped)).where(
                col(ArticleFeedback.article_id) == article.id, col(ArticleFeedback.browser_key) == browser_key
            )
        )
    return Feedback(article.helped_yes, article.helped_no, mine)


# ---------------------------------------------------------------- writing


def check_article(title: str, body: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Enter a title.")
    elif len(title) < TITLE_MIN:
        errors["title"] = _("Titles need at least %(n)s characters.", n=TITLE_MIN)
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Titles can have at most %(n)s characters.", n=TITLE_MAX)
    if not body:
        errors["body"] = _("Write something first.")
    elif len(body) < BODY_MIN:
        errors["body"] = _("Articles need at least %(n)s characters.", n=BODY_MIN)
    elif len(body) > BODY_MAX:
        errors["body"] = _("Articles can have at most %(n)s characters.", n=BODY_MAX)
    return errors


async def create_article(
    session: AsyncSession,
    *,
    author: User,
    title: str,
    body: str,
    category: Category | None = None,
    suggestion: TopicSuggestion | None = None,
) -> Article:
    """A new draft. Started from a topic suggestion, it marks the suggestion
    drafted, so that publishing links the suggestion's threads to it."""
    _require_writer(author)
    title, body = one_line(title), normalise(body)
    errors = check_article(title, body)
    if errors:
        raise ValidationError(errors)
    now = utcnow()
    article = Article(
        title=title,
        slug=slugify(title),
        body=body,
        body_html=markdown.render(body, images=await uploads.image_sizes(session, body)),
        category_id=category.id if category else None,
        status=ArticleStatus.draft.value,
        author_id=author.id,  # type: ignore[arg-type]
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    await session.flush()
    await search.index_article(session, article.id)  # type: ignore[arg-type]
    if suggestion is not None:
        await start_draft(session, suggestion, article=article, user=author)
    return article


async def edit_article(
    session: AsyncSession, article: Article, *, editor: User, title: str, body: str, category: Category | None
) -> bool:
    _require_writer(editor)
    title, body = one_line(title), normalise(body)
    errors = check_article(title, body)
    if errors:
        raise ValidationError(errors)
    category_id = category.id if category else None
    if (title, body, category_id) == (article.title, article.body, article.category_id):
        return False
    article.title, article.slug = title, slugify(title)
    if body != article.body:
        article.body, article.body_html = body, markdown.render(body, images=await uploads.image_sizes(session, body))
    article.category_id = category_id
    article.updated_at = utcnow()
    session.add(article)
    await session.flush()
    await search.index_article(session, article.id)  # type: ignore[arg-type]
    return True


async def publish(session: AsyncSession, article: Article, *, user: User) -> bool:
    """Publishes the article; the threads of the suggestions drafted into it
    are linked to it (and so count as solved), and those suggestions are covered."""
    _require_writer(user)
    if article.published:
        return False
    now = utcnow()
    article.status = ArticleStatus.published.value
    article.published_at = article.published_at or now
    article.updated_at = now
    session.add(article)
    await session.flush()
    drafted = (
        await session.scalars(
            select(TopicSuggestion).where(
                col(TopicSuggestion.article_id) == article.id,
                col(TopicSuggestion.state) == SuggestionState.drafted.value,
            )
        )
    ).all()
    for suggestion in drafted:
        thread_ids = (
            await session.scalars(
                select(col(TopicMember.thread_id)).where(col(TopicMember.suggestion_id) == suggestion.id)
            )
        ).all()
        await link_threads(session, article, thread_ids, at=now, by=user)
        suggestion.state = SuggestionState.covered.value
        suggestion.updated_at = now
        session.add(suggestion)
        assert suggestion.id is not None
        session.add(
            TopicEvent(
                suggestion_id=suggestion.id,
                at=now,
                kind="covered",
                size=len(thread_ids),  # type: ignore[arg-type]
                user_id=user.id,
                article_id=article.id,
            )
        )
    await session.flush()
    return True


async def unpublish(session: AsyncSession, article: Article, *, user: User) -> bool:
    """Back to draft. Linked threads keep their link (and stay solved); the
    link shows again when the article is published again."""
    _require_writer(user)
    if not article.published:
        return False
    article.status = ArticleStatus.draft.value
    article.updated_at = utcnow()
    session.add(article)
    await session.flush()
    return True


# ---------------------------------------------------------------- threads answered by articles


async def link_threads(
    session: AsyncSession,
    article: Article,
    thread_ids: Sequence[int],
    *,
    at: datetime | None = None,
    by: User | None = None,
) -> int:
    """Links threads not yet linked to any article; they count as solved from now.
    ``by``: the staff member doing it; the askers of the questions that were still
    unsolved hear that the article answers them."""
    if not thread_ids:
        return 0
    at = at or utcnow()
    done = 0
    unsolved: list[int] = []
    ids = sorted(set(thread_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        if by is not None:
            unsolved += (
                await session.scalars(
                    select(id_col(Thread.id)).where(
                        col(Thread.id).in_(chunk),
                        col(Thread.article_id).is_(None),
                        col(Thread.deleted_at).is_(None),
                        col(Thread.solved_at).is_(None),
                        col(Thread.kind) == ThreadKind.question.value,
                    )
                )
            ).all()
        result = await session.execute(
            update(Thread)
            .where(col(Thread.id).in_(chunk), col(Thread.article_id).is_(None), col(Thread.deleted_at).is_(None))
            .values(article_id=article.id, solved_at=func.coalesce(Thread.solved_at, at))
            .execution_options(synchronize_session=False)
        )
        done += result.rowcount or 0  # type: ignore[attr-defined]
    if by is not None and unsolved and article.published:
        await notifications.notify_answered_by_article(session, unsolved, by=by)
    return done


async def link_thread(session: AsyncSession, thread: Thread, article: Article, *, user: User) -> bool:
    """Marks ``thread`` as answered by ``article`` (a published one)."""
    _require_writer(user)
    if not article.published:
        raise ValidationError({"article": _("Only a published article can answer a thread.")})
    if thread.article_id == article.id:
        return False
    unsolved = thread.solved_at is None and thread.is_question
    thread.article_id = article.id
    if thread.solved_at is None:
        thread.solved_at = utcnow()
    session.add(thread)
    await session.flush()
    if unsolved:
        await notifications.notify_answered_by_article(session, [thread.id], by=user)  # type: ignore[list-item]
    return True


async def unlink_thread(session: AsyncSession, thread: Thread, *, user: User) -> bool:
    _require_writer(user)
    if thread.article_id is None:
        return False
    thread.article_id = None
    state.update_solved(thread, utcnow())
    session.add(thread)
    await session.flush()
    return True


def article_id_from(text: str) -> int | None:
    """An article id typed as a number or pasted as its address (/kb/12/...)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    marker = "/kb/"
    if marker in text:
        rest = text.split(marker, 1)[1].split("/", 1)[0].split("?", 1)[0]
        if rest.isdigit():
            return int(rest)
    return None


# ---------------------------------------------------------------- feedback


async def give_feedback(
    session: AsyncSession, article: Article, *, helped: bool, user: User | None, browser_key: str | None
) -> bool:
    """Records "Did this article help?": one answer per member, or per browser
    for readers who are not logged in; answering again changes the answer."""
    if not article.published:
        raise NotFound(_("No such article."))
    if user is None and not browser_key:
        raise ValidationError({"helped": _("Your browser did not send a cookie; enable cookies and try again.")})
    owner = (
        col(ArticleFeedback.user_id) == user.id if user is not None else col(ArticleFeedback.browser_key) == browser_key
    )
    existing = await session.scalar(select(ArticleFeedback).where(col(ArticleFeedback.article_id) == article.id, owner))
    now = utcnow()
    if existing is not None:
        if existing.helped == helped:
            return False
        existing.helped, existing.updated_at = helped, now
        session.add(existing)
        delta_yes, delta_no = (1, -1) if helped else (-1, 1)
    else:
        try:
            # A savepoint: a double click racing this request loses on the unique
            # constraint without spoiling the rest of the transaction.
            async with session.begin_nested():
                session.add(
                    ArticleFeedback(
                        article_id=article.id,  # type: ignore[arg-type]
                        user_id=user.id if user is not None else None,
                        browser_key=None if user is not None else browser_key,
                        helped=helped,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return False
        delta_yes, delta_no = (1, 0) if helped else (0, 1)
    await session.execute(
        update(Article)
        .where(col(Article.id) == article.id)
        .values(helped_yes=Article.helped_yes + delta_yes, helped_no=Article.helped_no + delta_no)
        .execution_options(synchronize_session=False)
    )
    article.helped_yes += delta_yes
    article.helped_no += delta_no
    await session.flush()
    return True


# ---------------------------------------------------------------- topic suggestions drafted into articles


async def start_draft(session: AsyncSession, suggestion: TopicSuggestion, *, article: Article, user: User) -> None:
    if suggestion.state in (SuggestionState.covered.value, SuggestionState.drafted.value) and (
        suggestion.article_id not in (None, article.id)
    ):
        raise ValidationError({"suggestion": _("This suggestion already has an article.")})
    suggestion.state = SuggestionState.drafted.value
    suggestion.article_id = article.id
    suggestion.updated_at = utcnow()
    session.add(suggestion)
    assert suggestion.id is not None
    session.add(
        TopicEvent(
            suggestion_id=suggestion.id,
            kind="drafted",
            size=suggestion.thread_count,
            user_id=user.id,  # type: ignore[arg-type]
            article_id=article.id,
        )
    )
    await session.flush()


# ---------------------------------------------------------------- synonyms


async def synonym_text(session: AsyncSession) -> str:
    lines = (
        await session.scalars(select(col(SynonymLine.line)).order_by(col(SynonymLine.position), col(SynonymLine.id)))
    ).all()
    return "\n".join(lines)


def check_synonyms(text: str) -> tuple[list[str], dict[str, str]]:
    """The lines to keep (comments and blank lines dropped) and any errors."""
    lines: list[str] = []
    for n, raw in enumerate(normalise(text).split("\n"), start=1):
        line = " ".join(raw.split())
        if not line or line.startswith("#"):
            continue
        if len(line) > SYNONYM_LINE_MAX:
            return [], {"synonyms": _("Line %(n)s is longer than %(max)s characters.", n=n, max=SYNONYM_LINE_MAX)}
        variants = [v.strip() for v in line.split("#", 1)[0].split(",") if v.strip()]
        if len(variants) < 2:
            return [], {"synonyms": _("Line %(n)s needs at least two words or phrases separated by commas.", n=n)}
        lines.append(", ".join(variants))
    if len(lines) > SYNONYM_LINES_MAX:
        return [], {"synonyms": _("At most %(n)s lines.", n=SYNONYM_LINES_MAX)}
    return lines, {}


async def save_synonyms(session: AsyncSession, text: str, *, user: User) -> bool:
    """Replaces the staff's synonym lines. Similar questions and the next
    topic run pick them up (their stored indexes are rebuilt)."""
    _require_writer(user)
    lines, errors = check_synonyms(text)
    if errors:
        raise ValidationError(errors)
    current = (
        await session.scalars(select(col(SynonymLine.line)).order_by(col(SynonymLine.position), col(SynonymLine.id)))
    ).all()
    if list(current) == lines:
        return False
    await session.execute(delete(SynonymLine))
    now = utcnow()
    session.add_all(
        [SynonymLine(line=line, position=n, author_id=user.id, created_at=now) for n, line in enumerate(lines)]
    )
    await session.flush()
    return True
