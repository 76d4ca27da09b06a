"""``forum import threads FILE.jsonl``: threads from other systems.

One JSON object a line::

    {"external_id": str, "title": str, "body": str, "category": str?, "author": str?,
     "created_at": ISO-8601?, "views": int?, "tags": [str]? (at most 5, created if new),
     "replies": [{"body": str, "author": str?, "created_at": str?, "accepted": bool?, "staff": bool?}]?}

* Idempotent by ``external_id``: a thread already imported (or repeated in
  the file) is skipped, so running an import twice changes nothing.
* Missing categories and authors are created. Authors get an unusable
  password (they cannot log in until they reset it), so no slow password
  hashing happens per author.
* A bad line is reported with its line number and skipped; a line is saved
  whole or not at all (a savepoint per line when a batch has to be retried).
* Batches of ``batch_size`` lines are committed one by one (an interrupted
  import keeps what it finished and, being idempotent, can simply be re-run).
  Each thread's analyser terms are stored with it, so topic detection and
  similar questions never analyse an imported text again.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic_core import PydanticUndefined
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from forum import markdown, search
from forum.clock import utcnow
from forum.db import id_col
from forum.errors import ValidationError
from forum.i18n import gettext as _
from forum.models import Category, Post, Role, Thread, ThreadKind, ThreadTerms, User
from forum.services import categories, related, tags
from forum.services.accounts import USERNAME_RE, username_key
from forum.text import BODY_CHARS, ThreadText, get_analyzer
from forum.textutil import normalise, one_line, slugify
from forum.topics import store

TITLE_MAX = 300
BODY_MAX = 100_000
EXTERNAL_ID_MAX = 200
NAME_MAX = 80
REPLIES_MAX = 1000
DEFAULT_CATEGORY = "Imported"
DEFAULT_AUTHOR = "imported-user"
# No scrypt hash has this form: verify_password() refuses it, so the account
# cannot log in until a password reset sets a real one.
UNUSABLE_PASSWORD = "!"


class LineError(ValueError):
    pass


@dataclass
class ReplyRecord:
    body: str
    author: str | None
    created_at: datetime | None
    accepted: bool
    staff: bool


@dataclass
class Record:
    line_no: int
    external_id: str
    title: str
    body: str
    category: str | None
    author: str | None
    created_at: datetime | None
    views: int
    replies: list[ReplyRecord]
    tags: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    imported: int = 0
    replies: int = 0
    existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    categories_created: int = 0
    authors_created: int = 0
    seconds: float = 0.0


# ---------------------------------------------------------------- parsing


def _string(obj: dict, key: str, *, required: bool = False) -> str | None:  # type: ignore[type-arg]
    value = obj.get(key)
    if value is None:
        if required:
            raise LineError(_("%(field)s is missing.", field=key))
        return None
    if not isinstance(value, str):
        raise LineError(_("%(field)s must be a string.", field=key))
    return value


def parse_time(value: str, key: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise LineError(_("%(field)s is not an ISO-8601 time: %(value)s", field=key, value=value[:40])) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _bool(obj: dict, key: str) -> bool:  # type: ignore[type-arg]
    value = obj.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise LineError(_("%(field)s must be true or false.", field=key))
    return value


def _name(value: str | None, key: str) -> str | None:
    if value is None:
        return None
    value = one_line(value)
    if len(value) > NAME_MAX:
        raise LineError(_("%(field)s can have at most %(n)s characters.", field=key, n=NAME_MAX))
    return value or None


def parse_line(raw: bytes | str, line_no: int) -> Record | None:
    """One line of the file as a record; None for a blank line. Raises
    ``LineError`` with a message saying what is wrong."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise LineError(_("The line is not valid UTF-8.")) from None
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(_("The line is not valid JSON (%(error)s).", error=exc.msg)) from None
    if not isinstance(obj, dict):
        raise LineError(_("The line must hold a JSON object."))
    external_id = obj.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if external_id is None:
        raise LineError(_("%(field)s is missing.", field="external_id"))
    if not isinstance(external_id, str):
        raise LineError(_("%(field)s must be a string.", field="external_id"))
    external_id = external_id.strip()
    if not external_id:
        raise LineError(_("%(field)s is empty.", field="external_id"))
    if len(external_id) > EXTERNAL_ID_MAX:
        raise LineError(_("%(field)s can have at most %(n)s characters.", field="external_id", n=EXTERNAL_ID_MAX))
    title = one_line(_string(obj, "title", required=True) or "")
    if not title:
        raise LineError(_("%(field)s is empty.", field="title"))
    if len(title) > TITLE_MAX:
        raise LineError(_("%(field)s can have at most %(n)s characters.", field="title", n=TITLE_MAX))
    body = normalise(_string(obj, "body", required=True) or "")
    if len(body) > BODY_MAX:
        raise LineError(_("%(field)s can have at most %(n)s characters.", field="body", n=BODY_MAX))
    category = _name(_string(obj, "category"), "category")
    author = _name(_string(obj, "author"), "author")
    created = _string(obj, "created_at")
    created_at = parse_time(created, "created_at") if created else None
    views = obj.get("views", 0)
    if views is None:
        views = 0
    if isinstance(views, bool) or not isinstance(views, int) or views < 0:
        raise LineError(_("%(field)s must be a whole number of at least 0.", field="views"))
    raw_replies = obj.get("replies") or []
    if not isinstance(raw_replies, list):
        raise LineError(_("%(field)s must be a list.", field="replies"))
    if len(raw_replies) > REPLIES_MAX:
        raise LineError(_("%(field)s can have at most %(n)s items.", field="replies", n=REPLIES_MAX))
    replies: list[ReplyRecord] = []
    for n, item in enumerate(raw_replies, start=1):
        try:
            if not isinstance(item, dict):
                raise LineError(_("A reply must be a JSON object."))
            reply_body = normalise(_string(item, "body", required=True) or "")
            if not reply_body:
                raise LineError(_("%(field)s is empty.", field="body"))
            if len(reply_body) > BODY_MAX:
                raise LineError(_("%(field)s can have at most %(n)s characters.", field="body", n=BODY_MAX))
            when = _string(item, "created_at")
            replies.append(
                ReplyRecord(
                    body=reply_body,
                    author=_name(_string(item, "author"), "author"),
                    created_at=parse_time(when, "created_at") if when else None,
                    accepted=_bool(item, "accepted"),
                    staff=_bool(item, "staff"),
                )
            )
        except LineError as exc:
            raise LineError(_("reply %(n)s: %(error)s", n=n, error=str(exc))) from None
    raw_tags = obj.get("tags") or []
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        raise LineError(_("%(field)s must be a list of strings.", field="tags"))
    try:
        tag_names = tags.parse_names(raw_tags)
    except ValidationError as exc:
        raise LineError(_("tags: %(error)s", error=exc.errors["tags"])) from None
    return Record(line_no, external_id, title, body, category, author, created_at, views, replies, tag_names)


# ---------------------------------------------------------------- names


_USERNAME_DROP = re.compile(r"[^0-9A-Za-z_.가-힣-]+")


def import_username(name: str) -> str:
    """A valid, stable username for an author name from another system."""
    if USERNAME_RE.match(name):
        return name
    import hashlib

    base = _USERNAME_DROP.sub("-", name).strip("-._")[:20] or "user"
    if not re.match(r"^[0-9A-Za-z_가-힣]", base):
        base = "u" + base
    suffix = hashlib.blake2b(name.encode(), digest_size=3).hexdigest()
    return f"{base}-{suffix}"[:30]


class _Names:
    """Categories and authors by name, created on first use."""

    def __init__(self) -> None:
        self.categories: dict[str, int] = {}
        self.slugs: set[str] = set()
        self.users: dict[str, int] = {}
        self.loaded = False

    async def load(self, session: AsyncSession) -> None:
        if self.loaded:
            return
        for cat in (await session.scalars(select(Category))).all():
            assert cat.id is not None
            self.slugs.add(cat.slug)
            for key in (cat.slug, cat.name_en.casefold(), cat.name_ko.casefold()):
                self.categories.setdefault(key, cat.id)
        self.loaded = True

    async def category_ids(self, session: AsyncSession, names: set[str], report: ImportReport) -> None:
        for name in sorted(names):
            key = name.casefold()
            if key in self.categories or slugify(name)[:60] in self.categories:
                continue
            slug = base = slugify(name, max_length=50) or "category"
            n = 1
            while slug in self.slugs:
                n += 1
                slug = f"{base}-{n}"
            category = Category(slug=slug, name_en=name, name_ko=name, position=1000 + len(self.slugs))
            session.add(category)
            await session.flush()
            assert category.id is not None
            self.slugs.add(slug)
            self.categories[key] = self.categories[slug] = category.id
            report.categories_created += 1

    def category_id(self, name: str) -> int:
        return self.categories.get(name.casefold()) or self.categories[slugify(name)[:60]]

    async def user_ids(self, session: AsyncSession, names: set[str], report: ImportReport) -> None:
        wanted = {username_key(import_username(n)): n for n in names if n not in self.users}
        if not wanted:
            return
        keys = sorted(wanted)
        found: dict[str, int] = {}
        for start in range(0, len(keys), store.IN_CHUNK):
            result = await session.execute(
                select(col(User.username_key), id_col(User.id)).where(
                    col(User.username_key).in_(keys[start : start + store.IN_CHUNK])
                )
            )
            found.update({k: i for k, i in result.all()})
        missing = [k for k in keys if k not in found]
        if missing:
            table = User.__table__  # type: ignore[attr-defined]
            rows = [
                {
                    **_column_defaults(User),
                    "username": import_username(wanted[k]),
                    "username_key": k,
                    "display_name": wanted[k][:50],
                    "email": None,
                    "email_key": None,
                    "password_hash": UNUSABLE_PASSWORD,
                    "role": Role.member.value,
                    "created_at": utcnow(),
                }
                for k in missing
            ]
            ids = (
                (await session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
                .scalars()
                .all()
            )
            found.update(zip(missing, ids, strict=True))
            report.authors_created += len(rows)
        for k, name in wanted.items():
            self.users[name] = found[k]


# ---------------------------------------------------------------- importing


@functools.cache
def _column_defaults(model: type) -> dict[str, object]:
    """The model's default for every column (rows are inserted with Core,
    which does not apply the models' own defaults)."""
    table = model.__table__  # type: ignore[attr-defined]
    out: dict[str, object] = {}
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        if name not in table.c or table.c[name].primary_key:
            continue
        if info.default_factory is not None:
            out[name] = info.default_factory()
        elif info.default is not PydanticUndefined and info.default is not None:
            out[name] = info.default.value if isinstance(info.default, enum.Enum) else info.default
    return out


def _rows(record: Record, names: _Names, now: datetime) -> tuple[dict[str, object], list[dict[str, object]], int]:
    """The thread row (with the counters the thread services keep), its post
    rows (opening post first) and the index of the accepted post (or -1)."""
    created = record.created_at or now
    author_id = names.users[record.author or DEFAULT_AUTHOR]
    thread: dict[str, object] = {
        **_column_defaults(Thread),
        "category_id": names.category_id(record.category or DEFAULT_CATEGORY),
        "author_id": author_id,
        "kind": ThreadKind.question.value,
        "title": record.title,
        "slug": slugify(record.title),
        "external_id": record.external_id,
        "created_at": created,
        "last_activity_at": created,
        "views": record.views,
        "reply_count": len(record.replies),
        "solved_at": None,
    }
    thread["language"] = ThreadText(record.title, record.body).language
    post_defaults = _column_defaults(Post)
    posts = [
        {
            **post_defaults,
            "author_id": author_id,
            "is_first": True,
            "body": record.body,
            "body_html": markdown.render(record.body),
            "by_staff": False,
            "created_at": created,
        }
    ]
    accepted = -1
    first_response = first_staff = None
    last_activity = created
    for n, reply in enumerate(record.replies, start=1):
        at = reply.created_at or created
        reply_author = names.users[reply.author or DEFAULT_AUTHOR]
        posts.append(
            {
                **post_defaults,
                "author_id": reply_author,
                "is_first": False,
                "body": reply.body,
                "body_html": markdown.render(reply.body),
                "by_staff": reply.staff,
                "created_at": at,
            }
        )
        last_activity = max(last_activity, at)
        if reply_author != author_id:
            first_response = at if first_response is None else min(first_response, at)
            if reply.staff:
                first_staff = at if first_staff is None else min(first_staff, at)
        if reply.accepted and accepted < 0:
            accepted = n
            thread["solved_at"] = at
    thread.update(
        last_activity_at=last_activity,
        first_response_at=first_response,
        first_staff_response_at=first_staff,
        staff_replied=first_staff is not None,
    )
    return thread, posts, accepted


async def _save(session: AsyncSession, records: list[Record], names: _Names, now: datetime) -> None:
    """Inserts the records' threads, posts and terms: a few statements per
    batch, whatever its size."""
    built = [_rows(r, names, now) for r in records]
    threads_table = Thread.__table__  # type: ignore[attr-defined]
    posts_table = Post.__table__  # type: ignore[attr-defined]
    thread_ids = (
        (
            await session.execute(
                insert(threads_table).returning(threads_table.c.id, sort_by_parameter_order=True),
                [t for t, _p, _a in built],
            )
        )
        .scalars()
        .all()
    )
    post_rows = []
    for thread_id, (_t, posts, _a) in zip(thread_ids, built, strict=True):
        for post in posts:
            post["thread_id"] = thread_id
            post_rows.append(post)
    post_ids = (
        (
            await session.execute(
                insert(posts_table).returning(posts_table.c.id, sort_by_parameter_order=True), post_rows
            )
        )
        .scalars()
        .all()
    )
    accepted: list[dict[str, int]] = []
    offset = 0
    for thread_id, (_t, posts, index) in zip(thread_ids, built, strict=True):
        if index >= 0:
            accepted.append({"tid": thread_id, "pid": post_ids[offset + index]})
        offset += len(posts)
    if accepted:
        await session.execute(
            update(threads_table)
            .where(threads_table.c.id == bindparam("tid"))
            .values(accepted_post_id=bindparam("pid")),
            accepted,
        )
    texts = [
        store.LoadedThread(tid, r.title, r.body[:BODY_CHARS], now, 0, False, 0, None, "")
        for tid, r in zip(thread_ids, records, strict=True)
    ]
    terms = store.analyse(get_analyzer(), texts)
    rows = [
        {"thread_id": t.id, "digest": t.digest, "title_terms": " ".join(tt), "body_terms": " ".join(bt)}
        for t, (tt, bt) in zip(texts, terms, strict=True)
    ]
    await session.execute(insert(ThreadTerms.__table__), rows)  # type: ignore[attr-defined]
    await related.queue(session, thread_ids, at=now)
    # In the batch's savepoint: a batch retried line by line counts only what it saved.
    await categories.threads_added(session, [t for t, _p, _a in built])
    tag_names = sorted({name for r in records for name in r.tags})
    if tag_names:
        by_name = {t.name: t for t in await tags.resolve(session, tag_names, user=None, category_id=None)}
        await tags.tags_added(
            session,
            [(tid, by_name[n].id, True) for tid, r in zip(thread_ids, records, strict=True) for n in r.tags],  # type: ignore[misc]
        )


async def _import_batch(
    sessionmaker: async_sessionmaker[AsyncSession], records: list[Record], names: _Names, report: ImportReport
) -> None:
    async with sessionmaker.begin() as session:
        await names.load(session)
        ids = sorted({r.external_id for r in records})
        existing: set[str | None] = set()
        for start in range(0, len(ids), store.IN_CHUNK):
            existing.update(
                (
                    await session.scalars(
                        select(col(Thread.external_id)).where(
                            col(Thread.external_id).in_(ids[start : start + store.IN_CHUNK])
                        )
                    )
                ).all()
            )
        fresh: list[Record] = []
        seen: set[str] = set()
        for r in records:
            if r.external_id in existing or r.external_id in seen:
                report.existing += 1
            else:
                seen.add(r.external_id)
                fresh.append(r)
        if not fresh:
            return
        await names.category_ids(session, {r.category or DEFAULT_CATEGORY for r in fresh}, report)
        authors = {r.author or DEFAULT_AUTHOR for r in fresh}
        authors |= {reply.author or DEFAULT_AUTHOR for r in fresh for reply in r.replies}
        await names.user_ids(session, authors, report)
        now = utcnow()
        try:
            async with session.begin_nested():
                await _save(session, fresh, names, now)
            report.imported += len(fresh)
            report.replies += sum(len(r.replies) for r in fresh)
            await _index_for_search(session, fresh)
            return
        except IntegrityError:
            pass  # retried line by line below, so one bad line costs only itself
        for record in fresh:
            try:
                async with session.begin_nested():
                    await _save(session, [record], names, now)
            except IntegrityError as exc:
                report.errors.append(
                    (
                        record.line_no,
                        _("The database refused it (%(error)s).", error=str(exc.orig).splitlines()[0][:200]),
                    )
                )
            else:
                report.imported += 1
                report.replies += len(record.replies)
        await _index_for_search(session, fresh)


async def _index_for_search(session: AsyncSession, records: list[Record]) -> None:
    """Imported threads are searchable at once, in the batch's transaction."""
    ids = (
        await session.scalars(
            select(col(Thread.id)).where(col(Thread.external_id).in_([r.external_id for r in records]))
        )
    ).all()
    await search.index_threads(session, ids)  # type: ignore[arg-type]


async def import_threads(
    sessionmaker: async_sessionmaker[AsyncSession],
    lines: Iterable[bytes | str],
    *,
    batch_size: int = 500,
    on_error: Callable[[int, str], None] | None = None,
    advance: Callable[[int], None] | None = None,
) -> ImportReport:
    """Imports JSONL ``lines`` (line numbers start at 1). Commits batch by batch."""
    started = time.perf_counter()
    report = ImportReport()
    names = _Names()
    batch: list[Record] = []
    pending = 0

    def bad(line_no: int, message: str) -> None:
        report.errors.append((line_no, message))
        if on_error:
            on_error(line_no, message)

    async def flush() -> None:
        nonlocal batch, pending
        known = len(report.errors)
        await _import_batch(sessionmaker, batch, names, report)
        if on_error:
            for line_no, message in report.errors[known:]:
                on_error(line_no, message)
        if advance:
            advance(pending)
        batch, pending = [], 0

    for line_no, raw in enumerate(lines, start=1):
        pending += 1
        try:
            record = parse_line(raw, line_no)
        except LineError as exc:
            bad(line_no, str(exc))
            continue
        if record is not None:
            batch.append(record)
        if len(batch) >= batch_size:
            await flush()
    if batch or pending:
        await flush()
    report.seconds = time.perf_counter() - started
    return report
