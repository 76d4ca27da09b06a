"""Orphan uploads: real files on disk, removed once nothing uses them."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.db import make_sync_engine
from forum.jobs import UPLOADS_LEASE, UploadPruneLoop
from forum.models import Article, Banner, Upload, User
from forum.services import state, uploads
from forum.services import upload_prune as service
from forum.storage import LocalStorage
from forum.topics import store
from tests.factories import make_thread
from tests.test_uploads import _age, _own_post, png, send
from tests.webclient import WebClient

GRACE = timedelta(hours=48)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(trusted_after_days=3, trusted_after_posts=0)


@pytest.fixture
async def uploader(db, member: User) -> User:  # type: ignore[no-untyped-def]
    return await _age(db, member)


@pytest.fixture
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_sync_engine(settings.database_url)
    yield engine
    engine.dispose()


def _storage(app) -> LocalStorage:  # type: ignore[no-untyped-def]
    storage = app.state.runtime.storage
    assert isinstance(storage, LocalStorage)
    return storage


def _key(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def _upload(client: WebClient, name: str = "a.png") -> str:
    r = await send(client, name, png(), "image/png") if name.endswith(".png") else await send(client, name, b"log\n")
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


async def _age_uploads(db, hours: float = 72) -> None:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        await s.execute(update(Upload).values(created_at=utcnow() - timedelta(hours=hours)))


async def _keys(db) -> set[str]:  # type: ignore[no-untyped-def]
    async with db() as s:
        return set((await s.scalars(select(col(Upload.key)))).all())


async def _prune(engine, app, **kwargs) -> service.PruneReport:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(service.prune, engine, _storage(app), older_than=GRACE, **kwargs)


async def test_an_old_unused_upload_loses_its_row_and_its_file_and_a_recent_one_stays(
    app, client, db, engine, uploader
):
    await client.login_as(uploader)
    old = await _upload(client, "old.png")
    await _age_uploads(db)
    fresh = await _upload(client, "fresh.log")
    disk = _storage(app)
    assert disk.path(_key(old)).is_file() and disk.path(_key(fresh)).is_file()

    report = await _prune(engine, app)

    assert [o.key for o in report.removed] == [_key(old)] and report.bytes > 0
    assert not disk.path(_key(old)).exists() and disk.path(_key(fresh)).is_file()
    assert await _keys(db) == {_key(fresh)}
    assert (await client.get(old)).status_code == 404
    assert (await client.get(fresh)).status_code == 200
    # Again: nothing left to do.
    assert (await _prune(engine, app)).removed == []


async def test_uploads_that_posts_avatars_revisions_articles_or_banners_use_are_kept(
    app, client, db, engine, settings, uploader, other_member, moderator
):
    async with db.begin() as s:
        thread = await make_thread(s, author=other_member)
    await client.login_as(uploader)
    urls = {name: await _upload(client, f"{name}.png") for name in ("visible", "hidden", "deleted", "edited_out")}
    urls |= {name: await _upload(client, f"{name}.png") for name in ("article", "banner", "orphan")}
    for name in ("visible", "hidden", "deleted", "edited_out"):
        r = await client.submit(f"/t/{thread.id}/reply", {"body": f"{name}: ![x]({urls[name]})"})
        assert r.status_code == 303
    async with db.begin() as s:
        posts = {p.body.split(":")[0]: p for p in (await s.scalars(_own_post(uploader))).unique()}
        await state.hide_post(s, posts["hidden"], reason="moderator")
        await state.delete_post(s, posts["deleted"])
    edited = await client.submit(f"/p/{posts['edited_out'].id}/edit", {"body": "No picture after all."})
    assert edited.status_code == 303
    async with db.begin() as s:
        avatar = await uploads.set_avatar(
            s, _storage(app), user=await s.get(User, uploader.id), filename="me.png", data=png(), settings=settings
        )
        s.add(
            Article(
                title="How to export",
                slug="how-to-export",
                body=f"Like this: ![x]({urls['article']})",
                body_html="",
                status="draft",
                author_id=moderator.id,
            )
        )
        now = utcnow()
        s.add(
            Banner(
                text_en="Outage",
                text_ko=f"장애 ![x]({urls['banner']})",
                html_en="",
                html_ko="",
                starts_at=now,
                ends_at=now + timedelta(hours=1),
            )
        )
    await _age_uploads(db)

    dry = await _prune(engine, app, dry_run=True)
    assert [o.key for o in dry.removed] == [_key(urls["orphan"])]
    assert _key(urls["orphan"]) in await _keys(db)  # a dry run changes nothing

    report = await _prune(engine, app, batch=2)  # several batches

    assert [o.key for o in report.removed] == [_key(urls["orphan"])]
    kept = await _keys(db)
    assert kept == {_key(u) for n, u in urls.items() if n != "orphan"} | {avatar.key}
    for key in kept:
        assert _storage(app).path(key).is_file()
    assert not _storage(app).path(_key(urls["orphan"])).exists()
    # The hidden post's upload is still served to moderators, as before.
    await client.login_as(moderator)
    assert (await client.get(urls["hidden"])).status_code == 200


async def test_an_upload_a_post_takes_between_finding_and_removing_is_kept(app, client, db, engine, uploader):
    async with db.begin() as s:
        thread = await make_thread(s, author=uploader)
    await client.login_as(uploader)
    url = await _upload(client)
    await _age_uploads(db)
    before = utcnow() - GRACE
    [orphan] = await asyncio.to_thread(
        lambda: next(service._walk(engine, older_than=GRACE, now=None, batch=10, stop=None))
    )
    await client.submit(f"/t/{thread.id}/reply", {"body": f"![x]({url})"})
    removed = await asyncio.to_thread(service._remove_rows, engine, [orphan], before=before)
    assert removed == []
    assert await _keys(db) == {_key(url)}


async def test_the_job_takes_a_lease_and_a_second_runner_waits(app, client, db, engine, settings, uploader):
    await client.login_as(uploader)
    url = await _upload(client)
    await _age_uploads(db)
    other = store.new_holder()
    assert await asyncio.to_thread(store.acquire_lease, engine, UPLOADS_LEASE, other, timedelta(minutes=5))
    loop = UploadPruneLoop(settings)
    await asyncio.to_thread(loop.step, engine)
    assert await _keys(db) == {_key(url)}  # another process holds the lease: nothing done
    await asyncio.to_thread(store.release_lease, engine, UPLOADS_LEASE, other)
    await asyncio.to_thread(loop.step, engine)
    assert await _keys(db) == set()
    assert not _storage(app).path(_key(url)).exists()
    # It let the lease go: a later run by another process may take it.
    assert await asyncio.to_thread(store.acquire_lease, engine, UPLOADS_LEASE, other, timedelta(minutes=5))


def _cli(monkeypatch, settings, *argv: str) -> None:  # type: ignore[no-untyped-def]
    from forum.cli import main

    monkeypatch.setenv("FORUM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FORUM_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("FORUM_DATA_DIR", str(settings.data_dir))
    main(list(argv))


async def test_the_command_lists_with_dry_run_then_removes(app, client, db, settings, uploader, monkeypatch, capsys):
    await client.login_as(uploader)
    url = await _upload(client, "trace.log")
    await _age_uploads(db, hours=30)
    await asyncio.to_thread(_cli, monkeypatch, settings, "uploads", "prune", "--dry-run")
    assert "Would remove 0 unused uploads older than 48 hours" in capsys.readouterr().out
    await asyncio.to_thread(_cli, monkeypatch, settings, "uploads", "prune", "--older-than", "24", "--dry-run")
    out = capsys.readouterr().out
    assert _key(url) in out and "Would remove 1 unused uploads older than 24 hours" in out
    assert await _keys(db) == {_key(url)}
    await asyncio.to_thread(_cli, monkeypatch, settings, "uploads", "prune", "--older-than", "24")
    assert "Removed 1 unused uploads" in capsys.readouterr().out
    assert await _keys(db) == set() and not _storage(app).path(_key(url)).exists()


def test_the_grace_period_is_at_least_an_hour():
    from forum.config import ConfigError, tuning_from_env

    assert tuning_from_env({"FORUM_UPLOAD_ORPHAN_HOURS": "24"})["upload_orphan_hours"] == 24
    with pytest.raises(ConfigError):
        tuning_from_env({"FORUM_UPLOAD_ORPHAN_HOURS": "0"})


async def test_a_file_stored_for_a_refused_question_is_removed_once_old(app, client, db, engine, uploader):
    async with db.begin() as s:
        from tests.factories import make_category

        category = await make_category(s)
    await client.login_as(uploader)
    refused = await client.post(
        "/ask",
        data={
            "csrf_token": await client.csrf(),
            "category": category.slug,
            "title": "",
            "body": "See",
            "kind": "question",
        },
        files={"file": ("screen.png", png(), "image/png")},
    )
    assert refused.status_code == 422
    disk = _storage(app)
    [stray] = [p for p in disk.root.rglob("*") if p.is_file()]  # the file stayed, its row rolled back
    assert await _keys(db) == set()
    kept = await _upload(client)  # a file with its row, just as old
    await _age_uploads(db)
    recent_stray = "recentStrayFile0000000000"
    await disk.put(recent_stray, b"x", "text/plain")
    old = (utcnow() - timedelta(hours=72)).replace(tzinfo=UTC).timestamp()
    for path in (stray, disk.path(_key(kept))):
        os.utime(path, (old, old))
    async with db.begin() as s:  # and used by a post, so that only the stray file is unused
        thread = await make_thread(s, author=uploader)
    await client.submit(f"/t/{thread.id}/reply", {"body": f"![x]({kept})"})

    dry = await _prune(engine, app, dry_run=True)
    assert dry.stray_files == [stray.name] and stray.exists()
    report = await _prune(engine, app)

    assert report.stray_files == [stray.name] and report.removed == []
    assert not stray.exists()
    assert disk.path(_key(kept)).is_file() and disk.path(recent_stray).is_file()
