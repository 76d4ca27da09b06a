"""Flags, the threshold that hides a post, and the review queue."""

from __future__ import annotations

from sqlalchemy import select

from forum.models import Post, Role, Thread
from moderation.models import AuditEntry, Flag, Notice
from tests.factories import make_reply, make_thread, make_user
from tests.moderation_helpers import count, get


async def _thread_with_answer(db, *, author=None):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        thread = await make_thread(s, title="환불 받을 수 있나요?")
        answer = await make_reply(s, thread, author=author, body="사기 사이트 링크입니다 http://spam.example")
    return thread, answer


async def _flaggers(db, n: int, role: Role = Role.member):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return [await make_user(s, role=role) for _ in range(n)]


async def test_a_member_flags_a_post_once(client, db, member):
    _thread, answer = await _thread_with_answer(db)
    await client.login_as(member)
    form = await client.get(f"/p/{answer.id}/flag")
    assert form.status_code == 200 and "Spam or advertising" in form.text
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "spam"})
    assert r.status_code == 303
    again = await client.submit(f"/p/{answer.id}/flag", {"reason": "abuse"})
    assert again.status_code == 409
    assert "already flagged" in again.text
    assert await count(db, Flag) == 1
    page = await client.get(f"/p/{answer.id}/flag")
    assert "You have already flagged this post" in page.text


async def test_flag_input_is_checked(client, db, member):
    _thread, answer = await _thread_with_answer(db)
    await client.login_as(member)
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "nonsense"})
    assert r.status_code == 422 and "Choose why you are flagging" in r.text
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "other", "text": "  "})
    assert r.status_code == 422 and "Tell the moderators what is wrong" in r.text
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "other", "text": "x" * 501})
    assert r.status_code == 422
    assert await count(db, Flag) == 0
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "other", "text": "반말과 욕설이 섞여 있어요"})
    assert r.status_code == 303
    async with db() as s:
        flag = await s.scalar(select(Flag))
    assert flag is not None and flag.text == "반말과 욕설이 섞여 있어요"


async def test_nobody_flags_their_own_post_and_guests_must_log_in(client, db, member):
    _thread, answer = await _thread_with_answer(db, author=member)
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "spam"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    await client.login_as(member)
    r = await client.submit(f"/p/{answer.id}/flag", {"reason": "spam"})
    assert r.status_code == 403 and "your own post" in r.text
    assert await count(db, Flag) == 0


async def test_two_member_flags_leave_the_post_up_and_the_third_hides_it(app, db):
    thread, answer = await _thread_with_answer(db)
    flaggers = await _flaggers(db, 3)
    from tests.webclient import WebClient

    for i, flagger in enumerate(flaggers):
        async with WebClient(app) as c:
            await c.login_as(flagger)
            r = await c.submit(f"/p/{answer.id}/flag", {"reason": "spam" if i else "abuse"})
            assert r.status_code == 303
        post = await get(db, Post, answer.id)
        assert (post.hidden_at is not None) == (i == 2), i
    post = await get(db, Post, answer.id)
    assert post.hidden_reason == "flags"
    assert (await get(db, Thread, thread.id)).reply_count == 0
    async with db() as s:
        notice = await s.scalar(select(Notice).where(Notice.user_id == answer.author_id))
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "post.auto_hide"))
    assert notice is not None and notice.kind == "post_flagged" and set(notice.reason.split(",")) == {"spam", "abuse"}
    assert entry is not None and entry.actor_id is None and entry.target_id == answer.id
    assert "사기 사이트" in entry.before


async def test_one_moderator_flag_hides_at_once_and_others_see_a_placeholder(
    client, other_client, db, moderator, member
):
    thread, answer = await _thread_with_answer(db)
    await client.login_as(moderator)
    assert (await client.submit(f"/p/{answer.id}/flag", {"reason": "spam"})).status_code == 303
    assert (await get(db, Post, answer.id)).hidden_reason == "flags"
    await other_client.login_as(member)
    page = await other_client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Hidden pending review." in page.text
    assert "사기 사이트" not in page.text


async def test_the_author_is_told_why_their_post_was_hidden(client, db, member, moderator):
    _thread, answer = await _thread_with_answer(db, author=member)
    await client.login_as(moderator)
    await client.submit(f"/p/{answer.id}/flag", {"reason": "off_topic"})
    await client.login_as(member)
    home = await client.get("/")
    assert "1 moderation notice" in home.text
    mine = await client.get("/me/moderation")
    assert "Members flagged your post" in mine.text and "Off-topic" in mine.text
    await client.submit("/me/moderation/read")
    assert "moderation notice" not in (await client.get("/")).text


async def test_thresholds_come_from_the_settings(settings, db, member):
    from tests.moderation_helpers import app_with, client_for

    _thread, answer = await _thread_with_answer(db)
    async with app_with(settings, flag_threshold_members=1) as app2, client_for(app2) as c:
        await c.login_as(member)
        await c.submit(f"/p/{answer.id}/flag", {"reason": "spam"})
    assert (await get(db, Post, answer.id)).hidden_reason == "flags"


async def test_the_queue_groups_flags_by_post_most_flagged_first(client, db, moderator):
    async with db.begin() as s:
        thread = await make_thread(s, title="로그인이 안 돼요")
        once = await make_reply(s, thread, body="Flagged once")
        twice = await make_reply(s, thread, body="Flagged twice")
        clean = await make_reply(s, thread, body="Never flagged")
        users = [await make_user(s) for _ in range(2)]
        s.add(Flag(post_id=twice.id, user_id=users[0].id, reason="spam"))
        s.add(Flag(post_id=twice.id, user_id=users[1].id, reason="abuse", text="욕설"))
        s.add(Flag(post_id=once.id, user_id=users[0].id, reason="off_topic"))
    await client.login_as(moderator)
    r = await client.get("/mod/queue")
    assert r.status_code == 200
    assert r.text.index("Flagged twice") < r.text.index("Flagged once")
    assert "Never flagged" not in r.text
    assert "욕설" in r.text and users[1].display_name in r.text
    assert "로그인이 안 돼요" in r.text  # thread context
    assert "Account created" in r.text  # the author's history
    newest = await client.get("/mod/queue?sort=newest")
    assert newest.status_code == 200
    del clean


async def test_dismissing_flags_restores_the_post_and_empties_the_queue(client, db, moderator):
    thread, answer = await _thread_with_answer(db)
    await client.login_as(moderator)
    await client.submit(f"/p/{answer.id}/flag", {"reason": "spam"})
    assert "사기 사이트" in (await client.get("/mod/queue")).text
    r = await client.submit(f"/mod/p/{answer.id}/dismiss", {"reason": "Not spam after all", "next": "/mod/queue"})
    assert r.status_code == 303 and r.headers["location"] == "/mod/queue"
    post = await get(db, Post, answer.id)
    assert post.visible and (await get(db, Thread, thread.id)).reply_count == 1
    assert await count(db, Flag, Flag.resolved_at.is_(None)) == 0  # type: ignore[union-attr]
    assert "Nothing to review" in (await client.get("/mod/queue")).text
    assert await count(db, AuditEntry, AuditEntry.action == "flags.dismiss") == 1


async def test_flagging_is_rate_limited(settings, db, member):
    from tests.moderation_helpers import app_with, client_for, unique_prefix

    async with db.begin() as s:
        thread = await make_thread(s)
        answers = [await make_reply(s, thread, body=f"Answer {i}") for i in range(3)]
    async with (
        app_with(settings, rate_limit_flag="2 per minute", rate_limit_prefix=unique_prefix()) as app2,
        client_for(app2) as c,
    ):
        await c.login_as(member)
        assert (await c.submit(f"/p/{answers[0].id}/flag", {"reason": "spam"})).status_code == 303
        assert (await c.submit(f"/p/{answers[1].id}/flag", {"reason": "spam"})).status_code == 303
        r = await c.submit(f"/p/{answers[2].id}/flag", {"reason": "spam"})
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "flagging too fast" in r.text
    assert await count(db, Flag) == 2


async def test_every_flagger_is_thanked_and_lands_on_a_page_that_exists(app, db):
    """The third flag on a question hides it: its flagger lands on the category,
    not on a thread that now says 'No such thread'."""
    async with db.begin() as s:
        thread = await make_thread(s, title="싸게 팝니다 연락 주세요")
        question = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first == True))  # noqa: E712
    flaggers = await _flaggers(db, 3)
    from tests.webclient import WebClient

    for i, flagger in enumerate(flaggers):
        async with WebClient(app) as c:
            await c.login_as(flagger)
            r = await c.submit(f"/p/{question.id}/flag", {"reason": "spam"})
            assert r.status_code == 303
            landing = r.headers["location"]
            if i < 2:
                assert landing.startswith(f"/t/{thread.id}/") and "flagged=1" in landing
            else:
                assert landing.startswith("/c/") and "flagged=1" in landing
            page = await c.get(landing)
            assert page.status_code == 200, landing
            assert "your flag went to the moderators" in page.text
    assert (await get(db, Thread, thread.id)).hidden_at is not None
