"""@mentions: links in posts, notifications that respect visibility, and the
composer's username suggestions."""

from __future__ import annotations

from sqlalchemy import select

from forum import markdown
from forum.models import Notification, Post, Role, User
from forum.services import state, threads
from tests.factories import make_reply, make_thread, make_user


async def _mentions(db, user: User) -> list[Notification]:
    async with db() as s:
        rows = await s.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == "mention")  # type: ignore[arg-type]
        )
        return list(rows)


def test_mentions_are_not_found_in_code_links_or_email_addresses():
    text = "Ask @minji or mail minji@example.com. `@minji` [@minji](https://x.test)\n\n    @minji\n"
    assert markdown.mentioned(text, {"minji": "minji"}) == ["minji"]
    html = markdown.render(text, mentions={"minji": "minji"})
    assert html.count('class="mention"') == 1
    assert "minji@example.com" in html and "<code>@minji</code>" in html


def test_a_mention_followed_by_hangul_or_a_full_stop_finds_the_username():
    assert markdown.mentioned("@minji님 and @Tom_H.", {"minji": "minji", "tom_h": "Tom_H"}) == ["minji", "Tom_H"]


async def test_a_reply_links_and_notifies_a_mentioned_member_once(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        third = await make_user(s, username="third")
    await client.login_as(other_member)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "@third @third can you look? @nobody"})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert '<a href="/u/third" class="mention"' in page.text
    assert "@nobody" in page.text and 'href="/u/nobody"' not in page.text
    [n] = await _mentions(db, third)
    assert n.actor_id == other_member.id
    # The asker still hears of the answer (not of a mention).
    async with db() as s:
        kinds = set(await s.scalars(select(Notification.kind).where(Notification.user_id == member.id)))  # type: ignore[arg-type,call-overload]
    assert kinds == {"answer"}


async def test_nobody_hears_of_mentioning_themselves(db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
        await make_reply(s, thread, author=member, body=f"Note to self, @{member.username}.")
    assert await _mentions(db, member) == []


async def test_an_edit_notifies_only_the_newly_mentioned(db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s)
        post = await make_reply(s, thread, author=member, body="Maybe @other knows this one.")
        third = await make_user(s, username="third")
    async with db.begin() as s:
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await threads.edit_post(s, post, editor=member, body="Maybe @other or @third knows this one.")
    assert len(await _mentions(db, other_member)) == 1
    assert len(await _mentions(db, third)) == 1
    async with db.begin() as s:
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await threads.edit_post(s, post, editor=member, body="Maybe @other or @third knows. Edited.")
    assert len(await _mentions(db, other_member)) == 1
    assert len(await _mentions(db, third)) == 1


async def test_a_hidden_post_tells_nobody_until_restored(db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s)
        post = await make_reply(s, thread, author=member, body="First version of the text.")
    async with db.begin() as s:
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await state.hide_post(s, post, reason="moderator")
    async with db.begin() as s:
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await threads.edit_post(s, post, editor=member, body="Now with @other in it.")
    assert await _mentions(db, other_member) == []
    async with db.begin() as s:
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await state.restore_post(s, post)
    assert len(await _mentions(db, other_member)) == 1


async def test_a_held_reply_notifies_when_released(db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s)
        post = await make_reply(s, thread, author=member, body="Held text for @other here.")
    # Held for review as the anti-spam hook does: hidden with the reason "review", no notification yet.
    async with db.begin() as s:
        await s.execute(Notification.__table__.delete())  # type: ignore[attr-defined]
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await state.hide_post(s, post, reason="review")
    assert await _mentions(db, other_member) == []
    async with db.begin() as s:
        post = await threads.get_post_or_404(s, post.id, viewer=member)  # type: ignore[arg-type]
        await state.restore_post(s, post)
    assert len(await _mentions(db, other_member)) == 1


async def test_someone_who_cannot_see_the_thread_hears_nothing(db, member, other_member, moderator):
    async with db.begin() as s:
        hidden_thread = await make_thread(s, author=member)
    async with db.begin() as s:
        t = await threads.get_thread_or_404(s, hidden_thread.id, viewer=moderator)
        first = await s.scalar(select(Post).where(Post.thread_id == t.id, Post.is_first == True))  # type: ignore[arg-type]  # noqa: E712
        first.thread = t  # type: ignore[union-attr]
        await state.hide_post(s, first, reason="moderator")  # type: ignore[arg-type]
    # The author edits their post in the hidden thread: the mentioned member cannot see it.
    async with db.begin() as s:
        first = await threads.get_post_or_404(s, first.id, viewer=member)  # type: ignore[union-attr,arg-type]
        await threads.edit_post(s, first, editor=member, body="Hidden thread text, hello @other.")
    assert await _mentions(db, other_member) == []


async def test_at_most_ten_members_hear_of_one_post(db, member):
    async with db.begin() as s:
        users = [await make_user(s, username=f"person{i:02d}") for i in range(12)]
        thread = await make_thread(s)
        await make_reply(s, thread, author=member, body=" ".join(f"@{u.username}" for u in users))
    heard = [u for u in users if await _mentions(db, u)]
    assert [u.username for u in heard] == [f"person{i:02d}" for i in range(10)]


async def test_a_new_question_notifies_the_mentioned(db, member, other_member):
    async with db.begin() as s:
        await make_thread(s, author=member, body="Hello @other, is this the right place?")
    assert len(await _mentions(db, other_member)) == 1


async def test_username_suggestions_need_a_login(client):
    r = await client.get("/api/users?q=me")
    assert r.status_code == 401
    assert r.json()["status"] == 401


async def test_username_suggestions_match_a_prefix(client, db, member):
    async with db.begin() as s:
        await make_user(s, username="minji")
        await make_user(s, username="Minsu")
        await make_user(s, username="hyun")
        banned = await make_user(s, username="minbanned", role=Role.member)
        banned.banned_at = banned.created_at
    await client.login_as(member)
    r = await client.get("/api/users?q=MIN")
    assert r.status_code == 200
    assert [u["username"] for u in r.json()["results"]] == ["minji", "Minsu"]
    assert r.json()["results"][0]["url"].endswith("/u/minji")
    assert (await client.get("/api/users?q=")).json() == {"results": []}
