"""Topic suggestions for staff: the ranked list, one suggestion's page, and
what staff decide (dismiss, reopen, "already covered by", draft an article).

The suggestions themselves are made and kept current by the repeated-topic
job (``forum.topics.job``); these functions read them and record decisions.
They take the session first, flush but never commit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import format_date, using_locale
from forum.i18n import gettext as _
from forum.models import (
    Article,
    Post,
    SuggestionState,
    Thread,
    TopicEvent,
    TopicMember,
    TopicRemoval,
    TopicRun,
    TopicSuggestion,
    User,
)
from forum.pagination import Page, check_page, count_up_to_last_page
from forum.services import kb
from forum.textutil import one_line

REASON_MAX = 500
MEMBERS_SHOWN = 200
WEEKS = 12
DRAFT_ANSWERS = 3
DRAFT_ANSWER_CHARS = 4000
STATES = tuple(s.value for s in SuggestionState)


def can_manage_topics(user: User | None) -> bool:
    return user is not None and user.is_staff


def require_staff(user: User | None) -> User:
    if user is None or not can_manage_topics(user):
        raise NotAllowed(_("Only staff can see topic suggestions."))
    return user


def key_terms(suggestion: TopicSuggestion) -> list[str]:
    try:
        terms = json.loads(suggestion.key_terms or "[]")
    except ValueError:
        return []
    return [str(t) for t in terms][:8]


# ---------------------------------------------------------------- reading


@dataclass
class SuggestionList:
    page: Page[TopicSuggestion]
    counts: dict[str, int]
    last_run: TopicRun | None


async def list_suggestions(
    session: AsyncSession, *, state: str = "open", page: int = 1, size: int = 30
) -> SuggestionList:
    """Suggestions in ``state``, best saving first (one indexed query each for
    the page, the total, the counts per state and the last run)."""
    if state not in STATES:
        state = SuggestionState.open.value
    where = [col(TopicSuggestion.state) == state]
    # Counted only as far as the list's pages reach (forum.pagination).
    total = await session.scalar(count_up_to_last_page(select(col(TopicSuggestion.id)).where(*where), size)) or 0
    check_page(page, total=total, size=size)
    rows = await session.scalars(
        select(TopicSuggestion)
        .where(*where)
        .order_by(col(TopicSuggestion.score).desc(), col(TopicSuggestion.id))
        .limit(size)
        .offset((page - 1) * size)
    )
    counts = dict(
        (
            await session.execute(select(col(TopicSuggestion.state), func.count()).group_by(col(TopicSuggestion.state)))
        ).all()
    )
    last_run = await session.scalar(
        select(TopicRun).where(col(TopicRun.status) == "done").order_by(col(TopicRun.id).desc()).limit(1)
    )
    return SuggestionList(Page(items=rows.all(), number=page, size=size, total=total), counts, last_run)


async def get_suggestion_or_404(session: AsyncSession, suggestion_id: int) -> TopicSuggestion:
    suggestion = await session.get(TopicSuggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(_("No such suggestion."))
    return suggestion


@dataclass
class Week:
    start: datetime
    count: int


@dataclass
class SuggestionPage:
    suggestion: TopicSuggestion
    threads: list[Thread]
    more: int
    weeks: list[Week]
    events: list[TopicEvent]
    article: Article | None
    draft: str
    key_terms: list[str] = field(default_factory=list)

    @property
    def max_week(self) -> int:
        return max((w.count for w in self.weeks), default=0)


def threads_per_week(created: list[datetime], now: datetime, weeks: int = WEEKS) -> list[Week]:
    """Counts for the last ``weeks`` weeks (Monday to Sunday), oldest first."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    counts = [0] * weeks
    for at in created:
        if at < starts[0]:
            continue
        counts[min(weeks - 1, (at - starts[0]).days // 7)] += 1
    return [Week(s, c) for s, c in zip(starts, counts, strict=True)]


async def load_suggestion_page(session: AsyncSession, suggestion: TopicSuggestion) -> SuggestionPage:
    """Everything the suggestion page shows, in a fixed number of queries."""
    threads = (
        await session.scalars(
            select(Thread)
            .options(joinedload(Thread.category))  # type: ignore[arg-type]
            .join(TopicMember, col(TopicMember.thread_id) == col(Thread.id))
            .where(col(TopicMember.suggestion_id) == suggestion.id)
            .order_by(col(Thread.created_at).desc(), col(Thread.id).desc())
        )
    ).all()
    visible = [t for t in threads if t.deleted_at is None]
    answers = (
        await session.scalars(
            select(Post)
            .join(TopicMember, col(TopicMember.thread_id) == col(Post.thread_id))
            .where(
                col(TopicMember.suggestion_id) == suggestion.id,
                col(Post.is_first).is_(False),
                col(Post.hidden_at).is_(None),
                col(Post.deleted_at).is_(None),
            )
        )
    ).all()
    events = (
        await session.scalars(
            select(TopicEvent)
            .where(col(TopicEvent.suggestion_id) == suggestion.id)
            .order_by(col(TopicEvent.at).desc(), col(TopicEvent.id).desc())
            .limit(50)
        )
    ).all()
    article = await session.get(Article, suggestion.article_id) if suggestion.article_id else None
    return SuggestionPage(
        suggestion=suggestion,
        threads=visible[:MEMBERS_SHOWN],
        more=max(0, len(visible) - MEMBERS_SHOWN),
        weeks=threads_per_week([t.created_at for t in visible], utcnow()),
        events=list(events),
        article=article,
        draft=draft_body(suggestion, visible, list(answers)),
        key_terms=key_terms(suggestion),
    )


def _answer_rank(threads: dict[int, Thread], post: Post) -> tuple[int, int, int, float, int]:
    """Accepted and official answers first, each group newest first; then staff answers, then by votes."""
    thread = threads[post.thread_id]
    chosen = post.id in (thread.accepted_post_id, thread.official_post_id)
    return (
        0 if chosen else 1,
        0 if chosen or post.by_staff else 1,
        0 if chosen else -post.vote_count,
        -post.created_at.timestamp(),
        post.id or 0,
    )


#: a number with its unit: 14일, 14 days, 3~5일, 10%, 9,900원, $12
_QUANTITY = re.compile(
    r"(\$\s?\d[\d,.]*|\d[\d,.]*(?:\s?[~-]\s?\d[\d,.]*)?\s?"
    r"(?:영업일|일|주|개월|달|년|시간|분|원|달러|%"
    r"|business days?|days?|weeks?|months?|years?|hours?|minutes?|dollars?|usd))",
    re.IGNORECASE,
)
#: a "not" in a sentence that gives a quantity ("only" and 에만 are not: "only within 14 days"
#: and "within 14 days" say the same thing)
_NEGATION = re.compile(r"않|없|아니|못 |안 |\bnot\b|n't\b|\bno\b|\bnever\b", re.IGNORECASE)
#: "regardless" is written with 없 but says no "not"
_NOT_NEGATION = re.compile(r"(관계|상관)\s?없|regardless", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?。])\s+|\n+")


def _unit(quantity: str) -> str:
    return re.sub(r"[\d,.~\-\s$]", "", quantity).lower().rstrip("s") or "$"


def _claims(text: str) -> list[tuple[str, str, bool]]:
    """(quantity, its sentence, whether the sentence negates) of every quantity in ``text``."""
    out = []
    for sentence in _SENTENCE.split(text):
        sentence = sentence.strip()
        negated = bool(_NEGATION.search(_NOT_NEGATION.sub("", sentence)))
        for m in _QUANTITY.finditer(sentence):
            out.append((re.sub(r"\s", "", m.group(0)).lower(), sentence, negated))
    return out


def disagreements(posts: list[Post]) -> list[tuple[str, str]]:
    """Pairs of sentences from different answers that disagree: the same quantity said
    plainly in one and with a "not" in the other, or one value of a unit
    (14 days) in one answer where another gives one different value (30 days)."""
    found: list[tuple[str, str]] = []
    claims = [_claims(p.body) for p in posts]
    for i in range(len(posts)):
        for j in range(i + 1, len(posts)):
            a, b = claims[i], claims[j]
            pair = None
            for qa, sa, na in a:
                hit = next(((qb, sb) for qb, sb, nb in b if qb == qa and nb != na), None)
                if hit is not None:
                    pair = (sa, hit[1])
                    break
            if pair is None:
                units_a: dict[str, set[str]] = {}
                units_b: dict[str, set[str]] = {}
                for q, _s, _n in a:
                    units_a.setdefault(_unit(q), set()).add(q)
                for q, _s, _n in b:
                    units_b.setdefault(_unit(q), set()).add(q)
                for unit, va in units_a.items():
                    vb = units_b.get(unit)
                    if vb and len(va) == 1 and len(vb) == 1 and va != vb:
                        qa, qb = next(iter(va)), next(iter(vb))
                        pair = (
                            next(sn for q, sn, _n in a if q == qa),
                            next(sn for q, sn, _n in b if q == qb),
                        )
                        break
            if pair is not None and pair not in found:
                found.append(pair)
    return found


def topic_language(threads: list[Thread]) -> str:
    """The language most of a topic's threads are in (as stored on each thread)."""
    korean = sum(1 for t in threads if t.language == "ko")
    return "ko" if korean * 2 > len(threads) else "en"


def _thread_link(thread: Thread) -> str:
    from forum.urls import thread_url

    title = thread.title.replace("[", "(").replace("]", ")")
    return f"[{title}]({thread_url(thread)})"


def draft_body(suggestion: TopicSuggestion, threads: list[Thread], answers: list[Post]) -> str:
    """A first draft in Markdown in the language of the topic's threads, from the best
    existing answers: accepted and official answers first, newest first, then staff
    answers, then by votes; each with a link to its thread and its date. Where the
    answers disagree (see :func:`disagreements`) the draft says so first and quotes both."""
    with using_locale(topic_language(threads)):
        return _draft_body(threads, answers)


def _draft_body(threads: list[Thread], answers: list[Post]) -> str:
    by_id = {t.id: t for t in threads if t.id is not None}
    ranked = sorted((p for p in answers if p.thread_id in by_id), key=lambda p: _answer_rank(by_id, p))
    chosen: list[Post] = []
    seen: set[str] = set()
    for post in ranked:
        key = " ".join(post.body.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(post)
        if len(chosen) >= DRAFT_ANSWERS:
            break
    parts: list[str] = []
    conflicts = disagreements(chosen)
    if conflicts:
        parts.append(
            "> **"
            + _("The answers below disagree: check which is right before publishing.")
            + "**\n"
            + "\n".join(f">\n> - “{one_line(x)}”\n> - “{one_line(y)}”" for x, y in conflicts)
        )
    asked = sorted({one_line(t.title) for t in threads})[:10]
    if asked:
        parts.append(_("People asked this in %(n)s threads, for example:", n=len(threads)))
        parts.append("\n".join(f"- {title}" for title in asked))
    if chosen:
        parts.append("## " + _("Answer"))
        parts.append(_cut(chosen[0].body))
        parts.append(_source_line(by_id[chosen[0].thread_id], chosen[0]))
        if len(chosen) > 1:
            parts.append("## " + _("More from the answers"))
            for post in chosen[1:]:
                parts.append(_cut(post.body))
                parts.append(_source_line(by_id[post.thread_id], post))
    else:
        parts.append("## " + _("Answer"))
        parts.append(_("No thread has an answer yet: write the answer here."))
    sources = [by_id[p.thread_id] for p in chosen] or threads[:3]
    if sources:
        parts.append(_("Sources:") + " " + ", ".join(_thread_link(t) for t in sources))
    return "\n\n".join(parts)


def _source_line(thread: Thread, post: Post) -> str:
    return "*" + _("From %(thread)s, %(date)s", thread=_thread_link(thread), date=format_date(post.created_at)) + "*"


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= DRAFT_ANSWER_CHARS else text[:DRAFT_ANSWER_CHARS].rstrip() + " …"


async def draft_values(session: AsyncSession, suggestion: TopicSuggestion) -> dict[str, str]:
    """The article editor's fields pre-filled from a suggestion."""
    page = await load_suggestion_page(session, suggestion)
    category = ""
    if suggestion.category_id is not None:
        category = next((t.category.slug for t in page.threads if t.category_id == suggestion.category_id), "")
    return {
        "title": suggestion.title[: kb.TITLE_MAX],
        "body": page.draft,
        "category": category,
        "suggestion": str(suggestion.id),
    }


# ---------------------------------------------------------------- decisions


def _event(suggestion: TopicSuggestion, kind: str, user: User, **extra: object) -> TopicEvent:
    return TopicEvent(
        suggestion_id=suggestion.id,  # type: ignore[arg-type]
        at=utcnow(),
        kind=kind,
        size=suggestion.thread_count,
        user_id=user.id,
        **extra,  # type: ignore[arg-type]
    )


async def dismiss(session: AsyncSession, suggestion: TopicSuggestion, *, user: User, reason: str) -> bool:
    """Dismissed suggestions stay dismissed unless they grow markedly (the job
    reopens them): the size now is what "markedly" is measured against."""
    require_staff(user)
    reason = one_line(reason)
    if not reason:
        raise ValidationError({"reason": _("Say why, so that others know later.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(n)s characters.", n=REASON_MAX)})
    if suggestion.state == SuggestionState.dismissed.value:
        return False
    if suggestion.state not in (SuggestionState.open.value, SuggestionState.expired.value):
        raise ValidationError({"reason": _("Only open suggestions can be dismissed.")})
    now = utcnow()
    suggestion.state = SuggestionState.dismissed.value
    suggestion.dismissed_reason = reason
    suggestion.dismissed_size = suggestion.thread_count
    suggestion.dismissed_at = now
    suggestion.dismissed_by_id = user.id
    suggestion.updated_at = now
    session.add(suggestion)
    session.add(_event(suggestion, "dismissed", user, note=reason))
    await session.flush()
    return True


async def remove_thread(session: AsyncSession, suggestion: TopicSuggestion, thread_id: int, *, user: User) -> bool:
    """Take a thread out of a suggestion (staff): it is remembered, so later runs of the
    job leave the thread out of every topic. False when it was not a member."""
    require_staff(user)
    member = await session.get(TopicMember, thread_id)
    if member is None or member.suggestion_id != suggestion.id:
        raise ValidationError({"thread": _("That thread is not in this suggestion.")})
    await session.delete(member)
    if await session.get(TopicRemoval, thread_id) is None:
        session.add(TopicRemoval(thread_id=thread_id, suggestion_id=suggestion.id, removed_by_id=user.id))
    suggestion.thread_count = max(0, suggestion.thread_count - 1)
    suggestion.updated_at = utcnow()
    session.add(suggestion)
    session.add(_event(suggestion, "removed", user))
    await session.flush()
    return True


async def reopen(session: AsyncSession, suggestion: TopicSuggestion, *, user: User) -> bool:
    require_staff(user)
    if suggestion.state == SuggestionState.open.value:
        return False
    if suggestion.state not in (SuggestionState.dismissed.value, SuggestionState.expired.value):
        raise ValidationError({"state": _("Only dismissed suggestions can be reopened.")})
    suggestion.state = SuggestionState.open.value
    suggestion.updated_at = utcnow()
    session.add(suggestion)
    session.add(_event(suggestion, "reopened", user))
    await session.flush()
    return True


async def mark_covered(
    session: AsyncSession, suggestion: TopicSuggestion, *, user: User, article: Article, link: bool = True
) -> bool:
    """ "Already covered by" a published article; with ``link`` its threads are
    linked to the article too (they count as solved)."""
    require_staff(user)
    if not article.published:
        raise ValidationError({"article": _("Choose a published article.")})
    if suggestion.state == SuggestionState.covered.value and suggestion.article_id == article.id:
        return False
    now = utcnow()
    suggestion.state = SuggestionState.covered.value
    suggestion.article_id = article.id
    suggestion.updated_at = now
    session.add(suggestion)
    linked = 0
    if link:
        ids = (
            await session.scalars(
                select(col(TopicMember.thread_id)).where(col(TopicMember.suggestion_id) == suggestion.id)
            )
        ).all()
        linked = await kb.link_threads(session, article, ids, at=now, by=user)
    session.add(
        _event(
            suggestion,
            "covered",
            user,
            article_id=article.id,
            note=_("%(n)s threads linked", n=linked) if link else None,
        )
    )
    await session.flush()
    return True


async def published_article_or_error(session: AsyncSession, raw: str) -> Article:
    article_id = kb.article_id_from(raw)
    article = await session.get(Article, article_id) if article_id is not None else None
    if article is None or not article.published:
        raise ValidationError({"article": _("Enter the number or address of a published article.")})
    return article


def count_by_state(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(s, counts.get(s, 0)) for s in STATES]
