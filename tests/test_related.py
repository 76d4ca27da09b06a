"""Related questions are computed by the job runner and stored; pages read the
stored list and never run an encoder."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from forum.clock import utcnow
from forum.db import make_sync_engine
from forum.models import Post, RelatedItem, RelatedList, Thread, User
from forum.services.similar import SimilarIndex
from forum.topics import embed, related, store
from tests.factories import make_category, make_thread
from tests.kb_helpers import PASSWORD, REFUND, make_threads, run_job, run_related


def _related_section(html: str) -> str:
    if 'id="related-title"' not in html:
        return ""
    return html.split('id="related-title"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
async def forum(db, settings):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        category = await make_category(s, slug="help")
        password = await make_threads(s, PASSWORD[:4], category=category, solved=True)
        refund = await make_threads(s, REFUND, category=category)
    await run_related(settings)
    return {"category": category, "password": password, "refund": refund}


@pytest.fixture
def no_encoding(monkeypatch):  # type: ignore[no-untyped-def]
    """Fails the test if anything encodes a text (the sentence encoders)."""

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a sentence encoder ran")

    monkeypatch.setattr(embed, "encode", refuse)


async def _list(db, thread_id: int) -> RelatedList:  # type: ignore[no-untyped-def]
    async with db() as s:
        found = await s.get(RelatedList, thread_id)
        assert found is not None
        return found


async def test_a_new_thread_gets_its_list_from_the_job_and_its_page_shows_nothing_before(
    client, db, settings, member, forum
):
    await client.login_as(member)
    r = await client.submit(
        "/ask", {"category": "help", "title": PASSWORD[4], "body": PASSWORD[4] + " on my laptop", "kind": "question"}
    )
    assert r.status_code == 303
    async with db() as s:
        thread = (await s.scalars(select(Thread).where(Thread.title == PASSWORD[4]))).one()
    assert (await _list(db, thread.id)).queued_at is not None
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and _related_section(page.text) == ""

    await run_related(settings)
    listed = await _list(db, thread.id)
    assert listed.queued_at is None and listed.computed_at is not None
    shown = _related_section((await client.get(r.headers["location"])).text)
    assert PASSWORD[0] in shown and REFUND[0] not in shown
    assert f'href="/t/{thread.id}/' not in shown


async def test_pages_never_run_an_encoder(client, db, member, forum, no_encoding):
    thread = forum["password"][0]
    await client.login_as(member)
    for path in (f"/t/{thread.id}/{thread.slug}", "/", "/c/help", "/search?q=password", "/search?q=비밀번호"):
        assert (await client.get(path)).status_code == 200, path
    assert PASSWORD[1] in _related_section((await client.get(f"/t/{thread.id}/{thread.slug}")).text)


async def test_a_related_thread_hidden_since_drops_out_at_once(client, db, forum):
    thread, other = forum["password"][0], forum["password"][1]
    assert other.title in _related_section((await client.get(f"/t/{thread.id}/{thread.slug}")).text)
    async with db.begin() as s:
        await s.execute(update(Thread).where(Thread.id == other.id).values(hidden_at=utcnow()))
    shown = _related_section((await client.get(f"/t/{thread.id}/{thread.slug}")).text)
    assert other.title not in shown and forum["password"][2].title in shown


async def test_editing_a_question_queues_its_list_again(client, db, settings, forum):
    thread = forum["password"][0]
    async with db() as s:
        assert (await s.scalars(select(RelatedList.thread_id).where(RelatedList.queued_at.is_not(None)))).all() == []
        post = (await s.scalars(select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(True)))).one()
        author = await s.get(User, thread.author_id)
    await client.login_as(author)
    r = await client.submit(f"/p/{post.id}/edit", {"title": REFUND[0] + " (edited)", "body": REFUND[0]})
    assert r.status_code == 303
    assert (await _list(db, thread.id)).queued_at is not None
    await run_related(settings)
    shown = _related_section((await client.get(f"/t/{thread.id}", follow_redirects=True)).text)
    assert REFUND[1] in shown and PASSWORD[1] not in shown


async def test_topics_the_job_changes_queue_their_members_lists(db, settings, staff):
    async with db.begin() as s:
        category = await make_category(s)
        threads = await make_threads(s, PASSWORD, category=category)
        await make_threads(s, REFUND, category=category)
    await run_related(settings)
    since = utcnow()
    await run_job(settings)
    engine = make_sync_engine(settings.database_url)
    try:
        assert related.queue_topic_changes(engine, since) >= len(PASSWORD)
    finally:
        engine.dispose()
    for t in threads:
        assert (await _list(db, t.id)).queued_at is not None


async def test_the_backlog_is_encoded_a_batch_at_a_time_and_stops_when_asked(db, settings):
    async with db.begin() as s:
        category = await make_category(s)
        made = [await make_thread(s, title=f"Backlog question number {i}", category=category) for i in range(5)]
    engine = make_sync_engine(settings.database_url)
    try:
        done, after = related.encode_backlog(engine, chunk=2)
        assert (done, after) == (2, made[1].id)
        assert related.encode_backlog(engine, after_id=after, stop=lambda: True) == (0, after)
        done, after = related.encode_backlog(engine, after_id=after)
        assert (done, after) == (3, made[-1].id)
        assert related.encode_backlog(engine, after_id=after) == (0, None)
        # A second pass finds nothing stale.
        assert related.encode_backlog(engine) == (0, made[-1].id)
        with engine.connect() as conn:
            texts = store.load_texts_by_id(conn, [t.id for t in made])
            have, _terms, vectors = store.stored_only(conn, texts, vectors=True)
        assert len(have) == 5 and (vectors is None or vectors.shape[0] == 5)
    finally:
        engine.dispose()


async def test_a_web_process_index_waits_for_the_job_runner_and_encodes_no_thread(db, settings, no_encoding):
    async with db.begin() as s:
        await make_threads(s, PASSWORD, category=await make_category(s))
    engine = make_sync_engine(settings.database_url)
    try:
        web = SimilarIndex(engine, refresh_every=0, in_web=True)
        web.ensure()
        assert not web.loaded  # no stored index yet, and a web process builds none
    finally:
        engine.dispose()


async def test_a_web_process_answers_from_the_previous_code_s_index_until_the_runner_stores_one(forum, settings):
    from forum.models import TopicBlob
    from forum.topics.similar_index import BLOB

    engine = make_sync_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            info = store.blob_info(conn, BLOB)
            assert info is not None  # stored by the job runner (run_related)
            current = info[0]
            # as after an upgrade: the stored index was made by other code
            conn.execute(update(TopicBlob).where(TopicBlob.name == BLOB).values(fingerprint="older-code"))
        web = SimilarIndex(engine, refresh_every=0, in_web=True)
        web.ensure()
        assert web.loaded
        assert PASSWORD[1] in [m.title for m in web.search(PASSWORD[0], 3)]
        # the runner stores the index of this code: the next refresh takes it
        stored_at = utcnow()
        with engine.begin() as conn:
            conn.execute(
                update(TopicBlob).where(TopicBlob.name == BLOB).values(fingerprint=current, built_at=stored_at)
            )
        web.ensure()
        assert web._fingerprint == current and web._blob_built_at == stored_at
        assert PASSWORD[1] in [m.title for m in web.search(PASSWORD[0], 3)]
    finally:
        engine.dispose()


async def test_a_web_process_loads_only_the_encoders_a_query_needs(forum, settings, monkeypatch):
    """Its stored vectors come from the job runner: warming up, it loads e5's and USE's
    query graphs, not e5's stored-vector graph nor MiniLM (tens of MB in every worker)."""
    from forum.topics import minilm

    if not embed.enabled() or not embed.e5_available():
        pytest.skip("the sentence encoders are not installed")
    monkeypatch.setattr(embed, "_models", {})
    monkeypatch.setattr(minilm, "_model", None)
    engine = make_sync_engine(settings.database_url)
    try:
        web = SimilarIndex(engine, refresh_every=0, in_web=True)
        web.ensure()
        assert web.loaded
        assert {"e5-queries", "use-queries"} <= set(embed._models) and "e5" not in embed._models
        assert PASSWORD[1] in [m.title for m in web.search(PASSWORD[0], 3)]
        assert "e5" not in embed._models and minilm._model is None
    finally:
        engine.dispose()


async def test_a_workers_warm_up_loads_the_stored_index_before_the_first_lookup(app, forum):
    from forum.runtime import runtime_of
    from forum.warmup import warm_up

    assert runtime_of(app).similar_index is None
    done = await warm_up(app)
    assert [status for path, _, status in done if path.startswith("/api/similar")] == [200, 200]
    index = runtime_of(app).similar_index
    assert index is not None and index.loaded


async def test_the_thread_page_reads_the_list_with_one_query(client, db, app, forum):
    from tests.support_helpers import QueryCounter

    thread = forum["password"][0]
    with QueryCounter(app) as counter:
        assert (await client.get(f"/t/{thread.id}/{thread.slug}")).status_code == 200
    assert sum("related_items" in q for q in counter.statements) == 1
    async with db() as s:
        stored = (await s.scalars(select(RelatedItem).where(RelatedItem.thread_id == thread.id))).all()
    assert 0 < len(stored) <= related.KEEP
