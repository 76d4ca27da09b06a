"""Uploads: screenshots, logs and PDFs for posts, and avatars.

What a file is comes from its content, never its name: PNG, JPEG, WebP and GIF
images (their magic bytes, then Pillow), PDFs (``%PDF-``) and UTF-8 text logs
named .txt or .log. Anything else (SVG, HTML, archives ...) is refused.
Images are decoded and written again by Pillow, so EXIF (GPS among it),
comments, colour profiles and whatever else rode along are gone; their
orientation is applied first, and the ones larger than
``upload_max_dimension`` are scaled down. Each stored object is named by a
random key; the member's file name is kept in the database for display only.

An upload is served while some visible post uses it, or no post uses it yet
(being written, or an avatar); one that only hidden or deleted posts use is
served to its owner and moderators only (``can_see_upload``). Which posts
use which upload (``UploadPost``) is kept by ``link_post`` as posts are
written and edited.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.errors import ForumError, NotAllowed, NotFound
from forum.i18n import gettext as _
from forum.models import Post, Thread, Upload, UploadPost, User
from forum.permissions import can_post, is_moderator
from forum.services.trust import is_trusted
from forum.storage import KEY, Storage

#: what we serve each kind of stored object as: our table, never the uploader's word
CONTENT_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "text": "text/plain; charset=utf-8",
    "pdf": "application/pdf",
}
#: Pillow's format name → the format the image is written again in (a GIF's first frame becomes a PNG)
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "png"}
TEXT_SUFFIXES = (".txt", ".log")
#: images with more pixels than this are refused before they are decoded (decompression bombs)
MAX_PIXELS = 40_000_000
AVATAR_SIZE = 256
CHUNK = 64 * 1024
#: the path of an upload in a post: what the Markdown renderer shows as an image
URL_PATTERN = re.compile(r"/uploads/([A-Za-z0-9_-]{8,64})")


class UploadRefused(ForumError):
    """415: not a kind of file we take."""

    status_code = 415


class UploadInvalid(ForumError):
    """422: a file of a kind we take, but not one we can use (broken, empty, too many pixels)."""

    status_code = 422


class UploadTooLarge(ForumError):
    status_code = 413


class UploadLimited(ForumError):
    """429: over the day's allowance, or none yet for a new account."""

    status_code = 429


@dataclass(frozen=True)
class Processed:
    """A file ready to store: what it is, its bytes as we will serve them."""

    kind: str  # "image" or "attachment"
    format: str  # a key of CONTENT_TYPES
    data: bytes
    width: int | None = None
    height: int | None = None

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def new_key() -> str:
    return secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]


def too_large_message(limit: int) -> str:
    return _("Files can be at most %(size)s MB.", size=f"{limit / (1024 * 1024):.3g}")


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The bytes of a stream, refused as soon as they pass ``limit``: a file
    too large is never held whole in memory."""
    parts: list[bytes] = []
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise UploadTooLarge(too_large_message(limit))
        parts.append(chunk)
    return b"".join(parts)


async def file_chunks(file: object) -> AsyncIterator[bytes]:
    """A Starlette ``UploadFile`` read in chunks."""
    read = file.read  # type: ignore[attr-defined]
    while chunk := await read(CHUNK):
        yield chunk


def clean_filename(name: str) -> str:
    """The member's file name as shown: its last part, one line, no Markdown brackets."""
    base = PurePath(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f\[\]()<>`*_|\\]", "", base).strip()
    return base[:200] or "file"


def refused_message() -> str:
    return _("Only images (PNG, JPEG, WebP, GIF), text logs (.txt, .log) and PDFs can be uploaded.")


def _is_image(head: bytes) -> bool:
    return (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


_MARKUP = re.compile(rb"<\s*(!doctype|html|svg|script|\?xml|body|head|iframe)", re.IGNORECASE)


def sniff(data: bytes, filename: str) -> str:
    """What the bytes are: "image", "pdf" or "text"; anything else is refused."""
    if not data:
        raise UploadInvalid(_("The file is empty."))
    if _is_image(data[:16]):
        return "image"
    if data.startswith(b"%PDF-"):
        return "pdf"
    refused = refused_message()
    if not filename.lower().endswith(TEXT_SUFFIXES) or b"\x00" in data or _MARKUP.search(data[:4096]):
        raise UploadRefused(refused)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(refused) from None
    return "text"


def process_image(data: bytes, *, max_dimension: int, square: int | None = None) -> Processed:
    """Decodes the image and writes it again with nothing but its pixels:
    orientation applied, scaled to ``max_dimension`` (or cropped to a centred
    square of ``square`` pixels, for avatars)."""
    broken = _("This image could not be read.")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            fmt = IMAGE_FORMATS.get(opened.format or "")
            if fmt is None:
                raise UploadRefused(refused_message())
            width, height = opened.size
            if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                raise UploadInvalid(_("This image has too many pixels."))
            opened.seek(0)  # an animation's first frame
            image = ImageOps.exif_transpose(opened)
            image.load()
    except ForumError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UploadInvalid(broken) from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if fmt == "jpeg":
        image = image.convert("L" if image.mode in ("1", "L") else "RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    if square is not None:
        image = ImageOps.fit(image, (square, square), method=Image.Resampling.LANCZOS)
    elif max(image.size) > max_dimension:
        image.thumbnail((max_dimension, max_dimension), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: no info, no EXIF, no profile, no comment.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if fmt == "jpeg":
        clean.save(out, format="JPEG", quality=85, optimize=True)
    elif fmt == "webp":
        clean.save(out, format="WEBP", quality=85)
    else:
        clean.save(out, format="PNG", optimize=True)
    return Processed("image", fmt, out.getvalue(), clean.width, clean.height)


def process(data: bytes, filename: str, *, max_dimension: int) -> Processed:
    """A file as we will keep it (see the module), or an ``UploadRefused`` /
    ``UploadInvalid`` saying why not."""
    found = sniff(data, filename)
    if found == "image":
        return process_image(data, max_dimension=max_dimension)
    return Processed("attachment", found, data)


async def check_allowance(session: AsyncSession, user: User, settings: Settings) -> None:
    """Refuses an upload beyond the day's allowance (fewer, or none, for an
    account not yet trusted)."""
    if not can_post(user):
        raise NotAllowed(_("Your account cannot post right now."))
    if user.is_staff:
        return
    since = utcnow() - timedelta(days=1)
    count = await session.scalar(
        select(func.count()).select_from(Upload).where(col(Upload.owner_id) == user.id, col(Upload.created_at) > since)
    )
    allowed = settings.upload_daily_limit
    if not await is_trusted(session, user, settings):
        allowed = min(allowed, settings.upload_new_account_daily)
        if allowed <= 0:
            raise UploadLimited(_("New accounts cannot upload files yet. Take part for a few days first."))
    if (count or 0) >= allowed:
        raise UploadLimited(_("You have uploaded as many files as you can today. Try again tomorrow."))


async def store(
    session: AsyncSession,
    storage: Storage,
    *,
    owner: User,
    filename: str,
    processed: Processed,
    kind: str | None = None,
) -> Upload:
    """Keeps the file (storage first, then its row: a failed write leaves no row)."""
    key = new_key()
    await storage.put(key, processed.data, processed.content_type)
    upload = Upload(
        key=key,
        owner_id=owner.id,
        kind=kind or processed.kind,
        content_type=processed.content_type,
        filename=clean_filename(filename),
        size=len(processed.data),
        width=processed.width,
        height=processed.height,
    )
    session.add(upload)
    await session.flush()
    return upload


async def upload_file(
    session: AsyncSession, storage: Storage, *, owner: User, filename: str, data: bytes, settings: Settings
) -> Upload:
    """The whole pipeline for a file a member sends with a post (or alone)."""
    await check_allowance(session, owner, settings)
    if len(data) > settings.upload_max_bytes:
        raise UploadTooLarge(too_large_message(settings.upload_max_bytes))
    processed = await asyncio.to_thread(process, data, filename, max_dimension=settings.upload_max_dimension)
    return await store(session, storage, owner=owner, filename=filename, processed=processed)


def url(upload: Upload) -> str:
    return f"/uploads/{upload.key}"


def markdown_for(upload: Upload) -> str:
    """What the editor inserts: an image, or a link to the attachment."""
    if upload.kind == "image":
        return f"![{upload.filename}]({url(upload)})"
    return f"[{upload.filename}]({url(upload)})"


# ------------------------------------------------------------------ posts


def keys_in(body: str) -> set[str]:
    return set(URL_PATTERN.findall(body))


async def link_post(session: AsyncSession, post: Post) -> None:
    """Records which uploads the post's text uses (after a write or an edit).
    Only uploads of kind image or attachment count (an avatar is not a post's)."""
    assert post.id is not None
    keys = keys_in(post.body)
    await session.execute(delete(UploadPost).where(col(UploadPost.post_id) == post.id))
    if not keys:
        return
    ids = (
        await session.scalars(select(col(Upload.id)).where(col(Upload.key).in_(keys), col(Upload.kind) != "avatar"))
    ).all()
    for upload_id in ids:
        assert upload_id is not None
        session.add(UploadPost(upload_id=upload_id, post_id=post.id))
    await session.flush()


async def image_sizes(session: AsyncSession, body: str) -> dict[str, tuple[int, int]]:
    """The width and height of the uploaded images ``body`` uses, by key: one
    indexed query, none when it uses no upload."""
    keys = keys_in(body)
    if not keys:
        return {}
    rows = await session.execute(
        select(col(Upload.key), col(Upload.width), col(Upload.height)).where(
            col(Upload.key).in_(sorted(keys)), col(Upload.kind) == "image"
        )
    )
    return {key: (width, height) for key, width, height in rows if width and height}


# ------------------------------------------------------------------ serving


async def get_upload_or_404(session: AsyncSession, key: str, *, viewer: User | None) -> tuple[Upload, bool]:
    """The upload and whether it is public (served the same to everyone); one
    that only hidden or deleted posts use is found by its owner and
    moderators alone."""
    if not KEY.match(key):
        raise NotFound(_("No such file."))
    upload = await session.scalar(select(Upload).where(col(Upload.key) == key))
    if upload is None:
        raise NotFound(_("No such file."))
    if upload.kind == "avatar":
        return upload, True
    rows = (
        await session.execute(
            select(col(Post.hidden_at), col(Post.deleted_at), col(Thread.hidden_at), col(Thread.deleted_at))
            .join(UploadPost, col(UploadPost.post_id) == col(Post.id))
            .join(Thread, col(Thread.id) == col(Post.thread_id))
            .where(col(UploadPost.upload_id) == upload.id)
        )
    ).all()
    if not rows or any(all(value is None for value in row) for row in rows):
        return upload, True
    if is_moderator(viewer) or (viewer is not None and viewer.id == upload.owner_id):
        return upload, False
    raise NotFound(_("No such file."))


# ------------------------------------------------------------------ avatars


async def set_avatar(
    session: AsyncSession, storage: Storage, *, user: User, filename: str, data: bytes, settings: Settings
) -> Upload:
    """A new avatar: the image cropped to a centred square, written again at
    ``AVATAR_SIZE`` pixels; the previous one is removed."""
    await check_allowance(session, user, settings)
    if len(data) > settings.upload_max_bytes:
        raise UploadTooLarge(too_large_message(settings.upload_max_bytes))
    if sniff(data, filename) != "image":
        raise UploadRefused(_("An avatar must be an image (PNG, JPEG, WebP or GIF)."))
    processed = await asyncio.to_thread(process_image, data, max_dimension=AVATAR_SIZE, square=AVATAR_SIZE)
    upload = await store(session, storage, owner=user, filename=filename, processed=processed, kind="avatar")
    await remove_avatar(session, storage, user=user)
    user.avatar_key = upload.key
    session.add(user)
    await session.flush()
    return upload


async def remove_avatar(session: AsyncSession, storage: Storage, *, user: User) -> bool:
    old = user.avatar_key
    if old is None:
        return False
    user.avatar_key = None
    session.add(user)
    await session.execute(delete(Upload).where(col(Upload.key) == old, col(Upload.kind) == "avatar"))
    await session.flush()
    await storage.delete(old)
    return True


AVATAR_COLOURS = 8


def avatar_initials(name: str) -> str:
    """One or two letters from a display name: the first letter of its first
    two words (one Hangul syllable is a whole initial). Punctuation is no word and
    starts none: "한지수 (Cloudnote 지원팀)" is 한C, not 한(."""
    words = [w for w in re.split(r"[\W_]+", name) if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[1][:1]).upper()


def avatar_colour(username: str) -> int:
    """A colour (0-7) fixed for a username (the same on every page and machine)."""
    return sum(username.encode()) % AVATAR_COLOURS
