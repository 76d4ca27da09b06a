"""The spike rule: is a topic growing much faster than its own recent rate?

A topic spikes when at least ``min_threads`` new threads arrived in the last
``window`` (an hour) and that is at least ``factor`` times what its own prior
``baseline`` (four weeks before the hour) leads one to expect per hour. New
threads the topic job has not grouped yet count through their stored
related-questions list: a new thread whose list has, among its first
``related_top`` entries, a member of a topic with a score of at least
``related_min_score`` counts for that topic (the best such entry's topic).

Pure: the caller (:mod:`forum.services.spikes`) reads what is stored and hands
it in; nothing here touches the database or an encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class SpikeRule:
    min_threads: int = 4
    factor: float = 5.0
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(days=28)
    related_top: int = 3
    related_min_score: float = 0.5

    @property
    def baseline_windows(self) -> float:
        """How many windows (hours) the baseline spans."""
        return self.baseline / self.window


@dataclass(frozen=True)
class TopicActivity:
    """A topic's threads: those created in the window (members and new threads
    attributed to it), and how many of its members were created in the baseline."""

    suggestion_id: int
    recent_thread_ids: Sequence[int]
    baseline_count: int


@dataclass(frozen=True)
class SpikeVerdict:
    suggestion_id: int
    recent: int
    expected: float  # threads per window the baseline leads one to expect
    spiking: bool
    thread_ids: tuple[int, ...] = field(default=())


def expected_per_window(baseline_count: int, rule: SpikeRule) -> float:
    return baseline_count / rule.baseline_windows if rule.baseline_windows > 0 else 0.0


def judge(activity: TopicActivity, rule: SpikeRule = SpikeRule()) -> SpikeVerdict:
    """The rule for one topic (both bars inclusive)."""
    ids = tuple(dict.fromkeys(activity.recent_thread_ids))
    recent = len(ids)
    expected = expected_per_window(activity.baseline_count, rule)
    spiking = recent >= rule.min_threads and recent >= rule.factor * expected
    return SpikeVerdict(activity.suggestion_id, recent, expected, spiking, ids)


def attribute_new_threads(
    related: Mapping[int, Sequence[tuple[int, float]]],
    topic_of: Mapping[int, int],
    rule: SpikeRule = SpikeRule(),
) -> dict[int, int]:
    """Ungrouped new thread -> the topic it counts for. ``related`` maps each new
    thread to its stored list, best first, as (target thread id, score);
    ``topic_of`` maps grouped threads to their topic. A thread none of whose
    first ``related_top`` entries is a topic member scoring at least
    ``related_min_score`` counts for no topic."""
    out: dict[int, int] = {}
    for thread_id, items in related.items():
        for target, score in list(items)[: rule.related_top]:
            topic = topic_of.get(target)
            if topic is not None and score >= rule.related_min_score:
                out[thread_id] = topic
                break
    return out
