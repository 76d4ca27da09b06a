"""Warnings, silences, suspensions, bans, their lifting, a user's own record,
and admins granting roles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.clock import utcnow
from forum.models import Role, User, UserSession
from moderation.models import AuditEntry, Sanction
from tests.factories import PASSWORD, make_thread
from tests.moderation_helpers import count, get


async def test_a_warning_shows_on_every_page_until_acknowledged(client, other_client, db, moderator, member):
    await client.login_as(moderator)
    r = await client.submit(f"/mod/u/{member.username}/warn", {"reason": "욕설은 삼가 주세요"})
    assert r.status_code == 303
    await other_client.login_as(member)
    for path in ("/", f"/u/{member.username}"):
        page = await other_client.get(path)
        assert "A warning from the moderators" in page.text and "욕설은 삼가 주세요" in page.text
    async with db() as s:
        warning = await s.scalar(select(Sanction))
    assert warning is not None
    r = await other_client.submit(f"/me/warnings/{warning.id}/acknowledge", {"next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "A warning from the moderators" not in (await other_client.get("/")).text
    record = await other_client.get("/me/moderation")
    assert "욕설은 삼가 주세요" in record.text


async def test_nobody_acknowledges_someone_elses_warning(client, other_client, db, moderator, member, other_member):
    await client.login_as(moderator)
    await client.submit(f"/mod/u/{member.username}/warn", {"reason": "Be kind"})
    async with db() as s:
        warning = await s.scalar(select(Sanction))
    assert warning is not None
    await other_client.login_as(other_member)
    assert (await other_client.submit(f"/me/warnings/{warning.id}/acknowledge")).status_code == 404
    assert (await get(db, Sanction, warning.id)).acknowledged_at is None


async def test_a_silenced_user_reads_but_cannot_post(client, other_client, db, moderator, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(moderator)
    r = await client.submit(f"/mod/u/{member.username}/silence", {"reason": "Spamming links", "hours": "24"})
    assert r.status_code == 303
    await other_client.login_as(member)
    page = await other_client.get(f"/t/{thread.id}/{thread.slug}")
    assert page.status_code == 200 and "You can read but not post until" in page.text
    r = await other_client.submit(f"/t/{thread.id}/reply", {"body": "One more link for you"})
    assert r.status_code == 403
    record = await other_client.get("/me/moderation")
    assert "Silenced" in record.text and "Spamming links" in record.text and "until" in record.text


async def test_suspension_ends_the_users_sessions_at_once(client, other_client, db, moderator, member):
    await other_client.login_as(member)
    assert member.display_name in (await other_client.get("/")).text
    await client.login_as(moderator)
    r = await client.submit(f"/mod/u/{member.username}/suspend", {"reason": "Threats", "hours": "168"})
    assert r.status_code == 303
    assert await count(db, UserSession, UserSession.user_id == member.id) == 0
    page = await other_client.get("/ask")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    login = await other_client.submit("/login", {"login": member.username, "password": PASSWORD})
    assert login.status_code == 403 and "suspended until" in login.text
    row = await get(db, User, member.id)
    assert row.suspended_until is not None and row.suspended_until > utcnow() + timedelta(days=6)


async def test_a_ban_ends_sessions_and_can_be_lifted(client, other_client, db, moderator, member):
    await other_client.login_as(member)
    await client.login_as(moderator)
    await client.submit(f"/mod/u/{member.username}/ban", {"reason": "Spam bot"})
    assert (await other_client.get("/ask")).status_code == 303
    again = await client.submit(f"/mod/u/{member.username}/ban", {"reason": "Spam bot"})
    assert again.status_code == 303
    assert await count(db, Sanction, Sanction.kind == "ban") == 1
    await client.submit(f"/mod/u/{member.username}/lift", {"kind": "ban", "reason": "Appeal accepted"})
    assert (await get(db, User, member.id)).banned_at is None
    login = await other_client.submit("/login", {"login": member.username, "password": PASSWORD})
    assert login.status_code == 303
    async with db() as s:
        actions = (await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["user.ban", "user.lift"]


async def test_sanctions_need_a_reason_and_a_known_duration(client, db, moderator, member):
    await client.login_as(moderator)
    r = await client.submit(f"/mod/u/{member.username}/warn", {"reason": " "})
    assert r.status_code == 422 and "Give a reason" in r.text
    r = await client.submit(f"/mod/u/{member.username}/silence", {"reason": "x", "hours": "5"})
    assert r.status_code == 422 and "Choose how long" in r.text
    r = await client.submit(f"/mod/u/{member.username}/suspend", {"reason": "x", "hours": "abc"})
    assert r.status_code == 422
    assert await count(db, Sanction) == 0
    assert (await get(db, User, member.id)).silenced_until is None


async def test_moderators_cannot_sanction_their_peers_or_admins(client, db, moderator, admin):
    async with db.begin() as s:
        from tests.factories import make_user

        peer = await make_user(s, username="peer", role=Role.moderator)
    await client.login_as(moderator)
    for target in (peer, admin, moderator):
        r = await client.submit(f"/mod/u/{target.username}/ban", {"reason": "power trip"})
        assert r.status_code == 403
    await client.login_as(admin)
    assert (
        await client.submit(f"/mod/u/{peer.username}/warn", {"reason": "Please follow the guide"})
    ).status_code == 303


async def test_the_moderation_user_page_shows_the_record(client, db, moderator, member):
    await client.login_as(moderator)
    await client.submit(f"/mod/u/{member.username}/warn", {"reason": "첫 번째 경고"})
    page = await client.get(f"/mod/u/{member.username}")
    assert page.status_code == 200
    assert "첫 번째 경고" in page.text and "Upheld flags" in page.text and "Moderator" in page.text


async def test_admins_grant_and_remove_roles_and_it_is_audited(client, db, admin, member):
    await client.login_as(admin)
    r = await client.submit(
        "/admin/roles", {"username": member.username, "role": "moderator", "reason": "새 모더레이터"}
    )
    assert r.status_code == 303
    assert (await get(db, User, member.id)).role == "moderator"
    page = await client.get("/admin/roles")
    assert member.display_name in page.text
    await client.submit("/admin/roles", {"username": member.username, "role": "member"})
    assert (await get(db, User, member.id)).role == "member"
    bad = await client.submit("/admin/roles", {"username": member.username, "role": "admin"})
    assert bad.status_code == 422
    nobody = await client.submit("/admin/roles", {"username": "nobody", "role": "staff"})
    assert nobody.status_code == 422 and "No such user" in nobody.text
    own = await client.submit("/admin/roles", {"username": admin.username, "role": "member"})
    assert own.status_code == 403
    async with db() as s:
        entries = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "user.role"))).all()
    assert len(entries) == 2 and entries[0].reason == "새 모더레이터"


async def test_korean_usernames_work_through_the_sanction_forms(client, other_client, db, moderator):
    async with db.begin() as s:
        from tests.factories import make_user

        minji = await make_user(s, username="민지")
    await client.login_as(moderator)
    page = await client.get("/mod/u/민지")
    assert page.status_code == 200 and "민지" in page.text
    r = await client.submit("/mod/u/민지/warn", {"reason": "닉네임 관련 경고", "next": "/mod/u/민지"})
    assert r.status_code == 303 and r.headers["location"] == "/mod/u/%EB%AF%BC%EC%A7%80"
    await other_client.login_as(minji)
    assert "닉네임 관련 경고" in (await other_client.get("/")).text
