import re
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from forum.models import Post, Thread, Vote
from tests.factories import make_category, make_reply, make_thread


async def _thread(db, thread_id):
    async with db() as s:
        return await s.get(Thread, thread_id)


async def _post(db, post_id):
    async with db() as s:
        return await s.get(Post, post_id)


async def _count(db, model):
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- asking


async def test_member_asks_a_korean_question_and_lands_on_its_page(client, db, member):
    async with db.begin() as s:
        await make_category(s, slug="billing", name_en="Billing", name_ko="결제")
    await client.login_as(member)
    r = await client.submit(
        "/ask", {"category": "billing", "title": "환불 받을 수 있나요?", "body": "어제 결제했는데 **환불** 되나요?"}
    )
    assert r.status_code == 303
    assert unquote(r.headers["location"]).endswith("/환불-받을-수-있나요")
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert "환불 받을 수 있나요?" in page.text
    assert "<strong>환불</strong>" in page.text
    listing = await client.get("/c/billing")
    assert "환불 받을 수 있나요?" in listing.text and "Unanswered" in listing.text


async def test_anonymous_visitor_is_sent_to_log_in_before_asking(client):
    r = await client.get("/ask")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/ask"
    r = await client.submit("/ask", {"title": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"category": "", "title": "A fine title", "body": "A fine body"}, "Choose a category."),
        ({"category": "nope", "title": "A fine title", "body": "A fine body"}, "Choose a category."),
        ({"category": "c", "title": "", "body": "A fine body"}, "Enter a title."),
        ({"category": "c", "title": "abc", "body": "A fine body"}, "Titles need at least 4 characters."),
        ({"category": "c", "title": "제목" * 76, "body": "A fine body"}, "Titles can have at most 150 characters."),
        ({"category": "c", "title": "A fine title", "body": "   "}, "Write something first."),
        ({"category": "c", "title": "A fine title", "body": "x" * 30_001}, "Posts can have at most 30000 characters."),
        ({"category": "c", "title": "A fine title", "body": "A fine body", "kind": "poll"}, "Choose question or"),
    ],
)
async def test_bad_questions_get_the_form_back_with_a_message_and_nothing_is_saved(
    client, db, member, data, field_message
):
    async with db.begin() as s:
        await make_category(s, slug="c")
    await client.login_as(member)
    r = await client.submit("/ask", data)
    assert r.status_code == 422
    assert field_message in r.text
    # The form keeps what was typed.
    if data["title"]:
        assert data["title"][:20] in r.text
    assert await _count(db, Thread) == 0
    assert await _count(db, Post) == 0


async def test_a_korean_title_counts_characters_not_bytes(client, db, member):
    async with db.begin() as s:
        await make_category(s, slug="c")
    await client.login_as(member)
    r = await client.submit("/ask", {"category": "c", "title": "환불문의", "body": "환불 되나요?"})
    assert r.status_code == 303


async def test_oversized_request_bodies_are_refused(client, db, member):
    await client.login_as(member)
    r = await client.submit("/ask", {"category": "c", "title": "t" * 10, "body": "x" * 400_000})
    assert r.status_code == 413
    assert "That is too much to send at once: at most 256 KB." in r.text and "<html" in r.text
    assert await _count(db, Thread) == 0
    r = await client.post("/ask", content=b"x" * 400_000, headers={"accept-language": "ko"})
    assert r.status_code == 413 and "최대 256KB" in r.text
    api = await client.post("/api/similar", content=b"x" * 400_000)
    assert api.status_code == 413 and "at most 256 KB" in api.json()["error"]


async def test_posts_without_a_csrf_token_are_refused(client, db, member):
    async with db.begin() as s:
        await make_category(s, slug="c")
    await client.login_as(member)
    r = await client.post("/ask", data={"category": "c", "title": "A fine title", "body": "A fine body"})
    assert r.status_code == 403
    r = await client.post(
        "/ask", data={"category": "c", "title": "A fine title", "body": "A fine body", "csrf_token": "forged"}
    )
    assert r.status_code == 403
    assert await _count(db, Thread) == 0


async def test_an_expired_form_gives_back_what_was_typed_to_send_again(client, db, member):
    import html
    import re

    async with db.begin() as s:
        await make_category(s, slug="c")
        thread = await make_thread(s, title="Sync stopped working")
    await client.login_as(member)
    typed = "First line of a long answer\nwith <b>markup</b> & a second line"
    r = await client.post(f"/t/{thread.id}/reply", data={"body": typed, "csrf_token": "expired"})
    assert r.status_code == 403
    assert "check what you wrote and send it again" in r.text
    assert "permission" not in r.text  # one clear sentence, not two contradicting ones
    assert f'action="/t/{thread.id}/reply"' in r.text
    kept = re.search(r'<textarea id="again-body" name="body"[^>]*>(.*?)</textarea>', r.text, re.S)
    assert kept is not None and html.unescape(kept.group(1)) == typed
    assert await _count(db, Post) == 1  # nothing saved yet
    again = await client.submit(f"/t/{thread.id}/reply", {"body": html.unescape(kept.group(1))})
    assert again.status_code == 303
    assert await _count(db, Post) == 2
    api = await client.post("/api/similar", data={"q": "x", "csrf_token": "expired"})
    assert api.status_code in (403, 405)


# ---------------------------------------------------------------- answering


async def test_peer_answers_and_thread_counters_move(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
    await client.login_as(other_member)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": "Restart the sync service."})
    assert r.status_code == 303 and "#post-" in r.headers["location"]
    updated = await _thread(db, thread.id)
    assert updated.reply_count == 1
    assert updated.first_response_at is not None
    assert updated.first_staff_response_at is None
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Restart the sync service." in page.text


async def test_the_askers_own_reply_is_not_a_response(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
    await client.login_as(member)
    await client.submit(f"/t/{thread.id}/reply", {"body": "Any ideas, anyone?"})
    updated = await _thread(db, thread.id)
    assert updated.reply_count == 1 and updated.first_response_at is None


async def test_staff_answer_shows_a_staff_badge(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    await client.submit(f"/t/{thread.id}/reply", {"body": "Official word from support."})
    updated = await _thread(db, thread.id)
    assert updated.staff_replied and updated.first_staff_response_at is not None
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert 'class="badge badge-staff">Staff<' in page.text
    listing = await client.get("/")
    assert "Staff answered" in listing.text


async def test_empty_reply_shows_the_thread_with_a_message(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(member)
    r = await client.submit(f"/t/{thread.id}/reply", {"body": " "})
    assert r.status_code == 422
    assert "Write something first." in r.text and thread.title in r.text
    assert (await _thread(db, thread.id)).reply_count == 0


async def test_replying_to_a_missing_thread_is_404(client, member):
    await client.login_as(member)
    r = await client.submit("/t/999999/reply", {"body": "hello there"})
    assert r.status_code == 404


# ---------------------------------------------------------------- editing


async def test_author_edits_own_post_and_an_edited_marker_shows(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member, title="Original title")
        first = await s.scalar(select(Post).where(Post.thread_id == thread.id))
    await client.login_as(member)
    assert (await client.get(f"/p/{first.id}/edit")).status_code == 200
    r = await client.submit(f"/p/{first.id}/edit", {"title": "새 제목입니다", "body": "Updated body text"})
    assert r.status_code == 303
    post = await _post(db, first.id)
    assert post.body == "Updated body text" and post.edited_at is not None
    updated = await _thread(db, thread.id)
    assert updated.title == "새 제목입니다" and updated.slug == "새-제목입니다"
    page = await client.get(f"/t/{thread.id}/{updated.slug}")
    assert "edited" in page.text and "Updated body text" in page.text


async def test_member_cannot_edit_someone_elses_post(client, db, member, other_member):
    async with db.begin() as s:
        thread = await make_thread(s, author=other_member)
        first = await s.scalar(select(Post).where(Post.thread_id == thread.id))
    await client.login_as(member)
    assert (await client.get(f"/p/{first.id}/edit")).status_code == 403
    r = await client.submit(f"/p/{first.id}/edit", {"title": "Hijacked title", "body": "Hijacked body"})
    assert r.status_code == 403
    assert "Hijacked" not in (await _post(db, first.id)).body


async def test_bad_edit_keeps_the_old_text(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        first = await s.scalar(select(Post).where(Post.thread_id == thread.id))
    await client.login_as(member)
    r = await client.submit(f"/p/{first.id}/edit", {"title": "ok title", "body": ""})
    assert r.status_code == 422 and "Write something first." in r.text
    assert (await _post(db, first.id)).body == first.body


# ---------------------------------------------------------------- votes


async def test_member_votes_an_answer_helpful_once(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
        answer = await make_reply(s, thread)
    await client.login_as(member)
    for _ in range(2):
        r = await client.submit(f"/p/{answer.id}/vote")
        assert r.status_code == 303
    assert (await _post(db, answer.id)).vote_count == 1
    assert await _count(db, Vote) == 1
    await client.submit(f"/p/{answer.id}/unvote")
    assert (await _post(db, answer.id)).vote_count == 0


async def test_nobody_votes_for_their_own_answer_or_for_a_question(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
        answer = await make_reply(s, thread, author=member)
        question = await s.scalar(select(Post).where(Post.thread_id == thread.id, Post.is_first))
    await client.login_as(member)
    assert (await client.submit(f"/p/{answer.id}/vote")).status_code == 403
    assert (await client.submit(f"/p/{question.id}/vote")).status_code == 403
    assert await _count(db, Vote) == 0


async def test_anonymous_vote_is_sent_to_log_in(client, db):
    async with db.begin() as s:
        thread = await make_thread(s)
        answer = await make_reply(s, thread)
    r = await client.submit(f"/p/{answer.id}/vote")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# ---------------------------------------------------------------- accepted and official answers


async def test_asker_accepts_and_unaccepts_an_answer(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        answer = await make_reply(s, thread)
    await client.login_as(member)
    assert (await client.submit(f"/p/{answer.id}/accept")).status_code == 303
    updated = await _thread(db, thread.id)
    assert updated.accepted_post_id == answer.id and updated.solved_at is not None
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Accepted answer" in page.text
    assert "Solved" in (await client.get("/")).text
    await client.submit(f"/p/{answer.id}/unaccept")
    updated = await _thread(db, thread.id)
    assert updated.accepted_post_id is None and updated.solved_at is None


async def test_member_cannot_accept_on_someone_elses_question(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
        answer = await make_reply(s, thread, author=member)
    await client.login_as(member)
    assert (await client.submit(f"/p/{answer.id}/accept")).status_code == 403
    assert (await _thread(db, thread.id)).accepted_post_id is None


async def test_staff_can_accept_on_behalf_of_the_asker(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
        answer = await make_reply(s, thread)
    await client.login_as(staff)
    assert (await client.submit(f"/p/{answer.id}/accept")).status_code == 303
    assert (await _thread(db, thread.id)).accepted_post_id == answer.id


async def test_discussions_have_no_accepted_answer(client, db, member):
    from forum.models import ThreadKind

    async with db.begin() as s:
        thread = await make_thread(s, author=member, kind=ThreadKind.discussion)
        answer = await make_reply(s, thread)
    await client.login_as(member)
    assert (await client.submit(f"/p/{answer.id}/accept")).status_code == 403


async def test_staff_marks_any_answer_official_and_members_cannot(client, other_client, db, staff, member):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        answer = await make_reply(s, thread)
    await other_client.login_as(member)
    assert (await other_client.submit(f"/p/{answer.id}/official")).status_code == 403
    assert (await _thread(db, thread.id)).official_post_id is None
    await client.login_as(staff)
    assert (await client.submit(f"/p/{answer.id}/official")).status_code == 303
    updated = await _thread(db, thread.id)
    assert updated.official_post_id == answer.id and updated.solved_at is not None
    assert "Official answer" in (await client.get(f"/t/{thread.id}/{thread.slug}")).text
    await client.submit(f"/p/{answer.id}/unofficial")
    assert (await _thread(db, thread.id)).official_post_id is None


async def test_answers_are_ordered_accepted_official_votes_then_time(client, db, member, staff):
    async with db.begin() as s:
        thread = await make_thread(s, author=member)
        oldest = await make_reply(s, thread, body="ANSWER-OLDEST")
        voted = await make_reply(s, thread, body="ANSWER-VOTED")
        official = await make_reply(s, thread, body="ANSWER-OFFICIAL")
        accepted = await make_reply(s, thread, body="ANSWER-ACCEPTED")
    await client.login_as(staff)
    await client.submit(f"/p/{voted.id}/vote")
    await client.submit(f"/p/{official.id}/official")
    await client.login_as(member)
    await client.submit(f"/p/{accepted.id}/accept")
    text = (await client.get(f"/t/{thread.id}/{thread.slug}")).text
    positions = [text.index(f"ANSWER-{name}") for name in ("ACCEPTED", "OFFICIAL", "VOTED", "OLDEST")]
    assert positions == sorted(positions)
    assert oldest.id


# ---------------------------------------------------------------- lists and pages


async def test_latest_paginates_and_shows_counts(client, db, app):
    app.state.runtime.settings = app.state.runtime.settings.with_(page_size=5)
    async with db.begin() as s:
        category = await make_category(s)
        for i in range(12):
            await make_thread(s, category=category, title=f"Paged question {i:02d}")
    first = await client.get("/")
    assert "Page 1 of 3" in first.text and "Paged question 11" in first.text
    third = await client.get("/?page=3")
    assert "Paged question 00" in third.text and 'rel="next"' not in third.text
    assert (await client.get("/?page=abc")).status_code == 200
    assert (await client.get("/?page=-4")).status_code == 200


async def test_thread_url_without_or_with_a_wrong_slug_redirects_to_the_canonical_one(client, db):
    async with db.begin() as s:
        thread = await make_thread(s, title="앱이 자꾸 튕겨요")
    r = await client.get(f"/t/{thread.id}")
    assert r.status_code in (301, 303)
    assert unquote(r.headers["location"]) == f"/t/{thread.id}/앱이-자꾸-튕겨요"
    r = await client.get(f"/t/{thread.id}/wrong-slug")
    assert unquote(r.headers["location"]) == f"/t/{thread.id}/앱이-자꾸-튕겨요"


async def test_viewing_a_thread_counts_a_view(client, db, app):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.get(f"/t/{thread.id}/{thread.slug}")
    r = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "2 views" in r.text
    await app.state.runtime.views.flush(db)  # every few seconds in a running forum (forum.views)
    assert (await _thread(db, thread.id)).views == 2


async def test_unknown_pages_are_styled_404s_in_the_visitors_language(client):
    r = await client.get("/t/424242/x", headers={"Accept-Language": "ko"})
    assert r.status_code == 404
    assert "페이지를 찾을 수 없어요" in r.text and 'class="error-code"' in r.text
    r = await client.get("/no/such/page")
    assert r.status_code == 404 and "Page not found" in r.text
    assert (await client.get("/c/no-such-category")).status_code == 404


async def test_a_crash_is_a_styled_500_page(app, settings):
    import httpx
    from starlette.routing import Route

    async def boom(request):
        raise RuntimeError("kaboom")

    app.router.routes.insert(0, Route("/boom", boom))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert "Something went wrong on our side" in r.text and "kaboom" not in r.text


async def test_get_requests_never_change_state(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(s)
        answer = await make_reply(s, thread)
    await client.login_as(member)
    for path in (f"/p/{answer.id}/vote", f"/p/{answer.id}/accept", "/logout"):
        r = await client.get(path)
        assert r.status_code == 405, path
    # /t/N/reply is read as a thread URL with a wrong slug: a redirect, nothing posted.
    assert (await client.get(f"/t/{thread.id}/reply")).status_code in (301, 303)
    assert (await _post(db, answer.id)).vote_count == 0
    assert (await _thread(db, thread.id)).accepted_post_id is None
    assert (await _thread(db, thread.id)).reply_count == 1
    assert (await client.get("/ask")).status_code == 200  # still logged in


async def test_security_headers_are_sent(client):
    r = await client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


async def test_markdown_is_sanitised_and_links_are_nofollow(client, db, member):
    async with db.begin() as s:
        thread = await make_thread(
            s,
            body='<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3)) '
            "[site](https://example.com)",
        )
    text = (await client.get(f"/t/{thread.id}/{thread.slug}")).text
    assert "<script>alert(1)" not in text
    assert (
        "<img src=x onerror" not in text and 'onerror="alert(2)"' not in text.replace("&quot;", '"').split("&lt;img")[0]
    )
    assert 'href="javascript:' not in text
    assert 'rel="nofollow ugc noopener"' in text


async def test_titles_are_escaped(client, db):
    async with db.begin() as s:
        thread = await make_thread(s, title="<b>bold</b> & <script>x</script>")
    text = (await client.get("/")).text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;" in text
    assert thread.id


async def test_wrong_types_in_forms_are_refused_cleanly(client, db, member):
    async with db.begin() as s:
        await make_category(s, slug="c")
    await client.login_as(member)
    token = await client.csrf()
    # A file where text is expected counts as no text (the ask form takes a file
    # only in its "file" field: forum.routes.uploads).
    r = await client.post(
        "/ask",
        data={"csrf_token": token, "category": "c", "title": "A fine title"},
        files={"body": ("body.txt", b"file content", "text/plain")},
    )
    assert r.status_code == 422
    # A form that takes no file refuses one.
    r = await client.post("/language", data={"locale": "ko"}, files={"next": ("x.txt", b"x", "text/plain")})
    assert r.status_code == 400
    # JSON instead of a form: no CSRF token can be read, so it is refused.
    r = await client.post("/ask", json={"category": "c", "title": "A fine title", "body": "A fine body"})
    assert r.status_code == 403
    # A non-numeric id in the URL is simply not a page.
    assert (await client.submit("/p/abc/vote")).status_code == 404
    assert await _count(db, Thread) == 0


# ---------------------------------------------------------------- list rows kept between requests


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_a_list_row_shows_the_threads_change_and_each_language(client, db, member):
    """Rendered list rows are kept per locale and row values (forum.templating.ItemCache):
    a reply, a new title or another language shows at once."""
    async with db.begin() as s:
        thread = await make_thread(s, title="Sync stopped on my phone")
    assert "0 replies" in _text((await client.get("/")).text)
    await client.login_as(member)
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": "Same here since the update."})).status_code == 303
    page = _text((await client.get("/")).text)
    assert "1 reply" in page and "0 replies" not in page
    async with db.begin() as s:
        (await s.get(Thread, thread.id)).title = "Sync stopped on my Android phone"
    assert "Sync stopped on my Android phone" in (await client.get("/")).text
    await client.submit("/language", {"locale": "ko", "next": "/"})
    korean = _text((await client.get("/")).text)
    assert "Sync stopped on my Android phone" in korean and "1 reply" not in korean and "답글" in korean
