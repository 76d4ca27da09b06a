"""Who the client is (forum.ratelimit.client_ip): the socket's address, unless
it is a proxy named in FORUM_TRUSTED_PROXIES; X-Forwarded-For and
X-Forwarded-Proto are believed from those proxies only."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.config import ConfigError, Settings
from forum.ratelimit import client_ip, forwarded_client, forwarded_scheme, parse_trusted_proxies
from tests.moderation_helpers import app_with, client_for, unique_prefix

TRUSTED = parse_trusted_proxies("10.9.0.0/16, 192.0.2.1, 2001:db8::/32")


def scope(peer: str, *headers: tuple[str, str]) -> dict:
    return {"client": (peer, 5000), "headers": [(k.encode(), v.encode()) for k, v in headers]}


def test_without_trusted_proxies_the_socket_is_the_client():
    assert forwarded_client(scope("127.0.0.1", ("x-forwarded-for", "6.6.6.6")), ()) == "127.0.0.1"


def test_an_untrusted_peers_forwarded_for_is_ignored():
    assert forwarded_client(scope("203.0.113.9", ("x-forwarded-for", "6.6.6.6")), TRUSTED) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client():
    assert forwarded_client(scope("10.9.0.1", ("x-forwarded-for", "198.51.100.7")), TRUSTED) == "198.51.100.7"
    # The client wrote the first two; the proxies appended the last three.
    chain = "6.6.6.6, 7.7.7.7, 198.51.100.7, 192.0.2.1, 10.9.3.4"
    assert forwarded_client(scope("10.9.0.1", ("x-forwarded-for", chain)), TRUSTED) == "198.51.100.7"
    # Several header lines count as one list, in order.
    split = scope("10.9.0.1", ("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.8, 10.9.0.7"))
    assert forwarded_client(split, TRUSTED) == "198.51.100.8"


def test_odd_forwarded_for_values():
    assert forwarded_client(scope("10.9.0.1"), TRUSTED) == "10.9.0.1"  # the proxy's own request
    assert forwarded_client(scope("10.9.0.1", ("x-forwarded-for", "10.9.0.2")), TRUSTED) == "10.9.0.2"
    garbage = scope("10.9.0.1", ("x-forwarded-for", "<script>, 10.9.0.5"))
    assert forwarded_client(garbage, TRUSTED) == "10.9.0.5"  # the last hop known, never the made-up text
    v6 = scope("2001:db8::1", ("x-forwarded-for", "2001:db8::2, [2a00:1450::5]:443"))
    assert forwarded_client(v6, TRUSTED) == "2a00:1450::5"
    assert forwarded_client(scope("2001:db8::1", ("x-forwarded-for", "198.51.100.9:1234")), TRUSTED) == "198.51.100.9"


def test_the_scheme_is_believed_from_a_trusted_proxy_only():
    assert forwarded_scheme(scope("10.9.0.1", ("x-forwarded-proto", "https")), TRUSTED) == "https"
    assert forwarded_scheme(scope("203.0.113.9", ("x-forwarded-proto", "https")), TRUSTED) is None
    assert forwarded_scheme(scope("10.9.0.1", ("x-forwarded-proto", "gopher")), TRUSTED) is None


def test_the_setting_comes_from_the_environment_and_is_checked():
    env = {"FORUM_SECRET_KEY": "s" * 40, "FORUM_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    assert Settings.from_env(env).trusted_proxies == "127.0.0.1, 10.0.0.0/8"
    assert Settings.from_env({"FORUM_SECRET_KEY": "s" * 40}).trusted_proxies == ""
    with pytest.raises(ConfigError, match="not an IP address"):
        parse_trusted_proxies("10.0.0.1, proxy.internal")


def _wrong() -> dict[str, str]:
    return {"login": "someone", "password": "not the password"}


async def test_a_local_client_cannot_dodge_the_login_limit_with_forged_headers(settings):
    async with (
        app_with(settings, rate_limit_login_ip="2 per minute", rate_limit_prefix=unique_prefix()) as app,
        client_for(app, "127.0.0.1") as c,
    ):
        for i in range(2):
            r = await c.submit("/login", _wrong(), headers={"x-forwarded-for": f"6.6.6.{i}"})
            assert r.status_code == 422
        r = await c.submit("/login", _wrong(), headers={"x-forwarded-for": "6.6.6.99"})
        assert r.status_code == 429


async def test_clients_behind_a_listed_proxy_are_counted_apart(settings):
    changes = {"rate_limit_login_ip": "1 per minute", "rate_limit_prefix": unique_prefix()}
    async with app_with(settings, trusted_proxies="127.0.0.1", **changes) as app, client_for(app, "127.0.0.1") as proxy:
        for client in ("198.51.100.1", "198.51.100.2"):
            r = await proxy.submit("/login", _wrong(), headers={"x-forwarded-for": client})
            assert r.status_code == 422
        r = await proxy.submit("/login", _wrong(), headers={"x-forwarded-for": "6.6.6.6, 198.51.100.1"})
        assert r.status_code == 429  # the same client, whatever it adds on the left


async def test_the_app_sees_the_forwarded_client_and_scheme(settings):
    async def whoami(request: Request) -> Response:
        return JSONResponse({"ip": client_ip(request), "scheme": request.url.scheme})

    async with app_with(settings, trusted_proxies="10.9.0.0/16") as app:
        app.router.routes.insert(0, Route("/test-whoami", whoami))
        headers = {"x-forwarded-for": "198.51.100.4", "x-forwarded-proto": "https"}
        async with client_for(app, "10.9.0.1") as proxy:
            assert (await proxy.get("/test-whoami", headers=headers)).json() == {
                "ip": "198.51.100.4",
                "scheme": "https",
            }
        async with client_for(app, "203.0.113.9") as direct:
            assert (await direct.get("/test-whoami", headers=headers)).json() == {
                "ip": "203.0.113.9",
                "scheme": "http",
            }
