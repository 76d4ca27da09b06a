"""API tokens: ``Authorization: Bearer <token>`` on /api/ routes.

A token is shown once, when created; the database keeps only its SHA-256
(the token is 256 random bits, so a fast hash is enough). It acts as its
user, with the user's role *at the time of each request*: demoting or banning
the user takes effect on the token at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import ApiToken, User
from forum.security import new_token, token_hash

TOKEN_PREFIX = "fst_"
# Writing last_used_at on every request would turn reads into writes.
LAST_USED_EVERY = timedelta(minutes=5)
MAX_TOKEN_LENGTH = 200


async def create_token(
    session: AsyncSession, user: User, *, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the raw token (shown once, never stored)."""
    name = " ".join(name.split())
    if len(name) > 60:
        raise ValidationError({"name": _("Token names can have at most %(n)s characters.", n=60)})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    raw = TOKEN_PREFIX + new_token()
    token = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        name=name,
        token_hash=token_hash(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, raw


async def list_tokens(session: AsyncSession, user: User) -> Sequence[ApiToken]:
    return (
        await session.scalars(
            select(ApiToken)
            .where(col(ApiToken.user_id) == user.id)
            .order_by(col(ApiToken.created_at), col(ApiToken.id))
        )
    ).all()


async def revoke_token(session: AsyncSession, user: User, token_id: int) -> bool:
    """Revokes one of ``user``'s tokens. Says whether it was still active."""
    token = await session.scalar(select(ApiToken).where(col(ApiToken.id) == token_id, col(ApiToken.user_id) == user.id))
    if token is None:
        raise NotFound(_("%(user)s has no token %(id)s.", user=user.username, id=token_id))
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    session.add(token)
    await session.flush()
    return True


async def revoke_all(session: AsyncSession, user: User) -> int:
    result = await session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user.id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def token_user(session: AsyncSession, raw: str) -> User | None:
    """The user an active token acts as, or None (unknown, revoked or expired
    token, or a user who may not log in). Notes when the token was last used."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > MAX_TOKEN_LENGTH:
        return None
    now = utcnow()
    token = await session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))  # type: ignore[arg-type]
        .where(col(ApiToken.token_hash) == token_hash(raw))
    )
    if token is None or not token.active(now) or not token.user.can_log_in(now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        await session.execute(update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now))
    return token.user
