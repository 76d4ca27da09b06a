"""Spike alerts: the rule's boundaries, the check that opens an alert once and
tells staff once, the leased loop, the staff pages and the one-click drafts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from forum.clock import utcnow
from forum.config import Settings, tuning_from_env
from forum.jobs import SpikesLoop, run_spike_check
from forum.models import Notification, RelatedItem, Role, TopicMember, TopicSpike, TopicSuggestion
from forum.services import recount, spikes
from forum.topics import store
from forum.topics.spikes import SpikeRule, TopicActivity, attribute_new_threads, expected_per_window, judge
from forum.urls import thread_url
from tests.factories import make_category, make_thread, make_user
from tests.kb_helpers import cli

RULE = SpikeRule()

# ---------------------------------------------------------------- the rule (pure)


def test_four_new_threads_with_no_history_spike_and_three_do_not():
    assert judge(TopicActivity(1, (1, 2, 3, 4), 0), RULE).spiking
    assert not judge(TopicActivity(1, (1, 2, 3), 0), RULE).spiking


def test_the_factor_bar_is_inclusive_at_five_times_the_expected_hourly_count():
    hours = 28 * 24
    # 537 threads in four weeks: 0.799/h, 5x = 3.996 <= 4 -> spiking; 538: 5x = 4.003 > 4 -> not
    assert judge(TopicActivity(1, (1, 2, 3, 4), 537), RULE).spiking
    assert not judge(TopicActivity(1, (1, 2, 3, 4), 538), RULE).spiking
    exactly = judge(TopicActivity(1, tuple(range(10)), 2 * hours), RULE)  # 2/h expected, 10 = 5x
    assert exactly.spiking and exactly.expected == pytest.approx(2.0)
    assert not judge(TopicActivity(1, tuple(range(9)), 2 * hours), RULE).spiking


def test_a_thread_counted_twice_counts_once():
    assert judge(TopicActivity(1, (1, 1, 2, 2, 3), 0), RULE).recent == 3


def test_expected_per_window_spreads_the_baseline_over_its_hours():
    assert expected_per_window(28 * 24, RULE) == pytest.approx(1.0)


def test_new_threads_count_for_a_topic_through_a_top_three_related_member_scoring_at_least_half():
    topic_of = {100: 7, 101: 7, 200: 8}
    related = {
        1: [(100, 0.5)],  # the bar itself: counts
        2: [(100, 0.49)],  # under it: no
        3: [(999, 0.9), (998, 0.9), (997, 0.9), (100, 0.9)],  # the member is fourth: no
        4: [(999, 0.9), (200, 0.7), (101, 0.8)],  # the best member among the top 3: topic 8
        5: [],
    }
    assert attribute_new_threads(related, topic_of, RULE) == {1: 7, 4: 8}


def test_the_rule_s_values_are_settings_with_defaults():
    assert (Settings.spike_min_threads, Settings.spike_factor, Settings.spikes_interval) == (4, 5, 300)
    tuned = tuning_from_env({"FORUM_SPIKE_MIN_THREADS": "6", "FORUM_SPIKE_FACTOR": "3"})
    rule = spikes.rule_from(Settings(database_url="sqlite://", secret_key="x" * 40).with_(**tuned))
    assert (rule.min_threads, rule.factor) == (6, 3.0)


# ---------------------------------------------------------------- the check


async def _topic(s, *, title="앱이 계속 튕겨요", recent=4, baseline=0, category=None, at=None):  # type: ignore[no-untyped-def]
    """A suggestion with ``recent`` members created in the last hour and ``baseline``
    members created in the four weeks before."""
    category = category or await make_category(s)
    suggestion = TopicSuggestion(title=title, key_terms=json.dumps(["튕기다"]), category_id=category.id)
    s.add(suggestion)
    await s.flush()
    now = at or utcnow()
    threads = []
    for i in range(recent):
        threads.append(
            await make_thread(s, category=category, title=f"{title} {i}", created_at=now - timedelta(minutes=5 + i))
        )
    for i in range(baseline):
        threads.append(
            await make_thread(
                s, category=category, title=f"{title} old {i}", created_at=now - timedelta(days=1, hours=i)
            )
        )
    for t in threads:
        s.add(TopicMember(thread_id=t.id, suggestion_id=suggestion.id))
    await s.flush()
    return suggestion, threads


async def _count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_a_spike_opens_one_alert_and_tells_every_staff_member_once(db, staff, moderator, admin, member):
    async with db.begin() as s:
        suggestion, _ = await _topic(s)
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE)
    assert len(report.opened) == 1 and report.notified == 3  # staff, moderator, admin; not the member
    async with db.begin() as s:
        again = await spikes.check(s, rule=RULE)
    assert again.opened == [] and again.updated == 1 and again.notified == 0
    assert await _count(db, TopicSpike) == 1
    assert await _count(db, Notification, Notification.kind == "spike") == 3
    assert await _count(db, Notification, Notification.user_id == member.id) == 0
    async with db() as s:
        alert = (await s.scalars(select(TopicSpike))).one()
    assert alert.suggestion_id == suggestion.id and alert.closed_at is None
    assert (alert.recent_count, alert.peak_count, alert.expected) == (4, 4, 0.0)


async def test_an_alert_closes_when_the_spike_is_over_and_a_new_one_opens_next_time(db, staff):
    async with db.begin() as s:
        await _topic(s)
    async with db.begin() as s:
        await spikes.check(s, rule=RULE)
    soon = utcnow() + timedelta(minutes=58)  # under the bar, but not yet for a whole hour: still open
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE, now=soon)
    assert report.closed == 0 and report.opened == [] and report.verdicts == []
    later = utcnow() + timedelta(hours=2)
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE, now=later)
    assert report.closed == 1
    assert await _count(db, TopicSpike, TopicSpike.closed_at.is_(None)) == 0  # type: ignore[union-attr]
    async with db.begin() as s:
        await _topic(s, title="Sync stopped working", at=later)
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE, now=later + timedelta(minutes=1))
    assert len(report.opened) == 1
    assert await _count(db, Notification, Notification.kind == "spike") == 2


async def test_a_busy_topic_growing_at_its_usual_rate_is_not_a_spike(db, staff):
    async with db.begin() as s:
        await _topic(s, recent=4, baseline=600)  # 600 in four weeks: 0.89/h, 5x = 4.46 > 4
        await _topic(s, title="three only", recent=3)
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE)
    assert report.checked == 2 and report.opened == [] and report.notified == 0


async def test_ungrouped_new_threads_count_through_their_stored_related_lists(db, staff):
    async with db.begin() as s:
        _suggestion, members = await _topic(s, recent=3)
        old = list(members)
        new = [await make_thread(s, title=f"new {i}", created_at=utcnow() - timedelta(minutes=1)) for i in range(2)]
        s.add(RelatedItem(thread_id=new[0].id, position=2, target_thread_id=old[0].id, score=0.5))
        s.add(RelatedItem(thread_id=new[1].id, position=0, target_thread_id=old[1].id, score=0.3))
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE)
    assert [v.recent for v in report.verdicts] == [4]
    assert set(report.verdicts[0].thread_ids) == {m.id for m in members} | {new[0].id}


async def test_hidden_threads_and_expired_topics_raise_no_alert(db, staff):
    async with db.begin() as s:
        _suggestion, threads = await _topic(s)
        threads[0].hidden_at = utcnow()
        other, _ = await _topic(s, title="gone")
        other.state = "expired"
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE)
    assert report.opened == []


async def test_the_loop_is_leased_so_one_process_checks_and_staff_hear_once(db, settings, staff):
    async with db.begin() as s:
        await _topic(s)
    first, second = SpikesLoop(settings), SpikesLoop(settings)
    try:
        engine = second.engine()
        assert store.acquire_lease(engine, "spikes", first.holder, timedelta(minutes=5))
        await second.run_once()  # the lease is the first's: nothing happens
        assert await _count(db, TopicSpike) == 0
        await first.run_once()
        await first.run_once()
    finally:
        await first.stop()
        await second.stop()
    assert await _count(db, TopicSpike) == 1
    assert await _count(db, Notification, Notification.kind == "spike") == 1


async def test_the_runner_checks_for_spikes_after_the_topic_job(settings):
    from forum.jobs import JobRunner

    runner = JobRunner(settings)
    assert runner.topics.after == runner.spikes.wake
    assert runner.spikes.interval == 300


async def test_run_spike_check_and_the_command(db, settings, database_url, staff, tmp_path):
    async with db.begin() as s:
        suggestion, _ = await _topic(s)
    done = cli(database_url, "topics", "spikes", "--json", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["opened"]) == 1 and out["spiking"][0]["suggestion_id"] == suggestion.id
    report = await run_spike_check(settings)
    assert report.opened == [] and report.updated == 1


# ---------------------------------------------------------------- pages


@pytest.fixture
async def spiking(db, staff):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        category = await make_category(s, slug="app", name_en="App", name_ko="앱")
        suggestion, _threads = await _topic(s, category=category)
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE)
    return suggestion, report.opened[0], category


async def test_staff_see_the_spikes_tab_with_the_topic_its_figures_and_threads(client, staff, spiking):
    _suggestion, spike_id, _ = spiking
    await client.login_as(staff)
    r = await client.get("/support/spikes")
    assert r.status_code == 200
    assert "앱이 계속 튕겨요" in r.text and f'id="spike-{spike_id}"' in r.text
    assert "4 new threads in the last hour, against 0 expected." in r.text
    assert "앱이 계속 튕겨요 3" in r.text  # a thread of the spike
    assert f"/admin/banners?spike={spike_id}" in r.text and f"/ask?spike={spike_id}" in r.text


async def test_the_spikes_tab_in_korean(client, db, spiking):
    async with db.begin() as s:
        korean = await make_user(s, role=Role.staff, locale="ko")
    await client.login_as(korean)
    r = await client.get("/support/spikes")
    assert "지금 급증 중" in r.text and "배너 초안 만들기" in r.text


async def test_the_spikes_tab_gives_times_to_the_minute_in_the_reader_s_language(client, db, staff, spiking):
    _, spike_id, _ = spiking
    async with db.begin() as s:
        spike = await s.get(TopicSpike, spike_id)
        assert spike is not None
        spike.opened_at = datetime(2026, 12, 6, 17, 4, 25)
        korean = await make_user(s, role=Role.staff, locale="ko")
    await client.login_as(staff)
    r = await client.get("/support/spikes")
    assert "Since Dec 6, 2026, 5:04\u202fPM UTC" in r.text and "5:04:25" not in r.text
    await client.login_as(korean)
    r = await client.get("/support/spikes")
    assert "2026. 12. 6. 오후 5:04 UTC부터" in r.text and "5:04:25" not in r.text


async def test_members_cannot_see_spikes_or_their_drafts(client, member, spiking):
    _, spike_id, _ = spiking
    assert (await client.get("/support/spikes")).status_code == 303  # to the login page
    await client.login_as(member)
    assert (await client.get("/support/spikes")).status_code == 403
    assert (await client.get(f"/admin/banners?spike={spike_id}")).status_code == 403
    assert (await client.get(f"/ask?spike={spike_id}")).status_code == 403


async def test_the_support_pages_header_says_a_topic_is_spiking_while_one_is_open(client, db, staff, spiking):
    await client.login_as(staff)
    for path in ("/support/queues/unanswered", "/support/metrics"):
        r = await client.get(path)
        assert "Spiking now" in r.text and 'href="/support/spikes"' in r.text
    async with db.begin() as s:
        await spikes.check(s, rule=RULE, now=utcnow() + timedelta(hours=3))
    r = await client.get("/support/queues/unanswered")
    assert "Spiking now" not in r.text


async def test_the_topic_page_says_spiking_now(client, staff, spiking):
    suggestion, spike_id, _ = spiking
    await client.login_as(staff)
    r = await client.get(f"/topics/{suggestion.id}")
    assert r.status_code == 200
    assert "Spiking now" in r.text and f"/admin/banners?spike={spike_id}" in r.text


async def test_the_topics_list_marks_each_spiking_topic(client, db, staff, spiking):
    suggestion, spike_id, _ = spiking
    async with db.begin() as s:
        calm, _threads = await _topic(s, title="Sync stopped working", recent=1, baseline=2)
    await client.login_as(staff)
    r = await client.get("/topics")
    assert r.status_code == 200
    rows = {row.split("</li>")[0] for row in r.text.split('<li class="thread-row">')[1:]}
    [spiking_row] = [row for row in rows if f'href="/topics/{suggestion.id}"' in row]
    [calm_row] = [row for row in rows if f'href="/topics/{calm.id}"' in row]
    assert "Spiking now" in spiking_row and f'href="/support/spikes#spike-{spike_id}"' in spiking_row
    assert "4 new threads in the last hour, against 0 expected." in spiking_row
    assert "Spiking now" not in calm_row
    async with db.begin() as s:  # over: no badge
        await spikes.check(s, rule=RULE, now=utcnow() + timedelta(hours=3))
    assert "Spiking now" not in (await client.get("/topics")).text


async def test_the_topics_list_marks_spiking_topics_in_korean(client, db, spiking):
    async with db.begin() as s:
        korean = await make_user(s, role=Role.staff, locale="ko")
    await client.login_as(korean)
    r = await client.get("/topics")
    assert r.status_code == 200 and "지금 급증 중" in r.text


async def test_the_topics_list_loads_spikes_in_one_query_whatever_their_number(client, db, app, staff, spiking):
    from tests.support_helpers import QueryCounter

    await client.login_as(staff)

    async def queries() -> tuple[int, int]:
        await client.get("/topics")
        with QueryCounter(app) as counter:
            r = await client.get("/topics")
        assert r.status_code == 200
        return len(counter), r.text.count("Spiking now")

    one, badges = await queries()
    assert badges == 1
    async with db.begin() as s:
        for n in range(3):
            await _topic(s, title=f"Export fails {n}")
    async with db.begin() as s:
        assert len((await spikes.check(s, rule=RULE)).opened) == 3
    assert await queries() == (one, 4)


async def test_a_spike_notification_opens_the_spikes_tab(client, db, staff, spiking):
    await client.login_as(staff)
    r = await client.get("/notifications")
    assert "A topic is spiking" in r.text
    async with db() as s:
        note = (await s.scalars(select(Notification).where(Notification.user_id == staff.id))).one()
    r = await client.submit(f"/notifications/{note.id}/open")
    assert r.status_code == 303 and r.headers["location"] == "/support/spikes"


# ---------------------------------------------------------------- drafts


async def test_draft_a_banner_prefills_both_languages_warning_and_the_topic_s_categories(client, staff, spiking):
    _suggestion, spike_id, category = spiking
    await client.login_as(staff)
    r = await client.get(f"/admin/banners?spike={spike_id}")
    assert r.status_code == 200
    assert "We are aware that many of you are having a problem with “앱이 계속 튕겨요”" in r.text
    assert "많은 분들이 “앱이 계속 튕겨요” 문제를 겪고 계신 것을 알고 있어요" in r.text
    assert '<option value="warning" selected>' in r.text
    assert f'name="categories" value="{category.id}" checked' in r.text


async def test_a_drafted_banner_is_saved_only_by_the_admin_s_submit(client, db, staff, spiking):
    from forum.models import Banner

    _, spike_id, _ = spiking
    await client.login_as(staff)
    await client.get(f"/admin/banners?spike={spike_id}")
    assert await _count(db, Banner) == 0


async def test_a_bad_spike_number_is_a_404_never_a_500(client, staff, spiking):
    await client.login_as(staff)
    for bad in ("abc", "999999", "-1", "1" * 30, ""):
        assert (await client.get(f"/admin/banners?spike={bad}")).status_code == 404
        assert (await client.get(f"/ask?spike={bad}")).status_code == 404


async def test_draft_a_known_issue_thread_prefills_the_ask_form_in_the_topic_s_language(client, staff, spiking):
    _, spike_id, category = spiking
    await client.login_as(staff)  # an English-speaking lead, a Korean topic
    r = await client.get(f"/ask?spike={spike_id}")
    assert r.status_code == 200
    assert 'value="[알려진 문제] 앱이 계속 튕겨요"' in r.text
    assert "지난 한 시간 동안 많은 분들이 이 문제를 알려 주셨어요" in r.text
    assert f'<option value="{category.slug}" selected>' in r.text
    assert 'name="kind" value="discussion" checked' in r.text


async def test_an_english_topic_s_known_issue_draft_is_in_english(client, db, staff):
    async with db.begin() as s:
        await _topic(s, title="Sync stopped working")
    async with db.begin() as s:
        report = await spikes.check(s, rule=RULE)
    await client.login_as(staff)
    r = await client.get(f"/ask?spike={report.opened[0]}")
    assert 'value="Known issue: Sync stopped working"' in r.text


async def test_staff_posting_the_known_issue_draft_get_a_pinned_thread_and_an_audit_entry(client, db, staff, spiking):
    from forum.models import Category, Thread
    from moderation.models import AuditEntry

    _, spike_id, category = spiking
    await client.login_as(staff)  # staff, not a moderator: pinning at creation is theirs too
    r = await client.get(f"/ask?spike={spike_id}")
    assert '<input type="checkbox" name="pin" value="1" checked>' in r.text
    async with db() as s:
        draft = await spikes.known_issue_draft(s, await spikes.get_spike_or_404(s, str(spike_id)))
    r = await client.submit("/ask", draft)
    assert r.status_code == 303
    async with db() as s:
        thread = (await s.scalars(select(Thread).where(Thread.author_id == staff.id))).one()
        [entry] = (await s.scalars(select(AuditEntry))).all()
        listed = await s.get(Category, category.id)
    assert thread.title == "[알려진 문제] 앱이 계속 튕겨요" and thread.pinned_at is not None
    assert r.headers["location"] == thread_url(thread)
    assert (entry.action, entry.actor_id, entry.target_type, entry.target_id, entry.subject_id) == (
        "thread.pin",
        staff.id,
        "thread",
        thread.id,
        staff.id,
    )
    assert json.loads(entry.before) == {"pinned_at": None}
    assert json.loads(entry.after) == {"pinned_at": thread.pinned_at.isoformat()}
    assert listed is not None and listed.listed_threads == 4  # the spike's four; a pinned one shows apart
    async with db() as s:
        assert (await recount.recount(s)).fixes == []  # the stored list sizes agree with the rows
    page = await client.get(f"/c/{category.slug}")
    assert page.text.index("[알려진 문제] 앱이 계속 튕겨요") < page.text.index("앱이 계속 튕겨요 0")


async def test_a_member_asking_with_pin_is_refused_and_nothing_is_saved(client, db, member, spiking):
    from forum.models import FormSubmission, Thread
    from moderation.models import AuditEntry

    _, _, category = spiking
    before = await _count(db, Thread)
    await client.login_as(member)
    assert 'name="pin"' not in (await client.get("/ask")).text
    r = await client.submit(
        "/ask",
        {
            "category": category.slug,
            "title": "Pin my question please",
            "body": "I would like everyone to see this first.",
            "pin": "1",
            "form_key": "a" * 32,
        },
    )
    assert r.status_code == 403
    assert "Only staff can pin a thread as they post it." in r.text
    assert await _count(db, Thread) == before
    assert await _count(db, FormSubmission) == 0 and await _count(db, AuditEntry) == 0


def test_a_fresh_demo_shows_its_burst_of_crash_reports_as_a_spike_at_once(tmp_path, capsys):
    """A spike is a topic's burst, and a fresh forum has no topics until the topic job
    has run: ``forum demo`` runs the job runner's first pass itself, so the demo opens
    with its spike alert (staff told), not after the runner's first topic run. The
    burst's reports are the same problem in different words, and at least 5 of them
    must land in the spiking topic: the rule needs 4, so a change in grouping that
    split the burst would take the demo's spike with it."""
    import argparse

    from sqlalchemy import create_engine

    from forum import demo_content
    from forum.cli import cmd_demo
    from forum.models import Thread

    folder = tmp_path / "demo"
    args = argparse.Namespace(folder=str(folder), no_serve=True, host="127.0.0.1", port=0, workers=None)
    cmd_demo(Settings(database_url="sqlite://", secret_key="x" * 40), args)
    engine = create_engine(f"sqlite:///{folder / 'forum.db'}")
    try:
        with engine.connect() as conn:
            [(suggestion_id, title, closed_at, notified_at)] = conn.execute(
                select(TopicSuggestion.id, TopicSuggestion.title, TopicSpike.closed_at, TopicSpike.notified_at).join(
                    TopicSuggestion, TopicSuggestion.id == TopicSpike.suggestion_id
                )
            ).all()
            burst = [spec["title"] for spec in demo_content.SPIKE_BURST]
            burst_in_topic = conn.scalars(
                select(Thread.title)
                .join(TopicMember, TopicMember.thread_id == Thread.id)
                .where(TopicMember.suggestion_id == suggestion_id, Thread.title.in_(burst))
            ).all()
            told = conn.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "spike"))
    finally:
        engine.dispose()
    assert "꺼져요" in title and closed_at is None and notified_at is not None
    assert len(burst_in_topic) >= 5, f"only {sorted(burst_in_topic)} of the burst {burst} are in the spiking topic"
    assert told and told >= 2  # every staff member of the demo
    assert "repeated topics and spikes" in capsys.readouterr().out
