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
from tests.factories import make_category, make_thread


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
        {
            "category": "help",
            "title": "App crashes at start",
            "body": "It crashes every time.",
            "kind": "question",
            "tags": "iOS, 결제",
        },
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
        {
            "category": "help",
            "title": "Too many tags",
            "body": "Look at them.",
            "kind": "question",
            "tags": "a1, b1, c1, d1, e1, f1",
        },
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


# ---------------------------------------------------------------- pages and filters


async def test_tags_page_lists_tags_by_count_and_a_tag_page_paginates(client, db, app):
    async with db.begin() as s:
        cat = await make_category(s, slug="help")
        s.add_all([Tag(name="ios", label_en="iOS", label_ko="아이폰"), Tag(name="android")])
    threads = []
    async with db.begin() as s:
        for _ in range(35):
            threads.append(await make_thread(s, category=cat))
    for t in threads:
        await _tag(db, t, "ios")
    await _tag(db, threads[0], "ios, android")
    r = await client.get("/tags")
    assert r.status_code == 200
    assert r.text.index("iOS") < r.text.index("android")
    assert "35 threads" in r.text
    r = await client.get("/tags/ios")
    assert r.status_code == 200 and "Tag: iOS" in r.text
    assert 'href="/tags/ios?page=2"' in r.text
    r = await client.get("/tags/ios?page=2")
    assert r.status_code == 200 and r.text.count('class="thread-row') == 5
    assert (await client.get("/tags/ios?page=3")).status_code == 404
    assert (await client.get("/tags/nothing")).status_code == 404
    r = await client.get("/tags/IOS")
    assert r.status_code == 303 and r.headers["location"] == "/tags/ios"
    r = await client.get("/c/help?tag=android")
    assert r.status_code == 200 and r.text.count('class="thread-row') == 1
    assert "?tag=android" in r.text  # the sidebar keeps the filter
    r = await client.get("/", headers={"accept-language": "ko"})
    assert 'href="/tags/ios"' in r.text  # chips on the rows


async def test_tag_lists_load_tags_in_one_query_whatever_the_rows(client, db, app):
    from tests.test_query_counts import _queries_for

    async with db.begin() as s:
        few = await make_category(s, slug="few")
        many = await make_category(s, slug="many")
        s.add_all([Tag(name="a1"), Tag(name="b1"), Tag(name="c1")])
        few_threads = [await make_thread(s, category=few)]
        many_threads = [await make_thread(s, category=many) for _ in range(20)]
    for t in few_threads + many_threads:
        await _tag(db, t, "a1, b1, c1")
    assert await _queries_for(client, app, "/c/few") == await _queries_for(client, app, "/c/many")
    assert await _queries_for(client, app, "/c/few?tag=a1") == await _queries_for(client, app, "/c/many?tag=a1")


async def test_api_tags_suggests_existing_tags_by_prefix(client, db):
    async with db.begin() as s:
        s.add_all(
            [
                Tag(name="ios", thread_count=3),
                Tag(name="ios-widget", thread_count=9),
                Tag(name="결제", label_en="Billing"),
            ]
        )
    r = await client.get("/api/tags?q=IO")
    assert r.status_code == 200
    assert [t["name"] for t in r.json()["results"]] == ["ios-widget", "ios"]
    r = await client.get("/api/tags?q=bill")
    assert [t["name"] for t in r.json()["results"]] == ["결제"]
    r = await client.get("/api/tags?q=결")
    assert r.json()["results"][0]["url"].endswith("/tags/%EA%B2%B0%EC%A0%9C")


async def test_search_and_api_search_filter_by_tag(client, db):
    async with db.begin() as s:
        s.add(Tag(name="ios"))
        tagged = await make_thread(s, title="Widget crashes on iPhone", body="The widget crashes when tapped.")
        other = await make_thread(s, title="Widget crashes on desktop", body="The widget crashes on launch.")
    await _tag(db, tagged, "ios")
    r = await client.get("/search?q=widget&tag=ios")
    assert r.status_code == 200 and tagged.title in r.text and other.title not in r.text
    r = await client.get("/api/search?q=widget&tag=IOS")
    assert [hit["id"] for hit in r.json()["results"]] == [tagged.id]
    assert r.json()["results"][0]["tags"] == ["ios"]
    r = await client.get("/api/search?q=widget&tag=nope")
    assert r.status_code == 404 and r.json()["error"]


async def test_support_queues_filter_by_tag(client, db, staff):
    async with db.begin() as s:
        s.add(Tag(name="android"))
        tagged = await make_thread(s, title="Android sync stuck")
        other = await make_thread(s, title="Desktop sync stuck")
    await _tag(db, tagged, "android")
    await client.login_as(staff)
    r = await client.get("/support/queues/unanswered?tag=android")
    assert r.status_code == 200 and tagged.title in r.text and other.title not in r.text
    assert (await client.get("/support/queues/unanswered?tag=nope")).status_code == 400


async def test_import_takes_tags_and_counts_them(db):
    from forum.services.importer import import_threads
    from tests.kb_helpers import jsonl

    lines = jsonl(
        [
            {"external_id": "a", "title": "Imported one", "body": "Body one here.", "tags": ["iOS", "결제"]},
            {"external_id": "b", "title": "Imported two", "body": "Body two here.", "tags": ["ios"]},
            {"external_id": "c", "title": "Imported bad", "body": "Body three here.", "tags": ["a/b"]},
        ]
    ).splitlines()
    report = await import_threads(db, lines)
    assert report.imported == 2 and len(report.errors) == 1
    assert await _count(db, "ios") == 2 and await _count(db, "결제") == 1


# ---------------------------------------------------------------- staff


async def test_members_cannot_reach_the_admin_page_or_rename(client, db, member):
    async with db.begin() as s:
        tag = Tag(name="ios")
        s.add(tag)
    await client.login_as(member)
    assert (await client.get("/admin/tags")).status_code == 403
    r = await client.submit(f"/admin/tags/{tag.id}/edit", {"name": "apple", "label_en": "", "label_ko": ""})
    assert r.status_code == 403
    assert await _count(db, "ios") == 0


async def test_staff_rename_and_merge_keep_counts_and_retag_threads(client, db, staff):
    async with db.begin() as s:
        s.add_all([Tag(name="iphone"), Tag(name="ios"), Tag(name="unused")])
        both = await make_thread(s)
        only_iphone = await make_thread(s)
    await _tag(db, both, "iphone, ios")
    await _tag(db, only_iphone, "iphone")
    await client.login_as(staff)
    r = await client.get("/admin/tags")
    assert r.status_code == 200 and "iphone" in r.text
    async with db.begin() as s:
        ids = {t.name: t.id for t in (await s.scalars(select(Tag))).all()}
    r = await client.submit(f"/admin/tags/{ids['ios']}/edit", {"name": "Apple iOS", "label_en": "iOS", "label_ko": ""})
    assert r.status_code == 303
    assert await _count(db, "apple-ios") == 1
    r = await client.submit(f"/admin/tags/{ids['iphone']}/merge", {"into": "apple-ios"})
    assert r.status_code == 303
    assert await _count(db, "iphone") is None and await _count(db, "apple-ios") == 2
    async with db.begin() as s:
        chips = await service.chips_for(s, [both.id, only_iphone.id])
    assert [c.name for c in chips[both.id]] == ["apple-ios"]
    assert [c.name for c in chips[only_iphone.id]] == ["apple-ios"]
    r = await client.submit(f"/admin/tags/{ids['ios']}/delete", {})
    assert r.status_code == 422 and "merge it into another" in r.text
    r = await client.submit(f"/admin/tags/{ids['unused']}/delete", {})
    assert r.status_code == 303 and await _count(db, "unused") is None
    async with db.begin() as s:
        actions = [e.action for e in (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()]
    assert actions == ["tag.rename", "tag.merge", "tag.delete"]


async def test_staff_restrict_a_category_and_it_is_audited(client, db, staff):
    async with db.begin() as s:
        await make_category(s, slug="billing")
        s.add(Tag(name="refund"))
    await client.login_as(staff)
    r = await client.submit("/admin/tags/categories/billing", {"allowed": "refund, nope"})
    assert r.status_code == 422 and "There is no tag nope" in r.text
    r = await client.submit("/admin/tags/categories/billing", {"allowed": "Refund"})
    assert r.status_code == 303
    r = await client.get("/admin/tags")
    assert 'value="refund"' in r.text
    async with db.begin() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "category.tags"))
    assert entry is not None and entry.actor_id == staff.id and "refund" in entry.after


async def test_a_category_restricted_later_does_not_stop_an_edit_keeping_old_tags(db, member, staff):
    from forum.models import Post
    from forum.services import threads as thread_service

    async with db.begin() as s:
        cat = await make_category(s, slug="billing")
        s.add_all([Tag(name="ios"), Tag(name="refund")])
        thread = await make_thread(s, author=member, category=cat)
    await _tag(db, thread, "ios")
    async with db.begin() as s:
        await service.set_category_tags(s, await s.get(type(cat), cat.id), "refund", actor=staff)
    async with db.begin() as s:
        post = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(True)))
        post.thread = await s.get(Thread, thread.id)
        changed = await thread_service.edit_post(
            s, post, editor=member, body="A clearer question now.", tag_names="ios, refund"
        )
    assert changed
    assert await _count(db, "refund") == 1 and await _count(db, "ios") == 1


# ---------------------------------------------------------------- moving a thread


async def _restricted_move_setup(db, staff, member):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        general = await make_category(s, slug="general")
        billing = await make_category(s, slug="billing")
        s.add_all([Tag(name="refund"), Tag(name="ios"), Tag(name="android")])
        await s.flush()
        await service.set_category_tags(s, billing, "refund", actor=staff)
        thread = await make_thread(s, author=member, category=general)
    await _tag(db, thread, "refund, ios, android")
    return general, billing, thread


async def test_moving_a_thread_into_a_restricted_category_is_refused_naming_the_tags(
    client, db, staff, member, moderator
):
    general, _billing, thread = await _restricted_move_setup(db, staff, member)
    await client.login_as(moderator)
    r = await client.submit(f"/mod/t/{thread.id}/move", {"category": "billing", "reason": "wrong place"})
    assert r.status_code == 422
    assert "This category takes only these tags: refund. This thread has others: android, ios." in r.text
    assert 'name="drop_tags"' in r.text
    async with db.begin() as s:
        moved = await s.get(Thread, thread.id)
        assert moved.category_id == general.id
        assert await service.names_of(s, thread.id) == ["android", "ios", "refund"]
        assert await s.scalar(select(AuditEntry).where(AuditEntry.action == "thread.move")) is None
    assert await _count(db, "ios") == 1
    korean = await client.submit(f"/mod/t/{thread.id}/move", {"category": "billing"}, headers={"accept-language": "ko"})
    assert korean.status_code == 422 and "이 카테고리에는 다음 태그만 붙일 수 있습니다: refund" in korean.text


async def test_a_moderator_drops_the_tags_the_new_category_does_not_take_and_moves(
    client, db, staff, member, moderator
):
    _general, billing, thread = await _restricted_move_setup(db, staff, member)
    await client.login_as(moderator)
    r = await client.submit(f"/mod/t/{thread.id}/move", {"category": "billing", "drop_tags": "1"})
    assert r.status_code == 303
    async with db.begin() as s:
        moved = await s.get(Thread, thread.id)
        assert moved.category_id == billing.id
        assert await service.names_of(s, thread.id) == ["refund"]
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "thread.move"))
    assert entry is not None and "android" in entry.before and "android" not in entry.after
    assert await _count(db, "ios") == 0 and await _count(db, "android") == 0 and await _count(db, "refund") == 1
    async with db.begin() as s:
        assert (await recount(s)).fixes == []


async def test_moving_into_an_unrestricted_category_or_with_allowed_tags_keeps_them(db, staff, member):
    general, billing, thread = await _restricted_move_setup(db, staff, member)
    async with db.begin() as s:
        other = await make_category(s, slug="other")
        t = await s.get(Thread, thread.id)
        assert await state.move_thread(s, t, other)
        assert await service.names_of(s, thread.id) == ["android", "ios", "refund"]
    await _tag(db, thread, "refund")
    async with db.begin() as s:
        t = await s.get(Thread, thread.id)
        assert await state.move_thread(s, t, await s.get(type(billing), billing.id))
        assert await service.names_of(s, thread.id) == ["refund"]
    assert general.id is not None


async def test_the_state_primitive_refuses_a_move_that_would_break_a_restriction(db, staff, member):
    _general, billing, thread = await _restricted_move_setup(db, staff, member)
    with pytest.raises(ValidationError) as exc:
        async with db.begin() as s:
            t = await s.get(Thread, thread.id)
            await state.move_thread(s, t, await s.get(type(billing), billing.id))
    assert "ios" in exc.value.errors["tags"]
