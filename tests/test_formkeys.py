"""One post per submit (forum.services.formkeys): a rendered form that creates
something makes one thing, however often and however fast it is sent."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum.clock import utcnow
from forum.config import Settings
from forum.db import make_sync_engine
from forum.models import Article, FormSubmission, Post, Thread
from forum.services import formkeys
from moderation.models import Flag, Sanction
from tests.factories import make_category, make_thread
from tests.moderation_helpers import count

KEY = re.compile(r'name="form_key" value="([^"]+)"')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Ten submissions at once: more than one process admits at a time by default
    # (forum.admission would answer the last ones 503, as it should).
    return settings.with_(max_in_flight=16)


async def _rendered_key(client, url: str) -> str:  # type: ignore[no-untyped-def]
    page = await client.get(url, follow_redirects=True)
    assert page.status_code == 200
    keys = KEY.findall(page.text)
    assert len(keys) == 1, keys
    return keys[0]


async def _ten_asks(client, db, category) -> set[str]:  # type: ignore[no-untyped-def]
    key = await _rendered_key(client, "/ask")
    form = {"category": category.slug, "title": "Refund for a double charge", "body": "I was charged twice.",
            "kind": "question", "form_key": key}  # fmt: skip
    responses = await asyncio.gather(*(client.submit("/ask", form) for _ in range(10)))
    assert [r.status_code for r in responses] == [303] * 10
    return {r.headers["location"] for r in responses}


async def test_ten_parallel_submissions_of_one_ask_form_by_a_new_member_make_one_thread(client, db, member):
    async with db.begin() as s:
        category = await make_category(s)
    await client.login_as(member)
    locations = await _ten_asks(client, db, category)
    assert await count(db, Thread, Thread.author_id == member.id) == 1
    (location,) = locations  # every submission leads to the one thread
    async with db() as s:
        thread = await s.scalar(select(Thread).where(Thread.author_id == member.id))
    assert location.startswith(f"/t/{thread.id}/")


async def test_ten_parallel_submissions_by_staff_make_one_thread(client, db, staff):
    async with db.begin() as s:
        category = await make_category(s)
    await client.login_as(staff)
    assert len(await _ten_asks(client, db, category)) == 1
    assert await count(db, Thread, Thread.author_id == staff.id) == 1
    assert await count(db, Post, Post.author_id == staff.id) == 1


async def test_a_reply_sent_twice_makes_one_post_and_both_lead_to_it(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    key = await _rendered_key(client, f"/t/{thread.id}")
    form = {"body": "Try signing out and in again.", "form_key": key}
    first, second = await asyncio.gather(
        client.submit(f"/t/{thread.id}/reply", form), client.submit(f"/t/{thread.id}/reply", form)
    )
    later = await client.submit(f"/t/{thread.id}/reply", form)  # the back button, much later
    assert first.status_code == second.status_code == later.status_code == 303
    assert first.headers["location"] == second.headers["location"] == later.headers["location"]
    assert await count(db, Post, Post.thread_id == thread.id, Post.author_id == staff.id) == 1
    async with db() as s:
        replies = await s.scalar(select(Thread.reply_count).where(Thread.id == thread.id))
    assert replies == 1


async def test_each_rendering_of_a_form_has_its_own_key(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    for body in ("First answer, from one tab.", "Second answer, from another."):
        key = await _rendered_key(client, f"/t/{thread.id}")
        assert (await client.submit(f"/t/{thread.id}/reply", {"body": body, "form_key": key})).status_code == 303
    assert await count(db, Post, Post.thread_id == thread.id, Post.author_id == staff.id) == 2


async def test_a_form_without_a_key_works_as_before(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    for _ in range(2):
        assert (await client.submit(f"/t/{thread.id}/reply", {"body": "An old page's reply."})).status_code == 303
    assert await count(db, Post, Post.thread_id == thread.id, Post.author_id == staff.id) == 2


async def test_a_form_sent_back_with_errors_can_be_sent_again_with_its_key(client, db, staff):
    async with db.begin() as s:
        category = await make_category(s)
    await client.login_as(staff)
    key = await _rendered_key(client, "/ask")
    form = {"category": category.slug, "title": "", "body": "A body long enough.", "kind": "question", "form_key": key}
    assert (await client.submit("/ask", form)).status_code == 422  # nothing made, the key not taken
    form["title"] = "Now with a title"
    assert (await client.submit("/ask", form)).status_code == 303
    assert await count(db, Thread, Thread.author_id == staff.id) == 1


async def test_a_malformed_key_is_a_clear_400(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "Hello there", "form_key": "<script>"})
    assert r.status_code == 400 and "This form could not be read" in r.text
    assert await count(db, Post, Post.author_id == staff.id) == 0


async def test_two_users_keys_never_collide(client, other_client, db, member, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    await other_client.login_as(member)
    key = await _rendered_key(client, f"/t/{thread.id}")
    for c in (client, other_client):
        assert (
            await c.submit(f"/t/{thread.id}/reply", {"body": "Same key, other person", "form_key": key})
        ).status_code == 303
    assert await count(db, Post, Post.thread_id == thread.id, Post.is_first.is_(False)) == 2  # type: ignore[attr-defined]


async def test_an_article_and_a_flag_sent_twice_are_made_once(client, db, staff, member):
    async with db.begin() as s:
        category = await make_category(s)
        thread = await make_thread(s, author=member)
        post_id = await s.scalar(select(Post.id).where(Post.thread_id == thread.id))
    await client.login_as(staff)
    key = await _rendered_key(client, "/kb/new")
    form = {
        "title": "Getting a refund",
        "body": "Open Billing, then Refunds.",
        "category": category.slug,
        "form_key": key,
    }
    responses = await asyncio.gather(*(client.submit("/kb/new", form) for _ in range(3)))
    assert {r.status_code for r in responses} == {303} and len({r.headers["location"] for r in responses}) == 1
    assert await count(db, Article) == 1
    key = await _rendered_key(client, f"/p/{post_id}/flag")
    form = {"reason": "spam", "text": "", "form_key": key}
    responses = await asyncio.gather(*(client.submit(f"/p/{post_id}/flag", form) for _ in range(3)))
    assert {r.status_code for r in responses} == {303}
    assert await count(db, Flag, Flag.post_id == post_id) == 1


async def test_old_keys_are_pruned(app, db, staff):
    async with db.begin() as s:
        for key, age in (("a" * 20, timedelta(days=3)), ("b" * 20, timedelta(hours=1))):
            s.add(FormSubmission(user_id=staff.id, form_key=key, result_url="/", created_at=utcnow() - age))
    engine = make_sync_engine(app.state.runtime.settings.database_url)
    try:
        assert await asyncio.to_thread(formkeys.prune, engine) == 1
    finally:
        engine.dispose()
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(FormSubmission)) == 1


async def test_a_warning_sent_twice_is_given_once(client, db, moderator, member):
    await client.login_as(moderator)
    key = await _rendered_key_in(client, f"/mod/u/{member.username}", "/warn")
    form = {"reason": "Please keep it civil.", "form_key": key}
    responses = await asyncio.gather(*(client.submit(f"/mod/u/{member.username}/warn", form) for _ in range(3)))
    assert {r.status_code for r in responses} == {303}
    assert await count(db, Sanction, Sanction.user_id == member.id) == 1


async def _rendered_key_in(client, url: str, action: str) -> str:  # type: ignore[no-untyped-def]
    """The key of the form posting to ``…{action}`` on a page with several."""
    page = await client.get(url)
    assert page.status_code == 200
    form = page.text[page.text.index(f'{action}" class="stack">') :]
    return KEY.findall(form)[0]
