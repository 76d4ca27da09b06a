"""The dashboard page, its charts and CSV exports, and the SLA settings page."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from forum.models import Role, SlaTarget, SupportSettings
from forum.svg_charts import Bar, Part, Range, column_chart, nice_ceiling, range_chart, share_bar
from tests.factories import make_category, make_user
from tests.support_helpers import QueryCounter, accept_at, ask_at, official_at, reply_at

T0 = datetime(2025, 3, 3, 9, 0)
H = timedelta(hours=1)
MARCH = "from=2025-03-01&to=2025-03-31"


@pytest.fixture
async def march(db, staff):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        cat = await make_category(s, slug="billing", name_en="Billing", name_ko="결제")
        asker = await make_user(s, username="asker")
        helper = await make_user(s, username="helper", display_name="도움이")
        q = await ask_at(s, author=asker, category=cat, at=T0, title='=HYPERLINK("http://x") 환불 문의')
        post = await reply_at(s, q, author=helper, at=T0 + H)
        await accept_at(s, post, user=asker, at=T0 + 2 * H)
        q = await ask_at(s, author=asker, category=cat, at=T0 + 24 * H, title="Invoice address")
        post = await reply_at(s, q, author=staff, at=T0 + 27 * H)
        await official_at(s, post, user=staff, at=T0 + 28 * H)
        await ask_at(s, author=asker, category=cat, at=T0 + 48 * H, title="Still waiting")
    return cat


def _csv(response):  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_dashboard_shows_figures_charts_and_definitions(client, staff, march):
    await client.login_as(staff)
    r = await client.get(f"/support/metrics?{MARCH}")
    assert r.status_code == 200
    page = r.text
    assert "Questions asked" in page and ">3<" in page
    assert "67%" in page  # answered and solved: 2 of 3
    assert page.count("<svg") == 3
    assert "Definitions" in page
    assert "replies hidden or deleted by moderators, never count as a response" in page
    assert "도움이" in page  # the top community answerer
    assert "/support/metrics/questions.csv?from=2025-03-01&amp;to=2025-03-31" in page


async def test_dashboard_has_no_external_scripts_or_inline_styles(client, staff, march):
    await client.login_as(staff)
    page = (await client.get(f"/support/metrics?{MARCH}")).text
    assert not re.search(r'src="(https?:)?//', page)
    assert not re.search(r'href="(https?:)?//[^"]*\.(css|js)', page)
    assert " style=" not in page
    assert "<style" not in page


async def test_dashboard_in_korean(client, staff, march):
    await client.login_as(staff)
    r = await client.get(f"/support/metrics?{MARCH}&category=billing", headers={"accept-language": "ko"})
    assert r.status_code == 200
    assert "지원 지표" in r.text
    assert "정의" in r.text
    assert "주별 미해결 질문" in r.text


async def test_dashboard_explains_bad_dates_with_a_400(client, staff):
    await client.login_as(staff)
    r = await client.get("/support/metrics?from=2025-02-30")
    assert r.status_code == 400
    assert "from must be a date written YYYY-MM-DD" in r.text
    assert 'aria-invalid="true"' in r.text
    r = await client.get("/support/metrics?category=nope")
    assert r.status_code == 400


async def test_dashboard_is_for_staff_only(client, member):
    assert (await client.get("/support/metrics")).status_code == 303
    await client.login_as(member)
    assert (await client.get("/support/metrics")).status_code == 403
    assert (await client.get(f"/support/metrics/questions.csv?{MARCH}")).status_code == 403
    assert (await client.get(f"/support/metrics/answerers.csv?{MARCH}")).status_code == 403
    assert (await client.get(f"/support/metrics/backlog.csv?{MARCH}")).status_code == 403


async def test_dashboard_queries_do_not_grow_with_data(client, app, db, staff, march):
    await client.login_as(staff)
    await client.get("/")  # the steady state: the worker's copy of the banners is filled
    with QueryCounter(app) as few:
        assert (await client.get(f"/support/metrics?{MARCH}")).status_code == 200
    async with db.begin() as s:
        asker = await make_user(s)
        helpers = [await make_user(s) for _ in range(5)]
        for i in range(40):
            q = await ask_at(s, author=asker, category=march, at=T0 + i * H)
            post = await reply_at(s, q, author=helpers[i % 5], at=T0 + i * H + H)
            if i % 2:
                await accept_at(s, post, user=asker, at=T0 + i * H + 2 * H)
    await client.get("/")  # the banners' copy again: the seeding may outlast it (5 s)
    with QueryCounter(app) as many:
        assert (await client.get(f"/support/metrics?{MARCH}")).status_code == 200
    # session, unread notifications, categories, three figures, the open spike alerts and the banners
    # of the last 30 days; on PostgreSQL the dashboard's own transaction (BEGIN, SET LOCAL jit,
    # COMMIT: forum.db.read_transaction)
    assert len(few) == len(many) <= 12


async def test_questions_csv_has_one_row_per_question_behind_the_figures(client, staff, march):
    await client.login_as(staff)
    rows = _csv(await client.get(f"/support/metrics/questions.csv?{MARCH}"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["thread_id", "title", "path"]
    assert len(body) == 3
    first = dict(zip(header, body[0], strict=True))
    # A title that a spreadsheet would run as a formula is neutralised; Korean survives.
    assert first["title"].startswith("'=HYPERLINK")
    assert first["title"].endswith("환불 문의")
    assert first["seconds_to_first_response"] == "3600"
    assert first["solution_by"] == "community"
    assert first["solution_author"] == "helper"
    second = dict(zip(header, body[1], strict=True))
    assert (second["solution_by"], second["seconds_to_first_staff_response"]) == ("staff", "10800")
    third = dict(zip(header, body[2], strict=True))
    assert third["first_response_at"] == "" and third["solution_by"] == ""


async def test_answerers_and_backlog_csv(client, staff, march):
    await client.login_as(staff)
    rows = _csv(await client.get(f"/support/metrics/answerers.csv?{MARCH}&category=billing"))
    assert rows == [["username", "display_name", "solutions", "answers"], ["helper", "도움이", "1", "1"]]
    rows = _csv(await client.get(f"/support/metrics/backlog.csv?{MARCH}"))
    assert rows[0] == ["week_start", "week_end", "asked", "solved", "open_at_end"]
    assert rows[1] == ["2025-03-01", "2025-03-07", "3", "2", "1"]
    assert len(rows) == 6


async def test_csv_exports_refuse_bad_dates(client, staff):
    await client.login_as(staff)
    r = await client.get("/support/metrics/questions.csv?to=yesterday")
    assert r.status_code == 400


# ---------------------------------------------------------------- charts


def test_charts_escape_labels_and_use_theme_classes():
    svg = column_chart(
        [Bar("<b>03-01</b>", 3), Bar("03-08", 5)], title="Backlog & more", description="주별 미해결 질문"
    )
    assert "<b>" not in svg and "&lt;b&gt;03-01&lt;/b&gt;" in svg
    assert "Backlog &amp; more" in svg and "주별 미해결 질문" in svg
    assert 'class="chart-bar"' in svg and 'fill="currentColor"' in svg
    assert 'role="img"' in svg and "<title" in svg
    assert "#" not in re.sub(r"&#\d+;", "", svg)  # no hard-coded colours


def test_share_and_range_charts_handle_empty_data():
    empty = share_bar(
        [Part("Community", 0, "chart-community"), Part("Staff", 0, "chart-staff")], title="t", description="d"
    )
    assert "chart-empty" in empty
    ranges = range_chart(
        [Range("First response", None, None), Range("Solution", 60.0, 600.0)],
        title="t",
        description="d",
        low_label="Median",
        high_label="90th percentile",
        value_format=lambda v: f"{v:.0f}s",
    )
    assert "600s" in ranges and "–" in ranges


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 12, 180, 1000)] == [1, 0.5, 1, 10, 20, 200, 1000]


# ---------------------------------------------------------------- SLA settings


SETTINGS = {
    "first_response": "4",
    "first_staff_response": "8.5",
    "resolution": "",
    "waiting_on_asker_days": "5",
    "near_percent": "80",
}


async def test_admins_set_default_targets(client, db, admin):
    await client.login_as(admin)
    r = await client.submit("/support/settings", SETTINGS)
    assert r.status_code == 303
    async with db() as s:
        row = await s.get(SupportSettings, 1)
    assert (row.first_response_minutes, row.first_staff_response_minutes, row.resolution_minutes) == (240, 510, None)
    assert (row.waiting_on_asker_days, row.near_percent, row.updated_by_id) == (5, 80, admin.id)
    page = await client.get("/support/settings?saved=1")
    assert 'value="8.5"' in page.text


async def test_bad_targets_come_back_with_messages_and_nothing_saved(client, db, admin):
    await client.login_as(admin)
    r = await client.submit("/support/settings", {**SETTINGS, "first_response": "soon", "near_percent": "0"})
    assert r.status_code == 422
    assert "Enter a number of hours" in r.text
    assert "Enter a percentage between 1 and 99." in r.text
    assert 'value="soon"' in r.text
    async with db() as s:
        row = await s.get(SupportSettings, 1)
    assert row.first_response_minutes == 24 * 60


async def test_admins_set_and_reset_category_targets(client, db, admin):
    async with db.begin() as s:
        cat = await make_category(s, name_en="Refunds")
    await client.login_as(admin)
    r = await client.submit(f"/support/settings/categories/{cat.id}", {"first_response": "1", "resolution": "48"})
    assert r.status_code == 303
    async with db() as s:
        row = await s.get(SlaTarget, cat.id)
    assert (row.first_response_minutes, row.first_staff_response_minutes, row.resolution_minutes) == (60, None, 2880)
    assert "Own targets" in (await client.get("/support/settings")).text
    r = await client.submit(f"/support/settings/categories/{cat.id}/reset", {})
    assert r.status_code == 303
    async with db() as s:
        assert (await s.scalars(select(SlaTarget))).all() == []
    r = await client.submit("/support/settings/categories/9999", {"first_response": "1"})
    assert r.status_code == 404


async def test_staff_can_read_targets_but_not_change_them(client, db, staff):
    async with db.begin() as s:
        cat = await make_category(s)
    await client.login_as(staff)
    page = await client.get("/support/settings")
    assert page.status_code == 200
    assert "Only administrators can change these settings." in page.text
    assert (await client.submit("/support/settings", SETTINGS)).status_code == 403
    assert (await client.submit(f"/support/settings/categories/{cat.id}", {"first_response": "1"})).status_code == 403


async def test_members_cannot_see_the_settings(client, member):
    await client.login_as(member)
    assert (await client.get("/support/settings")).status_code == 403


async def test_moderators_are_staff_here(client, db, moderator):
    async with db.begin() as s:
        await make_user(s, username="another_agent", role=Role.staff)
    await client.login_as(moderator)
    assert (await client.get("/support/queues/unassigned")).status_code == 200


def test_one_slow_case_leaves_the_other_time_bars_readable():
    """A two-hour median beside a 14-day 90th percentile: on the log scale the
    median's bar is a real bar, not a pixel, and longer values stay longer."""
    import re

    hour, day = 3600.0, 86400.0
    chart = str(
        range_chart(
            [Range("First response", 2 * hour, 14 * day), Range("Solution", 5 * hour, 3 * day)],
            title="t",
            description="d",
            low_label="Median",
            high_label="p90",
            value_format=lambda v: f"{v:g}",
            log_from=60,
        )
    )
    bars = re.findall(r'<rect x="170" y="\d+" width="([\d.]+)"', chart)[1:]  # after the legend's swatch
    widths = [float(w) for w in bars]
    p90_first, median_first, p90_solution, median_solution = widths
    assert median_first > 100 and median_solution > median_first
    assert p90_first > p90_solution > median_solution
