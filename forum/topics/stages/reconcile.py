"""Reconcile: the suggestion state rules, between this run's topics and the stored
suggestions. Pure: it decides, :mod:`.write` applies.

- A topic continues the stored suggestion it shares most threads with (at least
  ``match_share`` of the smaller of the two), so each suggestion keeps its id, state
  and history; other topics become new open suggestions, unless an article covers them.
- An open suggestion no longer found expires (a full run), or when fewer than
  ``min_size`` threads are left in it (an incremental run); an expired one found again
  with enough threads is revived.
- A dismissed suggestion stays dismissed unless it grows markedly (:func:`grew_markedly`).
- An open suggestion that a published article covers becomes covered.
- Hidden and deleted threads leave every suggestion; threads linked to an article or
  older than the window leave open, dismissed and expired ones (a drafted or covered
  suggestion keeps the threads linked to its article). A thread that staff took out of
  a suggestion is never loaded again (see :func:`.load.eligible`), so it stays out.

State changes are steps of a chain, each conditional on the state before it (a staff
action that lands during a run is never overwritten): the first step that finds another
state stops the chain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from forum.models import SuggestionState
from forum.topics.settings import DEFAULT_SETTINGS, ClusterSettings
from forum.topics.stages.group import Found
from forum.topics.stages.load import Stored

OPEN = SuggestionState.open.value
EXPIRED = SuggestionState.expired.value
DISMISSED = SuggestionState.dismissed.value
COVERED = SuggestionState.covered.value
DRAFTED = SuggestionState.drafted.value


def grew_markedly(dismissed_size: int | None, size: int, settings: ClusterSettings = DEFAULT_SETTINGS) -> bool:
    """Whether a dismissed suggestion grew enough to come back: by ``reopen_growth`` of its
    size when dismissed and by at least ``reopen_min_new`` threads."""
    base = dismissed_size or 0
    return size >= base + settings.reopen_min_new and size >= base * (1 + settings.reopen_growth)


@dataclass(frozen=True, slots=True)
class Event:
    """A line of a suggestion's history (``topic_events``)."""

    suggestion_id: int
    kind: str
    size: int
    previous: int | None = None
    article_id: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """A state change, made only if the suggestion is still in ``from_state``; ``event``
    is recorded when it is made, and ``counts`` names the report's counter it adds to."""

    from_state: str
    to_state: str
    event: Event
    article_id: int | None = None
    counts: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What happens to one suggestion: events recorded whatever its state, then a chain of steps."""

    suggestion_id: int
    events: tuple[Event, ...] = ()
    steps: tuple[Step, ...] = ()


def after_change(
    s: Stored,
    state: str,
    size: int,
    previous: int,
    covered_by: int | None,
    *,
    min_size: int,
    expire_small: bool = False,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> Change:
    """The rules every changed suggestion goes through (``state``: its current state,
    ``size`` and ``previous``: its number of threads now and before)."""
    events: list[Event] = []
    if size > previous:
        events.append(Event(s.id, "grew", size, previous))
    elif size < previous:
        events.append(Event(s.id, "shrank", size, previous))
    steps: list[Step] = []
    if state == EXPIRED and size >= min_size:
        steps.append(Step(state, OPEN, Event(s.id, "revived", size, previous)))
        state = OPEN
    if state == DISMISSED and grew_markedly(s.dismissed_size, size, settings):
        steps.append(Step(state, OPEN, Event(s.id, "reopened", size, s.dismissed_size), counts="reopened"))
        state = OPEN
    if state == OPEN and covered_by is not None:
        event = Event(s.id, "covered", size, article_id=covered_by)
        steps.append(Step(state, COVERED, event, article_id=covered_by, counts="covered"))
        state = COVERED
    if expire_small and state == OPEN and size < min_size:
        steps.append(Step(state, EXPIRED, Event(s.id, "expired", size), counts="expired"))
    return Change(s.id, tuple(events), tuple(steps))


def expire(s: Stored) -> Change:
    """An open suggestion no longer found."""
    return Change(s.id, steps=(Step(s.state, EXPIRED, Event(s.id, "expired", len(s.members)), counts="expired"),))


# ---------------------------------------------------------------- a full run


@dataclass(frozen=True, slots=True)
class FullPlan:
    """A full run's reconciliation: topics that become new suggestions, topics that continue
    a stored one (suggestion id, topic) with what happens to it, and the suggestions that
    expire."""

    new: tuple[Found, ...]
    continued: tuple[tuple[int, Found], ...]
    changes: tuple[Change, ...]
    expiries: tuple[Change, ...]
    #: threads in this run's topics, and hidden or deleted ones: no stored suggestion keeps them
    claimed: frozenset[int]
    stored: tuple[Stored, ...]


def match(stored: Mapping[int, Stored], found: Sequence[Found], settings: ClusterSettings) -> dict[int, int]:
    """Topic index -> the stored suggestion it continues: the largest overlaps first, each
    suggestion continued once."""
    member_of = {t: s.id for s in stored.values() for t in s.members}
    pairs: list[tuple[int, int, int]] = []
    for ti, f in enumerate(found):
        counts = Counter(member_of[t] for t in f.doc_ids if t in member_of)
        for sid, inter in counts.items():
            if inter >= settings.match_share * min(len(f.doc_ids), len(stored[sid].members)):
                pairs.append((-inter, sid, ti))
    pairs.sort()
    out: dict[int, int] = {}
    taken: set[int] = set()
    for _, sid, ti in pairs:
        if ti not in out and sid not in taken:
            out[ti] = sid
            taken.add(sid)
    return out


def reconcile_full(
    stored: Mapping[int, Stored],
    found: Sequence[Found],
    hidden: frozenset[int],
    *,
    min_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> FullPlan:
    matched = match(stored, found, settings)
    new = tuple(f for ti, f in enumerate(found) if ti not in matched and f.covered_by is None)
    continued = tuple((sid, found[ti]) for ti, sid in matched.items())
    changes = tuple(
        after_change(
            stored[sid],
            stored[sid].state,
            len(f.doc_ids),
            len(stored[sid].members) or stored[sid].thread_count,
            f.covered_by,
            min_size=min_size,
            settings=settings,
        )
        for sid, f in continued
    )
    taken = set(matched.values())
    expiries = tuple(expire(s) for s in stored.values() if s.id not in taken and s.state == OPEN)
    claimed = frozenset({t for f in found for t in f.doc_ids} | hidden)
    return FullPlan(new, continued, changes, expiries, claimed, tuple(stored.values()))


def full_members(plan: FullPlan, new_ids: Sequence[int], states: Mapping[int, str]) -> dict[int, int]:
    """Thread -> suggestion after a full run: the topics' threads, then threads a stored
    suggestion had that no topic claimed; those stay with a suggestion not continued, or
    with a continued one that is drafted or covered (threads linked to its article since).
    ``states``: the continued suggestions' states once the changes are applied."""
    members: dict[int, int] = {}
    for f, sid in zip(plan.new, new_ids, strict=True):
        for t in f.doc_ids:
            members[t] = sid
    for sid, f in plan.continued:
        for t in f.doc_ids:
            members[t] = sid
    for s in plan.stored:
        if s.id in states and states[s.id] not in (DRAFTED, COVERED):
            continue
        for t in s.members - plan.claimed:
            members.setdefault(t, s.id)
    return members


# ---------------------------------------------------------------- an incremental run


@dataclass(frozen=True, slots=True)
class Membership:
    """Each stored suggestion's threads before this run and now."""

    before: Mapping[int, frozenset[int]]
    after: Mapping[int, frozenset[int]]

    def changed(self) -> list[int]:
        return [sid for sid, now in self.after.items() if now != self.before[sid]]


def leave(stored: Mapping[int, Stored], gone: Mapping[int, str], edited: set[int]) -> Membership:
    """Who leaves: hidden, deleted, linked or aged-out threads (see the module's rules),
    and edited ones (they are placed again)."""
    member_of = {t: s.id for s in stored.values() for t in s.members}
    after = {s.id: set(s.members) for s in stored.values()}
    for tid, reason in gone.items():
        sid = member_of.get(tid)
        if sid is None:
            continue
        if reason == "hidden" or stored[sid].state in (OPEN, DISMISSED, EXPIRED):
            after[sid].discard(tid)
    for tid in edited:
        sid = member_of.get(tid)
        if sid is not None:
            after[sid].discard(tid)
    return Membership({s.id: s.members for s in stored.values()}, {sid: frozenset(m) for sid, m in after.items()})


def join(membership: Membership, joined: Mapping[int, Sequence[int]]) -> Membership:
    after = {sid: m | frozenset(joined.get(sid, ())) for sid, m in membership.after.items()}
    return Membership(membership.before, after)


@dataclass(frozen=True, slots=True)
class ChangePlan:
    """An incremental run's reconciliation: what happens to each stored suggestion still
    there, the threads that left one and those that joined one (thread, suggestion)."""

    changes: tuple[Change, ...]
    removed: tuple[int, ...]
    added: tuple[tuple[int, int], ...]


def reconcile_changes(
    stored: Mapping[int, Stored],
    membership: Membership,
    states: Mapping[int, str],
    cover_of: Mapping[int, int | None],
    *,
    min_size: int,
    settings: ClusterSettings = DEFAULT_SETTINGS,
) -> ChangePlan:
    """``states``: the suggestions' states as the write transaction reads them (a suggestion
    deleted since is left alone)."""
    changes: list[Change] = []
    removed: list[int] = []
    added: list[tuple[int, int]] = []
    for s in stored.values():
        if s.id not in states:
            continue
        before, after = membership.before[s.id], membership.after[s.id]
        state = states[s.id]
        if after != before or cover_of.get(s.id) is not None:
            change = after_change(
                s,
                state,
                len(after),
                len(before),
                cover_of.get(s.id),
                min_size=min_size,
                expire_small=True,
                settings=settings,
            )
        elif state == OPEN and len(after) < min_size:
            change = Change(s.id, steps=(Step(state, EXPIRED, Event(s.id, "expired", len(after)), counts="expired"),))
        else:
            change = Change(s.id)
        changes.append(change)
        removed.extend(before - after)
        added.extend((t, s.id) for t in sorted(after - before))
    return ChangePlan(tuple(changes), tuple(removed), tuple(added))
