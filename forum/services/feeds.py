"""What search engines and feed readers read: the sitemap's threads and the
RSS feeds' items. Only what an anonymous reader may see appears: hidden,
deleted and held threads never do (a thread whose question is held for review
is hidden until a moderator lets it through). Every query is a range or a
limit on an index, so each costs the same at 1,000 threads as at 1,000,000.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from forum import read
from forum.read import ThreadRow
from forum.search.snippets import plain_text

#: URLs in one sitemap file (the protocol's limit)
SITEMAP_SIZE = 50_000
#: items in a feed
FEED_SIZE = 30
#: characters of a question shown as its description
DESCRIPTION_CHARS = 300

_TAGS = re.compile(r"<[^>]+>")
_T = read.THREADS
_P = read.POSTS


def _visible() -> list:  # type: ignore[type-arg]
    return [_T.c.hidden_at.is_(None), _T.c.deleted_at.is_(None)]


async def sitemap_files(session: AsyncSession) -> int:
    """How many thread sitemaps there are: threads are cut into files by id
    (1–50,000, 50,001–100,000, …), so the index is one lookup of the largest id."""
    top = await session.scalar(select(func.max(_T.c.id)))
    return 0 if top is None else (top - 1) // SITEMAP_SIZE + 1


@dataclass(frozen=True)
class SitemapEntry:
    id: int
    slug: str
    last_activity_at: datetime


async def sitemap_threads(session: AsyncSession, number: int) -> list[SitemapEntry]:
    """The visible threads of sitemap file ``number`` (from 1), a range of ids."""
    low, high = (number - 1) * SITEMAP_SIZE, number * SITEMAP_SIZE
    rows = await session.execute(
        select(_T.c.id, _T.c.slug, _T.c.last_activity_at)
        .where(_T.c.id > low, _T.c.id <= high, *_visible())
        .order_by(_T.c.id)
    )
    return [SitemapEntry(*row) for row in rows.all()]


@dataclass(frozen=True)
class FeedItem:
    thread: ThreadRow
    description: str


def describe(markdown: str, limit: int = DESCRIPTION_CHARS) -> str:
    """A question's text as one plain line of at most ``limit`` characters."""
    text = " ".join(plain_text(markdown).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def feed(session: AsyncSession, *, category_id: int | None = None) -> list[FeedItem]:
    """The most recently active visible threads (of a category), with their questions."""
    where = _visible()
    if category_id is not None:
        where.append(_T.c.category_id == category_id)
    stmt = read.thread_select().where(*where).order_by(_T.c.last_activity_at.desc(), _T.c.id.desc()).limit(FEED_SIZE)
    threads: Sequence[ThreadRow] = await read.threads(session, stmt, {})
    bodies: dict[int, str] = {}
    if threads:
        rows = await session.execute(
            select(_P.c.thread_id, _P.c.body).where(
                _P.c.thread_id.in_([t.id for t in threads]), _P.c.is_first.is_(True)
            )
        )
        bodies = {thread_id: body for thread_id, body in rows.all()}
    return [FeedItem(t, describe(bodies.get(t.id, ""))) for t in threads]


# ---------------------------------------------------------------- a thread's page


def _text_of(html: str) -> str:
    return " ".join(unescape(_TAGS.sub(" ", html)).split())


def page_description(question_html: str, limit: int = 160) -> str:
    """The question as a search result's description: plain text, one line."""
    text = _text_of(question_html)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def structured_data(page: Any, url: str) -> str:
    """schema.org JSON-LD for a thread page (``forum.services.threads.ThreadPage``):
    ``QAPage`` for a question (its accepted or official answer as
    ``acceptedAnswer``, the others as ``suggestedAnswer``), ``DiscussionForumPosting``
    for a discussion. Only visible answers; safe inside a <script> element."""
    thread, question = page.thread, page.question
    answers = [a for a in page.answers if a.visible]

    def person(post: Any) -> dict[str, str]:
        return {"@type": "Person", "name": post.author.shown_name}

    def when(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    def answer(post: Any) -> dict[str, Any]:
        return {
            "@type": "Answer",
            "text": _text_of(post.body_html),
            "dateCreated": when(post.created_at),
            "upvoteCount": post.vote_count,
            "url": f"{url}#post-{post.id}",
            "author": person(post),
        }

    data: dict[str, Any]
    if thread.is_question:
        solution = thread.accepted_post_id or thread.official_post_id
        entity: dict[str, Any] = {
            "@type": "Question",
            "name": thread.title,
            "text": _text_of(question.body_html),
            "answerCount": len(answers),
            "upvoteCount": question.vote_count,
            "dateCreated": when(question.created_at),
            "author": person(question),
        }
        accepted = [a for a in answers if a.id == solution]
        if accepted:
            entity["acceptedAnswer"] = answer(accepted[0])
        suggested = [answer(a) for a in answers if a.id != solution]
        if suggested:
            entity["suggestedAnswer"] = suggested
        data = {"@context": "https://schema.org", "@type": "QAPage", "mainEntity": entity}
    else:
        data = {
            "@context": "https://schema.org",
            "@type": "DiscussionForumPosting",
            "headline": thread.title,
            "text": _text_of(question.body_html),
            "url": url,
            "datePublished": when(question.created_at),
            "author": person(question),
            "interactionStatistic": {
                "@type": "InteractionCounter",
                "interactionType": "https://schema.org/CommentAction",
                "userInteractionCount": len(answers),
            },
        }
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
