"""axe-core (the npm package, `npm ci`) finds no WCAG 2.1 A or AA violation on
the demo's pages, for a visitor and an administrator, in the light theme in
Korean at 1280 px and in the dark theme in English at 390 px."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from forum.config import Settings
from forum.db import make_async_engine, make_sessionmaker
from forum.demo import load_demo
from forum.models import Category, Thread
from tests.test_browser import _free_port, _serve, browser  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def _load(url: str) -> tuple[str, int, str]:
    engine = make_async_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as s:
            made = await load_demo(s)
        async with make_sessionmaker(engine)() as s:
            slug = (await s.scalars(select(Category.slug).order_by(Category.position))).first()
            thread_id = (await s.scalars(select(Thread.id).order_by(Thread.id))).first()
    finally:
        await engine.dispose()
    assert slug and thread_id
    password = next(password for user, password in made if user.username == "admin_sam")
    return slug, thread_id, password


@pytest.fixture
def demo_server(settings: Settings) -> Iterator[tuple[str, str, int, str]]:
    slug, thread_id, password = asyncio.run(_load(settings.database_url))
    for base in _serve(settings, _free_port(), category=False):
        yield base, slug, thread_id, password


def _axe_source() -> str:
    if not AXE.exists():
        skip = pytest.fail if os.environ.get("CI") else pytest.skip
        skip(f"axe-core is not installed at {AXE} (run `npm ci`)")
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize(("locale", "theme", "width"), [("ko-KR", "light", 1280), ("en-US", "dark", 390)])
def test_no_page_has_an_accessibility_violation(demo_server, browser, locale, theme, width):  # noqa: F811
    axe = _axe_source()
    base, slug, thread_id, password = demo_server
    visitor = ["/", f"/c/{slug}", f"/t/{thread_id}", "/search?q=환불", "/login", "/signup", "/kb", "/tags", "/u/minji"]
    admin = [
        "/ask",
        f"/t/{thread_id}",
        "/support",
        "/support/queues/unanswered",
        "/support/metrics",
        "/topics",
        "/mod/queue",
        "/admin/audit",
        "/notifications",
        "/u/admin_sam",
        "/admin",
        "/admin/categories",
        "/admin/banners",
        "/admin/tags",
    ]
    found: list[str] = []
    for who, paths in (("visitor", visitor), ("admin", admin)):
        # axe is added to each page by the test; the forum's CSP rightly refuses inline scripts.
        context = browser.new_context(bypass_csp=True, locale=locale, viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "forum_theme", "value": theme, "url": base}])
        page = context.new_page()
        if who == "admin":
            page.goto(f"{base}/login")
            page.fill("#login", "admin_sam")
            page.fill("#password", password)
            page.click("form.stack button[type=submit]")
            page.wait_for_load_state()
            assert not page.url.endswith("/login"), "the administrator could not log in"
        for path in paths:
            response = page.goto(base + path)
            assert response is not None and response.status == 200, (who, path)
            page.add_script_tag(content=axe)
            result = page.evaluate("rules => axe.run(document, {runOnly: {type: 'tag', values: rules}})", RULES)
            for violation in result["violations"]:
                for node in violation["nodes"]:
                    summary = " ".join(node["failureSummary"].split())[:240]
                    found.append(f"{who} {path}: {violation['id']} {node['target']} {summary}")
        context.close()
    assert found == [], "\n".join(found)
