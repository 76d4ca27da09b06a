"""The security log (forum.seclog) as the app writes it: request ids, refused
actions, CSRF failures, rate-limit hits, role changes and sanctions, never a
secret; the access log's lines; and that both print under `forum serve`."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from forum import seclog
from forum.cli import main as cli_main
from forum.requestlog import configure_logging, configure_logging_if_unset, loggable_path
from forum.server import ForumWorker
from tests.factories import PASSWORD, make_thread
from tests.moderation_helpers import app_with, client_for, unique_prefix

TRUSTED = "10.9.0.0/16"


def security_lines(caplog: pytest.LogCaptureFixture, event: str | None = None) -> list[dict]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "forum.security"]
    return [line for line in lines if event is None or line["event"] == event]


@pytest.fixture
def seclog_caught(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="forum.security")
    return caplog


def assert_no_secrets(caplog: pytest.LogCaptureFixture, client, *extra: str) -> None:  # type: ignore[no-untyped-def]
    text = caplog.text
    for value in (*client.cookies.values(), *extra):
        assert value not in text


async def test_every_answer_has_a_fresh_request_id(client):
    first, second = await client.get("/"), await client.get("/")
    assert re.fullmatch(r"[0-9a-f]{24}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_request_id_is_taken_from_a_trusted_proxy_only(settings):
    async with app_with(settings, trusted_proxies=TRUSTED) as app:
        async with client_for(app, "10.9.0.1") as proxy:
            assert (await proxy.get("/", headers={"x-request-id": "edge-42.a_b:c"})).headers["x-request-id"] == (
                "edge-42.a_b:c"
            )
            bad = await proxy.get("/", headers={"x-request-id": "no spaces\tor tabs"})
            assert re.fullmatch(r"[0-9a-f]{24}", bad.headers["x-request-id"])
            long = await proxy.get("/", headers={"x-request-id": "x" * 101})
            assert long.headers["x-request-id"] != "x" * 101
        async with client_for(app, "203.0.113.5") as stranger:
            r = await stranger.get("/", headers={"x-request-id": "forged-id"})
            assert r.headers["x-request-id"] != "forged-id"


async def test_the_500_page_carries_the_request_id(settings):
    from starlette.routing import Route

    async def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    async with app_with(settings) as app:
        app.router.routes.insert(0, Route("/test-boom", boom))
        async with client_for(app, raise_app_exceptions=False) as c:
            r = await c.get("/test-boom")
    assert r.status_code == 500
    request_id = r.headers["x-request-id"]
    assert request_id in r.text


async def test_a_refused_action_is_logged_with_path_and_method(client, db, member, seclog_caught):
    async with db.begin() as s:
        thread = await make_thread(s)
        post_id = thread.id  # the thread's first post is not the member's
    await client.login_as(member)
    r = await client.submit(f"/mod/t/{thread.id}/lock", {})
    assert r.status_code == 403
    (line,) = security_lines(seclog_caught, "forbidden")
    assert line["user_id"] == member.id and line["method"] == "POST" and line["path"] == f"/mod/t/{thread.id}/lock"
    assert line["request_id"] == r.headers["x-request-id"] and line["ip"] == "127.0.0.1"
    assert_no_secrets(seclog_caught, client)
    assert post_id


async def test_a_csrf_failure_is_logged(client, db, member, seclog_caught):
    await client.login_as(member)
    r = await client.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403
    (line,) = security_lines(seclog_caught, "csrf.failed")
    assert line["user_id"] == member.id and line["path"] == "/logout"
    assert "forged" not in seclog_caught.text
    assert_no_secrets(seclog_caught, client)


async def test_a_rate_limit_hit_is_logged_with_the_limits_name(settings, seclog_caught):
    limited = app_with(settings, rate_limit_login_ip="1 per minute", rate_limit_prefix=unique_prefix())
    async with limited as app, client_for(app, "10.1.1.1") as c:
        await c.submit("/login", {"login": "x", "password": "guess one"})
        r = await c.submit("/login", {"login": "x", "password": "guess two"})
    assert r.status_code == 429
    (line,) = security_lines(seclog_caught, "rate_limited")
    assert line["limit"] == "login_ip" and line["ip"] == "10.1.1.1"
    assert "guess one" not in seclog_caught.text and "guess two" not in seclog_caught.text


async def test_logout_is_logged(client, member, seclog_caught):
    await client.login_as(member)
    assert (await client.submit("/logout", {})).status_code == 303
    (line,) = security_lines(seclog_caught, "logout")
    assert line["user_id"] == member.id


async def test_role_changes_and_sanctions_are_logged(client, admin, member, seclog_caught):
    await client.login_as(admin)
    r = await client.submit("/admin/roles", {"username": member.username, "role": "moderator", "reason": "helps"})
    assert r.status_code == 303
    (role,) = security_lines(seclog_caught, "role.changed")
    assert role["user_id"] == admin.id and role["target_user_id"] == member.id
    assert (role["before"], role["after"]) == ("member", "moderator")
    # the same role again changes nothing, and logs nothing
    await client.submit("/admin/roles", {"username": member.username, "role": "moderator"})
    assert len(security_lines(seclog_caught, "role.changed")) == 1
    r = await client.submit(f"/mod/u/{member.username}/suspend", {"reason": "abuse", "hours": "24"})
    assert r.status_code == 303
    (sanction,) = security_lines(seclog_caught, "sanction")
    assert sanction["action"] == "suspend" and sanction["hours"] == 24
    assert sanction["user_id"] == admin.id and sanction["target_user_id"] == member.id
    assert_no_secrets(seclog_caught, client)


def test_an_admin_made_on_the_command_line_is_a_role_change(settings, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="forum.security")
    monkeypatch.setenv("FORUM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FORUM_SECRET_KEY", settings.secret_key)
    cli_main(["users", "create", "boss", "--role", "admin", "--password", PASSWORD])
    (line,) = security_lines(caplog, "role.changed")
    assert line["after"] == "admin" and line["via"] == "cli" and isinstance(line["target_user_id"], int)
    assert PASSWORD not in caplog.text


async def test_the_access_log_has_time_client_request_status_and_id(settings, caplog):
    caplog.set_level(logging.INFO, logger="forum.access")
    async with app_with(settings, trusted_proxies=TRUSTED) as app, client_for(app, "10.9.0.1") as proxy:
        r = await proxy.get("/search?q=secret-query", headers={"x-forwarded-for": "198.51.100.7"})
    (line,) = [rec.getMessage() for rec in caplog.records if rec.name == "forum.access"]
    assert re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 198\.51\.100\.7 \"GET /search HTTP/1\.1\" 200 \d+ \d+ms ", line
    )
    assert line.endswith(r.headers["x-request-id"])
    assert "secret-query" not in line


def test_emailed_tokens_are_left_out_of_the_access_log():
    assert loggable_path("/password/reset/IjEyMyI.Zx8yQw.abcDEF123ghiJKL") == "/password/reset/…"
    assert loggable_path("/t/12/refund-for-a-double-charge-in-march") == "/t/12/refund-for-a-double-charge-in-march"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("forum", "forum.security", "forum.access")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:  # as in a fresh process (a command run by an earlier test adds one)
        logger.handlers = []
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


def test_forum_serve_prints_the_security_and_access_logs(restored_logging):
    out = io.StringIO()
    configure_logging(access=True, stream=out)
    seclog.event("login.failed", user_id=7, reason="password")
    logging.getLogger("forum.access").info('2026-12-05T11:40:00.000Z 1.2.3.4 "GET / HTTP/1.1" 200 1 1ms id')
    logging.getLogger("forum.jobs").warning("something to see")
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0])["event"] == "login.failed"
    assert lines[1].startswith("2026-12-05T11:40:00.000Z")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[\d+\] WARNING forum\.jobs: something to see$", lines[2])


def test_an_app_served_by_plain_uvicorn_prints_its_logs_too(restored_logging):
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        configure_logging_if_unset()
    finally:
        root.handlers = saved
    assert logging.getLogger("forum.security").handlers and logging.getLogger("forum.access").handlers
    assert logging.getLogger("forum.access").isEnabledFor(logging.INFO)


def test_logging_configured_elsewhere_is_left_alone(restored_logging):
    assert logging.getLogger().handlers  # pytest's
    before = logging.getLogger("forum.access").handlers[:]
    configure_logging_if_unset()
    assert logging.getLogger("forum.access").handlers == before


def test_the_server_believes_no_forwarded_header_itself():
    assert ForumWorker.CONFIG_KWARGS["proxy_headers"] is False
    assert ForumWorker.CONFIG_KWARGS["access_log"] is False
