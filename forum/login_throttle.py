"""Log-in throttling without lockout (OWASP's "device cookies").

Five wrong passwords used to lock an account for everyone, its owner too, so
anyone could lock anyone out. The rule now:

- Every attempt counts against its address (``login_ip``, 10 a minute and 60
  an hour by default).
- A wrong password counts against the account (``login_account``, 5 in 15
  minutes) and against the account from that address (``login_account_ip``,
  5 in 15 minutes). A successful log-in counts nothing and clears nothing.
- An address that has used up its failures at an account is refused there.
- While an account is over its own limit (someone guesses from many
  addresses):

  - a browser holding the account's *device cookie* (signed, set by every
    successful log-in, kept a year) is let through: the owner is not locked
    out of their own browser;
  - an address that has failed at this account within the window is refused;
  - an address that has not (a fresh one) is slowed: all such attempts at
    the account share ``login_fresh`` (one every 15 seconds); a wrong password
    there makes the address a failing one.

  So the owner gets in from their own browser at once, and from an address
  that has not been guessing after at most a wait of seconds; a guess attack
  spread over many addresses gets one guess per 15 seconds per account, and
  needs a new address for each.

Refusals are 429 with Retry-After, decided before the password is checked (a
refusal tells nothing about the password). The account is its user id when the
name or email given names one, else the name as typed, so unknown names are
throttled alike and throttling does not tell which accounts exist. Parallel
guesses from one address may pass the check together before their failures are
counted; ``login_ip`` bounds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner
from starlette.requests import Request

from forum.config import Settings
from forum.middleware import HOST_PREFIX, cookie_header, read_cookies
from forum.models import User
from forum.ratelimit import RateLimited, RateLimiter, client_ip, limiter_of
from forum.services.accounts import username_key

DEVICE_COOKIE = "forum_device"


def device_cookie_name(settings: Settings) -> str:
    """``__Host-forum_device`` where cookies are secure, as the session's (forum.middleware)."""
    return HOST_PREFIX + DEVICE_COOKIE if settings.secure_cookies else DEVICE_COOKIE


DEVICE_MAX_AGE = 365 * 24 * 3600
#: accounts remembered by one browser (most recent first)
DEVICE_ACCOUNTS = 5


def _signer(settings: Settings) -> TimestampSigner:
    return TimestampSigner(settings.secret_key, salt="forum.device")


def device_accounts(request: Request, settings: Settings) -> list[int]:
    """The accounts that logged in from this browser within a year (its device cookie)."""
    raw = read_cookies(request.headers.get("cookie")).get(device_cookie_name(settings))
    if not raw or len(raw) > 200:
        return []
    try:
        value = _signer(settings).unsign(raw, max_age=DEVICE_MAX_AGE).decode()
    except (BadSignature, UnicodeDecodeError):
        return []
    return [int(part) for part in value.split(".") if part.isdigit()][:DEVICE_ACCOUNTS]


def device_cookie(request: Request, settings: Settings, user_id: int) -> str:
    """The Set-Cookie header that adds ``user_id`` to this browser's device cookie."""
    ids = [user_id, *(i for i in device_accounts(request, settings) if i != user_id)][:DEVICE_ACCOUNTS]
    signed = _signer(settings).sign(".".join(str(i) for i in ids)).decode()
    return cookie_header(device_cookie_name(settings), signed, settings, max_age=DEVICE_MAX_AGE)


@dataclass(frozen=True)
class LoginThrottle:
    limiter: RateLimiter
    account: str
    pair: str
    trusted_device: bool

    @classmethod
    def for_attempt(cls, request: Request, settings: Settings, *, user: User | None, login: str) -> LoginThrottle:
        account = f"user:{user.id}" if user is not None else f"name:{username_key(login)}"
        trusted = user is not None and user.id in device_accounts(request, settings)
        return cls(limiter_of(request), account, f"{account}|ip:{client_ip(request)}", trusted)

    async def check(self) -> None:
        """Raises ``RateLimited`` when this attempt may not be made now."""
        limiter = self.limiter
        wait = await limiter.exhausted("login_account_ip", self.pair)
        if wait is not None:
            raise RateLimited("login_account_ip", wait)
        if self.trusted_device:
            return
        wait = await limiter.exhausted("login_account", self.account)
        if wait is None:
            return
        if await limiter.counted("login_account_ip", self.pair):
            raise RateLimited("login_account", wait)
        await limiter.check("login_fresh", self.account)

    async def failed(self) -> None:
        """Counts a wrong password."""
        await self.limiter.hit("login_account", self.account)
        await self.limiter.hit("login_account_ip", self.pair)
