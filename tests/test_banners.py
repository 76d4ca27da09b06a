"""Announcement banners: written by staff, shown in their scope, closed by readers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.clock import utcnow
from forum.models import Banner, BannerDismissal, Post
from forum.services import banners
from moderation.models import AuditEntry
from tests.factories import make_category, make_thread


def _form(**changes: object) -> dict[str, object]:
    now = utcnow()
    form: dict[str, object] = {
        "level": "warning",
        "text_en": "Sync is **down** in Europe.",
        "text_ko": "유럽에서 동기화가 **중단**되었습니다.",
        "starts_at": banners.format_time(now - timedelta(hours=1)),
        "ends_at": banners.format_time(now + timedelta(hours=2)),
    }
    form.update(changes)
    return form


async def _add(db, app, *, categories: str = "", start_hours: float = -1, end_hours: float = 2) -> Banner:  # type: ignore[no-untyped-def]
    now = utcnow()
    async with db.begin() as s:
        banner = Banner(
            level="outage",
            text_en="Outage",
            text_ko="장애",
            html_en="<p>Sync outage now</p>",
            html_ko="<p>동기화 장애</p>",
            starts_at=now + timedelta(hours=start_hours),
            ends_at=now + timedelta(hours=end_hours),
            category_ids=categories,
        )
        s.add(banner)
    return banner


async def test_members_cannot_open_or_create_banners(client, db, member):
    await client.login_as(member)
    assert (await client.get("/admin/banners")).status_code == 403
    assert (await client.get("/admin")).status_code == 403
    r = await client.submit("/admin/banners", _form())
    assert r.status_code == 403
    async with db() as s:
        assert (await s.scalars(select(Banner))).all() == []


async def test_staff_create_a_banner_that_shows_everywhere_and_is_audited(client, other_client, db, staff):
    await client.login_as(staff)
    r = await client.submit("/admin/banners", _form())
    assert r.status_code == 303
    page = await other_client.get("/")
    assert "Sync is <strong>down</strong> in Europe." in page.text
    korean = await other_client.get("/", headers={"accept-language": "ko"})
    assert "유럽에서 동기화가 <strong>중단</strong>되었습니다." in korean.text
    async with db() as s:
        [entry] = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "banner.create"))).all()  # type: ignore[arg-type]
    assert entry.actor_id == staff.id and entry.target_type == "banner"


async def test_a_banner_form_with_mistakes_comes_back_with_messages(client, db, staff):
    await client.login_as(staff)
    r = await client.submit("/admin/banners", _form(text_ko="", ends_at="yesterday"))
    assert r.status_code == 422
    assert "Write the banner&#39;s text in both languages." in r.text or "both languages" in r.text
    async with db() as s:
        assert (await s.scalars(select(Banner))).all() == []


async def test_a_category_banner_shows_on_its_pages_and_nowhere_else(client, db, app, member):
    async with db.begin() as s:
        inside = await make_category(s, slug="sync")
        outside = await make_category(s, slug="billing")
        thread = await make_thread(s, category=inside)
        other_thread = await make_thread(s, category=outside)
    await _add(db, app, categories=str(inside.id))
    assert "Sync outage now" in (await client.get("/c/sync")).text
    assert "Sync outage now" in (await client.get(f"/t/{thread.id}/{thread.slug}")).text
    assert "Sync outage now" not in (await client.get("/c/billing")).text
    assert "Sync outage now" not in (await client.get(f"/t/{other_thread.id}/{other_thread.slug}")).text
    assert "Sync outage now" not in (await client.get("/")).text
    await client.login_as(member)
    assert "Sync outage now" in (await client.get("/ask?category=sync")).text
    assert "Sync outage now" not in (await client.get("/ask?category=billing")).text


async def test_ended_and_future_banners_do_not_show(client, db, app):
    await _add(db, app, start_hours=-3, end_hours=-1)
    await _add(db, app, start_hours=1, end_hours=3)
    assert "Sync outage now" not in (await client.get("/")).text


async def test_a_member_closes_a_banner_for_good(client, db, app, member):
    banner = await _add(db, app)
    await client.login_as(member)
    assert "Sync outage now" in (await client.get("/")).text
    r = await client.submit(f"/banners/{banner.id}/dismiss", {"next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "Sync outage now" not in (await client.get("/")).text
    async with db() as s:
        assert len((await s.scalars(select(BannerDismissal))).all()) == 1
    # Again (a double click) changes nothing.
    assert (await client.submit(f"/banners/{banner.id}/dismiss", {"next": "/"})).status_code == 303


async def test_an_anonymous_reader_closes_a_banner_with_a_cookie(client, db, app):
    banner = await _add(db, app)
    r = await client.post(f"/banners/{banner.id}/dismiss", data={"next": "/"}, headers={"accept": "application/json"})
    assert r.status_code == 204
    assert client.cookies.get(banners.COOKIE) == str(banner.id)
    assert "Sync outage now" not in (await client.get("/")).text


async def test_a_new_banner_changes_the_etag_of_a_cached_page(client, db, app):
    first = await client.get("/")
    etag = first.headers["etag"]
    assert (await client.get("/", headers={"if-none-match": etag})).status_code == 304
    await _add(db, app)
    again = await client.get("/", headers={"if-none-match": etag})
    assert again.status_code == 200
    assert "Sync outage now" in again.text


async def test_staff_end_a_banner(client, db, app, staff):
    banner = await _add(db, app)
    await client.login_as(staff)
    assert (await client.submit(f"/admin/banners/{banner.id}/end")).status_code == 303
    assert "Sync outage now" not in (await client.get("/")).text
    page = await client.get("/admin/banners")
    assert page.status_code == 200 and "Ended" in page.text


async def test_the_dashboard_compares_questions_while_a_banner_ran_with_the_week_before(client, db, app, staff):
    now = utcnow()
    async with db.begin() as s:
        sync = await make_category(s, slug="sync")
        await make_thread(s, category=sync, created_at=now - timedelta(minutes=30))
        await make_thread(s, category=sync, created_at=now - timedelta(minutes=20))
        await make_thread(s, category=sync, created_at=now - timedelta(days=7, minutes=30))
        await make_thread(s, created_at=now - timedelta(minutes=10))  # another category
    await _add(db, app, categories=str(sync.id))
    async with db() as s:
        [effect] = await banners.recent_effects(s)
    assert (effect.asked, effect.asked_week_before) == (2, 1)
    await client.login_as(staff)
    page = await client.get("/support/metrics")
    assert page.status_code == 200
    assert 'id="banner-effects"' in page.text


async def test_the_demo_has_a_banner_and_mentions(client, db, app):
    from forum.demo import load_demo
    from forum.models import Notification

    async with db.begin() as s:
        await load_demo(s)
    page = await client.get("/")
    assert "Sync delays:" in page.text
    async with db() as s:
        kinds = set(await s.scalars(select(Notification.kind)))  # type: ignore[call-overload]
    assert "mention" in kinds


async def test_a_worker_asks_for_banners_once_per_period_and_still_starts_and_ends_them_on_time(db, app, member):
    from tests.support_helpers import QueryCounter

    later = await _add(db, app, start_hours=1, end_hours=3)
    cache = banners.ShowingCache(seconds=3600)
    sessionmaker = app.state.runtime.read_sessionmaker
    now = utcnow()
    with QueryCounter(app) as counter:
        assert await cache.showing(sessionmaker, None, now=now) == []
        assert len(counter) == 1
        assert [b.id for b in await cache.showing(sessionmaker, None, now=now + timedelta(hours=2))] == [later.id]
        assert await cache.showing(sessionmaker, None, now=now + timedelta(hours=4)) == []
        assert len(counter) == 1  # the start and the end come from the copy and the clock
        # A member's dismissals are asked for only while a banner shows.
        await cache.showing(sessionmaker, member, now=now)
        assert len(counter) == 1
        await cache.showing(sessionmaker, member, now=now + timedelta(hours=2))
        assert len(counter) == 2


async def test_a_banner_written_in_this_worker_drops_its_copy_at_once(db, app):
    cache = banners.ShowingCache(seconds=3600)
    sessionmaker = app.state.runtime.read_sessionmaker
    assert await cache.showing(sessionmaker, None) == []
    banner = await _add(db, app)
    assert [b.id for b in await cache.showing(sessionmaker, None)] == [banner.id]


async def test_banners_still_show_when_a_form_comes_back_with_messages(client, db, app, member):
    async with db.begin() as s:
        sync = await make_category(s, slug="sync")
        billing = await make_category(s, slug="billing")
        thread = await make_thread(s, category=sync, author=member)
        first = await s.scalar(select(Post).where(Post.thread_id == thread.id))
    await _add(db, app, categories=str(sync.id))
    await client.login_as(member)
    asked = await client.submit("/ask", {"category": "sync", "title": "", "body": "", "kind": "question"})
    assert asked.status_code == 422 and "Sync outage now" in asked.text
    elsewhere = await client.submit("/ask", {"category": "billing", "title": "", "body": "", "kind": "question"})
    assert elsewhere.status_code == 422 and "Sync outage now" not in elsewhere.text
    replied = await client.submit(f"/t/{thread.id}/reply", {"body": " "})
    assert replied.status_code == 422 and "Sync outage now" in replied.text
    edited = await client.submit(f"/p/{first.id}/edit", {"title": "ok title", "body": ""})
    assert edited.status_code == 422 and "Sync outage now" in edited.text
    assert billing.id is not None


async def test_a_site_banner_shows_on_a_sign_up_form_with_mistakes_but_not_once_closed(client, db, app, member):
    banner = await _add(db, app)
    r = await client.submit("/signup", {"username": "", "password": "short"})
    assert r.status_code == 422 and "Sync outage now" in r.text
    await client.login_as(member)
    await client.submit(f"/banners/{banner.id}/dismiss", {"next": "/"})
    asked = await client.submit("/ask", {"category": "", "title": "", "body": ""})
    assert asked.status_code == 422 and "Sync outage now" not in asked.text
