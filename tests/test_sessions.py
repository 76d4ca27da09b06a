"""Login sessions: the idle timeout, last-seen written at most hourly, __Host-
cookie names in production, and one's sessions listed and ended on the profile."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from forum.clock import utcnow
from forum.config import ConfigError, Settings
from forum.models import UserSession
from forum.security import token_hash
from forum.services import accounts
from tests.factories import PASSWORD
from tests.moderation_helpers import app_with
from tests.webclient import WebClient


async def _rows(db, user_id: int) -> list[UserSession]:  # type: ignore[no-untyped-def]
    async with db() as s:
        return list(await s.scalars(select(UserSession).where(UserSession.user_id == user_id)))


async def _age_sessions(db, user_id: int, *, last_seen_ago: timedelta) -> None:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        await s.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id)
            .values(last_seen_at=utcnow() - last_seen_ago, created_at=utcnow() - last_seen_ago)
        )


async def test_a_session_unused_for_longer_than_the_idle_timeout_ends(client, db, member):
    await client.login_as(member)
    await _age_sessions(db, member.id, last_seen_ago=timedelta(days=29))
    assert (await client.get("/ask")).status_code == 200
    await _age_sessions(db, member.id, last_seen_ago=timedelta(days=31))
    r = await client.get("/ask")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_idle_timeout_is_a_setting(settings, db, member):
    async with app_with(settings, session_idle_timeout=3600) as app, WebClient(app) as client:
        await client.login_as(member)
        await _age_sessions(db, member.id, last_seen_ago=timedelta(minutes=50))
        assert (await client.get("/ask")).status_code == 200
        await _age_sessions(db, member.id, last_seen_ago=timedelta(minutes=70))
        assert (await client.get("/ask")).status_code == 303


async def test_last_seen_is_written_at_most_once_an_hour_so_reading_is_not_writing(client, db, member):
    await client.login_as(member)
    await _age_sessions(db, member.id, last_seen_ago=timedelta(minutes=30))
    [before] = await _rows(db, member.id)
    for _ in range(3):
        assert (await client.get("/")).status_code == 200
    [after] = await _rows(db, member.id)
    assert after.last_seen_at == before.last_seen_at  # under an hour: untouched
    await _age_sessions(db, member.id, last_seen_ago=timedelta(hours=2))
    await client.get("/")
    [touched] = await _rows(db, member.id)
    assert utcnow() - touched.last_seen_at < timedelta(minutes=1)
    # ...which keeps an active session alive past the idle timeout counted from its start
    assert touched.expires_at > utcnow()


async def test_the_absolute_lifetime_still_ends_a_session_in_use(client, db, member):
    await client.login_as(member)
    async with db.begin() as s:
        await s.execute(
            update(UserSession).where(UserSession.user_id == member.id).values(expires_at=utcnow() - timedelta(1))
        )
    assert (await client.get("/ask")).status_code == 303


async def test_production_cookies_have_host_prefixed_names(settings, db, member):
    production = settings.with_(production=True)
    async with app_with(production) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as browser:
            form_page = await browser.get("/login")
            csrf = next(h for h in form_page.headers.get_list("set-cookie") if "csrf" in h)
            assert csrf.startswith("__Host-forum_csrf=")
            token = form_page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            r = await browser.post("/login", data={"login": "member", "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 303
            cookie = next(h for h in r.headers.get_list("set-cookie") if "session" in h)
            name, _, attributes = cookie.partition(";")
            assert name.startswith("__Host-forum_session=")
            parts = [p.strip() for p in attributes.split(";")]
            assert "Secure" in parts and "Path=/" in parts and "HttpOnly" in parts
            assert not any(p.lower().startswith("domain") for p in parts)
            assert (await browser.get("/ask")).status_code == 200  # the browser sends it back
            # the development name means nothing in production
            browser.cookies.clear()
            signed = cookie.split("=", 1)[1].split(";")[0]
            r = await browser.get("/ask", headers={"cookie": f"forum_session={signed}"})
            assert r.status_code == 303


async def test_development_cookies_keep_their_plain_names(client, member):
    r = await client.submit("/login", {"login": "member", "password": PASSWORD})
    cookie = next(h for h in r.headers.get_list("set-cookie") if "session" in h)
    assert cookie.startswith("forum_session=") and "Secure" not in cookie


async def test_profile_lists_ones_sessions_and_ends_one_or_all_others(client, other_client, app, db, member):
    await client.login_as(member)
    await other_client.login_as(member)
    async with WebClient(app) as third:
        await third.login_as(member)
        page = await client.get(f"/u/{member.username}")
        assert page.text.count('action="/me/sessions/end"') == 2  # the two others
        assert "This session" in page.text and "Log out everywhere else" in page.text
        rows = {row.token_hash: row for row in await _rows(db, member.id)}
        assert len(rows) == 3
        other_token = other_client.cookies["forum_session"].rsplit(".", 1)[0]
        ref = token_hash(other_token)[:16]
        assert f'value="{ref}"' in page.text
        r = await client.submit("/me/sessions/end", {"session": ref})
        assert r.status_code == 303 and r.headers["location"] == f"/u/{member.username}?sessions_ended=1#sessions"
        assert (await other_client.get("/ask")).status_code == 303
        assert (await third.get("/ask")).status_code == 200
        r = await client.submit("/me/sessions/end-others")
        assert r.status_code == 303
        assert (await third.get("/ask")).status_code == 303
        assert (await client.get("/ask")).status_code == 200
        assert len(await _rows(db, member.id)) == 1


async def test_nobody_ends_or_sees_someone_elses_sessions(client, other_client, db, member, other_member):
    await client.login_as(member)
    await other_client.login_as(other_member)
    their_ref = token_hash(other_client.cookies["forum_session"].rsplit(".", 1)[0])[:16]
    assert "Where you are logged in" not in (await client.get(f"/u/{other_member.username}")).text
    r = await client.submit("/me/sessions/end", {"session": their_ref})
    assert r.status_code == 303
    assert (await other_client.get("/ask")).status_code == 200
    for bad in ("", "zz", "x" * 16, "<script>"):
        assert (await client.submit("/me/sessions/end", {"session": bad})).status_code == 303
    assert (await client.get("/ask")).status_code == 200


async def test_session_lookup_names_the_session_by_a_hash_prefix(db, member):
    async with db.begin() as s:
        token = await accounts.start_session(s, member, max_age=3600)
    async with db() as s:
        [row] = await accounts.list_sessions(s, member)
    assert accounts.session_ref(row) == token_hash(token)[:16] and token not in accounts.session_ref(row)


def test_session_settings_come_from_the_environment_and_are_checked():
    env = {"FORUM_SECRET_KEY": "k" * 40, "FORUM_DATABASE_URL": "sqlite:///x.db"}
    settings = Settings.from_env({**env, "FORUM_SESSION_IDLE_TIMEOUT": "7200", "FORUM_PASSWORD_MIN_LENGTH": "12"})
    assert (settings.session_idle_timeout, settings.password_min_length) == (7200, 12)
    assert Settings.from_env(env).session_idle_timeout == 30 * 24 * 3600
    with pytest.raises(ConfigError, match="at least 8"):
        Settings.from_env({**env, "FORUM_PASSWORD_MIN_LENGTH": "6"})
    with pytest.raises(ConfigError, match="at least 60"):
        Settings.from_env({**env, "FORUM_SESSION_IDLE_TIMEOUT": "5"})
