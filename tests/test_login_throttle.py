"""Log-in throttling without lockout (forum.login_throttle): guesses are slowed
per address, per account and address, and per account, and the owner is never
locked out by someone else's guesses."""

from __future__ import annotations

import json
import logging

import pytest

from forum.login_throttle import DEVICE_COOKIE
from tests.factories import PASSWORD, make_user
from tests.moderation_helpers import app_with, client_for, unique_prefix
from tests.test_ratelimit import REDIS_URL, needs_redis

ACCOUNT_LIMITS = {
    "rate_limit_login_account": "2 per 15 minutes",
    "rate_limit_login_account_ip": "3 per 15 minutes",
    "rate_limit_login_fresh": "1 per 15 seconds",
}


def _wrong(login: str) -> dict[str, str]:
    return {"login": login, "password": "not the password"}


def _right(login: str) -> dict[str, str]:
    return {"login": login, "password": PASSWORD}


def throttled(settings, **changes):  # type: ignore[no-untyped-def]
    return app_with(settings, **{**ACCOUNT_LIMITS, **changes}, rate_limit_prefix=unique_prefix())


async def _guess_from(app, member, *addresses: str) -> None:  # type: ignore[no-untyped-def]
    for address in addresses:
        async with client_for(app, address) as c:
            assert (await c.submit("/login", _wrong(member.username))).status_code == 422


async def test_the_owner_gets_in_from_an_address_that_has_not_been_failing(settings, member):
    async with throttled(settings) as app:
        await _guess_from(app, member, "10.0.1.1", "10.0.1.2")  # the account is over its limit now
        async with client_for(app, "10.0.1.99") as owner:
            r = await owner.submit("/login", _right(member.username.upper()))
            assert r.status_code == 303


async def test_an_address_that_failed_is_refused_while_the_account_is_over_its_limit(settings, member):
    async with throttled(settings) as app:
        await _guess_from(app, member, "10.0.2.1", "10.0.2.2")
        async with client_for(app, "10.0.2.1") as c:
            r = await c.submit("/login", _right(member.username))
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) > 60  # the account's window is 15 minutes
            assert "Too many log-in attempts" in r.text


async def test_guesses_spread_over_fresh_addresses_are_slowed(settings, member):
    async with throttled(settings) as app:
        await _guess_from(app, member, "10.0.3.1", "10.0.3.2")
        await _guess_from(app, member, "10.0.3.3")  # a fresh address may try once ...
        async with client_for(app, "10.0.3.4") as c:  # ... then the next waits its turn
            r = await c.submit("/login", _wrong(member.username))
            assert r.status_code == 429
            assert 1 <= int(r.headers["retry-after"]) <= 15


async def test_the_device_cookie_lets_the_owner_in_during_an_attack(settings, member):
    async with throttled(settings) as app, client_for(app, "10.0.4.1") as owner:
        assert (await owner.submit("/login", _right(member.username))).status_code == 303
        assert DEVICE_COOKIE in owner.cookies
        await owner.submit("/logout", {})
        assert (await owner.submit("/login", _wrong(member.username))).status_code == 422  # a typo
        await _guess_from(app, member, "10.0.4.2", "10.0.4.3")  # over its limit, the fresh turn taken
        # This address has failed, and the account is over its limit: only the cookie lets it in.
        assert (await owner.submit("/login", _right(member.username))).status_code == 303
        async with client_for(app, "10.0.4.1") as stranger:
            assert (await stranger.submit("/login", _right(member.username))).status_code == 429


async def test_a_forged_or_other_accounts_device_cookie_does_not_count(settings, db, member):
    async with db.begin() as s:
        other = await make_user(s, username="neighbour")
    async with throttled(settings) as app, client_for(app, "10.0.5.1") as c:
        assert (await c.submit("/login", _right(other.username))).status_code == 303  # a cookie for "neighbour"
        await c.submit("/logout", {})
        assert (await c.submit("/login", _wrong(member.username))).status_code == 422
        await _guess_from(app, member, "10.0.5.2", "10.0.5.3")
        assert (await c.submit("/login", _right(member.username))).status_code == 429
        c.cookies.set(DEVICE_COOKIE, str(member.id) + ".forged-signature")
        assert (await c.submit("/login", _right(member.username))).status_code == 429


async def test_an_address_is_refused_at_an_account_after_its_own_failures(settings, member):
    async with throttled(settings, rate_limit_login_account="50 per 15 minutes") as app:
        async with client_for(app, "10.0.6.1") as c:
            for _ in range(3):
                assert (await c.submit("/login", _wrong(member.username))).status_code == 422
            r = await c.submit("/login", _right(member.username))
            assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
        async with client_for(app, "10.0.6.2") as other:  # the account is not locked
            assert (await other.submit("/login", _right(member.username))).status_code == 303


async def test_the_username_and_the_email_are_one_account(settings, db):
    async with db.begin() as s:
        user = await make_user(s, username="jiwoo", email="jiwoo@example.com")
    async with throttled(settings) as app:
        async with client_for(app, "10.0.7.1") as c:
            assert (await c.submit("/login", _wrong("jiwoo"))).status_code == 422
        async with client_for(app, "10.0.7.2") as c:
            assert (await c.submit("/login", _wrong("JIWOO@example.com"))).status_code == 422
        async with client_for(app, "10.0.7.1") as c:  # failed before, and the account is over its limit
            assert (await c.submit("/login", _right(user.email or ""))).status_code == 429


async def test_a_successful_log_in_does_not_reset_the_guessers_count(settings, member):
    async with throttled(settings) as app:
        await _guess_from(app, member, "10.0.8.1", "10.0.8.2")
        async with client_for(app, "10.0.8.3") as owner:
            assert (await owner.submit("/login", _right(member.username))).status_code == 303
        async with client_for(app, "10.0.8.1") as guesser:
            assert (await guesser.submit("/login", _wrong(member.username))).status_code == 429


async def test_unknown_names_are_throttled_like_accounts(settings):
    async with throttled(settings) as app:
        for address in ("10.0.9.1", "10.0.9.2"):
            async with client_for(app, address) as c:
                assert (await c.submit("/login", _wrong("nobody-here"))).status_code == 422
        async with client_for(app, "10.0.9.1") as c:
            assert (await c.submit("/login", _wrong("nobody-here"))).status_code == 429


@pytest.mark.parametrize("outcome", ["ok", "failed"])
async def test_log_ins_are_in_the_security_log_without_the_password(settings, member, caplog, outcome):
    caplog.set_level(logging.INFO, logger="forum.security")
    async with throttled(settings) as app, client_for(app, "10.0.10.1") as c:
        form = _right(member.username) if outcome == "ok" else _wrong(member.username)
        r = await c.submit("/login", form)
        assert r.status_code == (303 if outcome == "ok" else 422)
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "forum.security"]
    (line,) = [line for line in lines if line["event"].startswith("login.")]
    assert line["event"] == f"login.{outcome}"
    assert line["user_id"] == member.id
    assert line["ip"] == "10.0.10.1"
    assert line["request_id"] == r.headers["x-request-id"]
    assert line["ts"].endswith("Z")
    text = caplog.text
    assert form["password"] not in text
    for cookie in c.cookies.values():
        assert cookie not in text


@needs_redis
async def test_the_rule_holds_across_processes_sharing_redis(settings, member):
    changes = {**ACCOUNT_LIMITS, "rate_limit_storage": REDIS_URL, "rate_limit_prefix": unique_prefix()}
    async with app_with(settings, **changes) as one, app_with(settings, **changes) as two:
        for app, address in ((one, "10.0.11.1"), (two, "10.0.11.2")):
            await _guess_from(app, member, address)
        async with client_for(two, "10.0.11.1") as c:  # failed (on the other process)
            assert (await c.submit("/login", _right(member.username))).status_code == 429
        async with client_for(one, "10.0.11.3") as owner:  # fresh
            assert (await owner.submit("/login", _right(member.username))).status_code == 303
        async with client_for(two, "10.0.11.4") as c:  # the fresh turn is taken
            r = await c.submit("/login", _right(member.username))
            assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 15
