"""A page's query count does not grow with the number of posts or threads on it."""

from contextlib import contextmanager

from tests.factories import make_category, make_reply, make_thread, make_user
from tests.support_helpers import QueryCounter


@contextmanager
def count_queries(app):
    with QueryCounter(app) as counter:
        yield counter.statements


async def _thread_with_answers(db, n):
    async with db.begin() as s:
        thread = await make_thread(s)
        voters = [await make_user(s) for _ in range(3)]
        for i in range(n):
            post = await make_reply(s, thread, author=voters[i % 3] if i % 2 else None)
            if i % 3 == 0:
                from forum.services.threads import vote

                await vote(s, post, user=voters[(i + 1) % 3])
    return thread


async def _queries_for(client, app, path):
    await client.get(path)  # the steady state: the worker's short-lived copies (banners) are filled
    with count_queries(app) as statements:
        r = await client.get(path)
    assert r.status_code == 200
    return len(statements)


async def test_thread_page_queries_do_not_grow_with_answers(client, db, app, member):
    small = await _thread_with_answers(db, 5)
    large = await _thread_with_answers(db, 50)
    await client.login_as(member)
    a = await _queries_for(client, app, f"/t/{small.id}/{small.slug}")
    b = await _queries_for(client, app, f"/t/{large.id}/{large.slug}")
    assert a == b
    assert a <= 10  # 8 and the thread's tags (banners: from the worker's copy, forum.services.banners.ShowingCache)


async def test_thread_list_queries_do_not_grow_with_threads(client, db, app):
    async with db.begin() as s:
        few = await make_category(s, slug="few")
        many = await make_category(s, slug="many")
        for _ in range(5):
            await make_thread(s, category=few, replies=1)
        for _ in range(50):
            await make_thread(s, category=many, replies=1)
    a = await _queries_for(client, app, "/c/few")
    b = await _queries_for(client, app, "/c/many")
    assert a == b
    assert await _queries_for(client, app, "/") == a  # the category is picked from the sidebar's list


async def test_profile_queries_do_not_grow_with_activity(client, db, app):
    async with db.begin() as s:
        quiet = await make_user(s, username="quiet")
        busy = await make_user(s, username="busy")
        await make_thread(s, author=quiet)
        for _ in range(30):
            thread = await make_thread(s, author=busy)
            await make_reply(s, thread, author=busy)
    assert await _queries_for(client, app, "/u/quiet") == await _queries_for(client, app, "/u/busy")


async def test_notifications_page_queries_do_not_grow_with_notifications(client, db, app):
    async with db.begin() as s:
        quiet = await make_user(s, username="quietasker")
        busy = await make_user(s, username="busyasker")
        await make_reply(s, await make_thread(s, author=quiet))
        for _ in range(10):
            thread = await make_thread(s, author=busy)
            for _ in range(3):
                await make_reply(s, thread)
    await client.login_as(quiet)
    a = await _queries_for(client, app, "/notifications")
    await client.login_as(busy)
    b = await _queries_for(client, app, "/notifications")
    assert a == b
    assert a <= 6


def _counts_threads(statement: str) -> bool:
    s = statement.lower()
    return "count(" in s and "threads" in s


async def test_thread_lists_never_count_threads_and_run_a_fixed_number_of_queries(client, db, app, moderator):
    async with db.begin() as s:
        few = await make_category(s, slug="few")
        many = await make_category(s, slug="many")
        await make_thread(s, category=few)
        for _ in range(40):
            await make_thread(s, category=many)
    for viewer in (None, moderator):
        if viewer is not None:
            await client.login_as(viewer)
        seen = {}
        for path in ("/", "/c/few", "/c/many", "/c/many?page=2"):
            await client.get(path)  # the steady state, as in _queries_for
            with count_queries(app) as statements:
                r = await client.get(path)
            assert r.status_code == 200
            assert not [q for q in statements if _counts_threads(q)], path
            seen[path] = len(statements)
        # The category is picked from the sidebar's list; a later page skips the pinned threads.
        assert seen["/c/few"] == seen["/c/many"] == seen["/"] == seen["/c/many?page=2"] + 1
