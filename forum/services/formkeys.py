"""One post per submit.

Every rendered form that creates something (ask, reply, flag, a knowledge-base
article, topic decisions, a moderator's sanctions) carries a random one-use key (hidden field
``form_key``). The route takes the key (:func:`claim`) first in its
transaction, before anything is made, and writes where the submission led
(:func:`record`) before the commit. The key is a row whose primary key is
(user, key), so a second submission of the same form, at once or later,
cannot take it:

- in parallel, the database makes it wait for the first: PostgreSQL holds its
  insert until the first transaction ends, SQLite's write lock holds its whole
  transaction; if the first committed, the insert fails, and if it rolled
  back (a validation error), the second goes ahead as if it were first;
- then :class:`forum.errors.AlreadySubmitted` rolls the second transaction back
  and answers with a 303 to what the first made.

Staff and moderators are treated alike. A form without a key (an old page, an
API client) works as before. Keys older than :data:`KEEP` are pruned by the
mail job (:func:`prune`): by then a page is long submitted or abandoned.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from forum.clock import utcnow
from forum.errors import AlreadySubmitted, Conflict, ForumError
from forum.i18n import gettext as _
from forum.models import FormSubmission, User

FIELD = "form_key"
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEEP = timedelta(days=2)


def new_key() -> str:
    return secrets.token_urlsafe(18)


def check_key(raw: str) -> str | None:
    """The key a form sent, or None for a form without one."""
    raw = raw.strip()
    if not raw:
        return None
    if not KEY_RE.match(raw):
        raise ForumError(_("This form could not be read. Reload the page and try again."))
    return raw


async def claim(session: AsyncSession, *, user: User, key: str | None) -> FormSubmission | None:
    """Takes ``key`` for ``user`` in the caller's transaction (None without a key).
    Raises ``AlreadySubmitted`` with what the first submission made when the key
    is taken."""
    if key is None:
        return None
    assert user.id is not None
    row = FormSubmission(user_id=user.id, form_key=key, created_at=utcnow())
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The first submission has committed (a key is only ever taken by a
        # committed transaction: see the module's docstring), so this sees it.
        table = FormSubmission.__table__  # type: ignore[attr-defined]
        url = await session.scalar(
            select(table.c.result_url).where(table.c.user_id == user.id, table.c.form_key == key)
        )
        if not url:
            raise Conflict(_("This form was sent already.")) from None
        raise AlreadySubmitted(url) from None
    return row


async def record(session: AsyncSession, claimed: FormSubmission | None, url: str) -> None:
    """Where the submission that took the key led (a path on this site)."""
    if claimed is None:
        return
    claimed.result_url = url[:500]
    session.add(claimed)
    await session.flush()


def prune(engine: Engine, *, keep: timedelta = KEEP) -> int:
    """Forgets the keys taken more than ``keep`` ago; returns how many."""
    table = FormSubmission.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        result = conn.execute(delete(table).where(table.c.created_at < utcnow() - keep))
    return int(result.rowcount or 0)
