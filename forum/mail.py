"""Sends the email outbox, after commit, through SMTP.

Events write ``OutboxEmail`` rows in their own transaction
(``forum.services.notifications``); this job sends them later, from the web
processes' scheduler or ``forum worker``. Without ``FORUM_SMTP_URL`` it does
nothing and the rows wait.

Two processes may run it at once. Each claims rows with one UPDATE that only
matches rows nobody holds (``claim_token`` plus a lease end, ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL; SQLite serialises writers), then records each
outcome in its own transaction, so a message is sent once unless a sender
dies between the SMTP reply and that commit (then the lease expires and the
message goes again: at least once, never twice in the normal course).

A temporary failure (a 4xx reply, a refused or dropped connection) is tried
again after 1, 2, 4, ... minutes, up to ``mail_max_attempts`` attempts; a
permanent one (5xx) fails at once. Either way the error is kept in
``last_error``. A row is rendered when sent, with what is true then: a post
hidden since, a recipient banned or opted out since, or a row older than
``MAX_AGE`` is dropped instead.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlmodel import col

from forum.clock import utcnow
from forum.config import ConfigError, Settings
from forum.i18n import LOCALES, lazy, using_locale
from forum.i18n import gettext as _
from forum.models import (
    Article,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxEmail,
    OutboxStatus,
    Post,
    User,
)
from forum.search.snippets import plain_text
from forum.services.notifications import leads_to, wants_email
from forum.urls import user_url

log = logging.getLogger("forum.mail")

EXCERPT_CHARS = 500
# Older unsent rows (SMTP was off, or down for days) are dropped, not sent late.
MAX_AGE = timedelta(days=2)
BATCH = 50
SMTP_TIMEOUT = 30.0
SECURITY = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # plain | starttls | ssl
    sender: str
    username: str = ""
    password: str = ""

    def __repr__(self) -> str:  # never print the password
        return f"SmtpConfig({self.security}://{self.host}:{self.port}, from {self.sender!r})"


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The SMTP server from ``FORUM_SMTP_URL`` and ``FORUM_SMTP_FROM``, or
    None when email is off."""
    if not settings.smtp_url:
        return None
    parts = urlsplit(settings.smtp_url)
    security = SECURITY.get(parts.scheme)
    if security is None or not parts.hostname:
        raise ConfigError("FORUM_SMTP_URL must look like smtp://, smtp+starttls:// or smtps://user:pass@host:port.")
    if not settings.smtp_from:
        raise ConfigError("FORUM_SMTP_FROM must be set when FORUM_SMTP_URL is.")
    try:
        port = parts.port or (465 if security == "ssl" else 587 if security == "starttls" else 25)
    except ValueError:
        raise ConfigError("FORUM_SMTP_URL has a bad port.") from None
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        security=security,
        sender=settings.smtp_from,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


class SendError(Exception):
    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class Connection:
    """One SMTP connection for a batch, opened on first use and again after an error."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        c = self.config
        smtp: smtplib.SMTP
        if c.security == "ssl":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=SMTP_TIMEOUT)
            if c.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if c.username:
            smtp.login(c.username, c.password)
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._open()
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            self.close()
            raise SendError(_describe(exc), temporary=all(400 <= code < 500 for code in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise SendError(_describe(exc), temporary=400 <= exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(_describe(exc), temporary=True) from exc
        if refused:  # one recipient per message: not reached, but never claim success for a refusal
            raise SendError(f"refused: {refused!r}", temporary=False)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


# ---------------------------------------------------------------- the message


SUBJECTS = {
    NotificationKind.answer: lazy("New answer to your question: %(title)s"),
    NotificationKind.reply: lazy("New reply in a thread you watch: %(title)s"),
    NotificationKind.accepted: lazy("Your answer was accepted: %(title)s"),
    NotificationKind.official: lazy("Your answer was marked official: %(title)s"),
    NotificationKind.article: lazy("Your question is answered in the knowledge base: %(title)s"),
    NotificationKind.mention: lazy("You were mentioned in: %(title)s"),
    NotificationKind.spike: lazy("A topic is spiking: %(title)s"),
}
HEADLINES = {
    NotificationKind.answer: lazy("%(name)s answered your question “%(title)s”:"),
    NotificationKind.reply: lazy("%(name)s replied in “%(title)s”:"),
    NotificationKind.accepted: lazy("%(name)s accepted your answer to “%(title)s”:"),
    NotificationKind.official: lazy("%(name)s marked your answer to “%(title)s” as the official answer:"),
    NotificationKind.article: lazy("%(name)s answered your question “%(title)s” with a knowledge-base article:"),
    NotificationKind.mention: lazy("%(name)s mentioned you in “%(title)s”:"),
    NotificationKind.spike: lazy("Many new threads like “%(title)s” arrived in the last hour:"),
}


def excerpt(post: Post | Article, limit: int = EXCERPT_CHARS) -> str:
    """The start of a post or article as plain text (from its Markdown, never its HTML)."""
    text = plain_text(post.body)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def compose(
    settings: Settings,
    sender: str,
    notification: Notification,
    address: str,
    locale: str,
    article: Article | None = None,
) -> EmailMessage:
    """The email about one notification, in the recipient's language, linking to
    where it leads (``forum.services.notifications.leads_to``; ``article``: the
    one that answers the question, for that kind)."""
    kind = NotificationKind(notification.kind)
    thread, post = notification.thread, notification.post
    base = settings.base_url.rstrip("/")
    with using_locale(locale):
        name = notification.actor.display_name if notification.actor else _("Someone")
        subject = _(SUBJECTS[kind], title=thread.title)
        url = base + leads_to(notification, article)
        if kind is NotificationKind.spike:
            shown = excerpt(post)
            link = _("See the spikes: %(url)s", url=url)
        elif kind is NotificationKind.article and article is not None:
            shown = f"{article.title}\n\n{excerpt(article)}"
            link = _("Read the article: %(url)s", url=url)
        else:
            shown = excerpt(post)
            link = _("Read it and reply: %(url)s", url=url)
        quoted = "\n".join(f"> {line}".rstrip() for line in shown.splitlines() or [""])
        body = "\n\n".join(
            [
                _(HEADLINES[kind], name=name, title=thread.title),
                quoted,
                link,
                "-- \n"
                + _(
                    "You get this email because of your notification settings. Change them here: %(url)s",
                    url=f"{base}{user_url(notification.user)}#email-choices",
                ),
            ]
        )
    return _message(settings, sender, address, subject, body, locale)


def _message(settings: Settings, sender: str, address: str, subject: str, body: str, locale: str) -> EmailMessage:
    """A plain-text email from the forum."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = address
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body + "\n")
    message["Content-Language"] = locale  # after set_content, which replaces Content-* headers
    return message


def compose_confirmation(
    settings: Settings, sender: str, user: User, address: str, link: str, locale: str
) -> EmailMessage:
    """The email that asks the owner of ``address`` to confirm it is theirs."""
    base = settings.base_url.rstrip("/")
    with using_locale(locale):
        subject = _("Confirm your email address")
        body = "\n\n".join(
            [
                _(
                    "%(name)s (%(username)s) asked to use this address for email from the forum.",
                    name=user.display_name,
                    username=user.username,
                ),
                _("To confirm it is yours, open this link within three days: %(url)s", url=base + link),
                _("If you did not ask for this, ignore this email: nothing changes."),
            ]
        )
    return _message(settings, sender, address, subject, body, locale)


def compose_password_reset(settings: Settings, sender: str, user: User, link: str, locale: str) -> EmailMessage:
    """The email with a password reset link, to the account's confirmed address."""
    base = settings.base_url.rstrip("/")
    with using_locale(locale):
        subject = _("Reset your password")
        body = "\n\n".join(
            [
                _(
                    "Someone, probably you, asked to reset the password of %(name)s (%(username)s).",
                    name=user.display_name,
                    username=user.username,
                ),
                _("To choose a new password, open this link within an hour: %(url)s", url=base + link),
                _("The link works once. If you did not ask for this, ignore this email: your password stays as it is."),
            ]
        )
    return _message(settings, sender, user.email or "", subject, body, locale)


def send_now(config: SmtpConfig, message: EmailMessage) -> None:
    """Sends one message at once (a confirmation link: the person is waiting for it,
    and only they can ask again). Raises :class:`SendError`."""
    connection = Connection(config)
    try:
        connection.send(message)
    finally:
        connection.close()


# ---------------------------------------------------------------- the job


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after the first, second, third attempt; at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def claim(engine: Engine, token: str, *, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Takes up to ``limit`` due rows for this sender and counts the attempt."""
    due = (
        col(OutboxEmail.status) == OutboxStatus.pending.value,
        col(OutboxEmail.next_attempt_at) <= now,
        or_(col(OutboxEmail.claimed_until).is_(None), col(OutboxEmail.claimed_until) < now),
    )
    candidates = (
        select(col(OutboxEmail.id))
        .where(*due)
        .order_by(col(OutboxEmail.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as conn:
        # Two steps, not UPDATE ... WHERE id IN (SELECT ... LIMIT): PostgreSQL
        # may run such a subquery more than once and claim more than ``limit``.
        # On PostgreSQL the SELECT locks its rows (skipping others' locked
        # ones) until commit; on SQLite it reads outside the write, so the
        # UPDATE checks the conditions again and only our token counts.
        ids = list(conn.scalars(candidates))
        if not ids:
            return []
        conn.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id).in_(ids), *due)
            .values(claim_token=token, claimed_until=now + lease, attempts=OutboxEmail.attempts + 1)
        )
        return list(
            conn.scalars(
                select(col(OutboxEmail.id))
                .where(col(OutboxEmail.claim_token) == token, col(OutboxEmail.status) == OutboxStatus.pending.value)
                .order_by(col(OutboxEmail.id))
            )
        )


def _finish(engine: Engine, row_id: int, token: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == row_id, col(OutboxEmail.claim_token) == token)
            .values(claim_token=None, claimed_until=None, **values)
        )


def _load(
    session: Session, row_id: int
) -> tuple[OutboxEmail, Notification, NotificationPreference | None, Article | None]:
    row = session.get(OutboxEmail, row_id)
    assert row is not None
    notification = session.scalars(
        select(Notification)
        .options(
            joinedload(Notification.thread),  # type: ignore[arg-type]
            joinedload(Notification.post),  # type: ignore[arg-type]
            joinedload(Notification.actor),  # type: ignore[arg-type]
            joinedload(Notification.user),  # type: ignore[arg-type]
        )
        .where(col(Notification.id) == row.notification_id)
    ).one()
    article = None
    if notification.kind == NotificationKind.article.value and notification.thread.article_id is not None:
        article = session.get(Article, notification.thread.article_id)
    return row, notification, session.get(NotificationPreference, notification.user_id), article


def _still_wanted(
    notification: Notification, preference: NotificationPreference | None, article: Article | None
) -> bool:
    user = notification.user
    if notification.kind == NotificationKind.article.value and (article is None or not article.published):
        return False  # unlinked or unpublished since
    return (
        notification.post.visible
        and notification.thread.visible
        and user.banned_at is None
        and bool(user.email)
        and user.email_confirmed_at is not None
        and wants_email(NotificationKind(notification.kind), preference)
    )


def run(settings: Settings, *, engine: Engine, now: datetime | None = None, limit: int = BATCH) -> SendReport:
    """Sends what is due. Safe to run in several processes at once."""
    report = SendReport()
    config = smtp_config(settings)
    if config is None:
        return report
    now = now or utcnow()
    token = uuid.uuid4().hex
    ids = claim(engine, token, now=now, limit=limit, lease=timedelta(seconds=settings.mail_claim_seconds))
    connection = Connection(config)
    try:
        for row_id in ids:
            with Session(engine) as session:
                row, notification, preference, article = _load(session, row_id)
                attempts = row.attempts
                if row.created_at < now - MAX_AGE or not _still_wanted(notification, preference, article):
                    message = None
                else:
                    locale = notification.user.locale
                    locale = locale if locale in LOCALES else settings.default_locale
                    message = compose(
                        settings, config.sender, notification, notification.user.email or "", locale, article
                    )
            if message is None:
                _finish(engine, row_id, token, status=OutboxStatus.dropped.value)
                report.dropped += 1
                continue
            try:
                connection.send(message)
            except SendError as exc:
                if exc.temporary and attempts < settings.mail_max_attempts:
                    _finish(engine, row_id, token, last_error=str(exc), next_attempt_at=now + backoff(attempts))
                    report.retrying += 1
                else:
                    _finish(engine, row_id, token, status=OutboxStatus.failed.value, last_error=str(exc))
                    report.failed += 1
                log.warning("email %s not sent (attempt %s): %s", row_id, attempts, exc)
                continue
            _finish(engine, row_id, token, status=OutboxStatus.sent.value, sent_at=utcnow(), last_error=None)
            report.sent += 1
    finally:
        connection.close()
    return report
