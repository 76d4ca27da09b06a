"""Anonymous readers' pages carry no cookie and can be kept by a shared cache;
browsers revalidate with an ETag; nothing that depends on who asks is shared."""

from __future__ import annotations

from forum.middleware import CSRF_COOKIE
from forum.services import kb
from tests.factories import make_thread


async def test_an_anonymous_page_sets_no_cookie_and_may_be_cached_by_a_shared_cache(client, db):
    async with db.begin() as s:
        thread = await make_thread(s)
    for url in ("/", f"/t/{thread.id}/{thread.slug}", "/kb"):
        response = await client.get(url)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers, url
        assert response.headers["cache-control"].startswith("public"), url
        assert "s-maxage" in response.headers["cache-control"]
        assert {"Cookie", "Accept-Language"} <= {v.strip() for v in response.headers["vary"].split(",")}
        assert response.headers["etag"].startswith('W/"')


async def test_the_same_page_again_is_a_304_without_a_body(client):
    first = await client.get("/")
    again = await client.get("/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    other = await client.get("/", headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and other.content == first.content


async def test_a_signed_in_members_pages_are_private(client, member):
    await client.login_as(member)
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    # The page renders forms (log out), so the CSRF seed comes with it.
    assert CSRF_COOKIE in response.headers.get("set-cookie", "")


async def test_a_page_with_a_form_sets_the_csrf_seed_and_is_never_shared(client):
    response = await client.get("/login")
    assert response.status_code == 200
    assert CSRF_COOKIE in response.headers["set-cookie"]
    assert response.headers["cache-control"] == "private, no-cache"
    # The seed is kept: the next form page does not set another one.
    again = await client.get("/signup")
    assert CSRF_COOKIE not in again.headers.get("set-cookie", "")


async def test_an_article_with_its_feedback_form_stays_private(client, db, staff):
    async with db.begin() as s:
        article = await kb.create_article(s, author=staff, title="Export notes", body="Use **File > Export**.")
        await kb.publish(s, article, user=staff)
    response = await client.get(f"/kb/{article.id}", follow_redirects=True)
    assert response.status_code == 200
    assert CSRF_COOKIE in response.headers["set-cookie"]
    assert "public" not in response.headers["cache-control"]


async def test_an_anonymous_reader_changes_language_without_a_token_but_a_member_needs_one(client, member):
    response = await client.post("/language", data={"locale": "ko", "next": "/"})
    assert response.status_code == 303
    assert "forum_locale=ko" in response.headers["set-cookie"]
    await client.login_as(member)
    assert (await client.post("/language", data={"locale": "en", "next": "/"})).status_code == 403
    assert (await client.submit("/language", {"locale": "en", "next": "/"})).status_code == 303


async def test_errors_and_json_are_not_shared(client):
    assert (await client.get("/t/999999/nothing")).headers["cache-control"] == "private, no-cache"
    assert (await client.get("/healthz")).headers["cache-control"] in ("private, no-cache", "no-store")
