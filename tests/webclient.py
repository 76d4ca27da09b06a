"""An httpx client for the ASGI app that fills in CSRF tokens like a browser
rendering the form would."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from forum.middleware import csrf_cookie, session_cookie, session_signer
from forum.models import User
from forum.security import csrf_token, new_token
from forum.services import accounts


def tampered(signed: str) -> str:
    """`signed` (an itsdangerous value or token) with its signature's first character changed.

    That character carries six whole bits of the signature. The last one may carry padding
    bits that base64 decoding ignores, so changing only the end sometimes leaves a valid
    signature."""
    value, signature = signed.rsplit(".", 1)
    return f"{value}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


class WebClient(httpx.AsyncClient):
    def __init__(self, app: Starlette) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self.app = app

    async def csrf(self) -> str:
        name = csrf_cookie(self.app.state.runtime.settings)
        if name not in self.cookies:
            # What the first page with a form would have set (forum.web.csrf_for).
            self.cookies.set(name, new_token())
        return csrf_token(self.app.state.runtime.settings.secret_key, self.cookies[name])

    async def submit(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a form with a valid CSRF token."""
        form = dict(data or {})
        form.setdefault("csrf_token", await self.csrf())
        return await self.post(url, data=form, **kwargs)

    async def login_as(self, user: User) -> None:
        """Starts a real session for ``user`` without the slow password check."""
        async with self.app.state.runtime.sessionmaker.begin() as session:
            token = await accounts.start_session(session, user, max_age=3600)
        signed = session_signer(self.app.state.runtime.settings).sign(token).decode()
        self.cookies.set(session_cookie(self.app.state.runtime.settings), signed)
