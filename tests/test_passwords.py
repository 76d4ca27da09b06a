"""Passwords: the policy, resetting a forgotten one by email (a real SMTP server),
changing one's own, and the administrators' commands."""

from __future__ import annotations

import json
import logging
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from forum.models import User, UserSession
from forum.security import verify_password
from forum.services import passwords
from tests.factories import PASSWORD, make_user
from tests.mailbox import body_of
from tests.moderation_helpers import app_with, client_for
from tests.webclient import tampered

NEW_PASSWORD = "violet kettle harbour"


async def _user(db, user_id: int) -> User:  # type: ignore[no-untyped-def]
    async with db() as s:
        return await s.get(User, user_id)


async def _sessions(db, user_id: int) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id))


def _security_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "forum.security"]


def _reset_link(message) -> str:  # type: ignore[no-untyped-def]
    body = body_of(message)
    url = body[body.index("https://forum.example.com/password/reset/") :].split()[0]
    return url.removeprefix("https://forum.example.com")


# ---------------------------------------------------------------- the policy


def test_the_policy_refuses_short_long_common_and_own_name_passwords():
    check = passwords.check_password
    assert check("violet kettle", min_length=10) is None
    assert "at least 10" in check("aaaaaaaa", min_length=10)
    assert "at least 12" in check("violet kett", min_length=12)
    assert "at most 256" in check("x" * 257, min_length=10)
    for common in ("password1234", "1234567890", "qwertyuiop", "PASSWORD1234", "iloveyou12"):
        assert "most common" in check(common, min_length=10), common
    assert "username or email" in check("Jisoo_Kim_1", min_length=10, username="jisoo_kim_1")
    assert "username or email" in check("ME@example.com", min_length=10, email="me@example.com")
    assert len(passwords.common_passwords()) >= 10_000


async def test_sign_up_refuses_common_and_short_passwords_in_english_and_korean(client, db):
    cases = [
        ("password1234", "one of the most common passwords"),
        ("12345678", "at least 10 characters"),
        ("password", "at least 10 characters"),
        ("aaaaaaaa", "at least 10 characters"),
        ("newcomer_1", "cannot be your username"),
    ]
    for password, message in cases:
        r = await client.submit("/signup", {"username": "newcomer_1", "password": password})
        assert r.status_code == 422 and message in r.text, password
    r = await client.submit(
        "/signup", {"username": "newcomer_1", "password": "qwertyuiop"}, headers={"Accept-Language": "ko"}
    )
    assert r.status_code == 422 and "가장 흔히 쓰이는 비밀번호" in r.text
    korean = {"Accept-Language": "ko"}
    r = await client.submit("/signup", {"username": "newcomer_1", "password": "short"}, headers=korean)
    assert "비밀번호는 10자 이상이어야 해요." in r.text
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0
    r = await client.submit("/signup", {"username": "newcomer_1", "password": NEW_PASSWORD})
    assert r.status_code == 303


async def test_the_minimum_length_is_a_setting(settings, db):
    async with app_with(settings, password_min_length=14) as app, client_for(app) as client:
        r = await client.submit("/signup", {"username": "newcomer", "password": "violet kettle"})
        assert r.status_code == 422 and "at least 14 characters" in r.text
        assert 'minlength="14"' in (await client.get("/signup")).text


async def test_existing_accounts_keep_logging_in_with_an_old_short_password(client, db):
    from forum.security import hash_password

    async with db.begin() as s:
        user = await make_user(s, username="oldtimer")
        user.password_hash = hash_password("old8char")
    r = await client.submit("/login", {"login": "oldtimer", "password": "old8char"})
    assert r.status_code == 303


# ---------------------------------------------------------------- changing one's own


async def test_member_changes_password_with_the_current_one_and_other_sessions_end(
    client, other_client, db, member, caplog
):
    await client.login_as(member)
    await other_client.login_as(member)
    page = await client.get(f"/u/{member.username}")
    assert 'action="/me/password"' in page.text
    r = await client.submit("/me/password", {"current_password": "wrong one!!", "password": NEW_PASSWORD})
    assert r.status_code == 422 and "not your current password" in r.text
    r = await client.submit("/me/password", {"current_password": PASSWORD, "password": "password1234"})
    assert r.status_code == 422 and "most common" in r.text
    assert verify_password(PASSWORD, (await _user(db, member.id)).password_hash)
    with caplog.at_level(logging.INFO, logger="forum.security"):
        r = await client.submit("/me/password", {"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == f"/u/{member.username}?password_changed=1#account"
    assert verify_password(NEW_PASSWORD, (await _user(db, member.id)).password_hash)
    assert (await client.get("/ask")).status_code == 200  # this session stays
    assert (await other_client.get("/ask")).status_code == 303  # the other one ended
    assert await _sessions(db, member.id) == 1
    [line] = [x for x in _security_lines(caplog) if x["event"] == "password.changed"]
    assert line["user_id"] == member.id and NEW_PASSWORD not in json.dumps(line)


async def test_changing_a_password_needs_a_session_and_a_csrf_token(client, member):
    r = await client.submit("/me/password", {"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    await client.login_as(member)
    r = await client.post("/me/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert r.status_code == 403


# ---------------------------------------------------------------- reset by email


@pytest.mark.parametrize(
    ("locale", "subject", "phrase", "page_phrase"),
    [
        ("en", "Reset your password", "open this link within an hour", "Choose a new password"),
        ("ko", "비밀번호 재설정", "한 시간 안에 이 링크를 여세요", "새 비밀번호 정하기"),
    ],
)
async def test_a_forgotten_password_is_reset_by_a_link_mailed_in_the_users_language(
    db, smtp, mail_settings, caplog, locale, subject, phrase, page_phrase
):
    async with db.begin() as s:
        user = await make_user(s, username="forgetful", email="forgetful@example.com", locale=locale)
    async with (
        app_with(mail_settings) as app,
        client_for(app) as client,
        client_for(app, "127.0.0.2") as elsewhere,
    ):
        await elsewhere.login_as(user)  # a session from before: it must end
        client.headers["Accept-Language"] = locale  # the person reads the forum in their language
        login_page = await client.get("/login")
        assert 'href="/password/reset"' in login_page.text
        with caplog.at_level(logging.INFO, logger="forum.security"):
            r = await client.submit("/password/reset", {"email": "Forgetful@Example.com"})
            assert r.status_code == 303 and r.headers["location"] == "/password/reset?sent=1"
            [(rcpt, message)] = smtp[0].messages
            assert rcpt == ["forgetful@example.com"] and message["Subject"] == subject
            assert phrase in body_of(message) and message["Content-Language"] == locale
            link = _reset_link(message)
            token = link.rsplit("/", 1)[1]

            page = await client.get(link)
            assert page.status_code == 200 and page_phrase in page.text and "forgetful" in page.text
            assert verify_password(PASSWORD, (await _user(db, user.id)).password_hash)  # no change on GET

            r = await client.submit(link, {"password": "password1234"})
            assert r.status_code == 422
            assert verify_password(PASSWORD, (await _user(db, user.id)).password_hash)

            r = await client.submit(link, {"password": NEW_PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/u/forgetful?password_changed=1#account"
        assert verify_password(NEW_PASSWORD, (await _user(db, user.id)).password_hash)
        assert (await client.get("/ask")).status_code == 200  # logged in by the link
        assert (await elsewhere.get("/ask")).status_code == 303  # the old session ended
        assert await _sessions(db, user.id) == 1

        # used once: the same link again is refused, clearly
        again = await client.get(link)
        assert again.status_code == 400
        r = await client.submit(link, {"password": "another good one"})
        assert r.status_code == 400
        assert verify_password(NEW_PASSWORD, (await _user(db, user.id)).password_hash)

        client.cookies.clear()
        assert (await client.submit("/login", {"login": "forgetful", "password": PASSWORD})).status_code == 422
        assert (await client.submit("/login", {"login": "forgetful", "password": NEW_PASSWORD})).status_code == 303

    events = _security_lines(caplog)
    assert [e["event"] for e in events if e["event"].startswith("password.")] == [
        "password.reset_asked",
        "password.reset_used",
    ]
    assert all(e["user_id"] == user.id for e in events if e["event"].startswith("password."))
    assert not any(token in json.dumps(e) or NEW_PASSWORD in json.dumps(e) for e in events)


async def test_the_used_link_page_is_clear_in_korean_too(db, mail_settings):
    async with db.begin() as s:
        user = await make_user(s, email="a@example.com")
    token = passwords.reset_token(mail_settings.secret_key, user)
    async with db.begin() as s:
        (await s.get(User, user.id)).password_hash = "changed since"
    async with app_with(mail_settings) as app, client_for(app) as client:
        r = await client.get(f"/password/reset/{token}", headers={"Accept-Language": "ko"})
        assert r.status_code == 400 and "이미 사용된 비밀번호 재설정 링크입니다" in r.text


async def test_the_answer_is_the_same_for_unknown_and_unconfirmed_addresses_and_nothing_is_sent(
    db, smtp, mail_settings
):
    async with db.begin() as s:
        await make_user(s, email="unconfirmed@example.com", email_confirmed=False)
        banned = await make_user(s, email="banned@example.com")
        banned.banned_at = banned.created_at
    async with app_with(mail_settings) as app, client_for(app) as client:
        answers = []
        for address in ("nobody@example.com", "unconfirmed@example.com", "banned@example.com"):
            r = await client.submit("/password/reset", {"email": address})
            answers.append((r.status_code, r.headers["location"]))
        assert set(answers) == {(303, "/password/reset?sent=1")}
        page = await client.get("/password/reset?sent=1")
        assert "If an account has this confirmed email address" in page.text
        r = await client.submit("/password/reset", {"email": "not an address"})
        assert r.status_code == 422 and "valid email address" in r.text
    assert smtp[0].messages == []


async def test_expired_and_tampered_links_get_a_clear_page_and_change_nothing(db, mail_settings):
    async with db.begin() as s:
        user = await make_user(s, email="late@example.com")

    class HourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - passwords.RESET_MAX_AGE - 5

    expired = URLSafeTimedSerializer(mail_settings.secret_key, salt="forum.password-reset", signer=HourAgo).dumps(
        {"u": user.id, "p": passwords._fingerprint(user.password_hash)}
    )
    good = passwords.reset_token(mail_settings.secret_key, user)
    async with app_with(mail_settings) as app, client_for(app) as client:
        r = await client.get(f"/password/reset/{expired}")
        assert r.status_code == 400 and "has expired" in r.text
        r = await client.submit(f"/password/reset/{expired}", {"password": NEW_PASSWORD})
        assert r.status_code == 400
        r = await client.get(f"/password/reset/{tampered(good)}")
        assert r.status_code == 400 and "not valid" in r.text
        # a link made with another key (someone else's forum) is not valid here either
        foreign = passwords.reset_token("another-secret-" + "y" * 32, user)
        assert (await client.submit(f"/password/reset/{foreign}", {"password": NEW_PASSWORD})).status_code == 400
        assert (await client.get("/password/reset/x")).status_code == 400
    assert verify_password(PASSWORD, (await _user(db, user.id)).password_hash)


async def test_reset_requests_are_rate_limited_per_address_and_per_client(db, smtp, mail_settings):
    async with db.begin() as s:
        await make_user(s, email="target@example.com")
    async with app_with(mail_settings) as app, client_for(app) as client, client_for(app, "127.0.0.9") as other:
        for _ in range(3):
            assert (await client.submit("/password/reset", {"email": "target@example.com"})).status_code == 303
        r = await other.submit("/password/reset", {"email": "TARGET@example.com"})
        assert r.status_code == 429 and "Retry-After" in r.headers
        assert "Too many password reset requests" in r.text
    assert len(smtp[0].messages) == 3
    async with (
        app_with(mail_settings, rate_limit_password_reset_ip="2 per hour") as app,
        client_for(app, "127.0.0.3") as client,
    ):
        for n in range(2):
            assert (await client.submit("/password/reset", {"email": f"x{n}@example.com"})).status_code == 303
        assert (await client.submit("/password/reset", {"email": "x9@example.com"})).status_code == 429


# ---------------------------------------------------------------- the commands


def _cli(monkeypatch, settings, *argv: str) -> None:  # type: ignore[no-untyped-def]
    from forum.cli import main

    monkeypatch.setenv("FORUM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FORUM_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("FORUM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FORUM_BASE_URL", "https://forum.example.com")
    main(list(argv))


def _sync_user(settings, username: str) -> User:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    from forum.db import make_sync_engine

    engine = make_sync_engine(settings.database_url)
    try:
        with Session(engine) as s:
            return s.scalar(select(User).where(User.username == username))
    finally:
        engine.dispose()


def test_administrator_sets_a_password_from_the_command_line(monkeypatch, settings, capsys):
    _cli(monkeypatch, settings, "users", "create", "alice", "--password", NEW_PASSWORD)
    with pytest.raises(SystemExit, match="most common"):
        _cli(monkeypatch, settings, "users", "set-password", "alice", "--password", "password1234")
    answers = iter(["another fine one", "another fine one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _cli(monkeypatch, settings, "users", "set-password", "alice")
    assert "Password of alice changed" in capsys.readouterr().out
    assert verify_password("another fine one", _sync_user(settings, "alice").password_hash)
    answers = iter(["one fine password", "a different one"])
    with pytest.raises(SystemExit, match="differ"):
        _cli(monkeypatch, settings, "users", "set-password", "alice")
    with pytest.raises(SystemExit, match="No such user"):
        _cli(monkeypatch, settings, "users", "set-password", "nobody", "--password", NEW_PASSWORD)
    with pytest.raises(SystemExit, match="at least 10"):
        _cli(monkeypatch, settings, "users", "create", "bob", "--password", "short")


async def test_an_administrator_reset_link_works_for_an_account_without_email(monkeypatch, settings, db, capsys):
    import asyncio

    async with db.begin() as s:
        user = await make_user(s, username="noemail")
    await asyncio.to_thread(_cli, monkeypatch, settings, "users", "reset-link", "noemail")
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://forum.example.com/password/reset/")
    async with app_with(settings) as app, client_for(app) as client:
        path = link.removeprefix("https://forum.example.com")
        assert (await client.get(path)).status_code == 200
        assert (await client.submit(path, {"password": NEW_PASSWORD})).status_code == 303
    assert verify_password(NEW_PASSWORD, (await _user(db, user.id)).password_hash)
