"""Accounts and login sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.errors import NotAllowed, NotFound, ValidationError
from forum.i18n import LOCALES, format_datetime
from forum.i18n import gettext as _
from forum.models import Role, User, UserSession
from forum.security import dummy_hash, hash_password, new_token, token_hash, verify_password
from forum.services.passwords import DEFAULT_MIN_LENGTH
from forum.services.passwords import check_password as password_problem
from forum.textutil import one_line

USERNAME_RE = re.compile(r"^[0-9A-Za-z_가-힣][0-9A-Za-z_.가-힣-]{1,29}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
#: how often a session's last_seen_at is written: the idle timeout is coarse by
#: this much, and a page view is a read in every other request
LAST_SEEN_EVERY = timedelta(hours=1)


def username_key(username: str) -> str:
    return one_line(username).casefold()


def check_signup(
    username: str, email: str, password: str, display_name: str, *, password_min_length: int = DEFAULT_MIN_LENGTH
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = _(
            "Usernames are 2 to 30 letters, digits, Hangul, '_', '.' or '-', starting with a letter or digit."
        )
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = _("Enter a valid email address.")
    problem = password_problem(password, min_length=password_min_length, username=username, email=email)
    if problem:
        errors["password"] = problem
    if len(display_name) > 50:
        errors["display_name"] = _("Display names can have at most %(n)s characters.", n=50)
    return errors


async def do_signup(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    email: str = "",
    display_name: str = "",
    locale: str | None = None,
    role: Role = Role.member,
    email_confirmed: bool = False,
    password_min_length: int = DEFAULT_MIN_LENGTH,
) -> User:
    """A new account. Its email address counts as confirmed only when the person
    creating it vouches for it (``email_confirmed``: an administrator on the
    command line); otherwise its owner confirms it by a link (:func:`email_token`)."""
    username = one_line(username)
    email = one_line(email)
    display_name = one_line(display_name) or username
    errors = check_signup(username, email, password, display_name, password_min_length=password_min_length)
    if not errors.get("username") and await get_user_by_username(session, username) is not None:
        errors["username"] = _("That username is taken.")
    if email and not errors.get("email"):
        taken = await session.scalar(select(col(User.id)).where(col(User.email_key) == email.casefold()))
        if taken is not None:
            errors["email"] = _("An account with that email address already exists.")
    if errors:
        raise ValidationError(errors)
    user = User(
        username=username,
        username_key=username_key(username),
        display_name=display_name,
        email=email or None,
        email_key=email.casefold() or None,
        email_confirmed_at=utcnow() if email and email_confirmed else None,
        password_hash=hash_password(password),
        role=role.value,
        locale=locale if locale in LOCALES else None,
    )
    session.add(user)
    await session.flush()
    return user


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(col(User.username_key) == username_key(username)))


async def get_user_by_username_or_404(session: AsyncSession, username: str) -> User:
    user = await get_user_by_username(session, username)
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def authenticate(session: AsyncSession, *, login: str, password: str) -> User | None:
    """The user whose username or email and password match, else None.
    Takes the same time whether or not the account exists."""
    return check_password(await find_login_user(session, login), password)


async def find_login_user(session: AsyncSession, login: str) -> User | None:
    """The account a log-in form names, by username or email."""
    key = one_line(login).casefold()
    return await session.scalar(select(User).where((col(User.username_key) == key) | (col(User.email_key) == key)))


def check_password(user: User | None, password: str) -> User | None:
    """``user`` if ``password`` is theirs, else None (as slow when there is no
    user); ``NotAllowed`` when the password is right but the account may not log in."""
    if user is None:
        verify_password(password, dummy_hash())
        return None
    if not verify_password(password, user.password_hash):
        return None
    check_can_log_in(user)
    return user


def check_can_log_in(user: User) -> None:
    now = utcnow()
    if user.banned_at is not None:
        raise NotAllowed(_("This account has been banned."))
    if user.suspended_until is not None and user.suspended_until > now:
        raise NotAllowed(_("This account is suspended until %(date)s.", date=format_datetime(user.suspended_until)))


async def start_session(session: AsyncSession, user: User, *, max_age: int) -> str:
    """Opens a login session and returns the raw token for the cookie."""
    token = new_token()
    now = utcnow()
    assert user.id is not None
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(UserSession).where(col(UserSession.token_hash) == token_hash(token)))


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id))


# Every signed-in request runs one of these: built once, with bound parameters.
_SESSION = (
    select(UserSession)
    .options(joinedload(UserSession.user))  # type: ignore[arg-type]
    .where(col(UserSession.token_hash) == bindparam("token_hash"), col(UserSession.expires_at) > bindparam("now"))
)
_SESSION_SEEN = _SESSION.where(col(UserSession.last_seen_at) > bindparam("seen_after"))


async def load_session(session: AsyncSession, token: str, *, idle_timeout: int | None = None) -> UserSession | None:
    """The session behind a token (with its user loaded), if it still exists, has
    not expired, has been used within ``idle_timeout`` seconds and its user may
    log in."""
    now = utcnow()
    params = {"token_hash": token_hash(token), "now": now}
    if idle_timeout is None:
        row = await session.scalar(_SESSION, params)
    else:
        row = await session.scalar(_SESSION_SEEN, {**params, "seen_after": now - timedelta(seconds=idle_timeout)})
    if row is None or not row.user.can_log_in(now):
        return None
    return row


def needs_touch(row: UserSession) -> bool:
    """Whether ``row``'s last_seen_at is old enough to be written again."""
    return row.last_seen_at <= utcnow() - LAST_SEEN_EVERY


async def touch_session(session: AsyncSession, row_hash: str) -> None:
    await session.execute(
        update(UserSession).where(col(UserSession.token_hash) == row_hash).values(last_seen_at=utcnow())
    )


async def session_user(session: AsyncSession, token: str, *, idle_timeout: int | None = None) -> User | None:
    """The user behind a session token, if the session is still good (see :func:`load_session`)."""
    row = await load_session(session, token, idle_timeout=idle_timeout)
    return row.user if row is not None else None


async def list_sessions(session: AsyncSession, user: User) -> list[UserSession]:
    """``user``'s open sessions, the most recently used first."""
    rows = await session.scalars(
        select(UserSession)
        .where(col(UserSession.user_id) == user.id, col(UserSession.expires_at) > utcnow())
        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.created_at).desc())
    )
    return list(rows)


def session_ref(row: UserSession) -> str:
    """How a page names a session: a prefix of the token's hash (the hash gives
    nothing away; the prefix keeps the page short)."""
    return row.token_hash[:16]


async def end_session_by_ref(session: AsyncSession, user: User, ref: str) -> bool:
    """Ends one of ``user``'s own sessions, named by :func:`session_ref`."""
    if len(ref) != 16 or not all(c in "0123456789abcdef" for c in ref):
        return False
    for row in await list_sessions(session, user):
        if session_ref(row) == ref:
            await session.delete(row)
            await session.flush()
            return True
    return False


async def set_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationError({"locale": _("Unknown language.")})
    user = await session.get(User, user_id)
    if user is not None:
        user.locale = locale
        session.add(user)
        await session.flush()


# ---------------------------------------------------------------- email addresses

#: a confirmation link works this long
EMAIL_TOKEN_MAX_AGE = 3 * 24 * 3600
_EMAIL_SALT = "forum.email-confirm"


def email_token(secret_key: str, user: User, address: str) -> str:
    """A signed, dated token saying ``user`` asked to use ``address``: sent to the
    address as a link; nothing is stored until it comes back."""
    return URLSafeTimedSerializer(secret_key, salt=_EMAIL_SALT).dumps({"u": user.id, "e": address})


def read_email_token(secret_key: str, token: str, user: User, *, max_age: int = EMAIL_TOKEN_MAX_AGE) -> str:
    """The address ``user`` asked to confirm with ``token``; a clear error when the
    link is broken, expired or someone else's."""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_EMAIL_SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationError({"token": _("This confirmation link has expired. Ask for a new one.")}) from None
    except BadSignature:
        raise ValidationError({"token": _("This confirmation link is not valid.")}) from None
    if not isinstance(data, dict) or data.get("u") != user.id or not isinstance(data.get("e"), str):
        raise ValidationError({"token": _("This confirmation link is for another account.")})
    return data["e"]


async def check_new_email(session: AsyncSession, user: User, address: str) -> str:
    """``address`` cleaned up, if it may become ``user``'s email address."""
    address = one_line(address)
    if not address or len(address) > 254 or not EMAIL_RE.match(address):
        raise ValidationError({"email": _("Enter a valid email address.")})
    taken = await session.scalar(
        select(col(User.id)).where(col(User.email_key) == address.casefold(), col(User.id) != user.id)
    )
    if taken is not None:
        raise ValidationError({"email": _("An account with that email address already exists.")})
    return address


async def confirm_email(session: AsyncSession, user: User, address: str) -> bool:
    """Makes ``address`` (which its owner just proved they read) ``user``'s confirmed
    email address; says whether anything changed."""
    address = await check_new_email(session, user, address)
    if user.email == address and user.email_confirmed_at is not None:
        return False
    try:
        async with session.begin_nested():  # another account may take it at the same moment
            user.email, user.email_key, user.email_confirmed_at = address, address.casefold(), utcnow()
            session.add(user)
    except IntegrityError:
        raise ValidationError({"email": _("An account with that email address already exists.")}) from None
    return True


BIO_MAX = 500


async def update_profile(session: AsyncSession, user: User, *, display_name: str, bio: str) -> bool:
    """One's display name (blank: the username) and a short plain-text bio."""
    display_name = one_line(display_name) or user.username
    bio = "\n".join(line.rstrip() for line in bio.replace("\r\n", "\n").strip().split("\n"))
    errors: dict[str, str] = {}
    if len(display_name) > 50:
        errors["display_name"] = _("Display names can have at most %(n)s characters.", n=50)
    if len(bio) > BIO_MAX:
        errors["bio"] = _("Bios can have at most %(n)s characters.", n=BIO_MAX)
    if errors:
        raise ValidationError(errors)
    if (user.display_name, user.bio) == (display_name, bio):
        return False
    user.display_name, user.bio = display_name, bio
    session.add(user)
    await session.flush()
    return True
