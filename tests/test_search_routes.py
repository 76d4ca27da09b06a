"""The search page, the JSON API, the header search box and the staff list of
searches that found nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.models import FailedSearch, Post, Thread
from forum.services import state
from tests.factories import make_category, make_thread


@pytest.fixture
async def threads(db):  # type: ignore[no-untyped-def]
    async with db.begin() as session:
        category = await make_category(session, slug="billing", name_en="Billing", name_ko="결제")
        refund = await make_thread(
            session,
            category=category,
            title="환불을 받고 싶어요",
            body="어제 결제했는데 환불이 가능한가요?",
            solved=True,
        )
        english = await make_thread(
            session, category=category, title="Refund for my yearly plan", body="I was refunded only half."
        )
        hidden = await make_thread(session, category=category, title="환불 사기 링크", body="환불 spam spam")
        first = await session.scalar(select(Post).where(Post.thread_id == hidden.id, Post.is_first))  # type: ignore[union-attr]
        first.thread = hidden
        await state.hide_post(session, first, reason="flags")
    return {"refund": refund, "english": english, "hidden": hidden}


async def test_every_page_has_a_search_box_that_works_without_javascript(client):
    page = await client.get("/")
    assert 'action="/search"' in page.text and 'name="q"' in page.text
    page = await client.get("/search", params={"q": "환불"})
    assert page.status_code == 200
    assert 'value="환불"' in page.text


async def test_search_page_shows_highlighted_snippets_categories_and_badges(client, threads):
    page = await client.get("/search", params={"q": "환불했는데"})
    assert page.status_code == 200
    assert "환불을 받고 싶어요" in page.text
    assert "<mark>환불</mark>이 가능한가요?" in page.text
    assert "Billing" in page.text and "badge-solved" in page.text
    assert "환불 사기 링크" not in page.text


async def test_search_page_filters_and_sorts(client, threads):
    page = await client.get("/search", params={"q": "refund", "solved": "yes"})
    assert "환불을 받고 싶어요" in page.text and "Refund for my yearly plan" not in page.text
    page = await client.get("/search", params={"q": "refund", "solved": "no", "sort": "date", "kind": "question"})
    assert "Refund for my yearly plan" in page.text and "환불을 받고 싶어요" not in page.text
    page = await client.get("/search", params={"q": "refund", "category": "nowhere", "date": "week", "page": "x"})
    assert page.status_code == 200 and "Refund for my yearly plan" in page.text


async def test_search_page_speaks_korean(client, threads):
    page = await client.get("/search", params={"q": "환불"}, headers={"Accept-Language": "ko"})
    assert "검색 결과 2개" in page.text
    page = await client.get("/search", params={"q": "고양이"}, headers={"Accept-Language": "ko"})
    assert "“고양이”에 대한 검색 결과가 없습니다." in page.text


@pytest.mark.parametrize(
    "query", ["", '"', "*", "NEAR(", "AND", "OR", "-", ":", "(((", ")", "가" * 3_400, "refund " * 1_500, "\x00"]
)
async def test_bad_queries_answer_normally(client, threads, query):
    page = await client.get("/search", params={"q": query})
    assert page.status_code == 200
    api = await client.get("/api/search", params={"q": query})
    assert api.status_code == 200
    assert isinstance(api.json()["results"], list)


async def test_api_returns_public_results_without_login(client, threads):
    response = await client.get("/api/search", params={"q": "환불", "limit": "1"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1
    hit = results[0]
    assert set(hit) == {"type", "id", "title", "url", "snippet", "solved", "tags"}
    assert hit["type"] == "thread" and hit["id"] == threads["refund"].id and hit["solved"] is True
    assert hit["url"].startswith(f"http://testserver/t/{threads['refund'].id}/")
    assert "환불" in hit["snippet"]
    everything = (await client.get("/api/search", params={"q": "환불", "limit": "abc"})).json()["results"]
    assert {r["id"] for r in everything} == {threads["refund"].id, threads["english"].id}


async def test_searches_that_found_nothing_are_recorded_for_staff(
    app, client, other_client, db, member, staff, threads
):
    await client.get("/search", params={"q": "고양이 사료"}, headers={"Accept-Language": "ko"})
    await client.get("/api/search", params={"q": "고양이  사료"})
    await client.get("/search", params={"q": "환불"})  # found something
    await client.get("/search", params={"q": "고양이", "kind": "article"})  # filtered: not recorded
    await client.get("/search", params={"q": "?!"})  # nothing searchable: not recorded
    kept = app.state.runtime.failed_searches
    async with db() as session:  # kept by the process, not written in the search's request
        assert await session.scalar(select(func.count()).select_from(FailedSearch)) == 0
    assert kept.pending() == 2
    assert await kept.flush(db) == 2  # every few seconds in a running forum (forum.views.flush_forever)
    assert kept.pending() == 0
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(FailedSearch)) == 2
    await client.login_as(member)
    assert (await client.get("/search/failed")).status_code == 403
    await other_client.login_as(staff)
    page = await other_client.get("/search/failed")
    assert page.status_code == 200
    assert "고양이 사료" in page.text and "<td>2</td>" in page.text


async def test_hidden_threads_stay_out_of_the_api(client, threads, db):
    ids = {r["id"] for r in (await client.get("/api/search", params={"q": "spam"})).json()["results"]}
    assert threads["hidden"].id not in ids
    async with db() as session:
        assert (await session.get(Thread, threads["hidden"].id)).hidden_at is not None  # type: ignore[union-attr]


async def test_searching_too_fast_answers_429(settings):
    from forum.app import close_app, create_app
    from tests.webclient import WebClient

    app = create_app(settings.with_(rate_limit_search="2 per minute"))
    try:
        async with WebClient(app) as client:
            for _ in range(2):
                assert (await client.get("/search", params={"q": "환불"})).status_code == 200
            page = await client.get("/search", params={"q": "환불"})
            api = await client.get("/api/search", params={"q": "환불"})
            assert page.status_code == 429 and api.status_code == 429
            assert "Retry-After" in api.headers and "error" in api.json()
            assert (await client.get("/search")).status_code == 200  # no query: nothing to limit
    finally:
        await close_app(app)


async def test_search_page_queries_do_not_grow_with_results(client, db, app):
    from tests.test_query_counts import count_queries

    async with db.begin() as session:
        category = await make_category(session)
        for i in range(2):
            await make_thread(session, category=category, title=f"프린터 연결 {i}", body="프린터 오류", replies=1)
        # Fewer than RANK_WINDOW / RANK_SCAN of PostgreSQL's probe: the same path as two.
        for i in range(10):
            await make_thread(session, category=category, title=f"스캐너 연결 {i}", body="스캐너 오류", replies=3)
    await client.get("/search", params={"q": "워밍업"})
    counts = []
    for query in ("프린터", "스캐너"):
        with count_queries(app) as statements:
            page = await client.get("/search", params={"q": query})
        assert page.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    # PostgreSQL adds a probe and planner settings (each in a transaction of its
    # own: BEGIN, set, COMMIT) around the search: still a fixed number.
    assert counts[0] <= 18


async def test_articles_written_in_the_app_are_found_once_published(client, db, staff):
    from sqlalchemy import select as _select

    from forum.models.kb import Article
    from forum.services import kb

    async with db.begin() as s:
        author = await s.get(type(staff), staff.id)
        article = await kb.create_article(s, author=author, title="환불 정책 안내", body="결제 후 14일 이내 환불")
    r = await client.get("/api/search?q=환불")
    assert all(hit["type"] != "article" for hit in r.json()["results"])  # a draft is not public
    async with db.begin() as s:
        article = await s.scalar(_select(Article).where(Article.id == article.id))
        await kb.publish(s, article, user=await s.get(type(staff), staff.id))
    r = await client.get("/api/search?q=환불")
    assert any(hit["type"] == "article" and hit["id"] == article.id for hit in r.json()["results"])


async def test_imported_threads_are_searchable(app, db, client):
    from forum.services.importer import import_threads

    line = '{"external_id": "ext-1", "title": "Refund for a double charge", "body": "I was charged twice."}'
    report = await import_threads(db, [line])
    assert report.imported == 1
    r = await client.get("/api/search?q=refunds")
    assert [hit["title"] for hit in r.json()["results"]] == ["Refund for a double charge"]


async def test_failed_searches_wait_for_a_database_that_is_away_and_are_kept_within_bounds(db, tmp_path):
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from forum.db import make_async_engine
    from forum.search import FailedSearches

    kept = FailedSearches(keep=3)
    assert kept.add("고양이 사료", locale="ko") and kept.add("cat food", locale="en")
    assert not kept.add("?!", locale="en")  # nothing searchable: not worth a row
    away = make_async_engine(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/forum.db")
    try:
        with pytest.raises(DBAPIError):  # no such file, or no such table
            await kept.flush(async_sessionmaker(away))
    finally:
        await away.dispose()
    assert kept.pending() == 2  # kept for the next flush
    for query in ("one", "two", "three"):
        kept.add(query, locale="en")
    assert kept.pending() == 3  # at most ``keep`` wait
    assert await kept.flush(db) == 3
    async with db() as session:
        stored = (await session.scalars(select(FailedSearch.query).order_by(FailedSearch.id))).all()
    assert stored == ["고양이 사료", "cat food", "one"]
