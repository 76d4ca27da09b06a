"""Downloading one's data and deleting one's account (PIPA / GDPR): the member's
own data and nobody else's; personal data gone, threads still readable."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from sqlalchemy import func, select

from forum.models import (
    ApiToken,
    Notification,
    NotificationPreference,
    Post,
    Role,
    Thread,
    ThreadWatch,
    User,
    UserSession,
    Vote,
)
from forum.services import account_data, threads, tokens
from forum.urls import thread_url
from tests.factories import PASSWORD, make_reply, make_thread, make_user


async def _count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def _seed(db, member, other_member):  # type: ignore[no-untyped-def]
    """A thread by the member answered by the other, and the reverse, with votes."""
    async with db.begin() as s:
        mine = await make_thread(s, author=member, title="My sync question", body="My own words about sync.")
        their_answer = await make_reply(s, mine, author=other_member, body="Their answer, not mine.")
        theirs = await make_thread(s, author=other_member, title="Their question", body="Their private worry.")
        my_answer = await make_reply(s, theirs, author=member, body="My helpful answer text.")
        await threads.vote(s, their_answer, user=member)
        await threads.vote(s, my_answer, user=other_member)
        s.add(NotificationPreference(user_id=member.id, email_own=False, email_watched=True))
        await tokens.create_token(s, member, name="script")
    return mine, theirs, their_answer


async def test_a_member_downloads_their_own_data_and_nobody_elses(client, db, member, other_member, caplog):
    async with db.begin() as s:
        (await s.get(User, member.id)).email = "member@example.com"
        (await s.get(User, other_member.id)).email = "other@example.com"
    _mine, _theirs, their_answer = await _seed(db, member, other_member)
    await client.login_as(member)
    with caplog.at_level(logging.INFO, logger="forum.security"):
        r = await client.get("/me/data.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"] and "no-store" in r.headers["cache-control"]
    data = r.json()
    assert data["profile"]["username"] == "member" and data["profile"]["email"] == "member@example.com"
    bodies = [p["body"] for p in data["posts"]]
    assert bodies == ["My own words about sync.", "My helpful answer text."]
    assert data["posts"][0]["thread_title"] == "My sync question"
    assert [v["post_id"] for v in data["votes"]] == [their_answer.id]  # not the vote on the member's answer
    assert [n["kind"] for n in data["notifications"]] == ["answer"]
    assert data["email_choices"] == {"own": False, "watched": True}
    text = json.dumps(data, ensure_ascii=False)
    for foreign in ("other@example.com", "Their answer, not mine.", "Their private worry.", "Their question"):
        assert foreign not in text
    assert any(json.loads(rec.getMessage())["event"] == "account.exported" for rec in caplog.records)


async def test_the_download_needs_a_session(client):
    r = await client.get("/me/data.json")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_deleting_needs_the_password_and_changes_nothing_without_it(client, db, member):
    await client.login_as(member)
    page = await client.get(f"/u/{member.username}")
    assert 'action="/me/delete"' in page.text
    r = await client.submit("/me/delete", {"password": "not my password"})
    assert r.status_code == 422 and "not your current password" in r.text
    async with db() as s:
        user = await s.get(User, member.id)
    assert user.username == "member" and user.deleted_at is None
    r = await client.post("/me/delete", data={"password": PASSWORD})  # no CSRF token
    assert r.status_code == 403


async def test_deleting_an_account_removes_personal_data_and_keeps_threads_readable(
    client, other_client, db, member, other_member, caplog
):
    async with db.begin() as s:
        user = await s.get(User, member.id)
        user.email, user.email_key, user.locale = "member@example.com", "member@example.com", "ko"
    mine, theirs, _their_answer = await _seed(db, member, other_member)
    assert await _count(db, ThreadWatch, ThreadWatch.user_id == member.id) == 1  # replying watches
    await client.login_as(member)
    await other_client.login_as(member)  # another browser of the member's
    with caplog.at_level(logging.INFO, logger="forum.security"):
        r = await client.submit("/me/delete", {"password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/?account_deleted=1"
    assert any("max-age=0" in h.lower() for h in r.headers.get_list("set-cookie"))

    async with db() as s:
        user = await s.get(User, member.id)
    n = member.id
    assert (user.username, user.display_name) == (f"deleted-user-{n}", f"deleted user {n}")
    assert user.email is None and user.email_key is None and user.locale is None and user.deleted_at is not None
    assert user.password_hash == account_data.UNUSABLE_PASSWORD
    for model in (UserSession, ApiToken, NotificationPreference, ThreadWatch, Notification):
        assert await _count(db, model, model.user_id == member.id) == 0, model
    # posts and votes stay, so threads and their counts stay as they were
    assert await _count(db, Post, Post.author_id == member.id) == 2
    assert await _count(db, Vote, Vote.user_id == member.id) == 1
    assert (await other_client.get("/ask")).status_code == 303  # every session ended

    for thread in (mine, theirs):
        page = await other_client.get(thread_url(thread))
        assert page.status_code == 200
        assert f"deleted user {n}" in page.text
        assert "member@example.com" not in page.text
    assert "My helpful answer text." in (await other_client.get(thread_url(theirs))).text
    # the name is shown in the reader's language; the stored one is English
    korean = await other_client.get(thread_url(theirs), headers={"Accept-Language": "ko"})
    assert f"탈퇴한 사용자 {n}" in korean.text and f"deleted user {n}" not in korean.text
    assert (await other_client.get("/u/member")).status_code == 404

    # the old name and address are free again; the old password opens nothing
    r = await other_client.submit("/login", {"login": "member", "password": PASSWORD})
    assert r.status_code == 422
    r = await other_client.submit("/login", {"login": f"deleted-user-{n}", "password": PASSWORD})
    assert r.status_code == 422
    r = await other_client.submit(
        "/signup", {"username": "member", "email": "member@example.com", "password": "a brand new member"}
    )
    assert r.status_code == 303

    [line] = [json.loads(r.getMessage()) for r in caplog.records if "account.deleted" in r.getMessage()]
    assert line["user_id"] == n and "member@example.com" not in json.dumps(line)


async def test_moderation_records_keep_the_action_but_not_the_person(client, db, moderator, admin):
    from moderation import sanctions
    from moderation.models import AuditEntry, Notice

    async with db.begin() as s:
        jisoo = await make_user(s, username="jisoo_kim", display_name="김지수", email="jisoo@example.com")
        thread = await make_thread(s, author=jisoo, title="Rude words here")
        post = await s.scalar(select(Post).where(Post.thread_id == thread.id))
        await sanctions.warn(s, jisoo, actor=moderator, reason="Be kind", post=post)
        s.add(Notice(user_id=jisoo.id, kind="hidden", post_id=post.id, reason="Rude"))
    async with db() as s:
        before = list(await s.scalars(select(AuditEntry).where(AuditEntry.subject_id == jisoo.id)))
    assert [e.action for e in before] == ["user.warn"]
    await client.login_as(jisoo)
    assert (await client.submit("/me/delete", {"password": PASSWORD})).status_code == 303
    async with db() as s:
        entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.subject_id == jisoo.id)))
        assert [(e.id, e.action, e.reason) for e in entries] == [(e.id, e.action, e.reason) for e in before]
        for e in entries:  # the entry holds ids, never a copy of the name or address
            assert not any(x in e.before + e.after + e.reason for x in ("jisoo", "김지수", "example.com"))
        assert await s.scalar(select(func.count()).select_from(Notice).where(Notice.user_id == jisoo.id)) == 0
    await client.login_as(admin)
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert f"deleted user {jisoo.id}" in page.text and "김지수" not in page.text


async def test_the_last_administrator_cannot_be_deleted(db, admin):
    from forum.errors import NotAllowed

    async with db.begin() as s:
        with pytest.raises(NotAllowed):
            await account_data.delete_account(s, await s.get(User, admin.id))
    async with db.begin() as s:
        await make_user(s, username="second_admin", role=Role.admin)
    async with db.begin() as s:
        assert await account_data.delete_account(s, await s.get(User, admin.id)) is True
        assert await account_data.delete_account(s, await s.get(User, admin.id)) is False  # once


# ---------------------------------------------------------------- administrators' commands


def _cli(monkeypatch, settings, *argv: str) -> None:  # type: ignore[no-untyped-def]
    from forum.cli import main

    monkeypatch.setenv("FORUM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FORUM_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("FORUM_DATA_DIR", str(settings.data_dir))
    main(list(argv))


async def test_administrators_export_and_delete_an_account_from_the_command_line(
    monkeypatch, settings, db, member, other_member, capsys
):
    await _seed(db, member, other_member)
    await asyncio.to_thread(_cli, monkeypatch, settings, "users", "export", "member")
    data = json.loads(capsys.readouterr().out)
    assert data["profile"]["username"] == "member" and len(data["posts"]) == 2
    assert "Their private worry." not in json.dumps(data)
    with pytest.raises(SystemExit, match="nothing deleted"):
        monkeypatch.setattr("builtins.input", lambda prompt="": "someone else")
        await asyncio.to_thread(_cli, monkeypatch, settings, "users", "delete", "member")
    monkeypatch.setattr("builtins.input", lambda prompt="": "member")
    await asyncio.to_thread(_cli, monkeypatch, settings, "users", "delete", "member")
    assert f"now deleted-user-{member.id}" in capsys.readouterr().out
    async with db() as s:
        user = await s.get(User, member.id)
        assert user.deleted_at is not None and user.username == f"deleted-user-{member.id}"
        assert await s.scalar(select(func.count()).select_from(Thread).where(Thread.author_id == member.id)) == 1
    with pytest.raises(SystemExit, match="No such user"):
        await asyncio.to_thread(_cli, monkeypatch, settings, "users", "delete", "member", "--yes")


async def test_an_administrator_downloads_and_deletes_a_users_account_from_their_moderation_page(
    client, other_client, db, member, other_member, moderator, admin
):
    from moderation.models import AuditEntry

    await _seed(db, member, other_member)
    await client.login_as(moderator)
    page = await client.get("/mod/u/member")
    assert "delete-account" not in page.text  # moderators do not see it
    assert (await client.get("/mod/u/member/data.json")).status_code == 403
    r = await client.submit("/mod/u/member/delete-account", {"confirm": "member"})
    assert r.status_code == 403
    await other_client.login_as(admin)
    page = await other_client.get("/mod/u/member")
    assert 'action="/mod/u/member/delete-account"' in page.text
    data = (await other_client.get("/mod/u/member/data.json")).json()
    assert data["profile"]["username"] == "member" and "Their private worry." not in json.dumps(data)
    r = await other_client.submit("/mod/u/member/delete-account", {"confirm": "someone"})
    assert r.status_code == 422 and "Type the username to confirm" in r.text
    assert (await _count(db, User, User.username == "member")) == 1
    r = await other_client.submit("/mod/u/member/delete-account", {"confirm": "member"})
    assert r.status_code == 303 and r.headers["location"] == f"/mod/u/deleted-user-{member.id}"
    async with db() as s:
        user = await s.get(User, member.id)
        [entry] = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "user.delete_account")))
    assert user.deleted_at is not None
    assert (entry.actor_id, entry.subject_id, entry.target_id) == (admin.id, member.id, member.id)
    page = await other_client.get("/admin/audit")
    assert "Deleted a user's account" in page.text
