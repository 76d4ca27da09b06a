"""Anti-spam rules at their edges: blocked and watched words (Korean and
English), duplicate bodies, and the limits on new accounts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.models import Post, Thread
from moderation.models import Flag, Word
from moderation.spam import WordMatcher, count_links, word_key
from tests.factories import make_category, make_thread
from tests.moderation_helpers import age, app_with, client_for, count, get, post_at


async def _words(db, kind: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        for w in words:
            s.add(Word(kind=kind, word=w, word_key=word_key(w)))


def _matcher(*words: str) -> WordMatcher:
    return WordMatcher.build(Word(kind="blocked", word=w, word_key=word_key(w)) for w in words)


def test_english_words_match_whole_words_and_stars_match_beginnings():
    m = _matcher("cash", "casino*")
    assert m.find("Get CASH now") == ["cash"]
    assert m.find("I like cashews") == []
    assert m.find("best casinos online") == ["casino*"]
    assert m.find("ｃａｓｈ") == ["cash"]  # full-width letters fold


def test_korean_words_match_inside_words_and_across_spaces():
    m = _matcher("바카라", "토토 사이트")
    assert m.find("바카라를 하세요") == ["바카라"]
    assert m.find("바 카 라 최고") == ["바카라"]
    assert m.find("토토사이트 추천") == ["토토 사이트"]
    assert m.find("환불 문의") == []


def test_links_are_counted_with_or_without_markdown():
    assert count_links("see [docs](https://a.example/x) and http://b.example and www.c.example") == 3
    assert count_links("no links, just an email: a@b.example") == 0


async def test_a_blocked_word_refuses_the_post_with_a_clear_message(client, db, member):
    await _words(db, "blocked", "바카라")
    await age(db, member, days=30)
    async with db.begin() as s:
        await make_category(s, slug="general")
    await client.login_as(member)
    r = await client.submit("/ask", {"category": "general", "title": "질문 있어요", "body": "바카라를 소개합니다"})
    assert r.status_code == 422
    assert "not allowed here: 바카라" in r.text
    assert "바카라를 소개합니다" in r.text  # the form comes back filled
    assert await count(db, Thread) == 0


async def test_a_watched_word_holds_the_post_for_review(client, other_client, db, member, other_member, moderator):
    await _words(db, "watched", "무료 충전", "crypto*")
    async with db.begin() as s:
        thread = await make_thread(s, author=other_member)
    await client.login_as(member)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "Buy cryptocurrency here"})
    assert r.status_code == 303
    async with db() as s:
        post = await s.scalar(select(Post).where(Post.author_id == member.id))
        flag = await s.scalar(select(Flag))
    assert post is not None and post.hidden_reason == "review"
    assert flag is not None and flag.user_id is None and flag.reason == "review" and "crypto*" in flag.text
    assert (await get(db, Thread, thread.id)).reply_count == 0
    own = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Awaiting review by a moderator." in own.text and "Buy cryptocurrency" in own.text
    await other_client.login_as(other_member)
    assert "Buy cryptocurrency" not in (await other_client.get(f"/t/{thread.id}/{thread.slug}")).text
    await other_client.login_as(moderator)
    queue = await other_client.get("/mod/queue")
    assert "Buy cryptocurrency" in queue.text and "Matched a watched word" in queue.text
    await other_client.submit(f"/mod/p/{post.id}/dismiss")
    assert (await get(db, Post, post.id)).visible
    updated = await get(db, Thread, thread.id)
    assert updated.reply_count == 1 and updated.first_response_at == post.created_at


async def test_a_new_thread_with_a_watched_word_stays_out_of_lists_until_approved(
    client, other_client, db, member, moderator
):
    await _words(db, "watched", "무료 충전")
    await age(db, member, days=30)
    async with db.begin() as s:
        await make_category(s, slug="general")
    await client.login_as(member)
    r = await client.submit("/ask", {"category": "general", "title": "무료충전 이벤트", "body": "지금 바로 받으세요"})
    assert r.status_code == 303
    async with db() as s:
        thread = await s.scalar(select(Thread))
    assert thread is not None and thread.hidden_at is not None
    assert "무료충전 이벤트" not in (await other_client.get("/")).text
    assert (await other_client.get(f"/t/{thread.id}/{thread.slug}")).status_code == 404
    await other_client.login_as(moderator)
    question = await other_client.get("/mod/queue")
    assert "무료충전 이벤트" in question.text
    async with db() as s:
        first = await s.scalar(select(Post).where(Post.thread_id == thread.id))
    assert first is not None
    await other_client.submit(f"/mod/p/{first.id}/dismiss")
    await other_client.submit("/logout")
    assert "무료충전 이벤트" in (await other_client.get("/")).text


async def test_staff_are_trusted_by_role(client, db, staff):
    await _words(db, "watched", "refund")
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    await client.submit(
        f"/t/{thread.id}/reply",
        {"body": "Your refund is on its way: https://a.example https://b.example https://c.example"},
    )
    async with db() as s:
        post = await s.scalar(select(Post).where(Post.author_id == staff.id))
    assert post is not None and post.visible


async def test_the_same_body_twice_within_minutes_is_refused(client, db, member):
    await age(db, member, days=30)
    async with db.begin() as s:
        one = await make_thread(s)
        two = await make_thread(s)
    await post_at(db, one, member, ago=timedelta(seconds=299), body="Check out my channel")
    await client.login_as(member)
    r = await client.submit(f"/t/{two.id}/reply", {"body": "Check out my channel"})
    assert r.status_code == 422 and "You posted exactly this a moment ago" in r.text
    assert (await client.submit(f"/t/{two.id}/reply", {"body": "Something different"})).status_code == 303


async def test_the_same_body_after_the_window_is_fine(client, db, member):
    await age(db, member, days=30)
    async with db.begin() as s:
        one = await make_thread(s)
        two = await make_thread(s)
    await post_at(db, one, member, ago=timedelta(seconds=301), body="Thanks, that fixed it!")
    await client.login_as(member)
    assert (await client.submit(f"/t/{two.id}/reply", {"body": "Thanks, that fixed it!"})).status_code == 303


@pytest.mark.parametrize(("links", "status"), [(2, 303), (3, 422)])
async def test_new_accounts_post_at_most_two_links(client, db, member, links, status):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(member)
    body = "See " + " ".join(f"https://docs{i}.example/page" for i in range(links))
    r = await client.submit(f"/t/{thread.id}/reply", {"body": body})
    assert r.status_code == status
    if status == 422:
        assert "at most 2 links" in r.text


async def test_new_accounts_wait_between_posts(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    await post_at(db, thread, member, ago=timedelta(seconds=20))
    await client.login_as(member)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "Another thought"})
    assert r.status_code == 422 and "once every 30 seconds" in r.text
    assert re.search(r"Wait (9|10) more seconds", r.text)


async def test_new_accounts_may_post_again_after_the_interval(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    await post_at(db, thread, member, ago=timedelta(seconds=31))
    await client.login_as(member)
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": "Another thought"})).status_code == 303


async def test_new_accounts_have_a_daily_cap(settings, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    for i in range(9):
        await post_at(db, thread, member, ago=timedelta(hours=20, minutes=i))
    async with app_with(settings, new_account_post_interval=0) as app2, client_for(app2) as c:
        await c.login_as(member)
        assert (await c.submit(f"/t/{thread.id}/reply", {"body": "The tenth post today"})).status_code == 303
        r = await c.submit(f"/t/{thread.id}/reply", {"body": "The eleventh post today"})
        assert r.status_code == 422 and "10 times a day" in r.text


async def test_trusted_accounts_are_not_limited(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    for i in range(5):
        await post_at(db, thread, member, ago=timedelta(seconds=10 + i))
    await age(db, member, days=3.1)
    await client.login_as(member)
    body = "Links: " + " ".join(f"https://docs{i}.example" for i in range(5))
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": body})).status_code == 303


async def test_an_old_account_without_enough_visible_posts_is_still_new(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    for i in range(4):
        await post_at(db, thread, member, ago=timedelta(minutes=5 + i))
    await age(db, member, days=30)
    await client.login_as(member)
    body = "Links: " + " ".join(f"https://docs{i}.example" for i in range(3))
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": body})).status_code == 422


async def test_admins_edit_the_word_lists_and_others_cannot(client, db, admin, moderator):
    await client.login_as(moderator)
    assert (await client.get("/admin/words")).status_code == 403
    assert (await client.submit("/admin/words", {"kind": "blocked", "word": "x"})).status_code == 403
    await client.login_as(admin)
    r = await client.submit("/admin/words", {"kind": "blocked", "word": "바카라"})
    assert r.status_code == 303
    assert (await client.submit("/admin/words", {"kind": "blocked", "word": "바카라"})).status_code == 409
    assert (await client.submit("/admin/words", {"kind": "nope", "word": "x"})).status_code == 422
    assert (await client.submit("/admin/words", {"kind": "watched", "word": ""})).status_code == 422
    page = await client.get("/admin/words")
    assert "바카라" in page.text
    async with db() as s:
        word = await s.scalar(select(Word))
    assert word is not None
    assert (await client.submit(f"/admin/words/{word.id}/delete")).status_code == 303
    assert await count(db, Word) == 0


async def test_an_edit_that_adds_a_watched_word_goes_back_to_review(client, db, member, other_member):
    await _words(db, "watched", "텔레그램")
    await age(db, member, days=30)
    async with db.begin() as s:
        thread = await make_thread(s, author=other_member)
    await client.login_as(member)
    await client.submit(f"/t/{thread.id}/reply", {"body": "앱을 다시 설치해 보세요"})
    async with db() as s:
        post = await s.scalar(select(Post).where(Post.author_id == member.id))
    assert post is not None and post.visible
    r = await client.submit(f"/p/{post.id}/edit", {"body": "앱을 다시 설치해 보세요. 텔레그램으로 연락 주세요"})
    assert r.status_code == 303
    edited = await get(db, Post, post.id)
    assert edited.hidden_reason == "review"
    assert (await get(db, Thread, thread.id)).reply_count == 0
    assert await count(db, Flag, Flag.reason == "review") == 1


async def test_an_edit_that_adds_a_blocked_word_is_refused(client, db, member):
    await _words(db, "blocked", "viagra")
    async with db.begin() as s:
        thread = await make_thread(s, author=member, body="My sync is stuck at 99%")
    from tests.moderation_helpers import first_post

    question = await first_post(db, thread)
    await client.login_as(member)
    r = await client.submit(f"/p/{question.id}/edit", {"title": thread.title, "body": "Cheap VIAGRA here"})
    assert r.status_code == 422 and "not allowed here: viagra" in r.text
    assert (await get(db, Post, question.id)).body == "My sync is stuck at 99%"


async def test_a_new_account_may_ask_and_then_add_a_reply_at_once(client, db, member):
    async with db.begin() as s:
        await make_category(s, slug="general")
    await client.login_as(member)
    r = await client.submit("/ask", {"category": "general", "title": "동기화가 멈췄어요", "body": "99%에서 멈춰요"})
    assert r.status_code == 303
    async with db() as s:
        thread = await s.scalar(select(Thread))
    assert thread is not None
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": "윈도우 11입니다"})).status_code == 303
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "재설치도 해 봤어요"})
    assert r.status_code == 422 and "once every 30 seconds" in r.text
    again = await client.submit("/ask", {"category": "general", "title": "또 다른 질문", "body": "두 번째 질문입니다"})
    assert again.status_code == 422 and "once every 30 seconds" in again.text
