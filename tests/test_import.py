"""`forum import threads`: idempotent by external_id, creates what is missing,
skips bad lines whole, reports them by line number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from forum.models import Category, Post, Thread, ThreadTerms, User
from forum.security import verify_password
from forum.services.importer import UNUSABLE_PASSWORD, import_threads, import_username, parse_line
from tests.factories import make_category, make_user
from tests.kb_helpers import cli, jsonl

GOOD = [
    {
        "external_id": "zd-1",
        "title": "환불은 어떻게 받나요?",
        "body": "지난달 결제한 금액을 **환불** 받고 싶어요.",
        "category": "Billing",
        "author": "Kim Minji",
        "created_at": "2026-10-01T09:30:00Z",
        "views": 42,
        "replies": [
            {
                "body": "설정 > 결제에서 신청하세요.",
                "author": "Support Bot",
                "staff": True,
                "created_at": "2026-10-01T10:00:00+09:00",
            },
            {"body": "Thanks, that worked!", "author": "Kim Minji", "created_at": "2026-10-01T11:00:00Z"},
            {
                "body": "Same here: Settings > Billing > Refund.",
                "author": "lee",
                "accepted": True,
                "created_at": "2026-10-02T08:00:00",
            },
        ],
    },
    {"external_id": "zd-2", "title": "Export to CSV", "body": "Can I export my notes to CSV?"},
    {"external_id": 3, "title": "Numeric ids are fine", "body": "", "category": "billing"},
]


async def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def test_import_creates_threads_replies_categories_and_authors(db):
    report = await import_threads(db, jsonl(GOOD).splitlines())
    assert (report.imported, report.replies, report.errors) == (3, 3, [])
    # "Billing" and "billing" are one category; a line without one goes to "Imported".
    assert report.categories_created == 2
    async with db() as s:
        thread = await s.scalar(select(Thread).where(Thread.external_id == "zd-1"))
        assert thread.title == "환불은 어떻게 받나요?" and thread.views == 42
        assert thread.created_at == datetime(2026, 10, 1, 9, 30)
        assert thread.reply_count == 3
        assert thread.solved_at == datetime(2026, 10, 2, 8, 0)
        assert thread.staff_replied and thread.first_staff_response_at == datetime(2026, 10, 1, 1, 0)
        assert thread.first_response_at == datetime(2026, 10, 1, 1, 0)
        accepted = await s.get(Post, thread.accepted_post_id)
        assert accepted.body.startswith("Same here")
        posts = (await s.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.id))).all()
        assert posts[0].is_first and "<strong>환불</strong>" in posts[0].body_html
        assert [p.by_staff for p in posts] == [False, True, False, False]
        category = await s.get(Category, thread.category_id)
        assert category.name_en == "Billing"
        numeric = await s.scalar(select(Thread).where(Thread.external_id == "3"))
        assert numeric.category_id == category.id
        author = await s.get(User, thread.author_id)
        assert author.display_name == "Kim Minji" and author.username == import_username("Kim Minji")
        assert author.password_hash == UNUSABLE_PASSWORD and not verify_password("anything", author.password_hash)
        # Terms are stored with the thread: topic runs never analyse it again.
        assert await s.scalar(select(func.count()).select_from(ThreadTerms)) == 3


async def test_importing_twice_changes_nothing(db):
    await import_threads(db, jsonl(GOOD).splitlines())
    counts = [await _count(db, m) for m in (Thread, Post, User, Category)]
    again = await import_threads(db, jsonl(GOOD).splitlines())
    assert (again.imported, again.existing, again.errors) == (0, 3, [])
    assert [await _count(db, m) for m in (Thread, Post, User, Category)] == counts


async def test_existing_categories_and_authors_are_reused(db):
    async with db.begin() as s:
        category = await make_category(s, slug="billing", name_en="Billing")
        user = await make_user(s, username="lee")
    report = await import_threads(db, jsonl([GOOD[0]]).splitlines())
    assert report.categories_created == 0
    async with db() as s:
        thread = await s.scalar(select(Thread).where(Thread.external_id == "zd-1"))
        assert thread.category_id == category.id
        accepted = await s.get(Post, thread.accepted_post_id)
        assert accepted.author_id == user.id


async def test_bad_lines_are_reported_by_number_and_skipped_whole(db):
    lines = [
        GOOD[1],
        "{not json",
        {"external_id": "x1", "body": "no title"},
        {"external_id": "x2", "title": "Bad views", "body": "b", "views": -1, "category": "Never created"},
        {"external_id": "x3", "title": "Bad time", "body": "b", "created_at": "yesterday"},
        {"external_id": "x4", "title": "Bad reply", "body": "b", "replies": [{"body": "ok"}, {"author": "no body"}]},
        "",
        ["not", "an", "object"],
        {"external_id": "x5", "title": "t" * 301, "body": "b"},
        GOOD[2],
    ]
    errors: list[tuple[int, str]] = []
    report = await import_threads(db, jsonl(lines).splitlines(), on_error=lambda n, m: errors.append((n, m)))
    assert report.imported == 2
    assert [n for n, _ in errors] == [2, 3, 4, 5, 6, 8, 9]
    messages = dict(errors)
    assert "title" in messages[3] and "views" in messages[4] and "created_at" in messages[5]
    assert "reply 2" in messages[6] and "body" in messages[6]
    async with db() as s:
        ids = set((await s.scalars(select(Thread.external_id))).all())
        assert ids == {"zd-2", "3"}
        names = set((await s.scalars(select(Category.name_en))).all())
        assert "Never created" not in names


async def test_a_repeated_external_id_in_one_file_is_imported_once(db):
    lines = [GOOD[1], {**GOOD[1], "title": "Changed title"}]
    report = await import_threads(db, jsonl(lines).splitlines())
    assert (report.imported, report.existing) == (1, 1)
    async with db() as s:
        assert (await s.scalars(select(Thread.title))).all() == ["Export to CSV"]


def test_parse_line_accepts_a_date_and_offsets():
    record = parse_line('{"external_id": "a", "title": "T", "body": "b", "created_at": "2026-01-02"}', 1)
    assert record is not None and record.created_at == datetime(2026, 1, 2)
    assert parse_line("   ", 5) is None


def test_import_usernames_are_valid_and_stable():
    for name in ["Kim Minji", "support@example.com", "!!!", "김민지", "a" * 60]:
        username = import_username(name)
        assert 2 <= len(username) <= 30
        assert username == import_username(name)
    assert import_username("lee") == "lee"


def test_the_command_reports_bad_lines_and_a_summary(database_url, tmp_path):
    path = tmp_path / "threads.jsonl"
    path.write_text(jsonl([GOOD[1], "{oops", GOOD[2]]), encoding="utf-8")
    result = cli(database_url, "import", "threads", str(path), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{path}:2: skipped:" in result.stderr
    assert "Imported 2 threads" in result.stdout and "1 lines skipped" in result.stdout
    again = cli(database_url, "import", "threads", str(path), "--strict", tmp=tmp_path)
    assert again.returncode == 1 and "2 already imported" in again.stdout
    missing = cli(database_url, "import", "threads", str(tmp_path / "nope.jsonl"), tmp=tmp_path)
    assert missing.returncode != 0 and "cannot read" in missing.stderr
