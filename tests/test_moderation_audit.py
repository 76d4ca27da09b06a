"""The audit log: append-only, browsed and filtered by admins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from starlette.routing import Route

from forum.clock import utcnow
from moderation import audit
from moderation.models import AuditEntry
from tests.factories import make_thread, make_user


async def _entries(db, moderator, admin):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        thread = await make_thread(s)
        target = await make_user(s, username="민준")
        await audit.record(
            s,
            actor=moderator,
            action="thread.lock",
            target=thread,
            reason="오래된 잠금",
            at=utcnow() - timedelta(days=40),
        )
        await audit.record(s, actor=moderator, action="user.warn", target=target, subject=target, reason="경고 사유")
        await audit.record(s, actor=admin, action="user.role", target=target, subject=target, reason="역할 변경")
    return thread, target


async def test_admins_browse_and_filter_the_log(client, db, moderator, admin):
    await _entries(db, moderator, admin)
    await client.login_as(admin)
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert all(reason in page.text for reason in ("오래된 잠금", "경고 사유", "역할 변경"))
    assert page.text.index("역할 변경") < page.text.index("경고 사유")  # newest first
    by_actor = await client.get(f"/admin/audit?actor={moderator.username}")
    assert "경고 사유" in by_actor.text and "역할 변경" not in by_actor.text
    by_action = await client.get("/admin/audit?action=user.role")
    assert "역할 변경" in by_action.text and "경고 사유" not in by_action.text
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    recent = await client.get(f"/admin/audit?since={since}")
    assert "오래된 잠금" not in recent.text and "경고 사유" in recent.text
    until = (utcnow() - timedelta(days=30)).date().isoformat()
    older = await client.get(f"/admin/audit?until={until}")
    assert "오래된 잠금" in older.text and "경고 사유" not in older.text
    bad = await client.get("/admin/audit?since=yesterday&actor=nobody&action=drop")
    assert bad.status_code == 422
    assert "Enter a date like" in bad.text and "No such user" in bad.text


async def test_moderators_read_moderation_actions_and_members_nothing(client, db, moderator, member, admin):
    await _entries(db, moderator, admin)
    await client.login_as(moderator)
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert "오래된 잠금" in page.text and "경고 사유" in page.text
    assert "역할 변경" not in page.text  # role changes are the administrators'
    assert 'value="user.role"' not in page.text and 'value="user.warn"' in page.text
    refused = await client.get("/admin/audit?action=user.role")
    assert refused.status_code == 422 and "역할 변경" not in refused.text
    assert 'href="/admin/audit"' in (await client.get("/")).text
    await client.login_as(member)
    assert (await client.get("/admin/audit")).status_code == 403
    assert 'href="/admin/audit"' not in (await client.get("/")).text


def test_no_route_changes_the_audit_log(app):
    for route in app.routes:
        if isinstance(route, Route) and "audit" in route.path:
            assert route.methods is not None and route.methods <= {"GET", "HEAD"}, route.path


async def test_the_database_refuses_to_change_or_delete_entries(db, moderator, admin):
    await _entries(db, moderator, admin)
    for statement in (
        update(AuditEntry).values(reason="rewritten"),
        delete(AuditEntry),
    ):
        with pytest.raises(DBAPIError):
            async with db.begin() as s:
                await s.execute(statement)
    async with db() as s:
        reasons = set((await s.scalars(select(AuditEntry.reason))).all())
        dialect = s.bind.dialect.name
    assert reasons == {"오래된 잠금", "경고 사유", "역할 변경"}
    if dialect == "postgresql":
        with pytest.raises(DBAPIError):
            async with db.begin() as s:
                await s.execute(text("TRUNCATE moderation_audit_log"))


async def test_entries_keep_what_the_content_was_before(client, db, moderator, admin):
    async with db.begin() as s:
        thread = await make_thread(s, title="원래 제목", body="원래 본문 내용")
    from tests.moderation_helpers import first_post

    question = await first_post(db, thread)
    await client.login_as(moderator)
    await client.submit(f"/mod/p/{question.id}/hide", {"reason": "개인정보"})
    await client.login_as(admin)
    page = await client.get("/admin/audit")
    assert "원래 본문 내용" in page.text and "개인정보" in page.text and moderator.display_name in page.text


async def test_moderation_pages_do_a_fixed_number_of_queries(client, db, app, moderator, admin):
    from moderation.models import Flag, Sanction
    from tests.factories import make_reply
    from tests.test_query_counts import count_queries

    async def flagged(n: int) -> str:
        async with db.begin() as s:
            author = await make_user(s)
            thread = await make_thread(s, author=author)
            for i in range(n):
                post = await make_reply(s, thread, author=author, body=f"flag me {i}")
                for _ in range(2):
                    flagger = await make_user(s)
                    s.add(Flag(post_id=post.id, user_id=flagger.id, reason="spam"))
                s.add(Sanction(user_id=author.id, kind="warning", reason=f"warning {i}", moderator_id=moderator.id))
                await audit.record(s, actor=moderator, action="thread.lock", target=thread, reason=f"entry {i}")
        return author.username

    async def queries(path: str) -> int:
        await client.get(path)  # the steady state: the worker's copy of the banners is filled
        with count_queries(app) as statements:
            r = await client.get(path)
        assert r.status_code == 200, path
        return len(statements)

    await client.login_as(admin)
    few_author = await flagged(1)
    few = [await queries("/mod/queue"), await queries("/admin/audit"), await queries(f"/mod/u/{few_author}")]
    many_author = await flagged(6)
    many = [await queries("/mod/queue"), await queries("/admin/audit"), await queries(f"/mod/u/{many_author}")]
    assert few == many
