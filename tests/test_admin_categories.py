"""The admin page for categories: create, edit, reorder, archive, SLA targets; all audited."""

from __future__ import annotations

from sqlalchemy import select

from forum.models import Category, SlaTarget
from moderation.models import AuditEntry
from tests.factories import make_category, make_thread

NEW = {
    "slug": "sync",
    "name_en": "Sync",
    "name_ko": "동기화",
    "description_en": "Devices and sync",
    "description_ko": "기기와 동기화",
}


async def _actions(db) -> list[str]:  # type: ignore[no-untyped-def]
    async with db() as s:
        return list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))  # type: ignore[call-overload,arg-type]


async def test_members_and_staff_cannot_manage_categories(client, db, member, staff):
    await client.login_as(member)
    assert (await client.get("/admin/categories")).status_code == 403
    assert (await client.submit("/admin/categories", NEW)).status_code == 403
    await client.login_as(staff)
    assert (await client.get("/admin/categories")).status_code == 403
    assert (await client.submit("/admin/categories", NEW)).status_code == 403
    async with db() as s:
        assert (await s.scalars(select(Category))).all() == []


async def test_an_admin_creates_and_edits_a_category_and_both_are_audited(client, db, admin):
    await client.login_as(admin)
    r = await client.submit("/admin/categories", NEW)
    assert r.status_code == 303
    async with db() as s:
        category = await s.scalar(select(Category).where(Category.slug == "sync"))  # type: ignore[arg-type]
    assert category is not None and category.name_ko == "동기화"
    r = await client.submit(f"/admin/categories/{category.id}", {**NEW, "name_en": "Sync and devices"})
    assert r.status_code == 303
    page = await client.get("/admin/categories")
    assert "Sync and devices" in page.text
    assert await _actions(db) == ["category.create", "category.edit"]


async def test_a_category_form_with_mistakes_comes_back_and_saves_nothing(client, db, admin):
    async with db.begin() as s:
        await make_category(s, slug="taken")
    await client.login_as(admin)
    r = await client.submit("/admin/categories", {**NEW, "slug": "Not a slug!", "name_ko": ""})
    assert r.status_code == 422
    assert "Enter the name in both languages." in r.text
    r = await client.submit("/admin/categories", {**NEW, "slug": "taken"})
    assert r.status_code == 422
    async with db() as s:
        assert len((await s.scalars(select(Category))).all()) == 1
    assert await _actions(db) == []


async def test_an_admin_reorders_categories(client, db, admin):
    async with db.begin() as s:
        a = await make_category(s, slug="a")
        b = await make_category(s, slug="b")
        c = await make_category(s, slug="c")
    await client.login_as(admin)
    assert (await client.submit(f"/admin/categories/{c.id}/up")).status_code == 303
    assert (await client.submit(f"/admin/categories/{a.id}/up")).status_code == 303  # already first: nothing
    async with db() as s:
        order = list(await s.scalars(select(Category.slug).order_by(Category.position, Category.id)))  # type: ignore[call-overload,arg-type]
    assert order == ["a", "c", "b"]
    assert await _actions(db) == ["category.move"]
    assert b.id is not None


async def test_an_archived_category_leaves_the_ask_form_but_its_threads_stay_readable(client, db, admin, member):
    async with db.begin() as s:
        old = await make_category(s, slug="old-product", name_en="Old product")
        thread = await make_thread(s, category=old, title="A question about the old product")
    await client.login_as(admin)
    assert (await client.submit(f"/admin/categories/{old.id}/archive")).status_code == 303
    await client.login_as(member)
    ask = await client.get("/ask")
    assert 'value="old-product"' not in ask.text
    assert "Old product" not in (await client.get("/")).text.split('class="category-list"')[1]
    assert (await client.get(f"/t/{thread.id}/{thread.slug}")).status_code == 200
    assert (await client.get("/c/old-product")).status_code == 200
    r = await client.submit(
        "/ask", {"category": "old-product", "title": "Still asking here", "body": "Can I still ask this?"}
    )
    assert r.status_code == 422
    await client.login_as(admin)
    assert (await client.submit(f"/admin/categories/{old.id}/unarchive")).status_code == 303
    assert await _actions(db) == ["category.archive", "category.unarchive"]


async def test_an_admin_sets_and_resets_a_categorys_sla_targets(client, db, admin):
    async with db.begin() as s:
        cat = await make_category(s, slug="urgent", name_en="Urgent", name_ko="긴급")
    await client.login_as(admin)
    form = {"slug": "urgent", "name_en": "Urgent", "name_ko": "긴급", "own_sla": "on", "first_response": "2"}
    assert (await client.submit(f"/admin/categories/{cat.id}", form)).status_code == 303
    async with db() as s:
        row = await s.get(SlaTarget, cat.id)
    assert row is not None and row.first_response_minutes == 120 and row.resolution_minutes is None
    bad = await client.submit(f"/admin/categories/{cat.id}", {**form, "first_response": "soon"})
    assert bad.status_code == 422
    assert (await client.submit(f"/admin/categories/{cat.id}", {**form, "own_sla": ""})).status_code == 303
    async with db() as s:
        assert await s.get(SlaTarget, cat.id) is None
    assert await _actions(db) == ["category.sla", "category.sla"]


async def test_the_admin_index_links_the_admin_pages(client, staff, admin):
    await client.login_as(staff)
    page = await client.get("/admin")
    assert page.status_code == 200
    assert 'href="/admin/banners"' in page.text and 'href="/admin/tags"' in page.text
    assert 'href="/admin/categories"' not in page.text.split("<main")[1]
    await client.login_as(admin)
    assert 'href="/admin/categories"' in (await client.get("/admin")).text
