"""Support queues: membership, filters, counts, order, SLA clocks and pages."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from forum.clock import utcnow
from forum.models import Role, SlaTarget, ThreadKind
from forum.services import assignments, support
from forum.text import language_of
from tests.factories import make_category, make_thread, make_user
from tests.support_helpers import QueryCounter, accept_at, ask_at, reply_at

H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
async def board(db, staff):  # type: ignore[no-untyped-def]
    """Open questions of every kind, relative to now (default targets:
    first response 24 h, first staff response 48 h, resolution 7 days;
    waiting on asker after 3 days; near from 75 %)."""
    now = utcnow()
    async with db.begin() as s:
        cat = await make_category(s, slug="general")
        other_cat = await make_category(s, slug="mobile")
        asker = await make_user(s, username="asker")
        helper = await make_user(s, username="helper")
        agent = await make_user(s, username="agent", role=Role.staff)
        t = {}
        t["u1"] = await ask_at(s, author=asker, category=cat, at=now - 2 * H, title="Cannot log in today")
        t["u2"] = await ask_at(
            s,
            author=asker,
            category=other_cat,
            at=now - 20 * H,
            title="앱이 자꾸 튕겨요",
            body="아이폰에서 앱을 열면 바로 꺼져요. 어떻게 해야 하나요?",
        )
        t["u3"] = await ask_at(s, author=asker, category=cat, at=now - 30 * H, title="Sync stopped working")
        t["ar"] = await ask_at(s, author=asker, category=cat, at=now - 3 * H, title="Only the asker replied")
        await reply_at(s, t["ar"], author=asker, at=now - 2 * H)
        t["r1"] = await ask_at(s, author=asker, category=cat, at=now - 5 * D, title="Community answered long ago")
        await reply_at(s, t["r1"], author=helper, at=now - 5 * D + H)
        t["r2"] = await ask_at(s, author=asker, category=cat, at=now - 26 * H, title="Staff answered yesterday")
        await reply_at(s, t["r2"], author=agent, at=now - 25 * H)
        solved = await ask_at(s, author=asker, category=cat, at=now - 6 * D, title="Solved already")
        post = await reply_at(s, solved, author=helper, at=now - 6 * D + H)
        await accept_at(s, post, user=asker, at=now - 6 * D + 2 * H)
        hidden = await ask_at(s, author=asker, category=cat, at=now - 40 * H, title="Hidden question")
        hidden.hidden_at = now
        deleted = await ask_at(s, author=asker, category=cat, at=now - 40 * H, title="Deleted question")
        deleted.deleted_at = now
        duplicate = await ask_at(s, author=asker, category=cat, at=now - 40 * H, title="Duplicate question")
        duplicate.duplicate_of_id = t["u3"].id
        await ask_at(s, author=asker, category=cat, at=now - 40 * H, title="A discussion", kind=ThreadKind.discussion)
        await assignments.assign(s, t["r1"], actor=staff, assignee=staff)
        await assignments.assign(s, t["u1"], actor=staff, assignee=agent)
    return {"now": now, "threads": t, "staff": staff, "agent": agent, "cat": cat, "other_cat": other_cat}


async def _queue(db, name, viewer, params=None, **kw):  # type: ignore[no-untyped-def]
    async with db() as s:
        filters = await support.parse_filters(s, params or {})
        return await support.load_queue(s, name, viewer=viewer, filters=filters, **kw)


def _titles(queue):  # type: ignore[no-untyped-def]
    return [row.thread.title for row in queue.page.items]


async def test_queues_hold_the_right_open_questions_oldest_first(db, board):
    staff = board["staff"]
    expected = {
        "unanswered": ["Sync stopped working", "앱이 자꾸 튕겨요", "Only the asker replied", "Cannot log in today"],
        "no-staff-reply": [
            "Community answered long ago",
            "Sync stopped working",
            "앱이 자꾸 튕겨요",
            "Only the asker replied",
            "Cannot log in today",
        ],
        "unsolved": [
            "Community answered long ago",
            "Sync stopped working",
            "Staff answered yesterday",
            "앱이 자꾸 튕겨요",
            "Only the asker replied",
            "Cannot log in today",
        ],
        "waiting-on-asker": ["Community answered long ago"],
        "assigned-to-me": ["Community answered long ago"],
        "unassigned": [
            "Sync stopped working",
            "Staff answered yesterday",
            "앱이 자꾸 튕겨요",
            "Only the asker replied",
        ],
        # u3: no response after 24 h; r1: no staff response after 48 h.
        "breached": ["Community answered long ago", "Sync stopped working"],
    }
    for name, titles in expected.items():
        queue = await _queue(db, name, staff)
        assert _titles(queue) == titles, name
        assert queue.counts == {n: len(t) for n, t in expected.items()}


async def test_newest_first_on_request(db, board):
    queue = await _queue(db, "unanswered", board["staff"], {"order": "newest"})
    assert _titles(queue)[0] == "Cannot log in today"


async def test_filters_by_category_language_age_and_assignee(db, board):
    staff = board["staff"]
    assert _titles(await _queue(db, "unsolved", staff, {"category": "mobile"})) == ["앱이 자꾸 튕겨요"]
    assert _titles(await _queue(db, "unsolved", staff, {"language": "ko"})) == ["앱이 자꾸 튕겨요"]
    assert "앱이 자꾸 튕겨요" not in _titles(await _queue(db, "unsolved", staff, {"language": "en"}))
    assert _titles(await _queue(db, "unsolved", staff, {"age": "1d"})) == [
        "Community answered long ago",
        "Sync stopped working",
        "Staff answered yesterday",
    ]
    assert _titles(await _queue(db, "unsolved", staff, {"age": "lt1d"})) == [
        "앱이 자꾸 튕겨요",
        "Only the asker replied",
        "Cannot log in today",
    ]
    assert _titles(await _queue(db, "unsolved", staff, {"assignee": "agent"})) == ["Cannot log in today"]
    assert len(_titles(await _queue(db, "unsolved", staff, {"assignee": "none"}))) == 4
    counts = (await _queue(db, "unsolved", staff, {"language": "ko"})).counts
    assert counts["unanswered"] == 1 and counts["breached"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"category": "nope"}, "Unknown category"),
        ({"language": "fr"}, "en or ko"),
        ({"age": "old"}, "Age must look like"),
        ({"assignee": "asker"}, "Unknown staff member"),
        ({"order": "random"}, "oldest or newest"),
    ],
)
async def test_bad_filters_are_a_clear_400(db, board, params, message):
    async with db() as s:
        with pytest.raises(support.BadQuery) as caught:
            await support.parse_filters(s, params)
    assert caught.value.status_code == 400
    assert message in caught.value.message


async def test_clocks_mark_threads_near_and_past_their_targets(db, board):
    rows = {row.thread.title: row for row in (await _queue(db, "unsolved", board["staff"])).page.items}
    states = {title: {c.name: c.state for c in row.clocks} for title, row in rows.items()}
    assert states["Cannot log in today"]["first_response"] == "running"
    assert states["앱이 자꾸 튕겨요"]["first_response"] == "near"  # 20 h of 24 h
    assert states["Sync stopped working"]["first_response"] == "breached"
    assert states["Staff answered yesterday"] == {
        "first_response": "met",
        "first_staff_response": "met",
        "resolution": "running",
    }
    # The asker's own reply does not stop the clock.
    assert rows["Only the asker replied"].clocks[0].stopped_at is None
    assert rows["Sync stopped working"].state == "breached"


async def test_category_targets_replace_the_defaults(db, board, admin):
    async with db.begin() as s:
        await support.save_category_targets(
            s, board["cat"], actor=admin, values={"first_response": "1", "first_staff_response": "", "resolution": ""}
        )
    queue = await _queue(db, "breached", board["staff"])
    # In "general", first response is due after 1 hour: u1 (2 h, unanswered) is
    # late now; staff response and resolution have no target there, so r1 no longer is.
    assert _titles(queue) == ["Sync stopped working", "Only the asker replied", "Cannot log in today"]
    # "mobile" keeps the defaults: 20 h of 24 h is near, not breached.
    rows = (await _queue(db, "unsolved", board["staff"], {"category": "mobile"})).page.items
    assert rows[0].clocks[0].state == "near"


async def test_waiting_on_asker_follows_the_setting(db, board, admin):
    async with db.begin() as s:
        await support.save_default_policy(
            s,
            actor=admin,
            values={
                "first_response": "24",
                "first_staff_response": "48",
                "resolution": "168",
                "waiting_on_asker_days": "1",
                "near_percent": "75",
            },
        )
    queue = await _queue(db, "waiting-on-asker", board["staff"])
    assert _titles(queue) == ["Community answered long ago", "Staff answered yesterday"]


async def test_only_admins_change_targets_and_bad_values_are_refused(db, board, staff, admin):
    values = {"first_response": "2", "first_staff_response": "", "resolution": "", "waiting_on_asker_days": "3"}
    async with db.begin() as s:
        with pytest.raises(support.NotAllowed):
            await support.save_default_policy(s, actor=staff, values={**values, "near_percent": "75"})
        with pytest.raises(support.ValidationError) as caught:
            await support.save_default_policy(
                s, actor=admin, values={**values, "first_response": "-3", "near_percent": "150"}
            )
    assert set(caught.value.errors) == {"first_response", "near_percent"}
    async with db() as s:
        policy = await support.load_policy(s)
    assert policy.default.first_response == 24 * 60


async def test_resetting_a_category_goes_back_to_the_defaults(db, board, admin):
    async with db.begin() as s:
        await support.save_category_targets(s, board["cat"], actor=admin, values={"first_response": "0.5"})
    async with db.begin() as s:
        assert await support.reset_category_targets(s, board["cat"], actor=admin) is True
        assert await support.reset_category_targets(s, board["cat"], actor=admin) is False
    async with db() as s:
        assert (await s.scalars(select(SlaTarget))).all() == []


async def test_members_cannot_load_queues(db, board, member):
    with pytest.raises(support.NotAllowed):
        await _queue(db, "unanswered", member)


async def test_pagination_keeps_counts_and_order(db, staff):
    now = utcnow()
    async with db.begin() as s:
        cat = await make_category(s)
        asker = await make_user(s)
        for i in range(7):
            await ask_at(s, author=asker, category=cat, at=now - timedelta(hours=10 - i), title=f"Question {i}")
    first = await _queue(db, "unanswered", staff, page=1, size=3)
    third = await _queue(db, "unanswered", staff, page=3, size=3)
    assert first.page.total == 7 and first.page.pages == 3
    assert _titles(first) == ["Question 0", "Question 1", "Question 2"]
    assert _titles(third) == ["Question 6"]


def test_language_detection_by_share_of_hangul():
    assert language_of("환불 받을 수 있나요?") == "ko"
    assert language_of("iPhone 앱에서 sync 오류가 나요") == "ko"
    assert language_of("How do I get a refund?") == "en"
    assert language_of("Error 0x80070005 in Cloudnote 3.2 (환불)") == "en"
    assert language_of("1234 !!!") == "en"


async def test_asking_records_the_language(db):
    async with db.begin() as s:
        thread = await make_thread(s, title="동기화가 안 돼요", body="노트북과 휴대폰 사이에 동기화가 멈췄어요.")
    assert thread.language == "ko"


# ---------------------------------------------------------------- pages


async def test_queue_page_shows_tabs_counts_clocks_and_filters(client, board):
    await client.login_as(board["staff"])
    r = await client.get("/support/queues/unanswered")
    assert r.status_code == 200
    assert "Sync stopped working" in r.text
    assert "Community answered long ago" not in r.text
    assert 'aria-current="page">Unanswered <span class="tab-count">4</span>' in r.text
    assert 'Breached <span class="tab-count">2</span>' in r.text
    assert "Past target" in r.text and "Near target" in r.text
    assert 'href="/support/queues/unanswered.csv"' in r.text


async def test_queue_page_in_korean(client, board):
    await client.login_as(board["staff"])
    r = await client.get("/support/queues/breached", headers={"accept-language": "ko"})
    assert r.status_code == 200
    assert "지원 대기열" in r.text
    assert "목표 초과" in r.text


async def test_queue_page_filters_keep_in_links(client, board):
    await client.login_as(board["staff"])
    r = await client.get("/support/queues/unsolved?language=ko&category=mobile")
    assert r.status_code == 200
    assert "앱이 자꾸 튕겨요" in r.text
    assert "Cannot log in today" not in r.text
    assert "/support/queues/unanswered?category=mobile&amp;language=ko" in r.text


async def test_queue_page_refuses_bad_filters_and_unknown_queues(client, board):
    await client.login_as(board["staff"])
    r = await client.get("/support/queues/unsolved?age=forever")
    assert r.status_code == 400
    assert "Age must look like" in r.text
    assert (await client.get("/support/queues/everything")).status_code == 404


async def test_queue_pages_are_for_staff_only(client, member, board):
    r = await client.get("/support/queues/unanswered")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    await client.login_as(member)
    assert (await client.get("/support/queues/unanswered")).status_code == 403
    assert (await client.get("/support/queues/unanswered.csv")).status_code == 403
    assert (await client.get("/support")).status_code == 403


async def test_staff_see_a_support_link_and_members_do_not(client, board, member):
    await client.login_as(member)
    assert 'href="/support"' not in (await client.get("/")).text
    await client.login_as(board["staff"])
    assert 'href="/support"' in (await client.get("/")).text


async def test_assign_to_me_from_the_queue_goes_back_to_the_queue(client, db, board):
    staff = board["staff"]
    await client.login_as(staff)
    thread = board["threads"]["u3"]
    r = await client.submit(
        f"/t/{thread.id}/assign", {"assignee": "me", "next": "/support/queues/unanswered?language=en"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/support/queues/unanswered?language=en"
    queue = await _queue(db, "assigned-to-me", staff)
    assert "Sync stopped working" in _titles(queue)


async def _page_queries(client, app, path):  # type: ignore[no-untyped-def]
    await client.get(path)  # the steady state: the worker's copy of the banners is filled
    with QueryCounter(app) as counter:
        r = await client.get(path)
    assert r.status_code == 200
    return len(counter)


async def test_queue_page_queries_do_not_grow_with_threads(client, app, db, staff):
    now = utcnow()
    async with db.begin() as s:
        cat = await make_category(s, slug="few")
        asker = await make_user(s)
        helper = await make_user(s)
        for i in range(3):
            await ask_at(s, author=asker, category=cat, at=now - timedelta(hours=i + 1))
    await client.login_as(staff)
    few = await _page_queries(client, app, "/support/queues/unsolved")
    async with db.begin() as s:
        cat = await make_category(s, slug="many")
        agents = [await make_user(s, role=Role.staff) for _ in range(3)]
        for i in range(30):
            thread = await ask_at(s, author=asker, category=cat, at=now - timedelta(hours=i + 1))
            if i % 2:
                await reply_at(s, thread, author=helper, at=now - timedelta(minutes=30))
            if i % 3:
                await assignments.assign(s, thread, actor=staff, assignee=agents[i % 3])
    many = await _page_queries(client, app, "/support/queues/unsolved")
    assert few == many
    # 8, the header's unread-notification count, the page's tags, the open spike alerts (the header's
    # "Spiking now" line) and the active banners
    assert many <= 12
    filtered_few = await _page_queries(client, app, "/support/queues/unsolved?category=few")
    filtered_many = await _page_queries(client, app, "/support/queues/unsolved?category=many&page=2")
    assert filtered_few == filtered_many


async def test_queue_csv_lists_every_row_with_its_clocks(client, board):
    await client.login_as(board["staff"])
    r = await client.get("/support/queues/breached.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("thread_id,title,path,category,language,asked_at")
    assert len(lines) == 3
    assert "Sync stopped working" in lines[2] and "breached" in lines[2]


async def test_discussions_and_fresh_solved_threads_stay_out(db, staff):
    now = utcnow()
    async with db.begin() as s:
        cat = await make_category(s)
        asker = await make_user(s)
        await make_thread(s, category=cat, author=asker, solved=True)
        await make_thread(s, category=cat, author=asker, kind=ThreadKind.discussion)
    queue = await _queue(db, "unsolved", staff, now=now + timedelta(days=30))
    assert queue.page.total == 0


def test_clock_states_at_their_edges():
    start = datetime(2025, 1, 1)

    def state(minutes_elapsed: int, stopped: bool = False) -> str:
        at = start + timedelta(minutes=minutes_elapsed)
        clock = support.Clock(
            name="first_response",
            target_minutes=100,
            started_at=start,
            stopped_at=at if stopped else None,
            now=at,
            near_percent=75,
        )
        return clock.state

    assert [state(74), state(75), state(100), state(101)] == ["running", "near", "near", "breached"]
    assert [state(100, stopped=True), state(101, stopped=True)] == ["met", "missed"]


async def test_the_breach_rule_in_python_and_in_sql_agree_on_every_boundary(db):
    """The clocks (Python, for display) and the breached queue (SQL) state one rule:
    checked one second before, at and after each target, running and stopped."""
    from sqlalchemy import update

    from forum.models import Thread

    now = utcnow().replace(microsecond=0)
    policy = support.Policy()
    cases = []
    async with db.begin() as s:
        cat = await make_category(s, slug="edges")
        for name in support.CLOCKS:
            minutes = policy.default.minutes(name)
            assert minutes is not None
            for offset in (-1, 0, 1):
                for stopped in (False, True):
                    created = now - timedelta(minutes=minutes) + timedelta(seconds=offset)
                    thread = await make_thread(s, category=cat, title=f"{name} {offset} {stopped}", created_at=created)
                    values = {support.CLOCK_STOPS[other]: now for other in support.CLOCKS if other != name}
                    if stopped:
                        values[support.CLOCK_STOPS[name]] = now
                    await s.execute(update(Thread).where(Thread.id == thread.id).values(**values))
                    cases.append(thread.id)
    async with db() as s:
        threads = list(await s.scalars(select(Thread).where(Thread.id.in_(cases))))  # type: ignore[union-attr]
        in_sql = set(
            await s.scalars(
                select(Thread.id).where(Thread.id.in_(cases), support.breached_condition(policy, now))  # type: ignore[union-attr]
            )
        )
    in_python = {
        t.id for t in threads if support.worst_state(support.clocks_for(t, policy, now)) == support.ClockState.breached
    }
    assert in_python == in_sql
    assert len(in_python) == len(support.CLOCKS)  # one second past each target, running
