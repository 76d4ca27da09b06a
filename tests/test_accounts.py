from sqlalchemy import select

from forum.middleware import SESSION_COOKIE
from forum.models import User
from forum.security import verify_password
from tests.factories import PASSWORD
from tests.webclient import tampered


async def _user(db, username):
    async with db() as s:
        return await s.scalar(select(User).where(User.username == username))


async def test_sign_up_creates_a_member_logs_them_in_and_hashes_the_password(client, db):
    r = await client.submit("/signup", {"username": "민지", "password": "long enough pw", "email": "m@example.com"})
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    user = await _user(db, "민지")
    assert user.role == "member"
    assert user.password_hash.startswith("scrypt$") and "long enough pw" not in user.password_hash
    assert verify_password("long enough pw", user.password_hash)
    page = await client.get("/")
    assert "민지" in page.text and "Log out" in page.text


async def test_session_cookie_is_signed_httponly_and_samesite_lax(client):
    r = await client.submit("/signup", {"username": "cookie", "password": "long enough pw"})
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "." in cookie.split(";")[0]  # token.signature


async def test_sign_up_refuses_bad_input_with_messages_and_saves_nothing(client, db, member):
    cases = [
        ({"username": "x", "password": "long enough pw"}, "Usernames are 2 to 30"),
        ({"username": "good_name", "password": "short"}, "at least 10 characters"),
        ({"username": "good_name", "password": "long enough pw", "email": "nope"}, "valid email"),
        ({"username": "MEMBER", "password": "long enough pw"}, "That username is taken"),
        ({"username": "a" * 31, "password": "long enough pw"}, "Usernames are 2 to 30"),
        ({"username": "<script>", "password": "long enough pw"}, "Usernames are 2 to 30"),
    ]
    for data, message in cases:
        r = await client.submit("/signup", data)
        assert r.status_code == 422, data
        assert message in r.text, data
    async with db() as s:
        count = len((await s.scalars(select(User))).all())
    assert count == 1  # only the member fixture


async def test_log_in_with_username_or_email_and_log_out_ends_the_session(client, db):
    await client.submit("/signup", {"username": "jisoo", "password": "long enough pw", "email": "J@Example.com"})
    client.cookies.clear()
    r = await client.submit("/login", {"login": "j@example.com", "password": "long enough pw", "next": "/ask"})
    assert r.status_code == 303 and r.headers["location"] == "/ask"
    stolen = client.cookies[SESSION_COOKIE]
    r = await client.submit("/logout")
    assert r.status_code == 303
    # The cookie a thief copied before logout no longer works.
    client.cookies.set(SESSION_COOKIE, stolen)
    page = await client.get("/ask")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, member):
    r = await client.submit("/login", {"login": "member", "password": "wrong password"})
    assert r.status_code == 422
    assert "Wrong username or password." in r.text
    r = await client.submit("/login", {"login": "nobody", "password": PASSWORD})
    assert r.status_code == 422
    assert "Wrong username or password." in r.text


async def test_login_never_redirects_off_site(client, member):
    r = await client.submit("/login", {"login": "member", "password": PASSWORD, "next": "https://evil.example/"})
    assert r.headers["location"] == "/"
    client.cookies.clear()
    r = await client.submit("/login", {"login": "member", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


async def test_tampered_session_cookie_is_ignored(client, member):
    await client.login_as(member)
    client.cookies.set(SESSION_COOKIE, tampered(client.cookies[SESSION_COOKIE]))
    r = await client.get("/ask")
    assert r.status_code == 303


async def test_suspended_user_cannot_log_in_and_their_session_stops_working(client, db, member):
    from datetime import timedelta

    from forum.clock import utcnow

    await client.login_as(member)
    assert (await client.get("/ask")).status_code == 200
    async with db.begin() as s:
        user = await s.get(User, member.id)
        user.suspended_until = utcnow() + timedelta(days=3)
    assert (await client.get("/ask")).status_code == 303
    client.cookies.clear()
    r = await client.submit("/login", {"login": "member", "password": PASSWORD})
    assert r.status_code == 403
    assert "suspended until" in r.text


async def test_profile_lists_questions_and_answers(client, db, member):
    from tests.factories import make_reply, make_thread

    async with db.begin() as s:
        asked = await make_thread(s, author=member, title="프로필 질문입니다")
        other = await make_thread(s, title="Someone else asks")
        await make_reply(s, other, author=member, body="My helpful answer here")
    r = await client.get("/u/member")
    assert r.status_code == 200
    assert asked.title in r.text and "Someone else asks" in r.text
    assert (await client.get("/u/nobody")).status_code == 404


async def test_language_switcher_sets_cookie_and_the_users_setting(client, db, member):
    r = await client.submit("/language", {"locale": "ko", "next": "/"})
    assert r.status_code == 303
    page = await client.get("/")
    assert "최신 질문" in page.text and '<html lang="ko" data-theme="system">' in page.text
    await client.login_as(member)
    await client.submit("/language", {"locale": "en", "next": "/"})
    assert (await _user(db, "member")).locale == "en"
    r = await client.submit("/language", {"locale": "fr"})
    assert r.status_code == 400


async def test_locale_follows_user_setting_then_cookie_then_accept_language(client, db, member):
    r = await client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert "최신 질문" in r.text
    r = await client.get("/", headers={"Accept-Language": "en-US"})
    assert "Latest questions" in r.text
    client.cookies.set("forum_locale", "ko")
    r = await client.get("/", headers={"Accept-Language": "en-US"})
    assert "최신 질문" in r.text
    async with db.begin() as s:
        (await s.get(User, member.id)).locale = "en"
    await client.login_as(member)
    r = await client.get("/", headers={"Accept-Language": "ko"})
    assert "Latest questions" in r.text


async def test_a_reader_chooses_light_dark_or_the_systems_theme(client):
    page = (await client.get("/")).text
    assert 'data-theme="system"' in page and 'content="light dark"' in page and 'id="theme-select"' in page
    r = await client.post("/theme", data={"theme": "dark", "next": "/kb"})
    assert r.status_code == 303 and r.headers["location"] == "/kb"
    assert "forum_theme=dark" in r.headers["set-cookie"]
    page = (await client.get("/")).text
    assert 'data-theme="dark"' in page and '<meta name="color-scheme" content="dark">' in page
    assert '<option value="dark" selected>' in page
    await client.post("/theme", data={"theme": "light"})
    assert 'data-theme="light"' in (await client.get("/")).text
    bad = await client.post("/theme", data={"theme": "neon"})
    assert bad.status_code == 400 and "Unknown theme." in bad.text
    client.cookies.set("forum_theme", "<script>")
    assert 'data-theme="system"' in (await client.get("/")).text
