"""Where uploaded files are kept: one small interface (put, open, delete,
exists), a local folder by default and S3-compatible object storage as the
option for several machines (``Settings.upload_storage``).

Keys are the server's own (``forum.services.uploads.new_key``): letters,
digits, ``-`` and ``_`` only, so a key is never a path."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from forum.config import ConfigError, Settings

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def open(self, key: str) -> bytes | None:
        """The stored bytes, or None when there is no such object."""
        ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    def keys_before(self, cutoff: datetime) -> Iterator[str]:
        """The keys of the objects written before ``cutoff`` (naive UTC), in no
        particular order; blocking (run it in a thread)."""
        ...


class LocalStorage:
    """Files in a folder, two levels of subfolders by the key's first letters
    (so no folder holds millions of files); written to a temporary file and
    renamed, so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _open(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def open(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._open, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    def keys_before(self, cutoff: datetime) -> Iterator[str]:
        limit = cutoff.replace(tzinfo=UTC).timestamp()
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if KEY.match(name):
                    with contextlib.suppress(FileNotFoundError):
                        if os.stat(os.path.join(folder, name)).st_mtime < limit:
                            yield name


class S3Storage:
    """Objects in a bucket of any S3-compatible store, through boto3 (its calls
    run in a thread: boto3 blocks)."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str = "", region: str = "") -> None:
        try:
            import boto3
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError('FORUM_UPLOAD_STORAGE=s3://... needs boto3: pip install "forum[s3]"') from None
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # A session of its own: boto3's default one is shared by the whole
        # process, not thread-safe, and keeps the first credentials it found.
        session = boto3.session.Session()
        self.client: Any = session.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _open(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"].read()  # type: ignore[no-any-return]
        except self.client.exceptions.NoSuchKey:
            return None

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                # A HEAD answer has no body: a missing bucket is a bare 404 too.
                # That is a configuration error, not a missing file.
                self.client.head_bucket(Bucket=self.bucket)
                return False
            raise
        return True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type
        )

    async def open(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._open, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._name(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._exists, key)

    def keys_before(self, cutoff: datetime) -> Iterator[str]:
        limit = cutoff.replace(tzinfo=UTC)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if KEY.match(name) and item["LastModified"] < limit:
                    yield name


def make_storage(settings: Settings) -> Storage:
    spec = settings.upload_storage.strip()
    if not spec:
        return LocalStorage(settings.data_dir / "uploads")
    parts = urlsplit(spec)
    if parts.scheme == "s3" and parts.netloc:
        return S3Storage(
            parts.netloc, parts.path, endpoint_url=settings.upload_s3_endpoint, region=settings.upload_s3_region
        )
    if parts.scheme in ("", "file"):
        return LocalStorage(Path(parts.path or spec))
    raise ConfigError(f"FORUM_UPLOAD_STORAGE must be empty, a folder or s3://bucket/prefix, not {spec!r}.")
