"""The permission matrix: every moderation action × every role, allowed or
refused, with the state checked unchanged on refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from forum.clock import utcnow
from forum.models import Post, PostRevision, Thread, User
from moderation.models import AuditEntry, Flag, Sanction, Word
from tests.factories import make_category, make_reply, make_thread

ROLES = ("anonymous", "member", "author", "staff", "moderator", "admin")
MODERATORS = {"moderator", "admin"}
ADMINS = {"admin"}
MEMBERS = {"member", "staff", "moderator", "admin"}  # signed in, not the author


@dataclass
class World:
    thread: Thread
    reply: Post
    original: Thread
    category_slug: str
    author: User
    other: User


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    allowed: set[str]
    data: dict[str, str] = field(default_factory=dict)
    # Prepares the state the action needs (a hidden post to restore, ...).
    setup: str = ""
    # GET pages change nothing even when allowed.
    reads: bool = False


CASES = [
    Case("flag", "POST", "/p/{reply}/flag", MEMBERS, {"reason": "spam"}),
    Case("dismiss", "POST", "/mod/p/{reply}/dismiss", MODERATORS, setup="flagged"),
    Case("hide", "POST", "/mod/p/{reply}/hide", MODERATORS, {"reason": "spam"}),
    Case("restore", "POST", "/mod/p/{reply}/restore", MODERATORS, setup="hidden"),
    Case("delete", "POST", "/mod/p/{reply}/delete", MODERATORS, {"reason": "spam"}),
    Case("edit", "POST", "/mod/p/{reply}/edit", MODERATORS, {"body": "Edited by a moderator", "reason": "tidy"}),
    Case("lock", "POST", "/mod/t/{thread}/lock", MODERATORS),
    Case("unlock", "POST", "/mod/t/{thread}/unlock", MODERATORS, setup="locked"),
    Case("pin", "POST", "/mod/t/{thread}/pin", MODERATORS),
    Case("unpin", "POST", "/mod/t/{thread}/unpin", MODERATORS, setup="pinned"),
    Case("move", "POST", "/mod/t/{thread}/move", MODERATORS, {"category": "{category}"}),
    Case("duplicate", "POST", "/mod/t/{thread}/duplicate", MODERATORS, {"original": "{original}"}),
    Case("reopen", "POST", "/mod/t/{thread}/reopen", MODERATORS, setup="duplicate"),
    Case("warn", "POST", "/mod/u/{author}/warn", MODERATORS, {"reason": "Be kind"}),
    Case("silence", "POST", "/mod/u/{author}/silence", MODERATORS, {"reason": "Cool off", "hours": "24"}),
    Case("suspend", "POST", "/mod/u/{author}/suspend", MODERATORS, {"reason": "Threats", "hours": "72"}),
    Case("ban", "POST", "/mod/u/{author}/ban", MODERATORS, {"reason": "Spam bot"}),
    Case("lift", "POST", "/mod/u/{author}/lift", MODERATORS, {"kind": "silence"}, setup="silenced"),
    Case("queue", "GET", "/mod/queue", MODERATORS, reads=True),
    Case("history", "GET", "/mod/p/{reply}/history", MODERATORS, reads=True),
    Case("edit form", "GET", "/mod/p/{reply}/edit", MODERATORS, reads=True),
    Case("user record", "GET", "/mod/u/{author}", MODERATORS, reads=True),
    Case("audit log", "GET", "/admin/audit", MODERATORS, reads=True),
    Case("word lists", "GET", "/admin/words", ADMINS, reads=True),
    Case("add word", "POST", "/admin/words", ADMINS, {"kind": "blocked", "word": "바카라"}),
    Case("grant role", "POST", "/admin/roles", ADMINS, {"username": "{other}", "role": "staff"}),
]


async def _world(db, author: User, other: User) -> World:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        thread = await make_thread(s, author=author, title="권한 매트릭스 질문")
        reply = await make_reply(s, thread, author=author, body="작성자의 답변입니다")
        original = await make_thread(s, title="The original question")
        await make_category(s, slug="elsewhere")
    return World(thread, reply, original, "elsewhere", author, other)


async def _prepare(db, world: World, setup: str) -> None:  # type: ignore[no-untyped-def]
    if not setup:
        return
    now = utcnow()
    async with db.begin() as s:
        reply = await s.get(Post, world.reply.id)
        thread = await s.get(Thread, world.thread.id)
        author = await s.get(User, world.author.id)
        assert reply is not None and thread is not None and author is not None
        if setup == "flagged":
            s.add(Flag(post_id=reply.id, user_id=world.other.id, reason="spam"))
            reply.hidden_at, reply.hidden_reason = now, "flags"
            thread.reply_count -= 1
        elif setup == "hidden":
            reply.hidden_at, reply.hidden_reason = now, "moderator"
            thread.reply_count -= 1
        elif setup == "locked":
            thread.locked_at = now
        elif setup == "pinned":
            thread.pinned_at = now
        elif setup == "duplicate":
            thread.duplicate_of_id, thread.locked_at = world.original.id, now
        elif setup == "silenced":
            author.silenced_until = now + timedelta(days=1)


async def _snapshot(db, world: World) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async with db() as s:
        reply = await s.get(Post, world.reply.id)
        thread = await s.get(Thread, world.thread.id)
        author = await s.get(User, world.author.id)
        other = await s.get(User, world.other.id)
        assert reply is not None and thread is not None and author is not None and other is not None
        counts = {
            model.__name__: await s.scalar(select(func.count()).select_from(model))
            for model in (Flag, Sanction, AuditEntry, Word, PostRevision)
        }
        open_flags = await s.scalar(select(func.count()).select_from(Flag).where(Flag.resolved_at.is_(None)))  # type: ignore[union-attr]
    return {
        "reply": (reply.body, reply.hidden_at, reply.hidden_reason, reply.deleted_at),
        "thread": (
            thread.locked_at,
            thread.pinned_at,
            thread.category_id,
            thread.duplicate_of_id,
            thread.hidden_at,
            thread.deleted_at,
            thread.reply_count,
        ),
        "author": (author.role, author.silenced_until, author.suspended_until, author.banned_at),
        "other": other.role,
        "open_flags": open_flags,
        **counts,
    }


def _fill(text: str, world: World) -> str:
    return text.format(
        reply=world.reply.id,
        thread=world.thread.id,
        author=world.author.username,
        other=world.other.username,
        original=world.original.id,
        category=world.category_slug,
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_permission_matrix(client, db, member, other_member, staff, moderator, admin, case: Case, role: str):
    world = await _world(db, member, other_member)
    await _prepare(db, world, case.setup)
    users = {"member": other_member, "author": member, "staff": staff, "moderator": moderator, "admin": admin}
    if role != "anonymous":
        await client.login_as(users[role])
    before = await _snapshot(db, world)
    path = _fill(case.path, world)
    if case.method == "GET":
        r = await client.get(path)
    else:
        r = await client.submit(path, {k: _fill(v, world) for k, v in case.data.items()})
    after = await _snapshot(db, world)

    if role in case.allowed:
        assert r.status_code == (200 if case.reads else 303), (case.name, role, r.text[:500])
        if case.reads:
            assert after == before
        else:
            assert after != before, (case.name, role)
    else:
        if role == "anonymous":
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (case.name, r.status_code)
        else:
            assert r.status_code == 403, (case.name, role, r.status_code)
        assert after == before, (case.name, role)
