"""Rank: each suggestion's counts, main category and ranking score, from its members."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


def saving_score(threads: int, views: int, unsolved: int) -> float:
    """What an article would save: every thread is a question someone asked and
    someone answered, an unsolved one costs twice (the asker is still stuck),
    and views are readers with the same question (counted on a log scale)."""
    if threads <= 0:
        return 0.0
    return round((threads + unsolved) * (1.0 + math.log10(1.0 + views / threads)), 4)


@dataclass(frozen=True, slots=True)
class MemberStats:
    """What a suggestion's members add up to."""

    suggestion_id: int
    threads: int
    views: int
    unsolved: int
    first_thread_at: datetime | None
    last_thread_at: datetime | None
    #: category id -> threads in it
    categories: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class Rank:
    """A suggestion's stored counts and score (the columns of ``topic_suggestions``)."""

    suggestion_id: int
    thread_count: int
    views: int
    unsolved_count: int
    first_thread_at: datetime | None
    last_thread_at: datetime | None
    category_id: int | None
    score: float

    def values(self) -> tuple[object, ...]:
        return (
            self.thread_count,
            self.views,
            self.unsolved_count,
            self.first_thread_at,
            self.last_thread_at,
            self.category_id,
            self.score,
        )


def rank(stats: Sequence[MemberStats], suggestion_ids: Iterable[int]) -> list[Rank]:
    """Every suggestion's rank: from its members' stats, zero for one without members. The
    main category is the one holding most threads (the lowest id on a tie)."""
    out: list[Rank] = []
    for st in stats:
        category = min(st.categories.items(), key=lambda kv: (-kv[1], kv[0]))[0] if st.categories else None
        out.append(
            Rank(
                st.suggestion_id,
                st.threads,
                st.views,
                st.unsolved,
                st.first_thread_at,
                st.last_thread_at,
                category,
                saving_score(st.threads, st.views, st.unsolved),
            )
        )
    seen = {st.suggestion_id for st in stats}
    out += [Rank(sid, 0, 0, 0, None, None, None, 0.0) for sid in suggestion_ids if sid not in seen]
    return out
