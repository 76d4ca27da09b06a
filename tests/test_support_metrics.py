"""The dashboard's definitions, pinned on small hand-made data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from forum.models import Role, ThreadKind
from forum.services import metrics
from forum.services.support import BadQuery
from tests.factories import make_category, make_user
from tests.support_helpers import accept_at, ask_at, official_at, reply_at

T0 = datetime(2025, 3, 3, 9, 0)  # a Monday
MARCH = metrics.Period(date(2025, 3, 1), date(2025, 3, 31))
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
async def march(db):  # type: ignore[no-untyped-def]
    """Six questions in March (and some that must not count)."""
    async with db.begin() as s:
        x = await make_category(s, slug="billing")
        y = await make_category(s, slug="sync")
        a = await make_user(s, username="asker_a")
        b = await make_user(s, username="asker_b")
        c1 = await make_user(s, username="helper_one")
        c2 = await make_user(s, username="helper_two")
        st = await make_user(s, username="agent", role=Role.staff)
        st2 = await make_user(s, username="former_agent", role=Role.staff)

        # Q1: the asker's own reply does not count; community answer accepted.
        q1 = await ask_at(s, author=a, category=x, at=T0)
        await reply_at(s, q1, author=a, at=T0 + 10 * timedelta(minutes=1))
        p = await reply_at(s, q1, author=c1, at=T0 + H)
        await reply_at(s, q1, author=st, at=T0 + 3 * H)
        await accept_at(s, p, user=a, at=T0 + 5 * H)
        # Q2: staff answer marked official by staff.
        q2 = await ask_at(s, author=b, category=x, at=T0 + D)
        p = await reply_at(s, q2, author=st, at=T0 + D + 2 * H)
        await official_at(s, p, user=st, at=T0 + D + 4 * H)
        # Q3: only the asker replied: unanswered.
        q3 = await ask_at(s, author=a, category=x, at=T0 + 2 * D)
        await reply_at(s, q3, author=a, at=T0 + 2 * D + H)
        # Q4 (other category): answered, not solved; a staff reply by someone
        # demoted afterwards still counts as staff.
        q4 = await ask_at(s, author=b, category=y, at=T0 + 3 * D)
        await reply_at(s, q4, author=c2, at=T0 + 3 * D + H / 2)
        await reply_at(s, q4, author=st2, at=T0 + 3 * D + 5 * H)
        st2.role = Role.member.value
        # Q5: staff marks a community answer official: a community solution.
        q5 = await ask_at(s, author=a, category=x, at=T0 + 4 * D)
        p = await reply_at(s, q5, author=c1, at=T0 + 4 * D + 6 * H)
        await reply_at(s, q5, author=st, at=T0 + 4 * D + 8 * H)
        await official_at(s, p, user=st, at=T0 + 4 * D + 9 * H)
        # Q6: official staff answer first, then the asker accepts a community
        # answer: solved at the first of the two; the accepted answer is the solution.
        q6 = await ask_at(s, author=b, category=x, at=T0 + 5 * D)
        staff_post = await reply_at(s, q6, author=st, at=T0 + 5 * D + H)
        community_post = await reply_at(s, q6, author=c2, at=T0 + 5 * D + 2 * H)
        await official_at(s, staff_post, user=st, at=T0 + 5 * D + 3 * H)
        await accept_at(s, community_post, user=b, at=T0 + 5 * D + 10 * H)

        # Not in the cohort: a discussion, a hidden and a deleted question,
        # one asked in February (solved in March) and one asked in April.
        await ask_at(s, author=a, category=x, at=T0, kind=ThreadKind.discussion)
        hidden = await ask_at(s, author=a, category=x, at=T0)
        hidden.hidden_at = T0
        deleted = await ask_at(s, author=a, category=x, at=T0)
        await reply_at(s, deleted, author=c1, at=T0 + H)
        deleted.deleted_at = T0 + 2 * H
        february = await ask_at(s, author=a, category=x, at=datetime(2025, 2, 20, 8, 0))
        p = await reply_at(s, february, author=c1, at=datetime(2025, 2, 21, 8, 0))
        await accept_at(s, p, user=a, at=datetime(2025, 3, 5, 8, 0))
        await ask_at(s, author=a, category=x, at=datetime(2025, 4, 1, 0, 0))
    return {"billing": x, "sync": y}


async def _summary(db, category=None):  # type: ignore[no-untyped-def]
    async with db() as s:
        return await metrics.summary(s, MARCH, category)


async def test_questions_asked_counts_questions_in_the_period_only(db, march):
    summary = await _summary(db)
    # Discussions, hidden and deleted threads, and questions outside the period are left out.
    assert summary.asked == 6


async def test_answered_means_a_reply_by_someone_other_than_the_asker(db, march):
    summary = await _summary(db)
    assert summary.answered == 5  # Q3 has only the asker's own reply
    assert summary.answered_share == pytest.approx(5 / 6)


async def test_solved_means_an_accepted_or_official_answer(db, march):
    summary = await _summary(db)
    assert summary.solved == 4
    assert summary.solved_share == pytest.approx(4 / 6)


async def test_solutions_count_for_staff_only_when_the_solution_was_posted_by_staff(db, march):
    summary = await _summary(db)
    # Q2 (staff answer, official) is staff; Q1 (accepted), Q5 (community answer
    # marked official) and Q6 (accepted community answer wins over an official
    # staff answer) are community.
    assert (summary.solved_by_staff, summary.solved_by_community) == (1, 3)
    assert summary.community_share == pytest.approx(0.75)
    assert summary.staff_share == pytest.approx(0.25)


async def test_time_to_first_response_ignores_the_askers_own_replies(db, march):
    fr = (await _summary(db)).first_response
    # Q1 1h (not the asker's 10 min), Q2 2h, Q4 30 min, Q5 6h, Q6 1h.
    assert fr.count == 5
    assert fr.median == pytest.approx(3600, abs=1)
    assert fr.p90 == pytest.approx(6 * 3600, abs=1)


async def test_time_to_first_staff_response_uses_the_role_at_posting_time(db, march):
    fsr = (await _summary(db)).first_staff_response
    # Q1 3h, Q2 2h, Q4 5h (by a since-demoted staff member), Q5 8h, Q6 1h.
    assert fsr.count == 5
    assert fsr.median == pytest.approx(3 * 3600, abs=1)
    assert fsr.p90 == pytest.approx(8 * 3600, abs=1)


async def test_time_to_solution_uses_the_first_solution_and_averages_the_middle_pair(db, march):
    sol = (await _summary(db)).solution
    # Q1 5h, Q2 4h, Q5 9h, Q6 3h (official at 3h, before the acceptance at 10h).
    assert sol.count == 4
    assert sol.median == pytest.approx(4.5 * 3600, abs=1)
    assert sol.p90 == pytest.approx(9 * 3600, abs=1)


async def test_the_category_filter_limits_every_figure(db, march):
    summary = await _summary(db, march["sync"])
    assert (summary.asked, summary.answered, summary.solved) == (1, 1, 0)
    assert summary.solved_share == 0
    assert summary.staff_share is None
    assert summary.solution.median is None


async def test_top_community_answerers_rank_by_solutions_then_answers(db, march):
    async with db() as s:
        answerers = await metrics.top_answerers(s, MARCH, None)
    assert [(a.user.username, a.solutions, a.answers) for a in answerers] == [
        ("helper_one", 2, 2),
        ("helper_two", 1, 2),
    ]


async def test_backlog_counts_open_questions_at_the_end_of_each_week(db, march):
    async with db() as s:
        weeks = await metrics.backlog(s, MARCH, None)
    assert [w.start for w in weeks] == [date(2025, 3, d) for d in (1, 8, 15, 22, 29)]
    assert weeks[-1].end == date(2025, 3, 31)
    # February's question was open on March 1 and solved on March 5.
    assert [(w.asked, w.solved, w.open_at_end) for w in weeks] == [
        (5, 4, 2),
        (1, 1, 2),
        (0, 0, 2),
        (0, 0, 2),
        (0, 0, 2),
    ]


async def test_self_answers_are_community_solutions_but_not_top_answerers(db):
    async with db.begin() as s:
        cat = await make_category(s)
        asker = await make_user(s)
        q = await ask_at(s, author=asker, category=cat, at=T0)
        p = await reply_at(s, q, author=asker, at=T0 + H)
        await accept_at(s, p, user=asker, at=T0 + 2 * H)
    async with db() as s:
        summary = await metrics.summary(s, MARCH, None)
        answerers = await metrics.top_answerers(s, MARCH, None)
    assert (summary.answered, summary.solved, summary.solved_by_community) == (0, 1, 1)
    assert answerers == []


async def test_an_empty_period_has_zero_counts_and_no_times(db):
    async with db() as s:
        board = await metrics.dashboard(s, MARCH, None)
    assert board.summary.asked == 0
    assert board.summary.answered_share is None
    assert board.summary.first_response.median is None
    assert board.answerers == []
    assert [w.open_at_end for w in board.backlog] == [0] * 5


def test_periods_default_to_the_last_30_days():
    period = metrics.parse_period(None, None, today=date(2025, 3, 31))
    assert (period.start, period.end) == (date(2025, 3, 2), date(2025, 3, 31))


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-13-01", "2025-12-31"), ("yesterday", None), ("20250101", None), ("2025-03-10", "2025-03-01")],
)
def test_bad_periods_are_refused_with_a_clear_message(start, end):
    with pytest.raises(BadQuery) as caught:
        metrics.parse_period(start, end, today=date(2025, 3, 31))
    assert caught.value.status_code == 400
    assert "YYYY-MM-DD" in caught.value.message or "comes after" in caught.value.message


def test_periods_longer_than_two_years_are_refused():
    with pytest.raises(BadQuery):
        metrics.parse_period("2020-01-01", "2025-01-01", today=date(2025, 3, 31))


async def test_questions_solved_without_an_answer_post_count_as_solved_in_neither_share(db):
    # Linking a knowledge-base article sets solved_at without an accepted or official answer.
    async with db.begin() as s:
        cat = await make_category(s)
        asker = await make_user(s)
        q = await ask_at(s, author=asker, category=cat, at=T0)
        q.solved_at = T0 + 2 * H
    summary = await _summary(db)
    assert (summary.solved, summary.solved_by_staff, summary.solved_by_community) == (1, 0, 0)
    assert summary.solved_without_answer == 1
    assert summary.staff_share is None
    assert summary.solution.median == pytest.approx(2 * 3600, abs=1)
