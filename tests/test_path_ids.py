"""Ids in paths beyond what the database holds are a 404 on every route with
one (forum.convertors), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re

import pytest
from starlette.convertors import CONVERTOR_TYPES
from starlette.routing import Route

from forum.app import create_app
from forum.convertors import MAX_ID, IdConvertor
from tests.moderation_helpers import client_for

PARAM = re.compile(r"{(\w+):int}")
HUGE = ("2147483648", "9223372036854775808", "99999999999999999999999")


def int_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route with an int parameter."""
    from forum.config import Settings

    app = create_app(Settings(database_url="sqlite:///unused.db", secret_key="s" * 40))
    found = []
    for route in app.router.routes:
        if isinstance(route, Route) and PARAM.search(route.path):
            for name, convertor in route.param_convertors.items():
                if f"{{{name}:int}}" in route.path:
                    assert isinstance(convertor, IdConvertor), route.path
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    found.append((method, route.path))
    return found


ROUTES = int_routes()


def test_every_int_parameter_uses_the_bounded_convertor():
    assert isinstance(CONVERTOR_TYPES["int"], IdConvertor)
    assert len(ROUTES) > 30  # threads, posts, kb, topics, moderation, notifications, support ...


def _path(template: str, value: str) -> str:
    path = PARAM.sub(value, template)
    return re.sub(r"{(\w+)(:\w+)?}", "x", path)  # any other parameter (a slug, a name)


@pytest.mark.parametrize("method,template", ROUTES)
async def test_a_huge_id_is_a_404(app, member, method, template):
    async with client_for(app, raise_app_exceptions=False) as c:
        await c.login_as(member)
        for value in HUGE:
            path = _path(template, value)
            r = await (c.get(path) if method == "GET" else c.submit(path, {}))
            assert r.status_code == 404, (method, path, r.status_code)


async def test_the_largest_id_is_an_ordinary_missing_thread(app):
    async with client_for(app, raise_app_exceptions=False) as c:
        assert (await c.get(f"/t/{MAX_ID}")).status_code == 404
        assert (await c.get(f"/t/{MAX_ID}/some-slug")).status_code == 404
        assert (await c.get("/t/0")).status_code == 404


def test_url_for_still_writes_ids(app):
    assert app.url_path_for("threads:detail", thread_id=12, slug="refund") == "/t/12/refund"
