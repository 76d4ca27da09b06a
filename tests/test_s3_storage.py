"""S3Storage against real S3-compatible servers over HTTP (OpenStack Swift and
moto's standalone server, started by ``tests.s3server``; every test runs on
each): the storage's own calls, then the forum configured with
``s3://bucket/prefix`` from upload to serving to the orphan prune.
``tests/test_uploads.py`` keeps a test for any other server
(FORUM_TEST_S3_ENDPOINT)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from PIL import Image
from sqlalchemy import select
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.db import make_sync_engine
from forum.models import Upload, User
from forum.services import upload_prune
from forum.services import uploads as service
from forum.storage import S3Storage, make_storage
from tests.factories import make_thread
from tests.s3server import REGION, S3
from tests.test_uploads import _age, _exercise, png, send

PREFIX = "forum/uploads"


def _storage(s3: S3, prefix: str = PREFIX) -> S3Storage:
    return S3Storage(s3.bucket, prefix, endpoint_url=s3.endpoint, region=REGION)


def _key(url: str) -> str:
    return url.rsplit("/", 1)[1]


# ------------------------------------------------------------------ the storage alone


async def test_put_open_delete_exists_and_keys_before_over_http(s3):
    storage = _storage(s3)
    await _exercise(storage)
    assert s3.names() == set()  # _exercise deleted what it wrote


async def test_objects_are_named_under_the_prefix_with_their_content_type(s3):
    storage = _storage(s3)
    key = service.new_key()
    await storage.put(key, png(), "image/png")
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"{PREFIX}/{key}")
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(png())
    assert s3.names() == {f"{PREFIX}/{key}"}


async def test_keys_before_lists_only_keys_of_its_own_prefix(s3):
    storage = _storage(s3)
    mine = service.new_key()
    await storage.put(mine, b"x", "text/plain")
    for name in (f"elsewhere/{service.new_key()}", f"{PREFIX}/not a key", f"{PREFIX}/sub/{service.new_key()}"):
        s3.client.put_object(Bucket=s3.bucket, Key=name, Body=b"y")
    later = utcnow() + timedelta(minutes=5)
    assert await asyncio.to_thread(lambda: list(storage.keys_before(later))) == [mine]
    # The same bucket without a prefix: keys at its root only.
    root = _storage(s3, "")
    at_root = service.new_key()
    await root.put(at_root, b"z", "text/plain")
    assert await asyncio.to_thread(lambda: list(root.keys_before(later))) == [at_root]


async def test_missing_objects_are_none_false_and_deleting_them_is_no_error(s3):
    storage = _storage(s3)
    key = service.new_key()
    assert await storage.open(key) is None
    assert await storage.exists(key) is False
    await storage.delete(key)


async def test_a_missing_bucket_is_an_error_not_a_missing_file(s3):
    """A wrong bucket name is a configuration error to see at once, not a
    stream of 404s for every upload."""
    storage = S3Storage(s3.bucket + "-missing", PREFIX, endpoint_url=s3.endpoint, region=REGION)
    key = service.new_key()
    with pytest.raises(ClientError) as got:
        await storage.open(key)
    assert got.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as got:  # a HEAD's 404 says no more: the storage asks about the bucket
        await storage.exists(key)
    assert got.value.response["Error"]["Code"] in ("404", "NoSuchBucket")


def test_keys_before_pages_past_a_full_listing(s3):
    """One listing answers at most 1,000 keys (S3's limit, and moto's; 100 on
    the test's Swift): all of a few more come back."""
    storage = _storage(s3)
    keys = [service.new_key() for _ in range(s3.page + 5)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.client.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{k}", Body=b"."), keys))
    first = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=PREFIX + "/")
    assert first["IsTruncated"] and first["KeyCount"] == s3.page  # the server really pages
    assert sorted(storage.keys_before(utcnow() + timedelta(minutes=5))) == sorted(keys)


# ------------------------------------------------------------------ the forum on S3


@pytest.fixture
def settings(settings: Settings, s3: S3) -> Settings:
    return settings.with_(
        trusted_after_days=3,
        trusted_after_posts=0,
        upload_storage=f"s3://{s3.bucket}/{PREFIX}",
        upload_s3_endpoint=s3.endpoint,
        upload_s3_region=REGION,
    )


@pytest.fixture
async def uploader(db, member: User) -> User:  # type: ignore[no-untyped-def]
    return await _age(db, member)


@pytest.fixture
def engine(settings: Settings) -> Iterator[object]:
    engine = make_sync_engine(settings.database_url)
    yield engine
    engine.dispose()


def test_the_settings_make_an_s3_storage(settings, s3):
    storage = make_storage(settings)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (s3.bucket, PREFIX + "/")


async def test_an_upload_goes_to_the_bucket_and_is_served_from_it(app, client, s3, uploader):
    assert isinstance(app.state.runtime.storage, S3Storage)
    await client.login_as(uploader)
    response = await send(client, "screen.jpg", png(64, 48), "image/jpeg")  # a PNG, whatever its name says
    assert response.status_code == 201, response.text
    key = _key(response.json()["url"])
    assert s3.names() == {f"{PREFIX}/{key}"}
    stored = s3.client.get_object(Bucket=s3.bucket, Key=f"{PREFIX}/{key}")
    assert stored["ContentType"] == "image/png"
    in_bucket = stored["Body"].read()

    served = await client.get(response.json()["url"])
    assert served.status_code == 200
    assert served.content == in_bucket
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["content-disposition"] == "inline"


async def test_a_log_is_an_attachment_from_the_bucket(client, s3, uploader):
    await client.login_as(uploader)
    text = "ERROR 오류 at line 3\n".encode()
    response = await send(client, "server error.log", text, "text/html")
    assert response.status_code == 201, response.text
    key = _key(response.json()["url"])
    stored = s3.client.head_object(Bucket=s3.bucket, Key=f"{PREFIX}/{key}")
    assert stored["ContentType"] == "text/plain; charset=utf-8"
    served = await client.get(response.json()["url"])
    assert served.content == text
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")


async def test_a_file_gone_from_the_bucket_is_a_404(client, s3, uploader):
    await client.login_as(uploader)
    url = (await send(client, "a.png", png(), "image/png")).json()["url"]
    s3.client.delete_object(Bucket=s3.bucket, Key=f"{PREFIX}/{_key(url)}")
    assert (await client.get(url)).status_code == 404
    assert (await client.get("/uploads/nosuchkeyatall00")).status_code == 404


async def test_an_avatar_replaced_or_removed_leaves_the_bucket(client, db, s3, uploader):
    await client.login_as(uploader)
    keys = []
    for colour in ((200, 0, 0), (0, 0, 200)):  # a first avatar, then another in its place
        response = await client.post(
            "/me/avatar",
            data={"csrf_token": await client.csrf()},
            files={"file": ("me.png", png(80, 60, colour), "image/png")},
        )
        assert response.status_code == 303
        async with db() as s:
            keys.append((await s.get(User, uploader.id)).avatar_key)
        assert s3.names() == {f"{PREFIX}/{keys[-1]}"}  # the previous one is gone from the bucket
    served = await client.get(f"/uploads/{keys[-1]}")
    assert Image.open(io.BytesIO(served.content)).size == (256, 256)
    assert (await client.submit("/me/avatar/remove")).status_code == 303
    assert s3.names() == set()
    assert (await client.get(f"/uploads/{keys[-1]}")).status_code == 404


async def test_the_orphan_prune_deletes_from_the_bucket(app, client, db, engine, s3, uploader):
    await client.login_as(uploader)
    used = (await send(client, "used.png", png(), "image/png")).json()["url"]
    unused = (await send(client, "unused.log", b"log\n")).json()["url"]
    async with db.begin() as s:
        thread = await make_thread(s, author=uploader)
    assert (await client.submit(f"/t/{thread.id}/reply", {"body": f"![x]({used})"})).status_code == 303
    stray = service.new_key()  # stored by a request that failed before its row: no row
    s3.client.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{stray}", Body=b"stray")
    outside = f"elsewhere/{service.new_key()}"  # not the forum's
    s3.client.put_object(Bucket=s3.bucket, Key=outside, Body=b"keep me")
    storage = app.state.runtime.storage

    # Nothing is old enough yet.
    now = await asyncio.to_thread(upload_prune.prune, engine, storage, older_than=timedelta(hours=48))
    assert now.removed == [] and now.stray_files == []
    # Three days on (S3 keeps each object's LastModified: it cannot be set back).
    later = utcnow() + timedelta(hours=72)
    dry = await asyncio.to_thread(
        upload_prune.prune, engine, storage, older_than=timedelta(hours=48), now=later, dry_run=True
    )
    assert [o.key for o in dry.removed] == [_key(unused)] and dry.stray_files == [stray]
    assert len(s3.names()) == 4
    report = await asyncio.to_thread(upload_prune.prune, engine, storage, older_than=timedelta(hours=48), now=later)

    assert [o.key for o in report.removed] == [_key(unused)] and report.stray_files == [stray]
    assert report.left_in_storage == []
    assert s3.names() == {f"{PREFIX}/{_key(used)}", outside}
    async with db() as s:
        assert set((await s.scalars(select(col(Upload.key)))).all()) == {_key(used)}
    assert (await client.get(used)).status_code == 200
    assert (await client.get(unused)).status_code == 404
