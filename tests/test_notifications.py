"""Customers hear of answers: in the forum, and by email through a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import Message

import pytest
from sqlalchemy import func, select

from forum import mail
from forum.clock import utcnow
from forum.db import make_sync_engine
from forum.models import Notification, OutboxEmail, Post, Thread, ThreadWatch, User
from forum.services import notifications, state, threads
from tests.factories import make_reply, make_thread, make_user
from tests.mailbox import _free_port
from tests.webclient import tampered


async def _notifications(db, user: User) -> list[Notification]:
    async with db() as s:
        return list(
            await s.scalars(
                select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)  # type: ignore[arg-type]
            )
        )


async def _all(db) -> list[Notification]:
    async with db() as s:
        return list(await s.scalars(select(Notification).order_by(Notification.id)))  # type: ignore[arg-type]


# ---------------------------------------------------------------- who hears of what


async def test_asker_is_notified_when_someone_answers_through_the_page(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
    await client.login_as(other_member)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "Restart the sync service."})
    assert r.status_code == 303
    [n] = await _notifications(db, member)
    assert (n.kind, n.thread_id, n.actor_id) == ("answer", thread.id, other_member.id)
    assert await _notifications(db, other_member) == []


async def test_asker_replying_to_their_own_thread_hears_nothing(db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        await make_reply(s, thread, author=member)
    assert await _all(db) == []


async def test_watchers_hear_of_a_reply_once_each_and_the_actor_never(db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        third = await make_user(s)
        await make_reply(s, thread, author=other_member)  # member: answer
        await make_reply(s, thread, author=member)  # other_member: reply (member is asker and watcher)
        await make_reply(s, thread, author=third)  # member: answer, other_member: reply
    mine = await _notifications(db, member)
    theirs = await _notifications(db, other_member)
    assert [n.kind for n in mine] == ["answer", "answer"]
    assert [n.kind for n in theirs] == ["reply", "reply"]
    assert [n.actor_id for n in theirs] == [member.id, third.id]
    assert await _notifications(db, third) == []


async def test_a_discussion_reply_is_a_reply_for_the_author_too(db, member, other_member):
    from forum.models import ThreadKind

    async with db.begin() as s:
        thread = await make_thread(s, author=member, kind=ThreadKind.discussion)
        await make_reply(s, thread, author=other_member)
    assert [n.kind for n in await _notifications(db, member)] == ["reply"]


async def test_stop_watching_sticks_even_after_replying_again(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        await make_reply(s, thread, author=other_member)
    await client.login_as(other_member)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Stop watching" in page.text
    r = await client.submit(f"/t/{thread.id}/unwatch")
    assert r.status_code == 303 and r.headers["location"] == f"/t/{thread.id}/{thread.slug}"
    assert ">Watch<" in (await client.get(f"/t/{thread.id}/{thread.slug}")).text
    async with db.begin() as s:
        await make_reply(s, (await s.get(Thread, thread.id)), author=other_member)
        await make_reply(s, (await s.get(Thread, thread.id)), author=member)
    assert await _notifications(db, other_member) == []


async def test_asker_can_stop_and_start_watching_their_question(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
    await client.login_as(member)
    await client.submit(f"/t/{thread.id}/unwatch")
    async with db.begin() as s:
        await make_reply(s, await s.get(Thread, thread.id))
    assert await _notifications(db, member) == []
    await client.submit(f"/t/{thread.id}/watch")
    async with db.begin() as s:
        await make_reply(s, await s.get(Thread, thread.id))
    assert [n.kind for n in await _notifications(db, member)] == ["answer"]


async def test_member_can_watch_a_thread_they_have_not_replied_to(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
    await client.login_as(other_member)
    assert (await client.submit(f"/t/{thread.id}/watch")).status_code == 303
    async with db.begin() as s:
        await make_reply(s, await s.get(Thread, thread.id))
    assert [n.kind for n in await _notifications(db, other_member)] == ["reply"]


async def test_watching_needs_a_signed_in_user_a_visible_thread_and_a_csrf_token(
    client, other_client, db, member, other_member
):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        hidden = await make_thread(s, author=member)
    r = await client.submit(f"/t/{thread.id}/watch")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    await client.login_as(other_member)
    assert (await client.post(f"/t/{thread.id}/watch", data={"csrf_token": "forged"})).status_code == 403
    assert (await client.submit("/t/999999/watch")).status_code == 404
    async with db.begin() as s:
        row = await s.get(Thread, hidden.id)
        row.hidden_at = utcnow()
        s.add(row)
    r = await client.submit(f"/t/{hidden.id}/watch")
    assert r.status_code == 404
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(ThreadWatch)) == 0


async def test_accepted_and_official_answers_notify_their_author(client, db, member, other_member, staff):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        answer = await make_reply(s, thread, author=other_member)
    await client.login_as(member)
    assert (await client.submit(f"/p/{answer.id}/accept")).status_code == 303
    await client.submit(f"/p/{answer.id}/unaccept")
    await client.submit(f"/p/{answer.id}/accept")
    await client.login_as(staff)
    assert (await client.submit(f"/p/{answer.id}/official")).status_code == 303
    assert (await client.submit(f"/p/{answer.id}/official")).status_code == 303  # no change, no notice
    kinds = [n.kind for n in await _notifications(db, other_member)]
    assert kinds == ["accepted", "accepted", "official"]


async def test_staff_marking_their_own_answer_official_hears_nothing(db, member, staff):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        answer = await make_reply(s, thread, author=staff)
        await threads.mark_official(s, answer, user=staff)
    assert await _notifications(db, staff) == []


async def test_hidden_posts_and_banned_users_are_not_notified(db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        answer = await make_reply(s, thread, author=other_member)
        await s.execute(Notification.__table__.delete())
        await state.hide_post(s, answer, reason="moderator")
        assert await notifications.notify_reply(s, thread, answer, author=other_member) == []
        await state.ban_user(s, member)
        await make_reply(s, thread, author=other_member)
    assert await _all(db) == []


async def test_a_reply_held_for_review_is_heard_of_when_a_moderator_lets_it_through(
    client, other_client, db, member, other_member, moderator
):
    from moderation.models import Word
    from moderation.spam import word_key

    async with db.begin() as s:
        s.add(Word(kind="watched", word="crypto*", word_key=word_key("crypto*")))
        thread = await make_thread(s, author=member)
    await client.login_as(other_member)
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": "Try the crypto wallet sync."})).status_code == 303
    assert await _notifications(db, member) == []  # held: nobody sees it yet
    async with db() as s:
        held = await s.scalar(select(Post).where(Post.author_id == other_member.id))
    await other_client.login_as(moderator)
    assert (await other_client.submit(f"/mod/p/{held.id}/dismiss")).status_code == 303
    [n] = await _notifications(db, member)
    assert (n.kind, n.post_id, n.actor_id) == ("answer", held.id, other_member.id)
    # hidden and restored again later: it was heard of already
    assert (await other_client.submit(f"/mod/p/{held.id}/hide", {"reason": "spam"})).status_code == 303
    async with db() as s:
        assert not (await s.get(Post, held.id)).visible
    assert (await other_client.submit(f"/mod/p/{held.id}/restore")).status_code == 303
    async with db() as s:
        assert (await s.get(Post, held.id)).visible
    assert len(await _notifications(db, member)) == 1


# ---------------------------------------------------------------- the page


async def test_notifications_page_lists_newest_first_and_the_header_counts_unread(client, db, member):
    async with db.begin() as s:
        first = await make_thread(s, author=member, title="First question here")
        second = await make_thread(s, author=member, title="Second question here")
        await make_reply(s, first)
        await make_reply(s, second)
    await client.login_as(member)
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert page.text.index("Second question here") < page.text.index("First question here")
    assert "answered your question" in page.text
    assert 'class="notifications-link">Notifications <span class="badge badge-unanswered"' in page.text
    assert ">2</span>" in page.text


async def test_opening_a_notification_marks_it_read_and_goes_to_the_post(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        answer = await make_reply(s, thread)
    [n] = await _notifications(db, member)
    await client.login_as(member)
    r = await client.submit(f"/notifications/{n.id}/open")
    assert r.status_code == 303 and r.headers["location"] == f"/t/{thread.id}/{thread.slug}#post-{answer.id}"
    [n] = await _notifications(db, member)
    assert n.read_at is not None
    assert "badge-unanswered" not in (await client.get("/notifications")).text


async def test_opening_a_thread_reads_its_notifications_and_no_others(client, db, member):
    async with db.begin() as s:
        first = await make_thread(s, author=member, title="First question here")
        second = await make_thread(s, author=member, title="Second question here")
        await make_reply(s, first)
        await make_reply(s, first)
        await make_reply(s, second)
    await client.login_as(member)
    page = await client.get(f"/t/{first.id}/{first.slug}")
    # the header of the same page already counts what is left
    assert 'class="notifications-link">Notifications <span class="badge badge-unanswered"' in page.text
    assert ">1</span>" in page.text
    read = {n.thread_id: n.read_at is not None for n in await _notifications(db, member)}
    assert read == {first.id: True, second.id: False}
    await client.get(f"/t/{second.id}/{second.slug}")
    assert all(n.read_at is not None for n in await _notifications(db, member))
    assert "badge-unanswered" not in (await client.get("/notifications")).text


async def test_only_the_owner_can_open_a_notification(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        await make_reply(s, thread)
    [n] = await _notifications(db, member)
    await client.login_as(other_member)
    r = await client.submit(f"/notifications/{n.id}/open")
    assert r.status_code == 404 and "No such notification." in r.text
    assert (await client.submit("/notifications/999999/open")).status_code == 404
    [n] = await _notifications(db, member)
    assert n.read_at is None
    assert "answered your question" not in (await client.get("/notifications")).text


async def test_mark_all_read_reads_only_your_own(client, db, member, other_member):
    async with db.begin() as s:
        mine = await make_thread(s, author=member)
        theirs = await make_thread(s, author=other_member)
        await make_reply(s, mine)
        await make_reply(s, mine)
        await make_reply(s, theirs)
    await client.login_as(member)
    assert (await client.post("/notifications/read", data={"csrf_token": "forged"})).status_code == 403
    r = await client.submit("/notifications/read")
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    assert all(n.read_at is not None for n in await _notifications(db, member))
    assert all(n.read_at is None for n in await _notifications(db, other_member))


async def test_notifications_page_needs_login_and_pages(client, db, member, settings, app):
    r = await client.get("/notifications")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        for _ in range(35):
            await make_reply(s, thread)
    await client.login_as(member)
    first = await client.get("/notifications")
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = await client.get("/notifications?page=2")
    assert second.status_code == 200 and second.text.count('id="notification-') == 5
    assert (await client.get("/notifications?page=abc")).status_code == 200


async def test_the_pages_are_in_korean_for_korean_users(client, db):
    async with db.begin() as s:
        korean = await make_user(s, locale="ko")
        thread = await make_thread(s, author=korean)
        await make_reply(s, thread)
    await client.login_as(korean)
    page = await client.get("/notifications")
    assert "알림" in page.text and "Notifications" not in page.text


# ---------------------------------------------------------------- email choices


async def test_owner_sees_and_changes_email_choices_on_their_profile(client, other_client, db, member):
    await client.login_as(member)
    page = await client.get(f"/u/{member.username}")
    assert 'name="email_own" checked' in page.text and 'name="email_watched" >' in page.text
    assert "email_own" not in (await other_client.get(f"/u/{member.username}")).text
    r = await client.submit("/me/email", {"email_watched": "on"})
    assert r.status_code == 303 and r.headers["location"] == f"/u/{member.username}#email-choices"
    async with db() as s:
        choices = await notifications.email_choices(s, member)
    assert (choices.own, choices.watched) == (False, True)
    assert (await other_client.submit("/me/email", {"email_own": "on"})).status_code == 303  # to /login


# ---------------------------------------------------------------- email through SMTP


@pytest.fixture
def sync_engine(settings):  # type: ignore[no-untyped-def]
    engine = make_sync_engine(settings.database_url)
    yield engine
    engine.dispose()


async def _send(mail_settings, engine, **kwargs) -> mail.SendReport:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(mail.run, mail_settings, engine=engine, **kwargs)


async def _outbox(db) -> list[OutboxEmail]:
    async with db() as s:
        return list(await s.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))  # type: ignore[arg-type]


def _body(message: Message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset())  # type: ignore[union-attr]


async def test_an_answer_is_emailed_to_the_asker_in_their_language(db, smtp, mail_settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com", locale="ko")
        english = await make_user(s, email="peer@example.com", locale="en", display_name="Peer")
        thread = await make_thread(s, author=asker, title="동기화가 멈췄어요")
        answer = await make_reply(
            s, thread, author=english, body="**Restart** the [sync service](https://example.com/x).\n\n<b>x</b>"
        )
        nobody = await make_user(s)  # no address: told in the forum only
        await make_reply(s, await make_thread(s, author=nobody), author=english)
    report = await _send(mail_settings, sync_engine)
    assert (report.sent, report.failed) == (1, 0)
    [(rcpt, message)] = smtp[0].messages
    assert rcpt == ["asker@example.com"]
    assert message["Subject"] == "질문에 새 답변이 달렸습니다: 동기화가 멈췄어요"
    assert message["Content-Language"] == "ko"
    assert message["From"] == "Cloudnote Community <help@example.com>"
    body = _body(message)
    assert "Peer님이" in body and "> Restart the sync service." in body
    assert "<p>" not in body and "**" not in body
    assert f"https://forum.example.com/t/{thread.id}/" in body and f"#post-{answer.id}" in body
    [row] = await _outbox(db)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert len(await _notifications(db, nobody)) == 1


async def test_an_english_watcher_who_opted_in_gets_an_english_email(client, db, smtp, mail_settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s)
        watcher = await make_user(s, email="watcher@example.com", locale="en")
        thread = await make_thread(s, author=asker, title="Sync stopped working")
        await make_reply(s, thread, author=watcher)
    await client.login_as(watcher)
    await client.submit("/me/email", {"email_own": "on", "email_watched": "on"})
    async with db.begin() as s:
        await make_reply(s, await s.get(Thread, thread.id))
    await _send(mail_settings, sync_engine)
    [(rcpt, message)] = smtp[0].messages
    assert rcpt == ["watcher@example.com"]
    assert message["Subject"] == "New reply in a thread you watch: Sync stopped working"
    assert "Read it and reply: https://forum.example.com/t/" in _body(message)


async def test_nothing_is_emailed_to_opted_out_users_or_watchers_by_default(
    client, db, smtp, mail_settings, sync_engine
):
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        watcher = await make_user(s, email="watcher@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread, author=watcher)
    await client.login_as(asker)
    await client.submit("/me/email", {})
    async with db.begin() as s:
        await make_reply(s, await s.get(Thread, thread.id))
    # The first answer's email to the asker was written before they opted out:
    # it is dropped when sent, not delivered.
    report = await _send(mail_settings, sync_engine)
    assert smtp[0].messages == []
    assert report.dropped == 1
    assert len(await _notifications(db, watcher)) == 1  # still told in the forum
    assert [r.status for r in await _outbox(db)] == ["dropped"]


async def test_an_email_is_never_sent_twice(db, smtp, mail_settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    await _send(mail_settings, sync_engine)
    await _send(mail_settings, sync_engine, now=utcnow() + timedelta(days=1))
    assert len(smtp[0].messages) == 1


async def test_two_senders_never_claim_the_same_rows(db, mail_settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        for _ in range(6):
            await make_reply(s, thread)
    now = utcnow() + timedelta(seconds=1)
    lease = timedelta(minutes=10)
    first = mail.claim(sync_engine, "a" * 32, now=now, limit=4, lease=lease)
    second = mail.claim(sync_engine, "b" * 32, now=now, limit=4, lease=lease)
    assert len(first) == 4 and len(second) == 2 and not set(first) & set(second)
    assert mail.claim(sync_engine, "c" * 32, now=now, limit=4, lease=lease) == []
    # A claim whose sender died is taken over once its lease ends.
    assert len(mail.claim(sync_engine, "d" * 32, now=now + lease * 2, limit=10, lease=lease)) == 6


async def test_a_temporary_failure_is_retried_with_backoff_then_recorded(db, smtp, mail_settings, sync_engine):
    handler = smtp[0]
    handler.reply = "451 4.3.0 Try again later"
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    now = utcnow() + timedelta(seconds=1)
    assert (await _send(mail_settings, sync_engine, now=now)).retrying == 1
    [row] = await _outbox(db)
    assert (row.status, row.attempts) == ("pending", 1) and "451" in (row.last_error or "")
    assert row.next_attempt_at >= now + timedelta(minutes=1)
    assert (await _send(mail_settings, sync_engine, now=now)).retrying == 0  # not due yet
    assert (await _send(mail_settings, sync_engine, now=now + timedelta(minutes=2))).retrying == 1
    assert (await _send(mail_settings, sync_engine, now=now + timedelta(hours=1))).failed == 1
    [row] = await _outbox(db)
    assert (row.status, row.attempts) == ("failed", 3) and "Try again later" in (row.last_error or "")
    handler.reply = "250 OK"
    await _send(mail_settings, sync_engine, now=now + timedelta(days=1))
    assert handler.messages == []


async def test_a_permanent_failure_is_recorded_at_once(db, smtp, mail_settings, sync_engine):
    smtp[0].reply = "550 5.1.1 No such mailbox"
    async with db.begin() as s:
        asker = await make_user(s, email="gone@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    assert (await _send(mail_settings, sync_engine)).failed == 1
    [row] = await _outbox(db)
    assert (row.status, row.attempts) == ("failed", 1) and "550" in (row.last_error or "")


async def test_an_unreachable_server_is_a_temporary_failure(db, settings, sync_engine):
    unreachable = settings.with_(smtp_url=f"smtp://127.0.0.1:{_free_port()}", smtp_from="help@example.com")
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    assert (await _send(unreachable, sync_engine)).retrying == 1
    [row] = await _outbox(db)
    assert row.status == "pending" and "ConnectionRefusedError" in (row.last_error or "")


async def test_without_smtp_nothing_is_sent_and_the_forum_still_notifies(db, settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    assert await _send(settings, sync_engine) == mail.SendReport()
    assert [r.status for r in await _outbox(db)] == ["pending"]
    assert len(await _notifications(db, asker)) == 1


def test_smtp_settings_are_checked(settings):
    from forum.config import ConfigError

    config = mail.smtp_config(
        settings.with_(smtp_url="smtp+starttls://me%40x.com:p%3Ass@mail.example.com", smtp_from="a@b.c")
    )
    assert config is not None
    assert (config.host, config.port, config.security, config.username, config.password) == (
        "mail.example.com",
        587,
        "starttls",
        "me@x.com",
        "p:ss",
    )
    assert "p:ss" not in repr(config) and "p%3Ass" not in repr(settings.with_(smtp_url="smtp://u:p%3Ass@h"))
    with pytest.raises(ConfigError):
        mail.smtp_config(settings.with_(smtp_url="http://mail.example.com", smtp_from="a@b.c"))
    with pytest.raises(ConfigError):
        mail.smtp_config(settings.with_(smtp_url="smtp://mail.example.com"))


async def test_mail_older_than_two_days_is_dropped_not_sent_late(db, smtp, mail_settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    report = await _send(mail_settings, sync_engine, now=utcnow() + timedelta(days=3))
    assert (report.sent, report.dropped) == (0, 1)
    assert smtp[0].messages == []


async def test_an_unsolved_question_linked_to_an_article_tells_the_asker_by_email(
    client, db, smtp, mail_settings, sync_engine, staff
):
    from forum.services import kb

    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com", locale="ko")
        solved_asker = await make_user(s, email="solved@example.com")
        thread = await make_thread(s, author=asker, title="환불은 어떻게 받나요?")
        solved = await make_thread(s, author=solved_asker, title="How do I get a refund?")
        answer = await make_reply(s, solved, author=asker)
        await threads.accept(s, answer, user=solved_asker)
        article = await kb.create_article(
            s, author=staff, title="환불 받는 방법", body="설정 > 결제 > **환불**을 누르세요."
        )
        await kb.publish(s, article, user=staff)
    await client.login_as(staff)
    for t in (thread, solved):
        assert (await client.submit(f"/t/{t.id}/article", {"article": str(article.id)})).status_code == 303
    [n] = [n for n in await _notifications(db, asker) if n.kind == "article"]
    assert (n.thread_id, n.actor_id) == (thread.id, staff.id)
    # already solved: nothing new for its asker (who heard of the answer when it came)
    assert [n.kind for n in await _notifications(db, solved_asker)] == ["answer"]
    await _send(mail_settings, sync_engine)
    about = [m for rcpt, m in smtp[0].messages if "지식 베이스" in m["Subject"] or "knowledge" in m["Subject"]]
    [message] = about
    assert message["To"] == "asker@example.com"
    assert message["Subject"] == "내 질문의 답이 지식 베이스에 있습니다: 환불은 어떻게 받나요?"
    body = _body(message)
    assert "> 환불 받는 방법" in body and "> 설정 > 결제 > 환불을 누르세요." in body
    assert f"https://forum.example.com/kb/{article.id}/" in body
    await client.login_as(asker)
    assert "내 질문에 지식 베이스 문서로 답했습니다" in (await client.get("/notifications")).text


async def test_every_kind_of_notification_leads_to_the_same_place_on_the_web_and_in_its_email(
    client, db, smtp, mail_settings, sync_engine
):
    """``notifications.leads_to`` decides for both: a spike alert leads to the
    Spikes tab, an article notification to the article, the rest to their post."""
    from forum.models import NotificationKind, Role
    from forum.services import kb
    from forum.urls import article_url, post_url

    async with db.begin() as s:
        asker = await make_user(s, username="asker", email="asker@example.com", locale="en")
        helper = await make_user(s, email="helper@example.com", locale="en")
        lead = await make_user(s, role=Role.staff, email="lead@example.com", locale="en")
        for user in (asker, helper, lead):
            await notifications.set_email_choices(s, user=user, own=True, watched=True)
        question = await make_thread(s, author=asker, title="Sync stopped working")
        answer = await make_reply(s, question, author=helper)  # asker: answer
        follow_up = await make_reply(s, question, author=asker)  # helper: reply
        await threads.accept(s, answer, user=asker)  # helper: accepted
        await threads.mark_official(s, answer, user=lead)  # helper: official
        mention = await make_reply(s, question, author=lead, body="@asker which version?")  # asker: mention
        unsolved = await make_thread(s, author=asker, title="How do I get a refund")
        article = await kb.create_article(s, author=lead, title="Refunds", body="Settings > Billing > Refund.")
        await kb.publish(s, article, user=lead)
        await kb.link_thread(s, unsolved, article, user=lead)  # asker: article
        await notifications.notify_staff_of_spike(s, thread_id=question.id)  # lead: spike
    to_post = post_url(question, answer)
    expected = sorted(
        [
            (asker.id, "answer", to_post),
            (asker.id, "mention", post_url(question, mention)),
            (asker.id, "article", article_url(article)),
            (helper.id, "reply", post_url(question, follow_up)),
            (helper.id, "reply", post_url(question, mention)),
            (helper.id, "accepted", to_post),
            (helper.id, "official", to_post),
            (lead.id, "spike", "/support/spikes"),
        ]
    )
    assert {kind for _, kind, _ in expected} == {kind.value for kind in NotificationKind}

    on_the_web = []
    for user in (asker, helper, lead):
        await client.login_as(user)
        for n in await _notifications(db, user):
            r = await client.submit(f"/notifications/{n.id}/open")
            assert r.status_code == 303
            on_the_web.append((user.id, n.kind, r.headers["location"]))
    assert sorted(on_the_web) == expected

    report = await _send(mail_settings, sync_engine)
    assert (report.sent, report.dropped, report.failed) == (len(expected), 0, 0)
    users = {u.email: u.id for u in (asker, helper, lead)}
    kinds = {
        str(mail.SUBJECTS[kind]) % {"title": title}: kind.value
        for kind in NotificationKind
        for title in (question.title, unsolved.title)
    }
    by_email = []
    for [rcpt], message in smtp[0].messages:
        [link] = [line for line in _body(message).splitlines() if "https://forum.example.com/" in line][:1]
        text, _, url = link.partition(": https://forum.example.com")
        kind = kinds[" ".join(message["Subject"].split())]  # a long subject is folded
        by_email.append((users[rcpt], kind, url))
        assert text == {"spike": "See the spikes", "article": "Read the article"}.get(kind, "Read it and reply")
    assert sorted(by_email) == expected


async def test_an_article_notification_leads_to_the_question_once_its_article_is_unpublished(client, db, staff):
    from forum.services import kb

    async with db.begin() as s:
        asker = await make_user(s)
        thread = await make_thread(s, author=asker)
        article = await kb.create_article(s, author=staff, title="Refunds", body="Settings > Billing.")
        await kb.publish(s, article, user=staff)
        await kb.link_thread(s, thread, article, user=staff)
        await kb.unpublish(s, article, user=staff)
    [n] = await _notifications(db, asker)
    async with db() as s:
        first = await s.get(Post, n.post_id)
    await client.login_as(asker)
    r = await client.submit(f"/notifications/{n.id}/open")
    assert r.status_code == 303 and r.headers["location"] == f"/t/{thread.id}/{thread.slug}#post-{first.id}"


async def test_an_article_email_is_dropped_if_the_link_is_gone_before_it_is_sent(
    client, db, smtp, mail_settings, sync_engine, staff
):
    from forum.services import kb

    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
        article = await kb.create_article(s, author=staff, title="Refunds", body="Settings > Billing.")
        await kb.publish(s, article, user=staff)
        await kb.link_thread(s, thread, article, user=staff)
        await kb.unpublish(s, article, user=staff)
    report = await _send(mail_settings, sync_engine)
    assert (report.sent, report.dropped) == (0, 1) and smtp[0].messages == []


async def test_the_web_process_sends_an_answers_email_right_after_the_reply(
    db, smtp, mail_settings, sync_engine, member
):
    """The in-process sender is woken once the reply's transaction has committed: the
    email goes out at once, not at the next scheduled send (an hour away here)."""
    from forum import jobs
    from tests.moderation_helpers import app_with, client_for

    async with db.begin() as s:
        asker = await make_user(s, email="asker@example.com")
        thread = await make_thread(s, author=asker)
    async with app_with(mail_settings, mail_interval=3600, topics_interval=0) as app:
        jobs.start(app)
        try:
            async with client_for(app) as client:
                await client.login_as(member)
                assert (await client.submit(f"/t/{thread.id}/reply", {"body": "Restart it."})).status_code == 303
            for _ in range(100):
                if smtp[0].messages:
                    break
                await asyncio.sleep(0.1)
        finally:
            await jobs.stop(app)
    [(rcpt, message)] = smtp[0].messages
    assert rcpt == ["asker@example.com"] and thread.title in message["Subject"]


# ---------------------------------------------------------------- confirming an address


async def test_no_email_goes_to_an_address_not_confirmed(db, smtp, mail_settings, sync_engine):
    async with db.begin() as s:
        asker = await make_user(s, email="typo@example.com", email_confirmed=False)
        thread = await make_thread(s, author=asker)
        await make_reply(s, thread)
    assert [n.kind for n in await _notifications(db, asker)] == ["answer"]  # told in the forum
    assert await _outbox(db) == []
    assert (await _send(mail_settings, sync_engine)).sent == 0 and smtp[0].messages == []


def _link(message: Message) -> str:
    body = _body(message)
    return body[body.index("/me/email-address/confirm?token=") :].split()[0]


async def test_a_new_address_is_used_only_once_its_owner_opens_the_link(db, smtp, mail_settings, member, other_member):
    from tests.moderation_helpers import app_with, client_for

    async with app_with(mail_settings) as app, client_for(app) as client, client_for(app, "127.0.0.2") as other:
        await client.login_as(member)
        r = await client.submit("/me/email-address", {"email": "me@example.com"})
        assert r.status_code == 303 and r.headers["location"] == f"/u/{member.username}?email_sent=1#email-choices"
        assert "We sent a confirmation link" in (await client.get(r.headers["location"])).text
        [(rcpt, message)] = smtp[0].messages
        assert rcpt == ["me@example.com"] and message["Subject"] == "Confirm your email address"
        link = _link(message)
        assert "https://forum.example.com/me/email-address/confirm?token=" in _body(message)
        async with db() as s:
            assert (await s.get(User, member.id)).email is None  # nothing changes before the link
        page = await client.get(link)
        assert page.status_code == 200 and "me@example.com" in page.text
        async with db() as s:
            assert (await s.get(User, member.id)).email is None  # nor on opening it (GET)
        token = link.split("token=", 1)[1]
        # someone else's link, or a broken one, changes nothing
        await other.login_as(other_member)
        assert (await other.get(link)).status_code == 422
        assert (await other.submit("/me/email-address/confirm", {"token": token})).status_code == 422
        assert (await client.submit("/me/email-address/confirm", {"token": tampered(token)})).status_code == 422
        r = await client.submit("/me/email-address/confirm", {"token": token})
        assert r.status_code == 303
        async with db() as s:
            fresh = await s.get(User, member.id)
            assert fresh.email == "me@example.com" and fresh.email_confirmed_at is not None
        assert "Email goes to me@example.com" in (await client.get(f"/u/{member.username}")).text
        # the address is now taken: another account cannot ask for it
        r = await other.submit("/me/email-address", {"email": "ME@example.com"})
        assert r.status_code == 422 and "already exists" in r.text
        assert (await other.submit("/me/email-address", {"email": "not an address"})).status_code == 422
        assert len(smtp[0].messages) == 1


async def test_a_link_expires_and_a_failed_send_says_so(db, smtp, mail_settings, member):
    from forum.errors import ValidationError
    from forum.services import accounts
    from tests.moderation_helpers import app_with, client_for

    token = accounts.email_token(mail_settings.secret_key, member, "me@example.com")
    assert accounts.read_email_token(mail_settings.secret_key, token, member) == "me@example.com"
    with pytest.raises(ValidationError, match="expired"):
        accounts.read_email_token(mail_settings.secret_key, token, member, max_age=-1)
    smtp[0].reply = "451 Try again later"
    async with app_with(mail_settings) as app, client_for(app) as client:
        await client.login_as(member)
        r = await client.submit("/me/email-address", {"email": "me@example.com"})
        assert r.status_code == 503 and "could not be sent" in r.text and 'value="me@example.com"' in r.text


async def test_without_smtp_an_address_cannot_be_confirmed(client, member):
    await client.login_as(member)
    r = await client.submit("/me/email-address", {"email": "me@example.com"})
    assert r.status_code == 409 and "does not send email" in r.text


async def test_signing_up_with_an_address_sends_its_confirmation_link(db, smtp, mail_settings):
    from tests.moderation_helpers import app_with, client_for

    async with app_with(mail_settings) as app, client_for(app) as client:
        r = await client.submit(
            "/signup", {"username": "newbie", "email": "newbie@example.com", "password": "a long password"}
        )
        assert r.status_code == 303
    [(rcpt, message)] = smtp[0].messages
    assert rcpt == ["newbie@example.com"] and "/me/email-address/confirm?token=" in _body(message)
    async with db() as s:
        user = await s.scalar(select(User).where(User.username == "newbie"))
        assert user.email == "newbie@example.com" and user.email_confirmed_at is None
