"""Moderator actions on posts and threads: state, counters, notices, audit,
revisions, and one transaction per action."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from forum.models import Post, PostRevision, Role, Thread
from forum.services import threads
from moderation import audit
from moderation.models import AuditEntry, Flag, Notice
from tests.factories import make_category, make_reply, make_thread, make_user
from tests.moderation_helpers import client_for, count, first_post, get


async def _thread(db, *, replies: int = 2, author=None):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        thread = await make_thread(s, author=author, title="앱이 자꾸 튕겨요")
        answers = [await make_reply(s, thread, body=f"답변 {i}: 캐시를 지워 보세요") for i in range(replies)]
    return thread, answers


async def test_hide_restore_delete_keep_the_reply_count_true(client, db, moderator):
    thread, (a, b) = await _thread(db)
    await client.login_as(moderator)
    assert (await get(db, Thread, thread.id)).reply_count == 2
    await client.submit(f"/mod/p/{a.id}/hide", {"reason": "광고"})
    assert (await get(db, Thread, thread.id)).reply_count == 1
    await client.submit(f"/mod/p/{a.id}/hide", {"reason": "again"})  # twice: no change
    await client.submit(f"/mod/p/{a.id}/delete")
    assert (await get(db, Thread, thread.id)).reply_count == 1
    await client.submit(f"/mod/p/{b.id}/delete", {"reason": "중복"})
    assert (await get(db, Thread, thread.id)).reply_count == 0
    await client.submit(f"/mod/p/{a.id}/restore")
    await client.submit(f"/mod/p/{b.id}/restore")
    assert (await get(db, Thread, thread.id)).reply_count == 2
    restored = await get(db, Post, a.id)
    assert restored.visible and restored.hidden_reason is None
    async with db() as s:
        actions = (await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["post.hide", "post.delete", "post.delete", "post.restore", "post.restore"]


async def test_deleted_posts_are_kept_and_shown_only_to_moderators(client, other_client, db, moderator, member):
    thread, (a, _b) = await _thread(db)
    await client.login_as(moderator)
    await client.submit(f"/mod/p/{a.id}/delete", {"reason": "스팸"})
    assert (await get(db, Post, a.id)).body.startswith("답변 0")
    mod_page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "답변 0" in mod_page.text and "Only moderators can see this post" in mod_page.text
    await other_client.login_as(member)
    page = await other_client.get(f"/t/{thread.id}/{thread.slug}")
    assert "답변 0" not in page.text


async def test_deleting_the_opening_post_deletes_the_thread_and_restoring_brings_it_back(
    client, other_client, db, moderator
):
    thread, _answers = await _thread(db)
    question = await first_post(db, thread)
    await client.login_as(moderator)
    await client.submit(f"/mod/p/{question.id}/delete", {"reason": "spam thread"})
    assert (await get(db, Thread, thread.id)).deleted_at is not None
    assert (await other_client.get(f"/t/{thread.id}/{thread.slug}")).status_code == 404
    assert "앱이 자꾸 튕겨요" not in (await other_client.get("/")).text
    await client.submit(f"/mod/p/{question.id}/restore")
    assert (await get(db, Thread, thread.id)).deleted_at is None
    assert (await other_client.get(f"/t/{thread.id}/{thread.slug}")).status_code == 200


async def test_authors_hear_what_happened_to_their_posts(client, db, moderator, member):
    _thread_row, (a,) = await _thread(db, replies=1)
    async with db.begin() as s:
        post = await s.get(Post, a.id)
        assert post is not None
        post.author_id = member.id
    await client.login_as(moderator)
    await client.submit(f"/mod/p/{a.id}/hide", {"reason": "Personal details in the post"})
    await client.login_as(member)
    mine = await client.get("/me/moderation")
    assert "A moderator hid your post." in mine.text and "Personal details in the post" in mine.text


async def test_a_moderator_edits_with_a_reason_and_every_revision_is_kept(client, db, moderator, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member, title="결제 오류", body="카드 번호 1234-5678-9999-0000 입니다")
    question = await first_post(db, thread)
    await client.login_as(member)
    r = await client.submit(
        f"/p/{question.id}/edit",
        {"title": "결제 오류 문의", "body": "카드 번호 1234-5678-9999-0000 입니다. 도와주세요"},
    )
    assert r.status_code == 303
    await client.login_as(moderator)
    missing = await client.submit(
        f"/mod/p/{question.id}/edit", {"title": "결제 오류 문의", "body": "카드 번호 [삭제됨]"}
    )
    assert missing.status_code == 422 and "Give a reason" in missing.text
    r = await client.submit(
        f"/mod/p/{question.id}/edit",
        {"title": "결제 오류 문의", "body": "카드 번호 [삭제됨] 입니다. 도와주세요", "reason": "카드 번호 삭제"},
    )
    assert r.status_code == 303
    assert await count(db, PostRevision, PostRevision.post_id == question.id) == 2
    history = await client.get(f"/mod/p/{question.id}/history")
    assert history.status_code == 200
    text = history.text
    assert text.count("1234-5678-9999-0000") >= 2  # both earlier versions
    assert "[삭제됨]" in text and "카드 번호 삭제" in text and "Version 3" in text and "결제 오류" in text
    async with db() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "post.edit"))
        notice = await s.scalar(select(Notice).where(Notice.kind == "post_edited"))
    assert entry is not None and "1234-5678" in json.loads(entry.before)["body"] and entry.reason == "카드 번호 삭제"
    assert notice is not None and notice.user_id == member.id


async def test_members_cannot_see_revisions(client, db, member):
    thread, _ = await _thread(db, replies=0)
    question = await first_post(db, thread)
    await client.login_as(member)
    assert (await client.get(f"/mod/p/{question.id}/history")).status_code == 403


async def test_lock_stops_replies_and_unlock_allows_them(client, other_client, db, moderator, member):
    thread, _ = await _thread(db, replies=0)
    await client.login_as(moderator)
    await client.submit(f"/mod/t/{thread.id}/lock", {"reason": "Heated"})
    await other_client.login_as(member)
    r = await other_client.submit(f"/t/{thread.id}/reply", {"body": "Still broken for me"})
    assert r.status_code == 403 and "locked" in r.text
    await client.submit(f"/mod/t/{thread.id}/unlock")
    r = await other_client.submit(f"/t/{thread.id}/reply", {"body": "Still broken for me"})
    assert r.status_code == 303


async def test_pin_and_move(client, db, moderator):
    thread, _ = await _thread(db, replies=0)
    async with db.begin() as s:
        target = await make_category(s, slug="billing", name_ko="결제")
    await client.login_as(moderator)
    await client.submit(f"/mod/t/{thread.id}/pin")
    assert (await get(db, Thread, thread.id)).pinned_at is not None
    form = await client.get(f"/mod/t/{thread.id}/move")
    assert form.status_code == 200 and "billing" in form.text
    bad = await client.submit(f"/mod/t/{thread.id}/move", {"category": "nope"})
    assert bad.status_code == 422 and "Choose a category" in bad.text
    r = await client.submit(f"/mod/t/{thread.id}/move", {"category": "billing", "reason": "결제 문의"})
    assert r.status_code == 303
    assert (await get(db, Thread, thread.id)).category_id == target.id
    await client.submit(f"/mod/t/{thread.id}/unpin")
    assert (await get(db, Thread, thread.id)).pinned_at is None
    assert await count(db, AuditEntry) == 3


async def test_closing_as_a_duplicate_links_to_the_original(client, other_client, db, moderator, member):
    original, _ = await _thread(db, replies=0)
    copy, _ = await _thread(db, replies=0)
    await client.login_as(moderator)
    assert (await client.get(f"/mod/t/{copy.id}/duplicate")).status_code == 200
    self_dup = await client.submit(f"/mod/t/{copy.id}/duplicate", {"original": str(copy.id)})
    assert self_dup.status_code == 422 and "cannot duplicate itself" in self_dup.text
    missing = await client.submit(f"/mod/t/{copy.id}/duplicate", {"original": "999999"})
    assert missing.status_code == 422
    r = await client.submit(f"/mod/t/{copy.id}/duplicate", {"original": f"http://testserver/t/{original.id}/x"})
    assert r.status_code == 303
    row = await get(db, Thread, copy.id)
    assert row.duplicate_of_id == original.id and row.locked_at is not None
    page = await other_client.get(f"/t/{copy.id}/{copy.slug}")
    assert "Closed as a duplicate of:" in page.text and f"/t/{original.id}/" in page.text
    loop = await client.submit(f"/mod/t/{original.id}/duplicate", {"original": str(copy.id)})
    assert loop.status_code == 422 and "itself closed as a duplicate" in loop.text
    await client.submit(f"/mod/t/{copy.id}/reopen")
    row = await get(db, Thread, copy.id)
    assert row.duplicate_of_id is None and row.locked_at is None
    del member


async def test_the_thread_page_offers_moderators_their_menu_and_members_a_flag_link(client, db, moderator, member):
    thread, (a, _b) = await _thread(db)
    await client.login_as(member)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert f"/p/{a.id}/flag" in page.text and "/mod/p/" not in page.text
    await client.login_as(moderator)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert f"/mod/p/{a.id}/hide" in page.text and f"/mod/t/{thread.id}/lock" in page.text
    assert f"/mod/p/{a.id}/history" in page.text


@pytest.mark.parametrize("path", ["hide", "delete"])
async def test_an_action_whose_audit_write_fails_leaves_nothing_behind(app, db, moderator, monkeypatch, path):
    thread, (a, _b) = await _thread(db)
    async with db.begin() as s:
        flagger = await make_user(s)
        s.add(Flag(post_id=a.id, user_id=flagger.id, reason="spam"))

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit storage is down")

    monkeypatch.setattr(audit, "record", broken)
    async with client_for(app, raise_app_exceptions=False) as client:
        await client.login_as(moderator)
        r = await client.submit(f"/mod/p/{a.id}/{path}", {"reason": "spam"})
    assert r.status_code == 500
    post = await get(db, Post, a.id)
    assert post.visible
    assert (await get(db, Thread, thread.id)).reply_count == 2
    assert await count(db, Flag, Flag.resolved_at.is_(None)) == 1  # type: ignore[union-attr]
    assert await count(db, Notice) == 0
    assert await count(db, AuditEntry) == 0


async def test_a_sanction_whose_audit_write_fails_leaves_the_user_free(app, db, moderator, member, monkeypatch):
    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit storage is down")

    monkeypatch.setattr(audit, "record", broken)
    async with client_for(app, raise_app_exceptions=False) as client:
        await client.login_as(member)
        await client.login_as(moderator)
        r = await client.submit(f"/mod/u/{member.username}/suspend", {"reason": "abuse", "hours": "24"})
    assert r.status_code == 500
    from forum.models import User, UserSession
    from moderation.models import Sanction

    assert (await get(db, User, member.id)).suspended_until is None
    assert await count(db, Sanction) == 0
    assert await count(db, UserSession, UserSession.user_id == member.id) == 1  # the session did not end


async def test_hiding_the_only_answers_makes_the_thread_unanswered_again(client, db, moderator):
    async with db.begin() as s:
        asker = await make_user(s)
        staff = await make_user(s, role=Role.staff)
        thread = await make_thread(s, author=asker, title="환불 받을 수 있나요")
        spam = await make_reply(s, thread, body="싸게 팝니다 www.example.com")
        official = await make_reply(s, thread, author=staff, body="설정 > 결제에서 환불을 요청하세요")
    await client.login_as(moderator)

    await client.submit(f"/mod/p/{spam.id}/hide", {"reason": "광고"})
    after = await get(db, Thread, thread.id)
    assert after.first_response_at == official.created_at == after.first_staff_response_at
    assert after.staff_replied

    await client.submit(f"/mod/p/{official.id}/delete", {"reason": "잘못 올림"})
    after = await get(db, Thread, thread.id)
    assert after.first_response_at is None and after.first_staff_response_at is None
    assert not after.staff_replied and after.reply_count == 0

    await client.submit(f"/mod/p/{spam.id}/restore")
    after = await get(db, Thread, thread.id)
    assert after.first_response_at == spam.created_at and after.first_staff_response_at is None
    await client.submit(f"/mod/p/{official.id}/restore")
    after = await get(db, Thread, thread.id)
    assert after.first_response_at == spam.created_at and after.first_staff_response_at == official.created_at
    assert after.staff_replied and after.reply_count == 2


async def test_hiding_the_accepted_answer_leaves_one_true_state(client, other_client, db, moderator):
    """Hidden or deleted, an accepted or official answer is nobody's answer: the
    thread is unsolved, unanswered and its clocks run again, on every page; a
    restore brings the reply back but not the mark."""
    async with db.begin() as s:
        asker = await make_user(s)
        staff = await make_user(s, role=Role.staff)
        thread = await make_thread(s, author=asker, title="결제 취소가 안 돼요")
        answer = await make_reply(s, thread, author=staff, body="설정 > 결제 > 취소를 누르세요")
        await threads.accept(s, answer, user=asker)
        await threads.mark_official(s, answer, user=staff)
    solved = await get(db, Thread, thread.id)
    assert solved.solved_at is not None and solved.accepted_post_id == answer.id

    await client.login_as(moderator)
    await client.submit(f"/mod/p/{answer.id}/hide", {"reason": "잘못된 안내"})
    after = await get(db, Thread, thread.id)
    assert after.accepted_post_id is None and after.official_post_id is None
    assert after.solved_at is None and after.reply_count == 0 and after.first_response_at is None

    await other_client.login_as(asker)
    page = (await other_client.get(f"/t/{thread.id}/{thread.slug}")).text
    assert "Accepted answer" not in page and "badge-solved" not in page
    unanswered = (await client.get("/support/queues/unanswered")).text
    assert f"/t/{thread.id}/" in unanswered

    await client.submit(f"/mod/p/{answer.id}/restore")
    after = await get(db, Thread, thread.id)
    assert after.reply_count == 1 and after.first_response_at == answer.created_at
    assert after.solved_at is None and after.accepted_post_id is None

    async with db.begin() as s:
        post = await threads.get_post_or_404(s, answer.id, viewer=asker)
        await threads.accept(s, post, user=asker)
    assert (await get(db, Thread, thread.id)).solved_at is not None
    await client.submit(f"/mod/p/{answer.id}/delete", {"reason": "중복"})
    assert (await get(db, Thread, thread.id)).solved_at is None
