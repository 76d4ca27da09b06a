"""The core loop in a real browser: Playwright driving Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from forum.app import create_app
from forum.config import Settings
from forum.db import make_sync_engine
from forum.models import Category

CHROMIUM = os.environ.get("FORUM_TEST_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    yield from _serve(settings, _free_port())


@pytest.fixture
def live_mail_server(mail_settings: Settings) -> Iterator[str]:
    """A live server that sends email to the test SMTP server, with links to itself."""
    port = _free_port()
    yield from _serve(mail_settings.with_(base_url=f"http://127.0.0.1:{port}"), port)


def _serve(settings: Settings, port: int, *, category: bool = True) -> Iterator[str]:
    import uvicorn

    if category:
        engine = make_sync_engine(settings.database_url)
        with engine.begin() as conn:
            conn.execute(insert(Category).values(slug="apps", name_en="Apps", name_ko="앱", position=1))
        engine.dispose()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    # In CI a missing browser is a failed install, not a reason to skip.
    skip = pytest.fail if os.environ.get("CI") else pytest.skip
    try:
        from playwright import sync_api
    except ImportError:
        skip("playwright is not installed (pip install -e '.[dev]')")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package; CI does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


XSS_BODY = (
    "Try this:\n\n<script>window.__xss = 'script'</script>\n\n"
    '<img src="x" onerror="window.__xss = \'img\'">\n\n'
    "[click](javascript:window.__xss='link') and restart the app."
)


def _sign_up(page, base: str, username: str) -> None:
    page.goto(f"{base}/signup")
    page.fill("#username", username)
    page.fill("#password", "a long password")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/")


def _log_out(page) -> None:
    page.click("text=Log out")
    page.wait_for_load_state()


def test_core_loop_sign_up_ask_answer_accept_and_no_script_runs(live_server, browser):
    base = live_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    _sign_up(page, base, "asker")
    page.click("text=Ask a question")
    page.select_option("#category", "apps")
    page.fill("#title", "앱이 시작하자마자 꺼져요")
    page.fill("#body", "업데이트 후 **바로** 종료돼요. 어떻게 하나요?")
    page.click("text=Post your question")
    page.wait_for_selector("h1:has-text('앱이 시작하자마자 꺼져요')")
    thread_url = page.url
    assert page.locator("strong", has_text="바로").count() == 1
    _log_out(page)

    _sign_up(page, base, "helper")
    page.goto(thread_url)
    page.fill("#reply-body", XSS_BODY)
    page.click("text=Post your answer")
    page.wait_for_selector("text=and restart the app")
    assert page.evaluate("window.__xss") is None
    _log_out(page)

    page.goto(f"{base}/login")
    page.fill("#login", "asker")
    page.fill("#password", "a long password")
    page.click("form.stack button[type=submit]")
    page.goto(thread_url)
    assert page.evaluate("window.__xss") is None
    page.click("text=Accept answer")
    page.wait_for_selector(".badge-solved:has-text('Accepted answer')")
    assert page.locator(".thread-head .badge-solved", has_text="Solved").count() == 1

    # The same page in Korean, through the language switcher.
    page.select_option("#language-select", "ko")
    page.wait_for_selector("text=채택된 답변")
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    context.close()


def test_a_forgotten_password_is_reset_through_the_emailed_link(live_mail_server, mail_settings, smtp, browser):
    from forum.models import User
    from forum.security import hash_password
    from tests.mailbox import body_of

    base = live_mail_server
    engine = make_sync_engine(mail_settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            insert(User).values(
                username="forgetful",
                username_key="forgetful",
                display_name="Forgetful",
                email="forgetful@example.com",
                email_key="forgetful@example.com",
                email_confirmed_at=datetime.now(UTC).replace(tzinfo=None),
                password_hash=hash_password("the old password"),
                role="member",
                created_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )
    engine.dispose()
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.click("text=Forgot your password?")
    page.fill("#email", "forgetful@example.com")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("text=If an account has this confirmed email address")

    deadline = time.monotonic() + 15
    while not smtp[0].messages and time.monotonic() < deadline:
        time.sleep(0.1)
    [(rcpt, message)] = smtp[0].messages
    assert rcpt == ["forgetful@example.com"]
    body = body_of(message)
    link = body[body.index(f"{base}/password/reset/") :].split()[0]

    page.goto(link)
    page.wait_for_selector("h1:has-text('Choose a new password')")
    page.fill("#password", "a fresh new password")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/u/forgetful?password_changed=1#account")
    assert page.locator("text=Your password is changed.").count() == 1
    _log_out(page)

    page.goto(f"{base}/login")
    page.fill("#login", "forgetful")
    page.fill("#password", "the old password")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("text=Wrong username or password.")
    page.fill("#password", "a fresh new password")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("text=Log out").count() >= 1

    page.goto(link)  # the link worked once
    assert page.locator("text=has already been used").count() == 1
    context.close()


def test_the_language_menu_can_be_browsed_with_the_keyboard(live_server, browser):
    """Arrow keys move through the languages without switching; Enter switches;
    a pick with the mouse switches at once."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator(".language-form button[type=submit]").is_hidden()
    page.focus("#language-select")
    page.keyboard.press("ArrowDown")
    if page.input_value("#language-select") == "en":
        page.keyboard.press("ArrowUp")
    assert page.input_value("#language-select") == "ko"
    page.wait_for_timeout(400)
    assert page.get_attribute("html", "lang") == "en"  # still browsing, nothing sent
    assert page.locator(".language-form button[type=submit]").is_visible()
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang=ko]")
    page.select_option("#language-select", "en")  # as a mouse pick does: no key pressed
    page.wait_for_selector("html[lang=en]")
    context.close()


# The header's visible pieces that do not fit: outside the header or the screen,
# or cut off inside a box that hides or scrolls what overflows it.
CLIPPED_IN_HEADER = """() => {
  const header = document.querySelector(".site-header").getBoundingClientRect();
  const right = Math.min(header.right, document.documentElement.clientWidth);
  const clipped = [];
  for (const el of document.querySelectorAll(".site-header *")) {
    const style = getComputedStyle(el);
    if (el.closest(".visually-hidden, [hidden]") || style.display === "none" || style.visibility === "hidden") {
      continue;
    }
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const name = `${el.tagName.toLowerCase()}.${el.className} ${(el.textContent || "").trim().slice(0, 30)}`;
    const outside = box.left < header.left - 1 || box.right > right + 1
      || box.top < header.top - 1 || box.bottom > header.bottom + 1;
    // A field's own text may scroll inside it; anything else that overflows a box
    // that does not show its overflow is cut off or scrolled out of sight.
    const field = el.tagName === "SELECT" || el.tagName === "INPUT";
    if (outside) {
      clipped.push(`${name} is outside the header`);
    } else if (!field && style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1) {
      clipped.push(`${name} hides part of itself`);
    }
  }
  return clipped;
}"""


@pytest.mark.parametrize("locale", ["ko-KR", "en-US"])
def test_staff_pages_fit_a_phone(live_server, browser, settings, locale):
    """At 390 px no page is wider than the screen: the header wraps onto lines of
    whole links, nothing in it cut off or scrolled out of sight, and stays at most
    320 px tall (an admin's, with the most links); the queues' rows become cards."""
    from sqlalchemy import update

    from forum.models import User

    base = live_server
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_up(page, base, "운영자_민지" if locale == "ko-KR" else "admin_with_a_long_name")
    page.click("text=Ask a question" if locale == "en-US" else "text=질문하기")
    page.select_option("#category", "apps")
    page.fill("#title", "Transferring my subscription to another account between regions")
    page.fill("#body", "Membership transfer between regions fails with an error every time.")
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    engine = make_sync_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(update(User).values(role="admin"))
    engine.dispose()
    paths = [
        "/",
        "/notifications",
        "/support/queues/unanswered",
        "/support/metrics",
        "/topics",
        "/mod/queue",
        "/admin/audit",
    ]
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            page.goto(base + path)
            assert page.title(), path
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, (path, width, wide)
            assert page.evaluate(CLIPPED_IN_HEADER) == [], (path, width)
            if width == 390:
                header = page.locator(".site-header").bounding_box()
                assert header is not None and header["height"] <= 320, (path, header)
    context.close()


@pytest.fixture
def quick_server(settings: Settings) -> Iterator[str]:
    """A live server where a new account may post twice in a row."""
    yield from _serve(settings.with_(new_account_post_interval=0), _free_port())


def test_keyboard_shortcuts_move_open_reply_and_never_fire_while_typing(quick_server, browser):
    base = quick_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    _sign_up(page, base, "keyboarder")
    for title in ("First question about sync", "Second question about billing"):
        page.goto(f"{base}/ask")
        page.select_option("#category", "apps")
        page.fill("#title", title)
        page.fill("#body", f"Details of the question go here: {title.lower()}.")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1", has_text=title).count() == 1, page.locator("main").inner_text()[:1500]
    page.goto(f"{base}/")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#shortcuts").is_hidden()
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator(".thread-row").nth(1)
    assert "kbd-current" in (second.get_attribute("class") or "")
    page.keyboard.press("k")
    first = page.locator(".thread-row").nth(0)
    title = first.locator("a.thread-title").inner_text()
    page.keyboard.press("o")
    page.wait_for_selector(f"h1:has-text('{title}')")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-body"
    page.keyboard.type("just typing j k a g h")  # none of these fire in a field
    assert page.input_value("#reply-body") == "just typing j k a g h"
    assert page.locator("h1", has_text=title).count() == 1
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("g")
    page.keyboard.press("h")
    page.wait_for_url(f"{base}/")
    page.keyboard.press("a")
    page.wait_for_url(f"{base}/ask")
    context.close()


@pytest.fixture
def upload_server(settings: Settings) -> Iterator[str]:
    """A live server where a new account is trusted at once (uploads allowed)."""
    yield from _serve(
        settings.with_(new_account_post_interval=0, trusted_after_days=0, trusted_after_posts=0), _free_port()
    )


def test_a_screenshot_attached_to_a_reply_is_shown_in_the_posted_reply(upload_server, browser, tmp_path):
    import re

    from PIL import Image, ImageDraw
    from playwright.sync_api import expect

    shot = tmp_path / "screenshot.png"
    image = Image.new("RGB", (320, 160), (255, 255, 255))
    ImageDraw.Draw(image).text((20, 70), "Error 0x80070005", fill=(200, 0, 0))
    image.save(shot)
    base = upload_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    _sign_up(page, base, "screenshooter")
    page.goto(f"{base}/ask")
    page.select_option("#category", "apps")
    page.fill("#title", "Sync stops with an error code")
    page.fill("#body", "Sync stops after a minute with an error.")
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    page.fill("#reply-body", "Here is what the app shows:")
    page.set_input_files("#reply-body-file", str(shot))  # uploaded at once by static/uploads.js
    expect(page.locator("#reply-body")).to_have_value(re.compile(r"/uploads/"))
    assert "![screenshot.png](/uploads/" in page.input_value("#reply-body")
    page.click("#reply button[type=submit]")
    page.wait_for_load_state()
    reply_image = page.locator("article.post .post-body img").last
    reply_image.wait_for()
    assert reply_image.get_attribute("alt") == "screenshot.png"
    # Loaded under the page's img-src 'self', at its own size.
    expect(reply_image).to_have_js_property("complete", True)
    assert reply_image.evaluate("img => img.naturalWidth") == 320
    context.close()
