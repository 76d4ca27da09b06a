"""The JSON API and its tokens."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from forum.cli import main as cli_main
from forum.clock import utcnow
from forum.models import ApiToken, Role, User
from forum.security import token_hash
from forum.services import tokens
from tests.factories import make_category, make_user
from tests.support_helpers import accept_at, ask_at, reply_at


async def _token_for(db, user, **kw):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        _row, raw = await tokens.create_token(s, user, **kw)
    return raw


def _bearer(raw: str) -> dict[str, str]:
    return {"authorization": f"Bearer {raw}"}


@pytest.fixture
async def open_questions(db):  # type: ignore[no-untyped-def]
    now = utcnow()
    async with db.begin() as s:
        cat = await make_category(s, slug="billing")
        asker = await make_user(s, username="asker")
        await ask_at(s, author=asker, category=cat, at=now - timedelta(hours=30), title="Charged twice")
        await ask_at(
            s,
            author=asker,
            category=cat,
            at=now - timedelta(hours=2),
            title="환불 받을 수 있나요?",
            body="어제 결제했는데 환불하고 싶어요.",
        )
    return cat


async def test_api_needs_credentials(client, open_questions):
    r = await client.get("/api/queues/unanswered")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert "Bearer" in r.json()["error"]
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_api_refuses_members_with_403(client, db, member, open_questions):
    await client.login_as(member)
    r = await client.get("/api/queues/unanswered")
    assert r.status_code == 403
    assert r.json() == {"error": "Only staff can use the support API.", "status": 403}
    raw = await _token_for(db, member)
    other = await client.get("/api/metrics", headers=_bearer(raw))
    assert other.status_code == 403


async def test_staff_session_reads_a_queue_oldest_first(client, staff, open_questions):
    await client.login_as(staff)
    r = await client.get("/api/queues/unanswered")
    assert r.status_code == 200
    body = r.json()
    assert body["queue"] == "unanswered"
    assert body["total"] == 2
    assert [item["title"] for item in body["items"]] == ["Charged twice", "환불 받을 수 있나요?"]
    first = body["items"][0]
    assert first["sla_state"] == "breached"
    assert first["sla"]["first_response"]["state"] == "breached"
    assert first["sla"]["first_response"]["target_minutes"] == 24 * 60
    assert first["url"].startswith("http://testserver/t/")
    assert first["assignee"] is None
    assert body["items"][1]["language"] == "ko"
    assert body["counts"]["breached"] == 1


async def test_a_token_acts_as_its_staff_member(client, db, staff, open_questions):
    raw = await _token_for(db, staff, name="status page")
    r = await client.get("/api/queues/breached?per_page=1", headers=_bearer(raw))
    assert r.status_code == 200
    assert [item["title"] for item in r.json()["items"]] == ["Charged twice"]
    r = await client.get("/api/queues/unanswered?language=ko", headers=_bearer(raw))
    assert [item["title"] for item in r.json()["items"]] == ["환불 받을 수 있나요?"]
    async with db() as s:
        row = await s.scalar(select(ApiToken).where(ApiToken.user_id == staff.id))
    assert row is not None and row.last_used_at is not None


async def test_tokens_are_stored_hashed(db, staff):
    raw = await _token_for(db, staff)
    async with db() as s:
        stored = (await s.execute(text("SELECT token_hash, prefix FROM api_tokens"))).one()
    assert stored[0] == token_hash(raw)
    assert raw not in stored and raw.startswith(stored[1])


async def test_a_bad_token_is_a_401_even_with_a_session(client, staff, open_questions):
    await client.login_as(staff)
    r = await client.get("/api/queues/unanswered", headers=_bearer("fst_not-a-real-token"))
    assert r.status_code == 401
    r = await client.get("/api/queues/unanswered", headers=_bearer("garbage"))
    assert r.status_code == 401


async def test_revoked_and_expired_tokens_stop_working(client, db, staff, open_questions):
    raw = await _token_for(db, staff)
    assert (await client.get("/api/queues/unanswered", headers=_bearer(raw))).status_code == 200
    async with db.begin() as s:
        row = await s.scalar(select(ApiToken).where(ApiToken.user_id == staff.id))
        assert await tokens.revoke_token(s, staff, row.id) is True
        assert await tokens.revoke_token(s, staff, row.id) is False
    assert (await client.get("/api/queues/unanswered", headers=_bearer(raw))).status_code == 401

    raw = await _token_for(db, staff, expires_at=utcnow() + timedelta(seconds=1))
    async with db.begin() as s:
        await s.execute(text("UPDATE api_tokens SET expires_at = :t"), {"t": utcnow() - timedelta(seconds=1)})
    assert (await client.get("/api/queues/unanswered", headers=_bearer(raw))).status_code == 401


async def test_a_token_carries_the_users_current_role(client, db, staff, open_questions):
    raw = await _token_for(db, staff)
    async with db.begin() as s:
        user = await s.get(User, staff.id)
        user.role = Role.member.value
    assert (await client.get("/api/queues/unanswered", headers=_bearer(raw))).status_code == 403
    async with db.begin() as s:
        user = await s.get(User, staff.id)
        user.role = Role.staff.value
        user.banned_at = utcnow()
    assert (await client.get("/api/queues/unanswered", headers=_bearer(raw))).status_code == 401


async def test_tokens_only_work_on_the_api(client, db, staff):
    raw = await _token_for(db, staff)
    r = await client.get("/support/queues/unanswered", headers=_bearer(raw))
    assert r.status_code == 303  # a browser page: log in first


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2025-02-30", "from must be a date written YYYY-MM-DD"),
        ("to=31-03-2025", "to must be a date written YYYY-MM-DD"),
        ("from=2025-03-10&to=2025-03-01", "comes after"),
        ("from=2019-01-01&to=2025-01-01", "at most 731 days"),
        ("category=nope", "Unknown category nope"),
    ],
)
async def test_metrics_refuse_bad_parameters_with_a_json_400(client, staff, query, message):
    await client.login_as(staff)
    r = await client.get(f"/api/metrics?{query}")
    assert r.status_code == 400
    assert message in r.json()["error"]


async def test_queue_api_errors_are_json(client, staff, open_questions):
    await client.login_as(staff)
    r = await client.get("/api/queues/everything")
    assert r.status_code == 404 and "Unknown queue" in r.json()["error"]
    r = await client.get("/api/queues/unsolved?per_page=1000")
    assert r.status_code == 400 and "per_page" in r.json()["error"]
    r = await client.get("/api/queues/unsolved?age=soon")
    assert r.status_code == 400 and "Age" in r.json()["error"]


async def test_metrics_json_has_every_figure(client, db, staff):
    t0 = datetime(2025, 3, 3, 9, 0)
    async with db.begin() as s:
        cat = await make_category(s, slug="billing")
        asker = await make_user(s)
        helper = await make_user(s, username="helper")
        q = await ask_at(s, author=asker, category=cat, at=t0)
        post = await reply_at(s, q, author=helper, at=t0 + timedelta(hours=2))
        await accept_at(s, post, user=asker, at=t0 + timedelta(hours=3))
        q = await ask_at(s, author=asker, category=cat, at=t0 + timedelta(days=1))
        await reply_at(s, q, author=staff, at=t0 + timedelta(days=1, hours=1))
    await client.login_as(staff)
    r = await client.get("/api/metrics?from=2025-03-01&to=2025-03-31&category=billing")
    assert r.status_code == 200
    body = r.json()
    assert body["period"] == {"from": "2025-03-01", "to": "2025-03-31", "days": 31}
    assert body["category"] == "billing"
    assert (body["questions_asked"], body["answered"], body["solved"]) == (2, 2, 1)
    assert body["answered_share"] == 1.0 and body["solved_share"] == 0.5
    assert body["solutions"] == {
        "community": 1,
        "staff": 0,
        "community_share": 1.0,
        "staff_share": 0.0,
        "without_answer": 0,
    }
    assert body["time_to_first_response"] == {"count": 2, "median_seconds": 5400, "p90_seconds": 7200}
    assert body["time_to_first_staff_response"] == {"count": 1, "median_seconds": 3600, "p90_seconds": 3600}
    assert body["time_to_solution"] == {"count": 1, "median_seconds": 10800, "p90_seconds": 10800}
    assert body["top_community_answerers"] == [
        {"username": "helper", "display_name": "Helper", "solutions": 1, "answers": 1}
    ]
    assert body["backlog_by_week"][0] == {
        "week_start": "2025-03-01",
        "week_end": "2025-03-07",
        "asked": 2,
        "solved": 1,
        "open_at_end": 1,
    }


# ---------------------------------------------------------------- the command


async def _cli(monkeypatch, database_url, *args):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FORUM_DATABASE_URL", database_url)
    return await asyncio.to_thread(cli_main, ["users", "token", *args])


async def test_the_command_creates_lists_and_revokes_tokens(client, db, staff, monkeypatch, capsys, database_url):
    await _cli(monkeypatch, database_url, "staff", "--name", "dashboard")
    out = capsys.readouterr().out
    raw = next(word for word in out.split() if word.startswith(tokens.TOKEN_PREFIX))
    assert (await client.get("/api/metrics", headers=_bearer(raw))).status_code == 200

    await _cli(monkeypatch, database_url, "staff", "--list")
    listing = capsys.readouterr().out
    assert "dashboard" in listing and "active" in listing and raw not in listing

    async with db() as s:
        token_id = await s.scalar(select(ApiToken.id).where(ApiToken.user_id == staff.id))
    await _cli(monkeypatch, database_url, "staff", "--revoke", str(token_id))
    assert "Revoked token" in capsys.readouterr().out
    assert (await client.get("/api/metrics", headers=_bearer(raw))).status_code == 401


async def test_the_command_revokes_all_and_warns_for_members(db, member, monkeypatch, capsys, database_url):
    await _cli(monkeypatch, database_url, "member")
    assert "is not staff" in capsys.readouterr().out
    await _cli(monkeypatch, database_url, "member", "--revoke-all")
    assert "Revoked 1 token(s)" in capsys.readouterr().out


async def test_the_command_explains_unknown_users(monkeypatch, database_url, db):
    with pytest.raises(SystemExit) as caught:
        await _cli(monkeypatch, database_url, "nobody")
    assert "No such user" in str(caught.value)


async def test_queue_api_queries_do_not_grow_with_threads(client, app, db, staff, open_questions):
    from tests.support_helpers import QueryCounter

    await client.login_as(staff)
    with QueryCounter(app) as few:
        assert (await client.get("/api/queues/unsolved")).status_code == 200
    now = utcnow()
    async with db.begin() as s:
        asker = await make_user(s)
        for i in range(25):
            await ask_at(s, author=asker, category=open_questions, at=now - timedelta(minutes=i + 1))
    with QueryCounter(app) as many:
        r = await client.get("/api/queues/unsolved")
    assert r.json()["total"] == 27
    assert len(few) == len(many)
