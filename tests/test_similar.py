"""Similar questions: the JSON API, the ask page, related questions on thread
pages and `forum similar`. Public content only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from forum.clock import utcnow
from forum.db import make_sync_engine
from forum.models import Thread, TopicBlob
from forum.services import kb
from forum.services.similar import SimilarIndex
from forum.text import Analyzer, Synonyms
from forum.topics.similarity import SimilarityIndex
from tests.factories import make_category, make_thread
from tests.kb_helpers import KOREAN_CRASH, ONE_OFFS, PASSWORD, REFUND, cli, jsonl, make_threads, run_job, run_related


@pytest.fixture
async def forum_threads(db, staff, settings):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        category = await make_category(s, slug="help")
        solved = await make_threads(s, PASSWORD[:3], category=category, solved=True)
        unsolved = await make_threads(s, PASSWORD[3:] + REFUND + ONE_OFFS, category=category)
        draft = await kb.create_article(
            s, author=staff, title="Reset your password (draft)", body="Draft about how to reset my password."
        )
        article = await kb.create_article(
            s, author=staff, title="How to reset my password", body="Open Settings and choose Reset my password."
        )
        await kb.publish(s, article, user=staff)
    await run_related(settings)  # what the job runner does in the background
    return {"solved": solved, "unsolved": unsolved, "article": article, "draft": draft}


async def test_the_api_answers_with_typed_results_best_first(client, forum_threads):
    r = await client.get("/api/similar", params={"q": "how can i reset my password", "limit": 5})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    results = r.json()["results"]
    assert 1 <= len(results) <= 5
    for item in results:
        assert set(item) == {"type", "id", "title", "url", "score", "solved"}
        assert item["type"] in ("thread", "article") and 0 < item["score"] <= 1
    assert [i["score"] for i in results] == sorted((i["score"] for i in results), reverse=True)
    assert results[0]["title"] in {*PASSWORD, "How to reset my password"}
    article = forum_threads["article"]
    assert {
        "type": "article",
        "id": article.id,
        "title": article.title,
        "url": f"http://testserver/kb/{article.id}/{article.slug}",
        "solved": True,
    } in [{k: v for k, v in i.items() if k != "score"} for i in results]
    assert all("draft" not in i["title"] for i in results)


async def test_solved_only_leaves_out_unsolved_threads(client, forum_threads):
    r = await client.get("/api/similar", params={"q": "reset my password", "limit": 10, "solved": "1"})
    results = r.json()["results"]
    assert results and all(i["solved"] for i in results)
    assert {i["title"] for i in results if i["type"] == "thread"} == set(PASSWORD[:3])


async def test_hidden_and_deleted_threads_never_show(client, db, forum_threads):
    await client.get("/api/similar", params={"q": "reset my password"})  # the index is loaded now
    hidden, deleted = forum_threads["solved"][:2]
    async with db.begin() as s:
        await s.execute(update(Thread).where(Thread.id == hidden.id).values(hidden_at=utcnow()))
        await s.execute(update(Thread).where(Thread.id == deleted.id).values(deleted_at=utcnow()))
        await kb.unpublish(s, forum_threads["article"], user=await _staff(s))
    r = await client.get("/api/similar", params={"q": "reset my password", "limit": 20})
    ids = {(i["type"], i["id"]) for i in r.json()["results"]}
    assert ("thread", hidden.id) not in ids and ("thread", deleted.id) not in ids
    assert ("article", forum_threads["article"].id) not in ids


async def _staff(s):  # type: ignore[no-untyped-def]
    from forum.models import User

    return await s.scalar(select(User).where(User.username == "staff"))


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "x", "limit": "many"}, 400),
        ({"q": "x", "limit": "0"}, 400),
        ({"q": "x" * 1001}, 400),
        ({"q": "", "limit": "5"}, 200),
        ({"q": "x", "limit": "500"}, 200),
    ],
)
async def test_bad_input_gets_a_clear_4xx(client, params, status):
    r = await client.get("/api/similar", params=params)
    assert r.status_code == status
    if status == 400:
        assert r.json()["error"]
    else:
        assert "results" in r.json()


async def test_an_empty_query_finds_nothing(client, forum_threads):
    assert (await client.get("/api/similar", params={"q": "   "})).json() == {"results": []}


async def test_the_ask_page_checks_for_similar_questions_without_javascript(client, member, forum_threads):
    await client.login_as(member)
    form = await client.get("/ask")
    assert 'formaction="/ask/similar"' in form.text and "/static/similar.js" in form.text
    r = await client.submit(
        "/ask/similar",
        {
            "title": "How do I reset my password?",
            "body": "Locked out.",
            "category": "help",
            "kind": "question",
            "tags": "account-recovery, 비밀번호",
        },
    )
    assert r.status_code == 200
    assert "How do I reset my password" in r.text and "Locked out." in r.text  # the form is kept
    assert 'value="account-recovery, 비밀번호"' in r.text  # tags too
    section = r.text.split('id="similar-questions"', 1)[1].split("</section>", 1)[0]
    assert "How to reset my password" in section  # the article
    assert PASSWORD[3] not in section  # unsolved
    nothing = await client.submit("/ask/similar", {"title": "zzzz qqqq", "body": "", "category": "help"})
    assert "No similar solved questions found" in nothing.text


async def test_checking_needs_a_csrf_token_and_a_login(client, member):
    assert (await client.post("/ask/similar", data={"title": "x"})).status_code in (303, 401, 403)
    await client.login_as(member)
    assert (await client.post("/ask/similar", data={"title": "x"})).status_code == 403


async def test_thread_pages_show_related_questions(client, app, forum_threads):
    thread = forum_threads["solved"][0]
    r = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert r.status_code == 200
    related = r.text.split('id="related-title"', 1)[1].split("</section>", 1)[0]
    assert PASSWORD[1] in related and f'href="/t/{thread.id}/' not in related
    assert REFUND[0] not in related


async def test_the_index_catches_up_with_new_edited_and_hidden_threads(db, settings, forum_threads):
    engine = make_sync_engine(settings.database_url)
    try:
        index = SimilarIndex(engine, refresh_every=0)
        index.ensure()
        async with db.begin() as s:
            category = await make_category(s)
            new = await make_thread(
                s, title="Reset password on my phone", body="Phone password reset fails.", category=category
            )
            gone = forum_threads["unsolved"][0]
            await s.execute(update(Thread).where(Thread.id == gone.id).values(hidden_at=utcnow()))
        index.ensure()
        assert new.id in {m.id for m in index.search("reset password on my phone", 3) if m.type == "thread"}
        assert gone.id not in {m.id for m in index.search(gone.title, 10)}
        # Words the index has never seen need a rebuild, which happens once enough arrived.
        async with db.begin() as s:
            cal = await make_thread(
                s, title="Calendar sync stopped working", body="Calendar sync stopped.", category=category
            )
        index.ensure()
        assert index.search("calendar sync", 3) == []
        index.rebuild_after, index.rebuild_share = 1, 0.0
        async with db.begin() as s:
            await make_thread(s, title="Calendar invites arrive late", body="Calendar invites.", category=category)
        index.ensure()
        assert index.search("calendar sync", 3)[0].id == cal.id
        # A fresh process loads the stored index and catches up the same way.
        async with db() as s:
            assert await s.get(TopicBlob, "similar") is not None
        fresh = SimilarIndex(engine, refresh_every=0)
        fresh.ensure()
        assert fresh.search("calendar sync", 3)[0].id == cal.id
        assert new.id in {m.id for m in fresh.search("reset password on my phone", 3) if m.type == "thread"}
    finally:
        engine.dispose()


def test_the_best_matchs_topic_ranks_together():
    texts = [
        *KOREAN_CRASH,
        "프로그램이 갑자기 종료돼요",  # same question, not one shared word
        "앱이 자꾸 느려요",  # different question, shares 앱 and 자꾸
        "How do I reset my password",
    ]
    index = SimilarityIndex.build([(i, f"{t}\n{t}") for i, t in enumerate(texts, 1)], Analyzer(Synonyms.from_lines([])))
    before = [d for d, _ in index.query(KOREAN_CRASH[0], 6, exclude={1})]
    assert 5 not in before and 6 in before
    index.set_groups({1: 9, 2: 9, 3: 9, 4: 9, 5: 9})
    after = index.query(KOREAN_CRASH[0], 6, exclude={1})
    assert [d for d, _ in after][:3] == [4, 2, 3] and 5 in [d for d, _ in after]
    assert all(0.0 < score <= 1.0 for _, score in after)
    # Groups never make something out of nothing.
    assert index.query("zzqx", 5) == []
    index.set_groups({})
    assert [d for d, _ in index.query(KOREAN_CRASH[0], 6, exclude={1})] == before


async def test_related_questions_follow_the_topics_the_job_found(db, settings, staff):
    async with db.begin() as s:
        category = await make_category(s, slug="app")
        crash = await make_threads(s, KOREAN_CRASH, category=category)
        await make_threads(s, [*PASSWORD, *REFUND], category=category)
    await run_job(settings)
    async with db.begin() as s:
        (paraphrase,) = await make_threads(s, ["프로그램이 갑자기 종료돼요"], category=category)
    await run_job(settings)  # an incremental run: it joins the crash topic by meaning
    engine = make_sync_engine(settings.database_url)
    try:
        index = SimilarIndex(engine, refresh_every=0)
        index.ensure()
        found = [m.id for m in index.search(KOREAN_CRASH[0], 5, exclude_thread=crash[0].id)]
        # It shares no word with them: only the topic brings it in.
        assert set(found[:3]) == {t.id for t in crash[1:]} and paraphrase.id in found
    finally:
        engine.dispose()


async def test_staff_synonyms_make_different_words_match(db, settings, staff, client):
    async with db.begin() as s:
        await make_threads(s, ["My gizmo will not start", "Where is the invoice archive"])
    engine = make_sync_engine(settings.database_url)
    try:
        index = SimilarIndex(engine, refresh_every=0)
        index.ensure()
        assert not any("gizmo" in m.title for m in index.search("zorblat broken", 5))
        await client.login_as(staff)
        r = await client.submit("/kb/synonyms", {"synonyms": "gizmo, zorblat\n# a comment\n"})
        assert r.status_code == 303
        index.ensure()  # new synonyms: the index is rebuilt with them
        assert index.search("zorblat broken", 5)[0].title == "My gizmo will not start"
    finally:
        engine.dispose()


def test_the_command_answers_one_line_per_query(database_url, tmp_path):
    lines = [{"external_id": f"p{i}", "title": t, "body": t} for i, t in enumerate(PASSWORD)]
    lines += [{"external_id": f"r{i}", "title": t, "body": t} for i, t in enumerate(REFUND)]
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl(lines), encoding="utf-8")
    assert cli(database_url, "import", "threads", str(path), tmp=tmp_path).returncode == 0
    queries = ["how to reset my password", "", "   ", "???", "환불", "refund for my subscription", "x" * 5000]
    r = cli(database_url, "similar", "--json", "--limit", "3", stdin="\n".join(queries) + "\n", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert len(out) == len(queries)
    parsed = [json.loads(line) for line in out]
    assert parsed[1] == [] and parsed[2] == []
    assert parsed[0][0]["external_id"] in {f"p{i}" for i in range(5)} and len(parsed[0]) == 3
    assert all({"id", "external_id", "title", "score"} <= set(item) for item in parsed[0])
    assert [i["score"] for i in parsed[0]] == sorted((i["score"] for i in parsed[0]), reverse=True)
    assert parsed[5][0]["external_id"].startswith("r")
    again = cli(database_url, "similar", "--json", "--limit", "1", stdin="reset password\n", tmp=tmp_path)
    assert again.returncode == 0 and len(again.stdout.splitlines()) == 1


async def test_every_json_answer_has_one_shape(client, forum_threads):
    """Links are absolute in every JSON answer; every JSON error is {"error", "status"}."""
    similar = (await client.get("/api/similar", params={"q": "reset my password"})).json()["results"]
    found = (await client.get("/api/search", params={"q": "password"})).json()["results"]
    assert similar and found
    assert all(item["url"].startswith("http://testserver/") for item in similar + found)
    errors = (("/api/nothing-here", 404), ("/api/similar?limit=0&q=x", 400), ("/api/queues/unanswered", 401))
    for path, status in errors:
        r = await client.get(path)
        assert r.status_code == status and r.headers["content-type"].startswith("application/json"), path
        body = r.json()
        assert set(body) == {"error", "status"} and body["status"] == status and body["error"], path
