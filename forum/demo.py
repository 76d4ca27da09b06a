"""Loads the demo content (``forum.demo_content``) into a database."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum import demo_content
from forum.clock import utcnow
from forum.models import Notification, Post, Role, Tag, User
from forum.services import accounts, banners, categories, threads, uploads
from forum.storage import Storage


def demo_password(username: str) -> str:
    # At least 12 characters, so that the password policy accepts it.
    return f"{username.split('_')[0]}-{secrets.token_hex(5)}"


def demo_screenshot() -> bytes:
    """A small PNG drawn here: the error a demo member attaches to their question."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (520, 200), (243, 244, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, 500, 180], fill=(255, 255, 255), outline=(160, 166, 178))
    draw.rectangle([20, 20, 500, 48], fill=(47, 111, 228))
    draw.text((32, 28), "Cloudnote 3.8.1", fill=(255, 255, 255))
    draw.ellipse([40, 70, 80, 110], fill=(192, 57, 43))
    draw.text((56, 82), "!", fill=(255, 255, 255))
    draw.text((100, 76), "Cloudnote stopped working.", fill=(29, 35, 48))
    draw.text((100, 98), "Error 0xC0000005 while loading the local cache.", fill=(93, 102, 120))
    draw.rectangle([400, 136, 484, 164], fill=(229, 231, 235), outline=(160, 166, 178))
    draw.text((428, 144), "Close", fill=(29, 35, 48))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


#: the demo question that comes with a screenshot (stored when a storage is given)
SCREENSHOT_THREAD = "Desktop app crashes on launch after update"


async def load_demo(
    session: AsyncSession, storage: Storage | None = None, *, spike_burst: bool = False
) -> list[tuple[User, str]]:
    """Fills an empty database; returns the accounts made with their passwords.
    With a ``storage``, one question carries an uploaded screenshot; with
    ``spike_burst`` (``forum demo``), six crash reports arrive in the last hour,
    for the Spikes tab (left out of the topic job's tests of the demo content)."""
    demo_content.check()
    made: list[tuple[User, str]] = []
    users: dict[str, User] = {}
    for spec in demo_content.USERS:
        password = demo_password(spec["username"])
        user = await accounts.do_signup(
            session,
            username=spec["username"],
            display_name=spec["display_name"],
            password=password,
            locale=spec["locale"],
            role=Role(spec["role"]),
        )
        users[user.username] = user
        made.append((user, password))
    cats = {}
    for position, spec in enumerate(demo_content.CATEGORIES):
        cats[spec["slug"]] = await categories.create_category(session, position=position, **spec)
    for name, label_en, label_ko in demo_content.TAGS:
        session.add(Tag(name=name, label_en=label_en, label_ko=label_ko))
    await session.flush()
    now = utcnow()
    for spec in demo_content.THREADS:
        asked_at = now - timedelta(days=spec["days_ago"])
        body = spec["body"]
        if storage is not None and spec["title"] == SCREENSHOT_THREAD:
            processed = uploads.process(demo_screenshot(), "crash.png", max_dimension=2048)
            shot = await uploads.store(
                session, storage, owner=users[spec["author"]], filename="crash.png", processed=processed
            )
            body = f"{body}\n\n{uploads.markdown_for(shot)}"
        thread = await threads.ask(
            session,
            author=users[spec["author"]],
            category=cats[spec["category"]],
            title=spec["title"],
            body=body,
            kind=spec["kind"],
            created_at=asked_at,
            tag_names=demo_content.THREAD_TAGS.get(spec["title"], []),
        )
        thread.views = spec["views"]
        for reply_spec in spec["replies"]:
            at = asked_at + timedelta(hours=reply_spec["hours_after"])
            post = await threads.reply(
                session, thread, author=users[reply_spec["author"]], body=reply_spec["body"], created_at=at
            )
            post.thread = thread
            for voter in reply_spec.get("votes", []):
                await threads.vote(session, post, user=users[voter])
            if reply_spec.get("accepted"):
                await threads.accept(session, post, user=users[spec["author"]], at=at + timedelta(hours=2))
            if reply_spec.get("official"):
                staff = users[reply_spec["author"]]
                await threads.mark_official(session, post, user=staff, at=at)
    for spec in demo_content.SPIKE_BURST if spike_burst else []:  # a spike for the support lead's "Spikes" tab
        await threads.ask(
            session,
            author=users[spec["author"]],
            category=cats["apps"],
            title=spec["title"],
            body=spec["body"],
            kind="question",
            created_at=now - timedelta(minutes=spec["minutes_ago"]),
            tag_names=["crash"],
        )
    for spec in demo_content.BANNERS:
        await banners.create_banner(
            session,
            actor=users["admin_sam"],
            values={
                "level": spec["level"],
                "text_en": spec["text_en"],
                "text_ko": spec["text_ko"],
                "starts_at": banners.format_time(now + timedelta(hours=spec["starts_hours"])),
                "ends_at": banners.format_time(now + timedelta(hours=spec["ends_hours"])),
                "categories": [str(cats[slug].id) for slug in spec["categories"]],
            },
        )
    await session.flush()
    await _age(session, users)
    return made


async def _age(session: AsyncSession, users: dict[str, User]) -> None:
    """Gives the demo the ages a forum has: each member joined a month before their
    first post (so the regulars count as trusted, not as brand-new accounts), each
    notification is as old as the post it tells of, and those older than two days
    have been read."""
    first_post = dict(
        (
            await session.execute(select(col(Post.author_id), func.min(Post.created_at)).group_by(col(Post.author_id)))
        ).all()
    )
    now = utcnow()
    for user in users.values():
        assert user.id is not None
        first = first_post.get(user.id, now)
        user.created_at = first - timedelta(days=30)
        session.add(user)
    post_time = select(col(Post.created_at)).where(col(Post.id) == col(Notification.post_id)).scalar_subquery()
    await session.execute(
        update(Notification).where(col(Notification.post_id).is_not(None)).values(created_at=post_time)
    )
    await session.execute(
        update(Notification)
        .where(col(Notification.created_at) < now - timedelta(days=2))
        .values(read_at=col(Notification.created_at))
    )
    await session.flush()
