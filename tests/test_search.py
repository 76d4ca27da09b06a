"""Search: relevance in Korean and English, what is never found, bad queries,
and an index that follows posts as they are created, edited, hidden and deleted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from forum import search
from forum.clock import utcnow
from forum.models import Article, FailedSearch, Post, Role, Thread, ThreadKind
from forum.search import Filters, Sort
from forum.search.query import parse
from forum.services import state
from forum.services import threads as thread_service
from tests.factories import make_category, make_reply, make_thread, make_user

CORPUS = {
    "refund_ko": ("환불을 받고 싶어요", "연간 구독을 결제했는데 환불이 가능한가요?"),
    "cancel_ko": ("결제 취소는 어떻게 하나요", "카드 결제를 취소하고 싶어요. 환불했는데 아직 돈이 안 들어왔어요."),
    "login_ko": ("로그인이 안돼요", "비밀번호를 바꿨는데 로그인 이 안 돼요."),
    "crash_ko": ("앱이 자꾸 튕겨요", "아이폰에서 앱을 열면 바로 꺼져요."),
    "sync_ko": ("노트북에서 동기화가 안 돼요", "노트북 앱과 폰 앱이 sync 안 됨. Windows 11 사용 중입니다."),
    "dark_ko": ("다크모드 설정 질문", "화면을 어둡게 하고 싶어요."),
    "refund_en": ("Refund for my yearly plan", "I was charged twice and I would like a refund."),
    "refunds_en": ("Refunds take too long", "My refunded amount has not arrived after two weeks."),
    "login_en": ("Cannot log in after the update", "Login fails with error 401 on my iPhone."),
    "export_en": ("Export notes to PDF", "How do I export a whole notebook at once?"),
}


@pytest.fixture
async def corpus(db):  # type: ignore[no-untyped-def]
    """name -> thread id, for a small forum in both languages."""
    ids: dict[str, int] = {}
    async with db.begin() as session:
        category = await make_category(session, slug="help")
        author = await make_user(session, username="asker")
        for name, (title, body) in CORPUS.items():
            thread = await make_thread(
                session, author=author, category=category, title=title, body=body, solved=name == "refund_ko"
            )
            ids[name] = thread.id  # type: ignore[assignment]
    return ids


async def find(db, query: str, **options) -> list[int]:  # type: ignore[no-untyped-def]
    async with db() as session:
        results = await search.search(session, query, **options)
    return [hit.id for hit in results.hits]


def ranks(found: list[int], corpus: dict[str, int], *names: str) -> list[int]:
    return [found.index(corpus[n]) for n in names]


# ---------------------------------------------------------------- Korean


@pytest.mark.parametrize("query", ["환불", "환불을", "환불이", "환불했는데", "환불 받고 싶어요"])
async def test_korean_word_finds_its_forms_with_particles_and_endings(db, corpus, query):
    found = await find(db, query)
    assert corpus["refund_ko"] in found and corpus["cancel_ko"] in found
    # a title match comes before a body-only match
    assert found.index(corpus["refund_ko"]) < found.index(corpus["cancel_ko"])
    assert corpus["dark_ko"] not in found


@pytest.mark.parametrize("query", ["로그인이 안돼요", "로그인 이 안 돼요", "로그인이안돼요"])
async def test_spacing_variants_find_the_same_thread(db, corpus, query):
    found = await find(db, query)
    assert corpus["login_ko"] in found[:2]
    assert corpus["dark_ko"] not in found


async def test_one_and_two_syllable_korean_queries(db, corpus):
    app = await find(db, "앱")
    assert {corpus["crash_ko"], corpus["sync_ko"]} <= set(app)
    assert app.index(corpus["crash_ko"]) < app.index(corpus["sync_ko"])  # in the title vs body only
    assert corpus["sync_ko"] in await find(db, "폰")
    assert corpus["sync_ko"] in await find(db, "노트")  # the start of 노트북
    assert corpus["cancel_ko"] in await find(db, "카드")


async def test_verb_forms_and_synonyms_in_korean(db, corpus):
    assert corpus["crash_ko"] in await find(db, "튕김")
    # 강제 종료 is a synonym of 튕기다 in the shipped dictionary
    assert corpus["crash_ko"] in await find(db, "강제 종료")


async def test_mixed_korean_and_english_text(db, corpus):
    assert (await find(db, "sync 동기화"))[:1] == [corpus["sync_ko"]]
    assert corpus["sync_ko"] in await find(db, "Windows 동기화")
    assert corpus["crash_ko"] in await find(db, "아이폰 앱")


@pytest.mark.parametrize("query", ["비밀번호 재설정", "비밀 번호 재설정", "비밀번호재설정", "비밀번호"])
async def test_compound_nouns_match_however_they_are_split(db, query):
    async with db.begin() as session:
        thread = await make_thread(
            session, title="재설정 메일이 안 와요", body="비밀번호를 잊어버려서 재설정 메일을 요청했어요."
        )
        await make_thread(session, title="다크모드 질문", body="화면 설정을 바꾸고 싶어요.")
    assert await find(db, query) == [thread.id]


# ---------------------------------------------------------------- English


@pytest.mark.parametrize("query", ["refund", "refunds", "refunded", "Refunding"])
async def test_english_word_finds_its_inflections(db, corpus, query):
    found = await find(db, query)
    assert {corpus["refund_en"], corpus["refunds_en"]} <= set(found[:3])
    assert corpus["export_en"] not in found


async def test_synonyms_cross_languages(db, corpus):
    # 환불 and refund are one synonym group: each finds the other language too
    assert corpus["refund_en"] in await find(db, "환불")
    assert corpus["refund_ko"] in await find(db, "refund")
    assert corpus["refund_en"] in await find(db, "money back")


async def test_english_phrases_rank_the_best_match_first(db, corpus):
    assert (await find(db, "export pdf"))[:1] == [corpus["export_en"]]
    found = await find(db, "log in")
    assert {corpus["login_en"], corpus["login_ko"]} <= set(found)


async def test_words_that_appear_nowhere_find_nothing(db, corpus):
    assert await find(db, "zebra") == []
    assert await find(db, "고양이 사료") == []


# ---------------------------------------------------------------- hidden and deleted


async def test_hidden_and_deleted_threads_are_never_found(db, corpus):
    async with db.begin() as session:
        hidden = await session.get(Thread, corpus["refund_ko"])
        first = await session.scalar(select(Post).where(Post.thread_id == hidden.id, Post.is_first))  # type: ignore[union-attr]
        first.thread = hidden
        await state.hide_post(session, first, reason="moderator")
        deleted = await session.get(Thread, corpus["refund_en"])
        first = await session.scalar(select(Post).where(Post.thread_id == deleted.id, Post.is_first))  # type: ignore[union-attr]
        first.thread = deleted
        await state.delete_post(session, first)
    found = await find(db, "환불")
    assert corpus["refund_ko"] not in found and corpus["refund_en"] not in found
    assert corpus["cancel_ko"] in found


async def test_a_hidden_reply_is_never_found_and_a_restored_one_is(db, corpus):
    async with db.begin() as session:
        thread = await session.get(Thread, corpus["dark_ko"])
        reply = await make_reply(session, thread, body="고양이 사진을 배경으로 쓰면 됩니다")
    assert await find(db, "고양이") == [corpus["dark_ko"]]
    async with db.begin() as session:
        post = await session.get(Post, reply.id)
        post.thread = await session.get(Thread, corpus["dark_ko"])
        await state.hide_post(session, post, reason="flags")
    assert await find(db, "고양이") == []
    async with db.begin() as session:
        post = await session.get(Post, reply.id)
        post.thread = await session.get(Thread, corpus["dark_ko"])
        await state.restore_post(session, post)
    assert await find(db, "고양이") == [corpus["dark_ko"]]


async def test_a_post_hidden_behind_the_index_back_is_still_never_found(db, corpus):
    """Hidden by a direct update that skipped the index: search checks the
    stale entry against the visible text."""
    async with db.begin() as session:
        thread = await session.get(Thread, corpus["dark_ko"])
        reply = await make_reply(session, thread, body="고양이 사진을 배경으로 쓰면 됩니다")
    async with db.begin() as session:
        post = await session.get(Post, reply.id)
        post.hidden_at = utcnow() + timedelta(seconds=1)
        post.hidden_reason = "moderator"
    assert await find(db, "고양이") == []
    assert await find(db, "다크모드") == [corpus["dark_ko"]]


async def test_the_database_counts_every_change_to_a_threads_posts(db, corpus):
    """threads.content_version (migration 0022's triggers) goes up with every
    post inserted or deleted and every change to a post's text, visibility or
    thread, whoever makes it, and with nothing else; the index entry follows
    the changes made through the services."""

    async def versions(thread_id: int) -> tuple[int, int]:
        async with db() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT t.content_version, d.content_version FROM threads t "
                        "JOIN search_documents d ON d.doc_type = 'thread' AND d.doc_id = t.id WHERE t.id = :id"
                    ),
                    {"id": thread_id},
                )
            ).one()
        return row[0], row[1]

    dark, export = corpus["dark_ko"], corpus["export_en"]
    start, indexed = await versions(dark)
    assert start == indexed == 1  # the opening post
    async with db.begin() as session:
        reply = await make_reply(session, await session.get(Thread, dark), body="설정에서 바꿀 수 있어요")
    assert await versions(dark) == (2, 2)
    async with db.begin() as session:
        await session.execute(text("UPDATE posts SET vote_count = 3 WHERE id = :id"), {"id": reply.id})
    assert await versions(dark) == (2, 2)  # nothing a search shows
    async with db.begin() as session:
        await session.execute(text("UPDATE posts SET body = 'changed' WHERE id = :id"), {"id": reply.id})
    assert await versions(dark) == (3, 2)  # stale: search checks the visible text
    async with db.begin() as session:
        await session.execute(text("UPDATE posts SET thread_id = :to WHERE id = :id"), {"to": export, "id": reply.id})
    assert (await versions(dark))[0] == 4 and (await versions(export))[0] == 2
    async with db.begin() as session:
        await session.execute(text("DELETE FROM posts WHERE id = :id"), {"id": reply.id})
    assert (await versions(export))[0] == 3
    async with db.begin() as session:
        await search.index_thread(session, dark)
    assert await versions(dark) == (4, 4)


async def test_deleted_replies_leave_the_index(db, corpus):
    async with db.begin() as session:
        thread = await session.get(Thread, corpus["export_en"])
        reply = await make_reply(session, thread, body="Use the zebra exporter plugin.")
    assert await find(db, "zebra") == [corpus["export_en"]]
    async with db.begin() as session:
        post = await session.get(Post, reply.id)
        post.thread = await session.get(Thread, corpus["export_en"])
        await state.delete_post(session, post)
    assert await find(db, "zebra") == []


# ---------------------------------------------------------------- keeping the index current


async def test_new_threads_replies_and_edits_are_found_at_once(db, corpus):
    async with db.begin() as session:
        author = await make_user(session)
        category = await make_category(session)
        thread = await thread_service.ask(
            session, author=author, category=category, title="영수증 발급 문의", body="영수증을 어디서 받나요?"
        )
        reply = await make_reply(session, thread, body="penguin 아이콘을 누르면 내려받을 수 있어요")
    assert await find(db, "영수증") == [thread.id]
    assert await find(db, "penguins") == [thread.id]
    async with db.begin() as session:
        post = await session.get(Post, reply.id)
        post.thread = await session.get(Thread, thread.id)
        editor = await make_user(session, role=Role.admin)
        await thread_service.edit_post(session, post, editor=editor, body="메일함을 확인해 보세요")
    assert await find(db, "penguin") == []
    assert await find(db, "메일함") == [thread.id]


async def test_reindex_all_rebuilds_the_same_index(db, corpus):
    before = await find(db, "환불")
    async with db.begin() as session:
        done = await search.reindex_all(session, batch_size=3)
    assert done == len(CORPUS)
    assert await find(db, "환불") == before


async def test_postgresql_index_takes_new_entries_at_once(db, corpus):
    """GIN's pending list would be read entry by entry by every search: the
    index is made without it (migration 0019) and stays so when rebuilt."""

    async def options() -> list[str]:
        async with db() as session:
            found = await session.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'search_fts_tsv_idx'"))
            return list(found or [])

    async with db() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's GIN index")
    assert "fastupdate=off" in await options()
    async with db.begin() as session:
        await session.execute(text("DELETE FROM search_fts"))
    async with db.begin() as session:
        # From an empty index, the rebuild drops the index and makes it again.
        assert await search.reindex_all(session, batch_size=3) == len(CORPUS)
    assert "fastupdate=off" in await options()
    assert await find(db, "환불")


# ---------------------------------------------------------------- filters, sort, pages


async def test_filters_by_category_solved_kind_and_date(db, corpus):
    async with db.begin() as session:
        other = await make_category(session, slug="billing")
        old = await make_thread(
            session,
            category=other,
            title="환불 규정이 궁금해요",
            body="환불 기간이 얼마인가요?",
            kind=ThreadKind.discussion,
            created_at=utcnow() - timedelta(days=90),
        )
    assert await find(db, "환불", filters=Filters(category_id=other.id)) == [old.id]
    assert await find(db, "환불", filters=Filters(solved=True)) == [corpus["refund_ko"]]
    assert corpus["refund_ko"] not in await find(db, "환불", filters=Filters(solved=False))
    assert await find(db, "환불", filters=Filters(kind="discussion")) == [old.id]
    assert old.id not in await find(db, "환불", filters=Filters(kind="question"))
    assert old.id not in await find(db, "환불", filters=Filters(since=utcnow() - timedelta(days=30)))
    assert (await find(db, "환불", sort=Sort.date))[-1] == old.id


async def test_only_the_newest_matches_are_ranked_and_the_count_says_there_are_more(db, monkeypatch):
    async with db.begin() as session:
        category = await make_category(session)
        ids = [
            (await make_thread(session, category=category, title=f"백업 복원 {n}", body="백업 복원이 안 돼요")).id
            for n in range(5)
        ]
        hidden = await make_thread(session, category=category, title="백업 복원 숨김", body="백업 복원")
        hidden.hidden_at = utcnow()  # searches look at a thread's current state
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    async with db() as session:
        results = await search.search(session, "백업 복원")
        by_date = await search.search(session, "백업 복원", sort=Sort.date, filters=Filters(category_id=category.id))
    # Without filters the window is the index's three newest entries, the hidden thread's among them.
    assert sorted(hit.id for hit in results.hits) == sorted(ids[-2:])
    assert results.capped
    # With filters it is the three newest that pass them.
    assert [hit.id for hit in by_date.hits] == ids[::-1][:3]
    assert by_date.capped


async def _recent_keys(db) -> list[int]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return list((await session.scalars(text("SELECT rowid FROM search_fts_recent ORDER BY rowid"))).all())


async def test_a_common_query_is_ranked_among_the_newest_documents_and_a_rare_one_everywhere(db, monkeypatch):
    """A query with enough matches among the newest documents is ranked there
    (PostgreSQL: past a floor of RANK_SCAN keys; SQLite: in the newest
    documents' own FTS5 index, since bm25 counts a query's matches in its
    whole table); a rare one among all documents."""
    from forum.search import sqlite as fts

    async with db() as session:
        on_sqlite = session.bind.dialect.name == "sqlite"
    monkeypatch.setattr(fts, "RECENT_DOCUMENTS", 4)
    monkeypatch.setattr(search, "RANK_SCAN", 4)
    monkeypatch.setattr(search, "MIN_MATCHES", 2)
    async with db.begin() as session:
        category = await make_category(session)
        author = await make_user(session)
        rare = await make_thread(session, category=category, title="펭귄 아이콘 문의", body="펭귄이 안 보여요")
        ids = [
            (await make_thread(session, category=category, title=f"백업 복원 {n}", body="백업 복원이 안 돼요")).id
            for n in range(6)
        ]
        replied = await thread_service.ask(
            session, author=author, category=category, title="동기화 질문", body="노트가 안 맞아요"
        )
    if on_sqlite:
        assert len(await _recent_keys(db)) == 4  # the oldest left as new ones came
    # Common: the newest four documents hold enough matches; the count says there may be more.
    results = await find_results(db, "백업 복원")
    assert sorted(hit.id for hit in results.hits) == sorted(ids[-3:])
    assert results.capped
    # Rare: too few matches among the newest, so every document is looked at.
    assert await find(db, "펭귄") == [rare.id]
    # Replies, edits and removals reach the newest documents' index too.
    async with db.begin() as session:
        await make_reply(session, await session.get(Thread, replied.id), body="백업 복원도 같이 안 돼요")
    assert replied.id in await find(db, "백업 복원")
    async with db.begin() as session:
        await search.remove_thread(session, ids[-1])
    assert ids[-1] not in await find(db, "백업 복원")
    if not on_sqlite:
        return
    assert len(await _recent_keys(db)) == 3
    # A rebuild keeps the newest four again.
    async with db.begin() as session:
        await search.reindex_all(session, batch_size=3)
    async with db() as session:
        newest = list((await session.scalars(text("SELECT id FROM search_documents ORDER BY id DESC LIMIT 4"))).all())
    assert await _recent_keys(db) == sorted(newest)


async def test_fewer_matches_than_a_window_are_all_ranked(db, monkeypatch):
    """On PostgreSQL a common query lists the newest window's keys first; when
    there are fewer matches than a window they are all, and ranked by key."""
    async with db.begin() as session:
        category = await make_category(session)
        ids = [
            (await make_thread(session, category=category, title=f"백업 복원 {n}", body="백업 복원이 안 돼요")).id
            for n in range(5)
        ]
        solved = await make_thread(session, category=category, title="백업 복원", body="백업 복원", solved=True)
        hidden = await make_thread(session, category=category, title="백업 복원 숨김", body="백업 복원")
        hidden.hidden_at = utcnow()
    monkeypatch.setattr(search, "RANK_WINDOW", 10)
    results = await find_results(db, "백업 복원")
    assert sorted(hit.id for hit in results.hits) == sorted([*ids, solved.id])
    assert results.hits[0].id == solved.id
    assert not results.capped and results.total == 6


async def test_postgresql_planner_settings_last_only_as_long_as_the_search(db, monkeypatch):
    """A search tells PostgreSQL's planner how common the query is (forum.search.postgres.planned):
    in a session's own transaction the settings are put back afterwards: for a common query, a
    rare one, and one common among the newest documents with too few matches past the floor
    (ranked among all documents after all)."""
    from forum.search import postgres

    settings = "SELECT current_setting('enable_seqscan'), current_setting('enable_bitmapscan'), " + (
        "current_setting('enable_indexscan'), current_setting('enable_hashjoin')"
    )
    async with db.begin() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's planner")
        category = await make_category(session)
        backups = []
        for kind in ["backup"] * 10 + ["penguin"] * 4 + ["penguin", "backup", "penguin", "backup"]:
            if kind == "backup":
                thread = await make_thread(session, category=category, title="백업 복원", body="백업 복원이 안 돼요")
                backups.append(thread.id)
            else:
                await make_thread(session, category=category, title="펭귄 아이콘 문의", body="펭귄이 안 보여요")
    # The newest 4 documents: 2 backups (common: 1/2 >= 3/8); the newest 8 hold only those 2.
    monkeypatch.setattr(postgres, "PROBE", 4)
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    monkeypatch.setattr(search, "RANK_SCAN", 8)
    monkeypatch.setattr(search, "MIN_MATCHES", 5)
    async with db.begin() as session:
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        before = tuple((await session.execute(text(settings))).one())
        assert before == ("on", "off", "on", "on")
        common = await search.search(session, "백업 복원")
        # The newest three backups: the newest eight documents hold only two of them.
        assert sorted(hit.id for hit in common.hits) == sorted(backups[-3:])
        assert tuple((await session.execute(text(settings))).one()) == before
        for query in ("펭귄", "없는말"):
            await search.search(session, query)
            assert tuple((await session.execute(text(settings))).one()) == before, query


async def find_results(db, query: str, **options):  # type: ignore[no-untyped-def]
    async with db() as session:
        return await search.search(session, query, **options)


async def test_solved_threads_weigh_more(db):
    async with db.begin() as session:
        category = await make_category(session)
        plain = await make_thread(session, category=category, title="백업 파일 복원", body="백업 복원이 안 돼요")
        solved = await make_thread(
            session, category=category, title="백업 파일 복원", body="백업 복원이 안 돼요", solved=True
        )
    assert (await find(db, "백업 복원"))[:2] == [solved.id, plain.id]


async def test_results_come_in_pages(db):
    async with db.begin() as session:
        category = await make_category(session)
        author = await make_user(session)
        made = [
            await make_thread(
                session, author=author, category=category, title=f"업데이트 질문 {i}", body="업데이트 후 문제"
            )
            for i in range(7)
        ]
    async with db() as session:
        first = await search.search(session, "업데이트", page=1, size=3)
        third = await search.search(session, "업데이트", page=3, size=3)
    assert first.total == 7 and first.page.pages == 3 and len(first.hits) == 3
    assert len(third.hits) == 1
    seen = {h.id for h in first.hits} | {h.id for h in third.hits}
    assert seen <= {t.id for t in made}


# ---------------------------------------------------------------- bad queries

BAD_QUERIES = [
    "",
    "   ",
    "?!.,;",
    '"',
    '""',
    "*",
    "환불*",
    "NEAR(",
    "NEAR(환불 결제, 2)",
    "AND",
    "OR",
    "NOT",
    "-",
    "-환불",
    ":",
    "title:환불",
    "(",
    "((환불)",
    "환불)",
    "^",
    "'",
    "\\",
    "'; DROP TABLE threads; --",
    "a & b | !c <-> d:*",
    "\x00\x01",
    "가" * 10_000,
    "refund " * 2_000,
]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_bad_queries_answer_normally(db, corpus, query):
    async with db() as session:
        results = await search.search(session, query)
    assert results.total >= 0
    assert len(results.query.text) <= 200


async def test_queries_are_never_fts_syntax():
    parsed = parse('NEAR("환불" AND refund*) OR -x')
    terms = {t for g in parsed.groups for a in g.alternatives for t in a.terms}
    assert "near" in terms and "환불" in terms
    assert not any(set(t) & set('"*()-:^') for t in terms)


# ---------------------------------------------------------------- snippets


async def test_snippets_come_from_the_original_text_with_the_matches_marked(db, corpus):
    async with db() as session:
        results = await search.search(session, "환불")
        english = await search.search(session, "refund")
    hit = next(h for h in results.hits if h.id == corpus["cancel_ko"])
    assert "환불했는데 아직 돈이 안 들어왔어요" in hit.snippet.text
    assert "환불" in hit.snippet.marked
    hit = next(h for h in english.hits if h.id == corpus["refunds_en"])
    assert hit.snippet.marked == ["refunded"]


async def test_a_kept_snippet_follows_its_threads_posts(db):
    """Snippets are kept by what they depend on (no text read for a kept
    one): a reply added, edited, hidden or restored shows in the next
    search's snippet, and a hidden reply's text never does."""

    async def snippet() -> str:
        async with db() as session:
            results = await search.search(session, "환불")
        return next(h for h in results.hits if h.id == thread.id).snippet.text

    async def change(post_id: int, action) -> None:  # type: ignore[no-untyped-def]
        async with db.begin() as session:
            post = await session.get(Post, post_id)
            post.thread = await session.get(Thread, thread.id)
            await action(session, post)

    async with db.begin() as session:
        thread = await make_thread(session, title="결제 관련 질문", body="질문이 있어요")
        first = await make_reply(session, thread, body="환불은 pelican 메뉴에서 합니다")
        editor = await make_user(session, role=Role.admin)
    assert "pelican" in await snippet()
    assert "pelican" in await snippet()  # the kept one
    await change(first.id, lambda s, p: thread_service.edit_post(s, p, editor=editor, body="환불은 walrus 메뉴에서"))
    assert "walrus" in await snippet()
    await change(first.id, lambda s, p: state.hide_post(s, p, reason="flags"))
    async with db.begin() as session:
        second = await make_reply(session, await session.get(Thread, thread.id), body="환불은 otter 화면에서 돼요")
    text = await snippet()
    assert "otter" in text and "walrus" not in text
    await change(second.id, lambda s, p: state.hide_post(s, p, reason="flags"))
    await change(first.id, lambda s, p: state.restore_post(s, p))
    text = await snippet()
    assert "walrus" in text and "otter" not in text


# ---------------------------------------------------------------- articles


async def test_published_articles_are_found_and_drafts_are_not(db, corpus):
    async with db.begin() as session:
        staff = await make_user(session, role=Role.staff)
        published = Article(
            title="환불 정책 안내",
            slug="refund-policy",
            body="결제 후 7일 이내에는 전액 환불됩니다.",
            body_html="<p>결제 후 7일 이내에는 전액 환불됩니다.</p>",
            status="published",
            author_id=staff.id,
            published_at=utcnow(),
        )
        draft = Article(
            title="환불 초안", slug="draft", body="환불 초안입니다", body_html="", status="draft", author_id=staff.id
        )
        session.add_all([published, draft])
        await session.flush()
        await search.index_article(session, published.id)  # type: ignore[arg-type]
        await search.index_article(session, draft.id)  # type: ignore[arg-type]
    async with db() as session:
        results = await search.search(session, "환불")
        only_articles = await search.search(session, "환불", filters=Filters(kind="article"))
    found = [(h.type, h.id) for h in results.hits]
    assert ("article", published.id) in found and ("article", draft.id) not in found
    assert [(h.type, h.id) for h in only_articles.hits] == [("article", published.id)]
    async with db.begin() as session:
        assert await search.remove_article(session, published.id)  # type: ignore[arg-type]
    assert ("article", published.id) not in [(h.type, h.id) for h in (await _search(db, "환불")).hits]


async def _search(db, query):  # type: ignore[no-untyped-def]
    async with db() as session:
        return await search.search(session, query)


# ---------------------------------------------------------------- searches that found nothing


async def test_failed_searches_are_counted_most_frequent_first(db):
    kept = search.FailedSearches()
    for query, locale in [("고양이", "ko"), ("Zebra", "en"), ("zebra ", "en"), ("zebra", "ko"), ("?!", "en")]:
        kept.add(query, locale=locale)
    assert await kept.flush(db) == 4
    async with db() as session:
        rows = await search.failed_searches(session)
        stored = (await session.scalars(select(FailedSearch))).all()
    assert [(r.count, r.locales) for r in rows] == [(3, ("en", "ko")), (1, ("ko",))]
    assert rows[0].query.casefold() == "zebra"
    assert len(stored) == 4  # punctuation alone is not worth a row


async def test_index_threads_indexes_many_at_once(db, corpus):
    async with db.begin() as session:
        await search.remove_thread(session, corpus["export_en"])
        await search.remove_thread(session, corpus["refund_en"])
    assert corpus["export_en"] not in await find(db, "pdf")
    async with db.begin() as session:
        await search.index_threads(session, [corpus["export_en"], corpus["refund_en"], corpus["login_en"]])
    assert await find(db, "pdf") == [corpus["export_en"]]
    assert corpus["refund_en"] in await find(db, "refund")


def test_reindex_command_rebuilds_the_index(database_url, monkeypatch, capsys):
    from forum.cli import main
    from forum.db import make_async_engine, make_sessionmaker

    async def seed_then_empty_the_index() -> None:
        engine = make_async_engine(database_url)
        async with make_sessionmaker(engine).begin() as session:
            thread = await make_thread(session, title="알림이 안 와요", body="푸시 알림이 안 와요")
            await search.remove_thread(session, thread.id)  # type: ignore[arg-type]
        await engine.dispose()

    async def count(query: str) -> int:
        engine = make_async_engine(database_url)
        async with make_sessionmaker(engine)() as session:
            results = await search.search(session, query)
        await engine.dispose()
        return results.total

    asyncio.run(seed_then_empty_the_index())
    assert asyncio.run(count("알림")) == 0
    monkeypatch.setenv("FORUM_DATABASE_URL", database_url)
    main(["search", "reindex", "--batch-size", "2"])
    assert "Indexed 1 documents" in capsys.readouterr().out
    assert asyncio.run(count("알림")) == 1
