"""Spike alerts: the check that records them (run by ``forum.jobs.SpikesLoop``
and ``forum topics spikes``), what staff pages read, and the drafts a lead
starts from one (a banner, a known-issue thread).

The rule is :mod:`forum.topics.spikes`; this module reads what is stored
(threads, topic members, related-questions lists) in a fixed number of
queries, and flushes, never commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.db import id_col
from forum.errors import NotFound
from forum.i18n import gettext as _
from forum.i18n import using_locale
from forum.models import (
    Category,
    RelatedItem,
    SuggestionState,
    Thread,
    TopicMember,
    TopicSpike,
    TopicSuggestion,
)
from forum.services import banners
from forum.services import notifications as notification_service
from forum.text import has_hangul
from forum.topics.spikes import SpikeRule, SpikeVerdict, TopicActivity, attribute_new_threads, judge

#: a window busier than this is cut (the newest first): an alert needs a handful
RECENT_LIMIT = 5000
THREADS_KEPT = 50
#: closed alerts listed on the spikes page
RECENT_DAYS = 7
SHOWN = 50


def rule_from(settings: Settings) -> SpikeRule:
    return SpikeRule(min_threads=settings.spike_min_threads, factor=float(settings.spike_factor))


@dataclass
class SpikeReport:
    checked: int = 0
    opened: list[int] = field(default_factory=list)  # alert ids
    updated: int = 0
    closed: int = 0
    notified: int = 0
    verdicts: list[SpikeVerdict] = field(default_factory=list)


async def activity(session: AsyncSession, *, rule: SpikeRule, now: datetime) -> list[TopicActivity]:
    """Every topic with a thread in the window: its recent threads (members, and
    ungrouped new threads through their related lists) and its baseline count.
    Three queries whatever the number of topics."""
    start = now - rule.window
    recent = (
        await session.execute(
            select(id_col(Thread.id), col(TopicMember.suggestion_id))
            .outerjoin(TopicMember, col(TopicMember.thread_id) == col(Thread.id))
            .where(
                col(Thread.created_at) >= start,
                col(Thread.created_at) <= now,
                col(Thread.hidden_at).is_(None),
                col(Thread.deleted_at).is_(None),
            )
            .order_by(col(Thread.created_at).desc(), col(Thread.id).desc())
            .limit(RECENT_LIMIT)
        )
    ).all()
    by_topic: dict[int, list[int]] = {}
    ungrouped = [tid for tid, sid in recent if sid is None]
    for tid, sid in recent:
        if sid is not None:
            by_topic.setdefault(sid, []).append(tid)
    if ungrouped:
        related: dict[int, list[tuple[int, float]]] = {}
        topic_of: dict[int, int] = {}
        for start_at in range(0, len(ungrouped), 900):
            rows = await session.execute(
                select(
                    col(RelatedItem.thread_id),
                    col(RelatedItem.target_thread_id),
                    col(RelatedItem.score),
                    col(TopicMember.suggestion_id),
                )
                .outerjoin(TopicMember, col(TopicMember.thread_id) == col(RelatedItem.target_thread_id))
                .where(
                    col(RelatedItem.thread_id).in_(ungrouped[start_at : start_at + 900]),
                    col(RelatedItem.position) < rule.related_top,
                    col(RelatedItem.target_thread_id).is_not(None),
                )
                .order_by(col(RelatedItem.thread_id), col(RelatedItem.position))
            )
            for tid, target, score, sid in rows:
                if target is None:
                    continue
                related.setdefault(tid, []).append((target, score))
                if sid is not None:
                    topic_of[target] = sid
        order = {tid: i for i, tid in enumerate(ungrouped)}
        for tid, sid in sorted(attribute_new_threads(related, topic_of, rule).items(), key=lambda kv: order[kv[0]]):
            by_topic.setdefault(sid, []).append(tid)
    if not by_topic:
        return []
    baseline_start = start - rule.baseline
    counts = dict(
        (
            await session.execute(
                select(col(TopicMember.suggestion_id), func.count())
                .join(Thread, col(Thread.id) == col(TopicMember.thread_id))
                .where(
                    col(TopicMember.suggestion_id).in_(list(by_topic)),
                    col(Thread.created_at) >= baseline_start,
                    col(Thread.created_at) < start,
                    col(Thread.hidden_at).is_(None),
                    col(Thread.deleted_at).is_(None),
                )
                .group_by(col(TopicMember.suggestion_id))
            )
        ).all()
    )
    return [TopicActivity(sid, tuple(ids), int(counts.get(sid, 0))) for sid, ids in sorted(by_topic.items())]


async def check(session: AsyncSession, *, rule: SpikeRule, now: datetime | None = None) -> SpikeReport:
    """Opens an alert for each topic the rule now flags that has none open
    (staff are told once, when it opens), updates the open ones that still
    hold, closes those for which it has not held for a whole window. Safe to run twice: a second run in
    the same state opens nothing and tells no one."""
    now = now or utcnow()
    report = SpikeReport()
    activities = await activity(session, rule=rule, now=now)
    verdicts = {a.suggestion_id: judge(a, rule) for a in activities}
    report.checked = len(verdicts)
    open_alerts = {
        s.suggestion_id: s
        for s in (await session.scalars(select(TopicSpike).where(col(TopicSpike.closed_at).is_(None)))).all()
    }
    spiking = [v for v in verdicts.values() if v.spiking]
    # Expired suggestions are no longer topics: they raise no alert.
    live: set[int] = set()
    if spiking:
        live = set(
            (
                await session.scalars(
                    select(id_col(TopicSuggestion.id)).where(
                        col(TopicSuggestion.id).in_([v.suggestion_id for v in spiking]),
                        col(TopicSuggestion.state) != SuggestionState.expired.value,
                    )
                )
            ).all()
        )
    for verdict in spiking:
        if verdict.suggestion_id not in live:
            continue
        report.verdicts.append(verdict)
        alert = open_alerts.pop(verdict.suggestion_id, None)
        is_new = alert is None
        if alert is None:
            alert = TopicSpike(suggestion_id=verdict.suggestion_id, opened_at=now, checked_at=now)
        else:
            report.updated += 1
        seen = [int(i) for i in json.loads(alert.thread_ids or "[]")]
        alert.thread_ids = json.dumps(list(dict.fromkeys([*verdict.thread_ids, *seen]))[:THREADS_KEPT])
        alert.recent_count = verdict.recent
        alert.peak_count = max(alert.peak_count or 0, verdict.recent)
        alert.expected = verdict.expected
        alert.checked_at = now
        if alert.notified_at is None:
            alert.notified_at = now
            told = await notification_service.notify_staff_of_spike(session, thread_id=verdict.thread_ids[0])
            report.notified += len(told)
        session.add(alert)
        await session.flush()
        if is_new:
            assert alert.id is not None
            report.opened.append(alert.id)
    for alert in open_alerts.values():
        # Not spiking now: the alert closes once the rule has not held for a whole
        # window (so a burst that dips under the bar for a check is one alert, not several).
        alert.recent_count = verdicts[alert.suggestion_id].recent if alert.suggestion_id in verdicts else 0
        if now - alert.checked_at >= rule.window:
            alert.closed_at = now
            report.closed += 1
        session.add(alert)
    await session.flush()
    return report


# ---------------------------------------------------------------- reading


@dataclass
class SpikeRow:
    spike: TopicSpike
    suggestion: TopicSuggestion
    threads: list[Thread]

    @property
    def is_open(self) -> bool:
        return self.spike.closed_at is None


def thread_ids(spike: TopicSpike) -> list[int]:
    try:
        return [int(i) for i in json.loads(spike.thread_ids or "[]")]
    except (ValueError, TypeError):
        return []


async def list_spikes(session: AsyncSession, *, now: datetime | None = None) -> list[SpikeRow]:
    """Open alerts, then those closed in the last week, newest first, with their
    topic and threads (three queries)."""
    now = now or utcnow()
    spikes = (
        await session.scalars(
            select(TopicSpike)
            .where(
                col(TopicSpike.closed_at).is_(None) | (col(TopicSpike.closed_at) >= now - timedelta(days=RECENT_DAYS))
            )
            .order_by(col(TopicSpike.closed_at).is_not(None), col(TopicSpike.opened_at).desc(), col(TopicSpike.id))
            .limit(SHOWN)
        )
    ).all()
    if not spikes:
        return []
    suggestions = {
        s.id: s
        for s in (
            await session.scalars(
                select(TopicSuggestion).where(col(TopicSuggestion.id).in_({s.suggestion_id for s in spikes}))
            )
        ).all()
    }
    wanted = sorted({i for s in spikes for i in thread_ids(s)})
    threads = {
        t.id: t
        for t in (
            await session.scalars(
                select(Thread).where(
                    col(Thread.id).in_(wanted), col(Thread.hidden_at).is_(None), col(Thread.deleted_at).is_(None)
                )
            )
        ).all()
    }
    return [
        SpikeRow(s, suggestions[s.suggestion_id], [threads[i] for i in thread_ids(s) if i in threads])
        for s in spikes
        if s.suggestion_id in suggestions
    ]


async def open_spike_count(session: AsyncSession) -> int:
    """Open alerts (the support pages' header line; one indexed query)."""
    return await session.scalar(select(func.count()).where(col(TopicSpike.closed_at).is_(None))) or 0


async def open_spike_of(session: AsyncSession, suggestion_id: int) -> TopicSpike | None:
    return await session.scalar(
        select(TopicSpike)
        .where(col(TopicSpike.suggestion_id) == suggestion_id, col(TopicSpike.closed_at).is_(None))
        .limit(1)
    )


async def open_spikes_among(session: AsyncSession, suggestion_ids: list[int]) -> dict[int, TopicSpike]:
    """suggestion id -> its open alert, for the suggestions named that have one (a list
    page's rows: one query whatever their number)."""
    if not suggestion_ids:
        return {}
    rows = await session.scalars(
        select(TopicSpike).where(col(TopicSpike.suggestion_id).in_(suggestion_ids), col(TopicSpike.closed_at).is_(None))
    )
    return {spike.suggestion_id: spike for spike in rows.all()}


async def get_spike_or_404(session: AsyncSession, raw: str) -> TopicSpike:
    """``raw`` is a query parameter: anything but a known alert's number is a 404."""
    spike = await session.get(TopicSpike, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if spike is None:
        raise NotFound(_("No such spike alert."))
    return spike


# ---------------------------------------------------------------- drafts


def topic_language(suggestion: TopicSuggestion, threads: list[Thread]) -> str:
    """ "ko" when most of the topic's threads (or its title) are Korean."""
    if threads:
        korean = sum(1 for t in threads if t.language == "ko" or has_hangul(t.title))
        return "ko" if korean * 2 > len(threads) else "en"
    return "ko" if has_hangul(suggestion.title) else "en"


async def _spike_topic(session: AsyncSession, spike: TopicSpike) -> tuple[TopicSuggestion, list[Thread]]:
    suggestion = await session.get(TopicSuggestion, spike.suggestion_id)
    if suggestion is None:
        raise NotFound(_("No such spike alert."))
    ids = thread_ids(spike)
    threads = (
        list(
            (
                await session.scalars(
                    select(Thread).where(
                        col(Thread.id).in_(ids), col(Thread.hidden_at).is_(None), col(Thread.deleted_at).is_(None)
                    )
                )
            ).all()
        )
        if ids
        else []
    )
    return suggestion, threads


async def banner_draft(session: AsyncSession, spike: TopicSpike, *, now: datetime | None = None) -> dict[str, object]:
    """The banner form's values for an alert: a warning naming the problem in
    English and Korean, shown today in the categories of its threads (and the
    topic's own category)."""
    now = now or utcnow()
    suggestion, threads = await _spike_topic(session, spike)
    category_ids = sorted({t.category_id for t in threads} | {c for c in [suggestion.category_id] if c is not None})
    title = suggestion.title
    with using_locale("en"):
        text_en = _(
            "We are aware that many of you are having a problem with “%(title)s”. We are looking into it "
            "and will post an update here.",
            title=title,
        )
    with using_locale("ko"):
        text_ko = _(
            "We are aware that many of you are having a problem with “%(title)s”. We are looking into it "
            "and will post an update here.",
            title=title,
        )
    return {
        "level": "warning",
        "text_en": text_en,
        "text_ko": text_ko,
        "starts_at": banners.format_time(now),
        "ends_at": banners.format_time(now + timedelta(days=1)),
        "categories": [str(i) for i in category_ids],
    }


async def known_issue_draft(session: AsyncSession, spike: TopicSpike) -> dict[str, str]:
    """The ask form's values for a known-issue thread, in the topic's language, in
    the category most of its threads are in: a discussion, pinned as it is posted."""
    suggestion, threads = await _spike_topic(session, spike)
    language = topic_language(suggestion, threads)
    counts: dict[int, int] = {}
    for t in threads:
        counts[t.category_id] = counts.get(t.category_id, 0) + 1
    category_id = max(counts, key=lambda c: (counts[c], -c)) if counts else suggestion.category_id
    slug = (await session.scalar(select(col(Category.slug)).where(col(Category.id) == category_id))) or ""
    links = "\n".join(f"- {t.title}" for t in threads[:5])
    with using_locale(language):
        title = _("Known issue: %(title)s", title=suggestion.title)
        body = _(
            "Many of you have reported this problem in the last hour. We know about it and are working on it.\n\n"
            "What we know so far: (describe the problem and any workaround)\n\n"
            "We will update this thread when it is fixed. Reports so far:\n%(links)s",
            links=links,
        )
    return {"title": title[:150], "body": body, "category": slug, "kind": "discussion", "tags": "", "pin": "1"}
