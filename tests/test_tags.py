"""Tags: names, limits, category restrictions, counts, pages, filters, the
staff's page and its audit entries."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum.errors import ValidationError
from forum.models import Tag, Thread
from forum.services import state
from forum.services import tags as service
from forum.services.recount import recount
from moderation.models import AuditEntry
from tests.factories import make_category, make_thread, make_user


async def _tag(db, thread, names, *, user=None):
    async with db.begin() as s:
        t = await s.get(Thread, thread.id)
        await service.set_thread_tags(s, t, names, user=user)


async def _count(db, name):
    async with db.begin() as s:
        tag = await s.scalar(select(Tag).where(Tag.name == name))
        return None if tag is None else tag.thread_count


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("iOS", "ios"),
        ("  Apple   Watch ", "apple-watch"),
        ("ＩＯＳ１７", "ios17"),  # full width
        ("결제", "결제"),
        ("C#", "c#"),
        ("Node.JS", "node.js"),
        ("c++", "c++"),
    ],
)
def test_names_are_normalised(raw, name):
    assert service.normalise_name(raw) == name
    assert service.check_name(name) is None


def test_a_full_width_comma_separates_and_repeats_count_once():
    assert service.parse_names("iOS，ios, 결제 ,, Billing") == ["ios", "결제", "billing"]


@pytest.mark.parametrize("raw", ["a/b", "<b>", "...", "x" * 31, "under_score"])
def test_bad_names_are_refused_with_a_message(raw):
    with pytest.raises(ValidationError) as exc:
        service.parse_names(raw)
    assert exc.value.errors["tags"]


def test_at_most_five_tags():
    with pytest.raises(ValidationError) as exc:
        service.parse_names("a, b, c, d, e, f")
    assert "5" in exc.value.errors["tags"]


# ---------------------------------------------------------------- asking and editing


async def test_staff_ask_with_new_tags_and_the_thread_shows_them(client, db, staff):
    async with db.begin() as s:
        await make_category(s, slug="help")
    await client.login_as(staff)
    r = await client.submit(
        "/ask",
        {"category": "help", "title": "App crashes at start", "body": "It crashes every time.", "kind": "question",
         "tags": "iOS, 결제"},
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert 'href="/tags/ios"' in page.text and "/tags/%EA%B2%B0%EC%A0%9C" in page.text
    assert await _count(db, "ios") == 1 and await _count(db, "결제") == 1


async def test_members_use_existing_tags_but_cannot_create_new_ones(client, db, member):
    async with db.begin() as s:
        await make_category(s, slug="help")
        s.add(Tag(name="android"))
    await client.login_as(member)
    form = {"category": "help", "title": "Sync does not work", "body": "Nothing syncs.", "kind": "question"}
    r = await client.submit("/ask", {**form, "tags": "Android, brand-new"})
    assert r.status_code == 422
    assert "brand-new" in r.text and "only staff create new ones" in r.text
    assert await _count(db, "brand-new") is None
    async with db.begin() as s:
        assert (await s.scalar(select(Thread).where(Thread.title == "Sync does not work"))) is None
    r = await client.submit("/ask", {**form, "tags": "ANDROID"})
    assert r.status_code == 303
    assert await _count(db, "android") == 1


async def test_six_tags_are_refused_on_the_form(client, db, staff):
    async with db.begin() as s:
        await make_category(s, slug="help")
    await client.login_as(staff)
    r = await client.submit(
        "/ask",
        {"category": "help", "title": "Too many tags", "body": "Look at them.", "kind": "question",
         "tags": "a1, b1, c1, d1, e1, f1"},
    )
    assert r.status_code == 422
    assert "at most 5 tags" in r.text


async def test_a_restricted_category_refuses_other_tags_with_a_message(client, db, staff, member):
    async with db.begin() as s:
        billing = await make_category(s, slug="billing")
        s.add_all([Tag(name="refund"), Tag(name="ios")])
        await s.flush()
        await service.set_category_tags(s, billing, "refund", actor=staff)
    await client.login_as(member)
    form = {"category": "billing", "title": "Charged twice", "body": "Two charges today.", "kind": "question"}
    r = await client.submit("/ask", {**form, "tags": "ios"})
    assert r.status_code == 422
    assert "This category takes only these tags: refund" in r.text and "ios" in r.text
    r = await client.submit("/ask", {**form, "tags": "refund"})
    assert r.status_code == 303


async def test_editing_the_first_post_changes_the_tags_and_the_counts(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        s.add_all([Tag(name="ios"), Tag(name="android")])
    await _tag(db, thread, "ios")
    async with db.begin() as s:
        first = (await s.scalars(select(Thread).where(Thread.id == thread.id))).one()
        from forum.models import Post

        post = await s.scalar(select(Post).where(Post.thread_id == first.id, Post.is_first.is_(True)))
    await client.login_as(member)
    r = await client.get(f"/p/{post.id}/edit")
    assert 'value="ios"' in r.text
    r = await client.submit(f"/p/{post.id}/edit", {"title": thread.title, "body": post.body, "tags": "android"})
    assert r.status_code == 303
    assert await _count(db, "ios") == 0 and await _count(db, "android") == 1


# ---------------------------------------------------------------- counts


async def test_hidden_deleted_and_restored_threads_move_the_count(db, client, member):
    async with db.begin() as s:
        thread = await make_thread(s)
        other = await make_thread(s)
        s.add(Tag(name="ios"))
    await _tag(db, thread, "ios")
    await _tag(db, other, "ios")
    assert await _count(db, "ios") == 2
    from forum.models import Post

    async with db.begin() as s:
        post = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(True)))
        post.thread = await s.get(Thread, thread.id)
        await state.hide_post(s, post, reason="moderator")
    assert await _count(db, "ios") == 1
    r = await client.get("/tags/ios")
    assert r.status_code == 200 and thread.title not in r.text and other.title in r.text
    r = await client.get("/?tag=ios")
    assert thread.title not in r.text and other.title in r.text
    async with db.begin() as s:
        post = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(True)))
        post.thread = await s.get(Thread, thread.id)
        await state.restore_post(s, post)
    assert await _count(db, "ios") == 2
    async with db.begin() as s:
        post = await s.scalar(select(Post).where(Post.thread_id == other.id, Post.is_first.is_(True)))
        post.thread = await s.get(Thread, other.id)
        await state.delete_post(s, post)
    assert await _count(db, "ios") == 1
    r = await client.get("/tags")
    assert "1 thread" in r.text


async def test_recount_repairs_tag_counts(db):
    async with db.begin() as s:
        thread = await make_thread(s)
        s.add(Tag(name="ios"))
    await _tag(db, thread, "ios")
    async with db.begin() as s:
        tag = await s.scalar(select(Tag).where(Tag.name == "ios"))
        tag.thread_count = 7
    async with db.begin() as s:
        report = await recount(s)
    assert [(f.stored, f.actual) for f in report.fixed("tags.thread_count")] == [(7, 1)]
    assert await _count(db, "ios") == 1
