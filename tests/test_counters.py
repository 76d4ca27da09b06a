"""The categories' stored list sizes stay right through everything that changes
them, ``forum recount`` repairs any counter that went wrong, and list pages
stop at a fixed depth."""

from __future__ import annotations

from sqlalchemy import select, update

from forum.models import Category, Post, Thread, Vote
from forum.pagination import MAX_PAGES, page_number
from forum.services import categories, recount, state, threads
from forum.services.importer import import_threads
from moderation.models import Word
from moderation.spam import word_key
from tests.factories import make_category, make_reply, make_thread, make_user
from tests.kb_helpers import cli, jsonl
from tests.moderation_helpers import age, app_with, client_for, first_post


async def _counts(db, *cats: Category) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(listed, hidden) of each category, read afresh."""
    async with db() as s:
        rows = {r.id: (r.listed_threads, r.hidden_threads) for r in (await s.scalars(select(Category))).all()}
    return [rows[c.id] for c in cats]


async def _recount_finds_nothing(db) -> bool:  # type: ignore[no-untyped-def]
    """Whether a recount (rolled back) would fix anything: the stored counters agree with the rows."""
    async with db() as s:
        report = await recount.recount(s)
        await s.rollback()
    return report.fixes == []


async def _thread(db, category: Category, **kwargs) -> Thread:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return await make_thread(s, category=category, **kwargs)


async def test_creating_threads_counts_them_in_their_category(db):
    async with db.begin() as s:
        general, billing = await make_category(s), await make_category(s)
    for _ in range(3):
        await _thread(db, general)
    await _thread(db, billing, replies=2)
    assert await _counts(db, general, billing) == [(3, 0), (1, 0)]
    assert await _recount_finds_nothing(db)


async def test_hiding_deleting_and_restoring_a_thread_moves_its_count(client, db, moderator):
    async with db.begin() as s:
        general = await make_category(s)
    thread = await _thread(db, general)
    await _thread(db, general)
    first = await first_post(db, thread)
    await client.login_as(moderator)

    await client.submit(f"/mod/p/{first.id}/hide", {"reason": "Off topic"})
    assert await _counts(db, general) == [(1, 1)]
    await client.submit(f"/mod/p/{first.id}/hide", {"reason": "Twice"})  # no change the second time
    assert await _counts(db, general) == [(1, 1)]
    await client.submit(f"/mod/p/{first.id}/delete", {"reason": "Spam"})
    assert await _counts(db, general) == [(1, 0)]
    await client.submit(f"/mod/p/{first.id}/restore", {"reason": "Mistake"})
    assert await _counts(db, general) == [(2, 0)]
    await client.submit(f"/mod/p/{first.id}/delete", {"reason": "Spam"})
    assert await _counts(db, general) == [(1, 0)]
    assert await _recount_finds_nothing(db)


async def test_hiding_or_deleting_a_reply_leaves_the_category_counts_alone(db):
    async with db.begin() as s:
        general = await make_category(s)
        thread = await make_thread(s, category=general)
        reply = await make_reply(s, thread)
        reply.thread = thread
        await state.hide_post(s, reply, reason="moderator")
        await state.delete_post(s, reply)
    assert await _counts(db, general) == [(1, 0)]


async def test_moving_a_thread_moves_its_count_between_categories(client, db, moderator):
    async with db.begin() as s:
        general = await make_category(s, slug="general")
        billing = await make_category(s, slug="billing")
    thread = await _thread(db, general)
    await client.login_as(moderator)
    await client.submit(f"/mod/t/{thread.id}/move", {"category": "billing", "reason": "결제 문의"})
    assert await _counts(db, general, billing) == [(0, 0), (1, 0)]
    # A hidden thread moves among the hidden ones.
    await client.submit(f"/mod/p/{(await first_post(db, thread)).id}/hide", {"reason": "Check"})
    await client.submit(f"/mod/t/{thread.id}/move", {"category": "general", "reason": "Back"})
    assert await _counts(db, general, billing) == [(0, 1), (0, 0)]
    assert await _recount_finds_nothing(db)


async def test_pinned_threads_leave_the_paged_list_and_come_back_when_unpinned(client, db, moderator):
    async with db.begin() as s:
        general = await make_category(s)
    thread = await _thread(db, general)
    await _thread(db, general)
    await client.login_as(moderator)
    await client.submit(f"/mod/t/{thread.id}/pin")
    assert await _counts(db, general) == [(1, 0)]
    await client.submit(f"/mod/t/{thread.id}/pin")
    assert await _counts(db, general) == [(1, 0)]
    await client.submit(f"/mod/t/{thread.id}/unpin")
    assert await _counts(db, general) == [(2, 0)]


async def test_a_thread_held_for_review_counts_as_hidden_until_a_moderator_lets_it_through(
    client, other_client, db, member, moderator
):
    async with db.begin() as s:
        s.add(Word(kind="watched", word="무료 충전", word_key=word_key("무료 충전")))
        general = await make_category(s, slug="general")
    await age(db, member, days=30)
    await client.login_as(member)
    r = await client.submit("/ask", {"category": "general", "title": "무료충전 이벤트", "body": "지금 바로 받으세요"})
    assert r.status_code == 303
    assert await _counts(db, general) == [(0, 1)]
    async with db() as s:
        thread = await s.scalar(select(Thread))
    assert thread is not None
    await other_client.login_as(moderator)
    await other_client.submit(f"/mod/p/{(await first_post(db, thread)).id}/dismiss")
    assert await _counts(db, general) == [(1, 0)]
    assert await _recount_finds_nothing(db)


async def test_an_edit_that_sends_the_opening_post_back_to_review_hides_its_thread_count(client, db, member):
    async with db.begin() as s:
        s.add(Word(kind="watched", word="crypto*", word_key=word_key("crypto*")))
        general = await make_category(s)
        thread = await make_thread(s, category=general, author=member)
    await age(db, member, days=30)
    await client.login_as(member)
    first = await first_post(db, thread)
    r = await client.submit(f"/p/{first.id}/edit", {"title": thread.title, "body": "Buy cryptocurrency here"})
    assert r.status_code == 303
    assert await _counts(db, general) == [(0, 1)]


async def test_imported_threads_are_counted_and_a_second_import_counts_nothing_more(db):
    lines = jsonl(
        [
            {"external_id": "a", "title": "Export to CSV", "body": "Can I export?", "category": "Billing"},
            {"external_id": "b", "title": "환불 문의", "body": "환불 받고 싶어요", "category": "Billing"},
            {"external_id": "c", "title": "Login fails", "body": "It says no.", "category": "Accounts"},
        ]
    ).splitlines()
    await import_threads(db, lines)
    await import_threads(db, lines)
    async with db() as s:
        counts = {c.name_en: (c.listed_threads, c.hidden_threads) for c in (await s.scalars(select(Category))).all()}
    assert counts == {"Billing": (2, 0), "Accounts": (1, 0)}
    assert await _recount_finds_nothing(db)


async def test_recount_repairs_counters_corrupted_on_purpose_and_says_which(db):
    async with db.begin() as s:
        general = await make_category(s, slug="general")
        thread = await make_thread(s, category=general, replies=2)
        voter = await make_user(s)
        answer = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(False)))
        assert answer is not None
        answer.thread = thread
        await threads.vote(s, answer, user=voter)
    async with db.begin() as s:
        await s.execute(update(Category).where(Category.id == general.id).values(listed_threads=40, hidden_threads=3))
        await s.execute(update(Thread).where(Thread.id == thread.id).values(reply_count=9))
        await s.execute(update(Post).where(Post.id == answer.id).values(vote_count=0))
    async with db.begin() as s:
        report = await recount.recount(s)
    fixed = {(f.counter, f.row_id): (f.stored, f.actual) for f in report.fixes}
    assert fixed == {
        ("categories.listed_threads", general.id): (40, 1),
        ("categories.hidden_threads", general.id): (3, 0),
        ("threads.reply_count", thread.id): (9, 2),
        ("posts.vote_count", answer.id): (0, 1),
    }
    assert await _counts(db, general) == [(1, 0)]
    async with db() as s:
        assert (await s.get(Thread, thread.id)).reply_count == 2  # type: ignore[union-attr]
        assert (await s.get(Post, answer.id)).vote_count == 1  # type: ignore[union-attr]
        assert await s.scalar(select(Vote.id).where(Vote.post_id == answer.id)) is not None
    assert await _recount_finds_nothing(db)


def test_the_recount_command_reports_what_it_fixed(database_url, tmp_path):
    import asyncio

    from forum.db import make_async_engine, make_sessionmaker

    async def seed() -> None:
        engine = make_async_engine(database_url)
        try:
            async with make_sessionmaker(engine).begin() as s:
                general = await make_category(s, slug="general")
                await make_thread(s, category=general)
                await s.flush()
                await s.execute(update(Category).where(Category.id == general.id).values(listed_threads=7))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    result = cli(database_url, "recount", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "categories.listed_threads (threads listed to members): fixed 1" in result.stdout
    assert "(general): 7 -> 1" in result.stdout
    again = cli(database_url, "recount", tmp=tmp_path)
    assert "Every counter was right." in again.stdout


# ---------------------------------------------------------------- pages


async def test_the_list_total_comes_from_the_counters(client, db, moderator):
    async with db.begin() as s:
        general = await make_category(s, slug="general")
        other = await make_category(s, slug="other")
        hidden = await make_thread(s, category=general)
        for _ in range(2):
            await make_thread(s, category=general)
        await make_thread(s, category=other)
        first = await s.scalar(select(Post).where(Post.thread_id == hidden.id))
        assert first is not None
        first.thread = hidden
        await state.hide_post(s, first, reason="moderator")
    async with db() as s:
        assert (await threads.latest(s)).page.total == 3
        assert (await threads.latest(s, viewer=moderator)).page.total == 4
        cat = await categories.get_category_by_slug(s, "general")
        assert (await threads.latest(s, category=cat)).page.total == 2
        assert (await threads.latest(s, category=cat, viewer=moderator)).page.total == 3


async def test_lists_stop_at_the_last_page_they_allow(settings, db):
    async with db.begin() as s:
        general = await make_category(s, slug="general")
        author = await make_user(s)
        for n in range(MAX_PAGES + 2):
            await make_thread(s, category=general, author=author, title=f"Question number {n:03d}")
    async with app_with(settings, page_size=1) as app, client_for(app) as client:
        last = await client.get(f"/c/general?page={MAX_PAGES}")
        assert last.status_code == 200
        assert "Question number 002" in last.text  # the hundredth newest of 102
        assert f"Page {MAX_PAGES} of {MAX_PAGES}" in last.text
        assert "Lists stop here. Search finds older posts." in last.text
        assert 'rel="next"' not in last.text
        past = await client.get(f"/c/general?page={MAX_PAGES + 1}")
        assert past.status_code == 404
        assert f"Lists stop at page {MAX_PAGES}." in past.text
        client.cookies.set("locale", "ko")
        korean = await client.get(f"/?page={MAX_PAGES + 1}", headers={"Accept-Language": "ko"})
        assert korean.status_code == 404 and "목록은 100쪽까지예요" in korean.text


async def test_a_page_past_the_end_of_a_short_list_is_not_found_without_reading_threads(client, db, app):
    from tests.support_helpers import QueryCounter

    async with db.begin() as s:
        await make_thread(s, category=await make_category(s, slug="general"))
    assert (await client.get("/?page=1")).status_code == 200
    with QueryCounter(app) as counter:
        r = await client.get("/c/general?page=2")
    assert r.status_code == 404 and "This list has only 1 page." in r.text
    assert not [q for q in counter.statements if "FROM threads" in q]
    assert (await client.get("/?page=99999999999999999999")).status_code == 404
    assert (await client.get("/?page=abc")).status_code == 200
    assert (await client.get("/?page=-3")).status_code == 200
    assert (await client.get("/kb?page=5")).status_code == 404
    assert (await client.get("/search?q=question&page=500")).status_code == 404


def test_page_numbers_past_the_cap_are_not_found_and_odd_ones_mean_the_first():
    import pytest

    from forum.errors import NotFound

    assert page_number(None) == 1 and page_number("x") == 1 and page_number("0") == 1
    assert page_number(str(MAX_PAGES)) == MAX_PAGES
    with pytest.raises(NotFound):
        page_number(str(MAX_PAGES + 1))


async def test_two_replies_written_at_once_both_count(db):
    """Each reply adds to the stored count in the database (no read-modify-write),
    so the second of two overlapping replies waits for the first and counts on
    top of it. PostgreSQL only: SQLite lets one writer at a time in at all."""
    import asyncio

    import pytest

    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("overlapping write transactions need PostgreSQL")
    async with db.begin() as s:
        thread = await make_thread(s)
        first, second = await make_user(s), await make_user(s)
    a_written, b_waiting = asyncio.Event(), asyncio.Event()

    async def a() -> None:
        async with db.begin() as s:
            loaded = await s.get(Thread, thread.id)
            assert loaded is not None
            await threads.reply(s, loaded, author=first, body="The first of two replies.")
            a_written.set()
            await b_waiting.wait()
            await asyncio.sleep(0.2)  # b is now blocked on the thread's row

    async def b() -> None:
        async with db.begin() as s:
            loaded = await s.get(Thread, thread.id)
            assert loaded is not None and loaded.reply_count == 0
            await a_written.wait()
            b_waiting.set()
            await threads.reply(s, loaded, author=second, body="The second of two replies.")
            assert loaded.reply_count == 2

    await asyncio.gather(a(), b())
    async with db() as s:
        assert (await s.get(Thread, thread.id)).reply_count == 2  # type: ignore[union-attr]
