"""robots.txt, the sitemaps, the RSS feeds and a thread page's metadata:
hidden, deleted and held threads never appear in any of them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from forum.models import Post, ThreadKind
from forum.services import feeds, state, threads
from forum.urls import thread_url
from tests.factories import make_category, make_reply, make_thread, make_user

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


async def _forum(db):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        cat = await make_category(s, slug="billing")
        asker = await make_user(s)
        shown = await make_thread(
            s, category=cat, author=asker, title="환불은 언제 되나요?", body="결제 취소 후 **환불** 기간이 궁금해요"
        )
        hidden = await make_thread(s, category=cat, title="Cheap watches for sale here")
        deleted = await make_thread(s, category=cat, title="A deleted question about sync")
        talk = await make_thread(s, category=cat, title="Share your favourite shortcuts", kind=ThreadKind.discussion)
        answer = await make_reply(s, shown, body="보통 3~5영업일 걸려요")
        other = await make_reply(s, shown, body="카드사에 따라 달라요 </script><b>x</b>")
        await threads.accept(s, answer, user=asker)
        for t, action in ((hidden, "hide"), (deleted, "delete")):
            post = await threads.get_post_or_404(s, await _first(s, t.id), viewer=None)
            if action == "hide":
                await state.hide_post(s, post, reason="flags")
            else:
                await state.delete_post(s, post)
    return {"shown": shown, "hidden": hidden, "deleted": deleted, "talk": talk, "answer": answer, "other": other}


async def _first(s, thread_id: int) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    return await s.scalar(select(Post.id).where(Post.thread_id == thread_id, Post.is_first == True))  # noqa: E712


async def test_robots_names_the_sitemap_and_keeps_crawlers_off_private_pages(client):
    r = await client.get("/robots.txt")
    assert r.status_code == 200 and "Sitemap: http://testserver/sitemap.xml" in r.text
    assert "Disallow: /admin/" in r.text and "Disallow: /api/" in r.text
    assert "set-cookie" not in r.headers and "public" in r.headers["cache-control"]


async def test_sitemaps_list_visible_threads_only_in_files_of_at_most_50000(client, db, monkeypatch):
    t = await _forum(db)
    index = ET.fromstring((await client.get("/sitemap.xml")).text)
    locs = [e.text for e in index.iter(f"{SM}loc")]
    assert locs == ["http://testserver/sitemap-pages.xml", "http://testserver/sitemap-threads-1.xml"]
    urls = [e.text for e in ET.fromstring((await client.get("/sitemap-threads-1.xml")).text).iter(f"{SM}loc")]
    assert "http://testserver" + thread_url(t["shown"]) in urls
    assert "http://testserver" + thread_url(t["talk"]) in urls
    assert not any(f"/t/{t[k].id}/" in u for k in ("hidden", "deleted") for u in urls)
    pages = (await client.get("/sitemap-pages.xml")).text
    assert "http://testserver/c/billing" in pages and "http://testserver/kb" in pages
    assert (await client.get("/sitemap-threads-2.xml")).status_code == 404
    # Files are ranges of ids (50,000 each); with files of two, four threads make two files.
    monkeypatch.setattr(feeds, "SITEMAP_SIZE", 2)
    ids = sorted(t[k].id for k in ("shown", "hidden", "deleted", "talk"))
    assert "sitemap-threads-2.xml" in (await client.get("/sitemap.xml")).text
    first = (await client.get("/sitemap-threads-1.xml")).text
    second = (await client.get("/sitemap-threads-2.xml")).text
    assert f"/t/{t['shown'].id}/" in first and f"/t/{t['talk'].id}/" in second and ids[-1] == t["talk"].id
    assert first.count("<url>") <= 2 and second.count("<url>") <= 2


async def test_rss_feeds_carry_visible_threads_with_their_questions(client, db):
    t = await _forum(db)
    for path in ("/latest.rss", "/c/billing.rss"):
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/rss+xml"), path
        channel = ET.fromstring(r.text).find("channel")
        assert channel is not None
        titles = [i.findtext("title") for i in channel.iter("item")]
        assert "환불은 언제 되나요?" in titles and "Share your favourite shortcuts" in titles
        assert "Cheap watches for sale here" not in titles and "A deleted question about sync" not in titles
        item = next(i for i in channel.iter("item") if i.findtext("title") == "환불은 언제 되나요?")
        assert item.findtext("link") == "http://testserver" + thread_url(t["shown"])
        assert "환불 기간이 궁금해요" in (item.findtext("description") or "")
    assert (await client.get("/c/nothing.rss")).status_code == 404
    assert 'href="/latest.rss"' in (await client.get("/")).text


async def test_thread_pages_carry_canonical_description_opengraph_and_json_ld(client, db):
    t = await _forum(db)
    page = (await client.get(f"/t/{t['shown'].id}/{t['shown'].slug}")).text
    url = "http://testserver" + thread_url(t["shown"])
    assert f'<link rel="canonical" href="{url}">' in page
    assert '<meta name="description" content="결제 취소 후 환불 기간이 궁금해요">' in page
    assert f'<meta property="og:url" content="{url}">' in page and 'property="og:title"' in page
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert raw is not None and "</script><b>" not in raw.group(1)
    data = json.loads(raw.group(1))
    assert data["@type"] == "QAPage"
    question = data["mainEntity"]
    assert question["name"] == "환불은 언제 되나요?" and question["answerCount"] == 2
    assert question["acceptedAnswer"]["text"] == "보통 3~5영업일 걸려요"
    assert question["acceptedAnswer"]["url"] == f"{url}#post-{t['answer'].id}"
    [suggested] = question["suggestedAnswer"]
    assert suggested["text"].startswith("카드사에 따라 달라요")
    talk = (await client.get(f"/t/{t['talk'].id}/{t['talk'].slug}")).text
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', talk, re.S).group(1))  # type: ignore[union-attr]
    assert data["@type"] == "DiscussionForumPosting" and data["headline"] == "Share your favourite shortcuts"


async def test_a_thread_page_s_kept_head_follows_votes_accepted_answers_and_titles(client, db):
    """The <head> additions are kept between requests (forum.templating.ThreadHeads):
    a vote, an accepted answer taken back and a new title show at once."""
    t = await _forum(db)
    path = f"/t/{t['shown'].id}/{t['shown'].slug}"

    async def entity() -> dict:  # type: ignore[type-arg]
        page = (await client.get(path, follow_redirects=True)).text  # a new title is a new address
        raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
        assert raw is not None
        return json.loads(raw.group(1))["mainEntity"]  # type: ignore[no-any-return]

    before = await entity()
    assert before["acceptedAnswer"]["upvoteCount"] == 0
    async with db.begin() as s:
        voter = await make_user(s)
        answer = await threads.get_post_or_404(s, t["answer"].id, viewer=None)
        await threads.vote(s, answer, user=voter)
    assert (await entity())["acceptedAnswer"]["upvoteCount"] == 1
    async with db.begin() as s:
        answer = await threads.get_post_or_404(s, t["answer"].id, viewer=None)
        asker = await s.get(type(voter), t["shown"].author_id)
        await threads.unaccept(s, answer, user=asker)
    after = await entity()
    assert "acceptedAnswer" not in after and len(after["suggestedAnswer"]) == 2
    async with db.begin() as s:
        question = await threads.get_post_or_404(s, await _first(s, t["shown"].id), viewer=None)
        asker = await s.get(type(voter), t["shown"].author_id)
        await threads.edit_post(s, question, editor=asker, body=question.body, title="환불은 며칠 걸리나요?")
    assert (await entity())["name"] == "환불은 며칠 걸리나요?"
