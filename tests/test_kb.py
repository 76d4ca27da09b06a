"""Knowledge base: staff write and publish, drafts stay private, readers
answer "Did this article help?", threads answered by an article count as solved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.models import Article, ArticleFeedback, Thread
from forum.services import kb
from tests.factories import make_category, make_reply, make_thread


@pytest.fixture
async def article(db, staff):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        a = await kb.create_article(s, author=staff, title="환불 받는 방법", body="설정 > 결제 > **환불**을 누르세요.")
        await kb.publish(s, a, user=staff)
    return a


@pytest.fixture
async def draft(db, staff):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return await kb.create_article(s, author=staff, title="Secret roadmap", body="Not ready for anyone yet.")


async def test_members_cannot_write_or_publish(client, member, draft):
    assert (await client.get("/kb/new")).status_code in (303, 401)  # log in first
    await client.login_as(member)
    assert (await client.get("/kb/new")).status_code == 403
    r = await client.submit("/kb/new", {"title": "Mine now", "body": "A member's article body."})
    assert r.status_code == 403
    assert (await client.submit(f"/kb/{draft.id}/publish")).status_code == 403
    assert (await client.get(f"/kb/{draft.id}/edit")).status_code == 403
    assert (await client.submit("/kb/synonyms", {"synonyms": "a, b"})).status_code == 403


async def test_drafts_are_invisible_to_everyone_but_staff(client, other_client, member, staff, draft, article):
    for c in (client, other_client):
        if c is other_client:
            await c.login_as(member)
        assert (await c.get(f"/kb/{draft.id}/{draft.slug}")).status_code == 404
        listing = await c.get("/kb")
        assert "환불 받는 방법" in listing.text and "Secret roadmap" not in listing.text
        assert "Secret roadmap" not in (await c.get("/kb?drafts=1")).text
    await client.login_as(staff)
    page = await client.get(f"/kb/{draft.id}/{draft.slug}")
    assert page.status_code == 200 and "only staff can see it" in page.text
    assert "Secret roadmap" in (await client.get("/kb?drafts=1")).text


async def test_staff_write_edit_publish_and_unpublish(client, db, staff):
    async with db.begin() as s:
        await make_category(s, slug="billing")
    await client.login_as(staff)
    r = await client.submit(
        "/kb/new",
        {"title": "Export your notes", "body": "Use **File > Export**.", "category": "billing", "action": "save"},
    )
    assert r.status_code == 303
    async with db() as s:
        article = await s.scalar(select(Article))
    assert r.headers["location"] == f"/kb/{article.id}/export-your-notes"
    assert not article.published and "<strong>File &gt; Export</strong>" in article.body_html
    r = await client.submit(
        f"/kb/{article.id}/edit",
        {
            "title": "Export your notes as CSV",
            "body": "Use File > Export > CSV.",
            "category": "billing",
            "action": "publish",
        },
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "Export your notes as CSV" in page.text
    async with db() as s:
        article = await s.get(Article, article.id)
        assert article.published and article.published_at is not None
    assert (await client.submit(f"/kb/{article.id}/unpublish")).status_code == 303
    async with db() as s:
        assert not (await s.get(Article, article.id)).published


async def test_bad_input_keeps_the_form_and_saves_nothing(client, db, staff):
    await client.login_as(staff)
    r = await client.submit("/kb/new", {"title": "ab", "body": "short", "category": "nope"})
    assert r.status_code == 422
    assert "Titles need at least" in r.text and 'value="ab"' in r.text
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Article)) == 0
    r = await client.get("/kb/999/nothing")
    assert r.status_code == 404


async def test_readers_say_whether_it_helped_once_each(client, other_client, db, member, staff, article):
    url = f"/kb/{article.id}/{article.slug}"
    await client.login_as(member)
    assert (await client.submit(f"/kb/{article.id}/feedback", {"helped": "yes"})).status_code == 303
    assert (await client.submit(f"/kb/{article.id}/feedback", {"helped": "yes"})).status_code == 303
    assert (await client.submit(f"/kb/{article.id}/feedback", {"helped": "no"})).status_code == 303
    # An anonymous reader counts once per browser.
    await other_client.submit(f"/kb/{article.id}/feedback", {"helped": "yes"})
    await other_client.submit(f"/kb/{article.id}/feedback", {"helped": "yes"})
    async with db() as s:
        fresh = await s.get(Article, article.id)
        assert (fresh.helped_yes, fresh.helped_no) == (1, 1)
        assert await s.scalar(select(func.count()).select_from(ArticleFeedback)) == 2
    assert (await client.submit(f"/kb/{article.id}/feedback", {"helped": "maybe"})).status_code == 422
    page = await client.get(url)
    assert "readers found it helpful" not in page.text and "reader found it helpful" not in page.text
    await client.login_as(staff)
    assert "1 reader found it helpful" in (await client.get(url)).text


async def test_feedback_on_a_draft_is_not_found(client, member, draft):
    await client.login_as(member)
    assert (await client.submit(f"/kb/{draft.id}/feedback", {"helped": "yes"})).status_code == 404


async def test_a_linked_thread_counts_as_solved_and_links_to_the_article(client, db, staff, member, article, draft):
    async with db.begin() as s:
        thread = await make_thread(s, author=member, title="환불은 어떻게 받나요?", body="돈을 돌려받고 싶어요.")
        answer = await make_reply(s, thread, body="Try the settings page.")
    await client.login_as(member)
    assert (await client.submit(f"/t/{thread.id}/article", {"article": str(article.id)})).status_code == 403
    await client.login_as(staff)
    r = await client.submit(f"/t/{thread.id}/article", {"article": str(draft.id)})
    assert r.status_code == 422
    r = await client.submit(f"/t/{thread.id}/article", {"article": f"/kb/{article.id}/{article.slug}"})
    assert r.status_code == 303
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Answered in the knowledge base" in page.text and f'href="/kb/{article.id}/' in page.text
    listing = await client.get("/")
    row = listing.text.split("환불은 어떻게 받나요?", 1)[1].split("</li>", 1)[0]
    assert "Solved" in row
    # Accepting and unaccepting an answer leaves it solved while it is linked.
    await client.submit(f"/p/{answer.id}/accept")
    await client.submit(f"/p/{answer.id}/unaccept")
    async with db() as s:
        assert (await s.get(Thread, thread.id)).solved_at is not None
    await client.submit(f"/t/{thread.id}/article/unlink")
    async with db() as s:
        fresh = await s.get(Thread, thread.id)
        assert fresh.article_id is None and fresh.solved_at is None
    # Anonymous readers see the link, not the staff form.
    async with db.begin() as s:
        await kb.link_thread(s, await s.get(Thread, thread.id), article, user=staff)
    await client.post("/logout", data={"csrf_token": await client.csrf()})
    client.cookies.clear()
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Answered in the knowledge base" in page.text and "Article number or address" not in page.text


async def test_synonym_lines_are_checked(client, db, staff):
    await client.login_as(staff)
    r = await client.submit("/kb/synonyms", {"synonyms": "refund, money back, 환불\nlonely"})
    assert r.status_code == 422 and "Line 2" in r.text
    r = await client.submit("/kb/synonyms", {"synonyms": "refund ,  money back, 환불, 돈 돌려받기\n\n# note\n"})
    assert r.status_code == 303
    async with db() as s:
        assert await kb.synonym_text(s) == "refund, money back, 환불, 돈 돌려받기"
    assert "돈 돌려받기" in (await client.get("/kb/synonyms")).text


async def test_pages_answer_in_korean(client, article):
    client.cookies.set("forum_locale", "ko")
    r = await client.get("/kb")
    assert r.status_code == 200 and "지식 베이스" in r.text
    page = await client.get(f"/kb/{article.id}/{article.slug}")
    assert "도움이 되었나요?" in page.text


async def _suggestion_with(db, n: int) -> int:  # type: ignore[no-untyped-def]
    from forum.models import TopicMember, TopicSuggestion

    async with db.begin() as s:
        category = await make_category(s)
        suggestion = TopicSuggestion(title=f"Topic of {n}", thread_count=n)
        s.add(suggestion)
        await s.flush()
        for i in range(n):
            thread = await make_thread(s, category=category, title=f"Question {n}-{i}", body=f"Body {n}-{i}")
            await make_reply(s, thread, body=f"Answer {i}")
            s.add(TopicMember(thread_id=thread.id, suggestion_id=suggestion.id))
        return suggestion.id


async def test_pages_do_a_fixed_number_of_queries(client, db, app, staff, article):
    from tests.test_query_counts import _queries_for

    small, large = await _suggestion_with(db, 2), await _suggestion_with(db, 12)
    async with db.begin() as s:
        for i in range(8):
            a = await kb.create_article(s, author=staff, title=f"Article number {i}", body="Some useful text.")
            await kb.publish(s, a, user=staff)
    await client.login_as(staff)
    assert await _queries_for(client, app, f"/topics/{small}") == await _queries_for(client, app, f"/topics/{large}")
    assert await _queries_for(client, app, "/topics") <= 9  # each with the active banners
    assert await _queries_for(client, app, "/kb") <= 7
    assert await _queries_for(client, app, f"/kb/{article.id}/{article.slug}") <= 9
