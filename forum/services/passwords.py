"""Passwords: the policy, changing one, and reset links.

The policy follows OWASP ASVS 2.1 and Discourse: a minimum length
(``FORUM_PASSWORD_MIN_LENGTH``, 10 by default), at most 256 characters, no
composition rules, and no password that is one of the 30,000 most common ones
(the ranked list zxcvbn ships, counted from Mark Burnett's published
10-million-password dump), nor the account's own username or email address. It applies whenever a password
is set; existing passwords keep working until their owner changes them.

A reset link carries a signed, dated token naming the account and a
fingerprint of its current password hash: the hash changes when the link is
used (new salt), so the link works once, and any other change of password
voids it too. Nothing is stored.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from forum.errors import ForumError, NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.models import User, UserSession
from forum.security import hash_password, token_hash, verify_password

PASSWORD_MAX = 256
#: FORUM_PASSWORD_MIN_LENGTH's default
DEFAULT_MIN_LENGTH = 10
#: a reset link works this long (seconds)
RESET_MAX_AGE = 3600
_RESET_SALT = "forum.password-reset"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords, case-folded (zxcvbn's ranked list)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def check_password(password: str, *, min_length: int, username: str = "", email: str = "") -> str | None:
    """The reason ``password`` may not be used, translated, or None."""
    if len(password) < min_length:
        return _("Passwords need at least %(n)s characters.", n=min_length)
    if len(password) > PASSWORD_MAX:
        return _("Passwords can have at most %(n)s characters.", n=PASSWORD_MAX)
    key = password.casefold()
    if key in common_passwords():
        return _("This password is one of the most common passwords, and would be guessed first. Choose another.")
    if (username and key == username.casefold()) or (email and key == email.casefold()):
        return _("Your password cannot be your username or email address.")
    return None


def check_for_user(password: str, user: User, *, min_length: int) -> None:
    """Raises ``ValidationError({"password": ...})`` unless ``user`` may use ``password``."""
    problem = check_password(password, min_length=min_length, username=user.username, email=user.email or "")
    if problem:
        raise ValidationError({"password": problem})


async def set_password(
    session: AsyncSession, user: User, password: str, *, min_length: int, keep_session: str | None = None
) -> None:
    """Sets ``user``'s password (after the policy) and ends every session of the
    account but ``keep_session`` (a raw session token)."""
    check_for_user(password, user, min_length=min_length)
    user.password_hash = hash_password(password)
    session.add(user)
    await session.flush()
    await end_other_sessions(session, user.id, keep_session)  # type: ignore[arg-type]


async def change_password(
    session: AsyncSession, user: User, *, current: str, new: str, min_length: int, keep_session: str | None
) -> None:
    """The owner's change of password: the current one is asked for, so that
    someone at an unattended browser cannot take the account over."""
    if not verify_password(current, user.password_hash):
        raise ValidationError({"current_password": _("That is not your current password.")})
    await set_password(session, user, new, min_length=min_length, keep_session=keep_session)


async def end_other_sessions(session: AsyncSession, user_id: int, keep_session: str | None) -> int:
    query = delete(UserSession).where(col(UserSession.user_id) == user_id)
    if keep_session:
        query = query.where(col(UserSession.token_hash) != token_hash(keep_session))
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- reset links


class ResetLinkInvalid(ForumError):
    """A reset link that is broken, expired or used: a page that says so."""

    status_code = 400


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(b"reset:" + password_hash.encode()).hexdigest()[:16]


def reset_token(secret_key: str, user: User) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_RESET_SALT).dumps(
        {"u": user.id, "p": _fingerprint(user.password_hash)}
    )


@dataclass(frozen=True)
class ResetClaim:
    user_id: int
    fingerprint: str


def read_reset_token(secret_key: str, token: str, *, max_age: int = RESET_MAX_AGE) -> ResetClaim:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_RESET_SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ResetLinkInvalid(_("This password reset link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise ResetLinkInvalid(_("This password reset link is not valid. Ask for a new one.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("p"), str):
        raise ResetLinkInvalid(_("This password reset link is not valid. Ask for a new one."))
    return ResetClaim(data["u"], data["p"])


async def reset_link_user(session: AsyncSession, secret_key: str, token: str) -> User:
    """The account a reset link is for, if the link is still good."""
    claim = read_reset_token(secret_key, token)
    user = await session.get(User, claim.user_id)
    if user is None or user.deleted_at is not None or _fingerprint(user.password_hash) != claim.fingerprint:
        raise ResetLinkInvalid(_("This password reset link has already been used. Ask for a new one."))
    if user.banned_at is not None:
        raise NotAllowed(_("This account has been banned."))
    return user


async def reset_password(session: AsyncSession, secret_key: str, token: str, password: str, *, min_length: int) -> User:
    """Sets the password a reset link was sent for and ends every session of the
    account. Of two submissions of one link at the same moment only one wins:
    the update only matches the password hash the link was made for."""
    user = await reset_link_user(session, secret_key, token)
    check_for_user(password, user, min_length=min_length)
    old_hash, new_hash = user.password_hash, hash_password(password)
    result = await session.execute(
        update(User)
        .where(col(User.id) == user.id, col(User.password_hash) == old_hash)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ResetLinkInvalid(_("This password reset link has already been used. Ask for a new one."))
    set_committed_value(user, "password_hash", new_hash)
    await end_other_sessions(session, user.id, None)  # type: ignore[arg-type]
    return user


async def user_for_reset(session: AsyncSession, address: str) -> User | None:
    """The account a reset may be mailed for: a confirmed address, an account
    that may log in. None otherwise (the caller answers the same either way)."""
    key = " ".join(address.split()).casefold()
    if not key or len(key) > 254:
        return None
    user = await session.scalar(select(User).where(col(User.email_key) == key))
    if user is None or user.email_confirmed_at is None or user.deleted_at is not None or user.banned_at is not None:
        return None
    return user
