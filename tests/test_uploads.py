"""Uploads: real files made here with Pillow, through the app (and the storage)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlmodel import col

from forum import markdown
from forum.clock import utcnow
from forum.config import Settings
from forum.models import Post, Upload, UploadPost, User
from forum.services import state
from forum.services import uploads as service
from forum.storage import LocalStorage, S3Storage
from tests.factories import make_thread, make_user
from tests.webclient import WebClient

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Accounts are trusted after 3 days; posts count for nothing here.
    return settings.with_(trusted_after_days=3, trusted_after_posts=0, upload_max_bytes=2 * 1024 * 1024)


async def _age(db, user: User, days: int = 10) -> User:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        row = await s.get(User, user.id)
        row.created_at = utcnow() - timedelta(days=days)
        s.add(row)
    user.created_at = row.created_at
    return user


@pytest.fixture
async def uploader(db, member: User) -> User:  # type: ignore[no-untyped-def]
    """A member old enough to be trusted."""
    return await _age(db, member)


def png(width: int = 40, height: int = 30, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A 40 x 20 JPEG, EXIF orientation 6 (turn right to show), a camera
    model and a GPS position."""
    image = Image.new("RGB", (40, 20), (10, 120, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x0110] = "SecretCam 3000"  # Model
    exif[GPS_IFD] = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


async def send(client: WebClient, name: str, data: bytes, mime: str = "application/octet-stream", **extra):  # type: ignore[no-untyped-def]
    form = {"csrf_token": await client.csrf(), **extra}
    return await client.post(
        "/uploads", data=form, files={"file": (name, data, mime)}, headers={"accept": "application/json"}
    )


async def fetch(client: WebClient, url: str):  # type: ignore[no-untyped-def]
    return await client.get(url)


# ------------------------------------------------------------------ what a file is


async def test_an_exif_tagged_jpeg_with_gps_loses_its_metadata_and_keeps_its_orientation(client, uploader):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test file really has GPS
    await client.login_as(uploader)
    response = await send(client, "holiday.jpg", original, "image/jpeg")
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"!\[holiday\.jpg\]\(/uploads/[A-Za-z0-9_-]{24}\)", body["markdown"])
    served = await fetch(client, body["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    assert "exif" not in image.info and "comment" not in image.info and "icc_profile" not in image.info
    assert b"SecretCam" not in served.content and b"taken at home" not in served.content
    assert image.size == (20, 40)  # orientation applied to the pixels, then dropped


async def test_a_png_named_jpg_is_recognised_as_a_png(client, uploader):
    await client.login_as(uploader)
    response = await send(client, "screenshot.jpg", png(), "image/jpeg")
    assert response.status_code == 201
    served = await fetch(client, response.json()["url"])
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).format == "PNG"


@pytest.mark.parametrize(
    "name,data",
    [
        ("cat.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("cat.png", b"<!doctype html><html><body><script>alert(1)</script></body></html>"),
        ("notes.txt", b"<svg onload=alert(1)></svg>"),
        ("cat.gif", b"\x00\x01\x02 just bytes"),
        ("archive.zip", b"PK\x03\x04 not for us"),
        ("latin1.log", "caf\xe9 au lait".encode("latin-1")),
    ],
)
async def test_svg_html_and_anything_else_are_refused_with_a_clear_message(client, uploader, db, name, data):
    await client.login_as(uploader)
    response = await send(client, name, data, "image/png")
    assert response.status_code == 415
    assert response.json() == {
        "error": "Only images (PNG, JPEG, WebP, GIF), text logs (.txt, .log) and PDFs can be uploaded.",
        "status": 415,
    }
    async with db() as s:
        assert (await s.scalars(select(Upload))).all() == []


async def test_the_refusal_is_in_korean_for_a_korean_reader(client, uploader):
    await client.login_as(uploader)
    form = {"csrf_token": await client.csrf()}
    response = await client.post(
        "/uploads",
        data=form,
        files={"file": ("x.png", b"<svg></svg>", "image/png")},
        headers={"accept-language": "ko"},
    )
    assert response.status_code == 415
    assert "업로드" in response.json()["error"]


async def test_a_broken_image_is_refused_as_unreadable(client, uploader):
    await client.login_as(uploader)
    response = await send(client, "broken.png", png()[:40], "image/png")
    assert response.status_code == 422
    assert response.json()["error"] == "This image could not be read."


async def test_a_large_image_is_scaled_down_to_the_configured_size(app, client, uploader):
    app.state.runtime.settings = app.state.runtime.settings.with_(upload_max_dimension=100)
    await client.login_as(uploader)
    response = await send(client, "big.png", png(400, 200), "image/png")
    assert (response.json()["width"], response.json()["height"]) == (100, 50)
    served = await fetch(client, response.json()["url"])
    assert Image.open(io.BytesIO(served.content)).size == (100, 50)


async def test_logs_and_pdfs_are_attachments_with_fixed_types(client, uploader):
    await client.login_as(uploader)
    log = await send(client, "server error.log", "ERROR 오류 at line 3\n".encode(), "text/html")
    assert log.status_code == 201
    assert log.json()["markdown"].startswith("[server error.log](/uploads/")
    served = await fetch(client, log.json()["url"])
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''server%20error.log" in served.headers["content-disposition"]
    assert served.content == "ERROR 오류 at line 3\n".encode()

    pdf = await send(client, "manual.png", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "image/png")
    assert pdf.status_code == 201
    served = await fetch(client, pdf.json()["url"])
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment;")


async def test_served_files_carry_nosniff_a_sandbox_and_long_immutable_caching(client, uploader):
    await client.login_as(uploader)
    url = (await send(client, "a.png", png(), "image/png")).json()["url"]
    served = await fetch(client, url)
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["content-disposition"] == "inline"
    assert "sandbox" in served.headers["content-security-policy"]
    assert (await client.get("/uploads/nosuchkeyatall00")).status_code == 404
    assert (await client.get("/uploads/..%2Fsecret_key")).status_code == 404


async def test_names_on_disk_are_the_servers_own(client, uploader, settings):
    await client.login_as(uploader)
    url = (await send(client, "../../etc/passwd.png", png(), "image/png")).json()["url"]
    key = url.rsplit("/", 1)[1]
    files = [p for p in (settings.data_dir / "uploads").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [key]
    assert "passwd" not in str(files[0])


# ------------------------------------------------------------------ limits


async def test_a_30_mb_file_is_refused_without_being_read_whole(client, uploader):
    """Sent without a length, in 1 MB chunks: the request is cut off once it
    passes the limit (2 MB here), long before the 30th chunk is made."""
    await client.login_as(uploader)
    boundary = uuid.uuid4().hex
    made = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal made
        token = await client.csrf()
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        for _ in range(30):
            made += 1
            yield b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 - 8)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/uploads",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}", "accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "Files can be at most 2 MB."
    assert made <= 4


async def test_a_declared_30_mb_body_is_refused_before_anything_is_read(client, uploader):
    await client.login_as(uploader)
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        read += 1
        yield b"x"

    response = await client.post(
        "/uploads",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x", "content-length": str(30 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert read == 0


async def test_reading_stops_at_the_first_chunk_past_the_limit():
    made = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal made
        for _ in range(30):
            made += 1
            yield b"\0" * (1024 * 1024)

    with pytest.raises(service.UploadTooLarge):
        await service.read_limited(chunks(), 3 * 1024 * 1024)
    assert made == 4


async def test_a_file_over_the_limit_in_a_small_request_is_refused(client, uploader, app):
    app.state.runtime.settings = app.state.runtime.settings.with_(upload_max_bytes=1000)
    await client.login_as(uploader)
    response = await send(client, "big.log", b"line\n" * 400, "text/plain")
    assert response.status_code == 413


async def test_uploads_per_day_are_limited(app, client, uploader):
    app.state.runtime.settings = app.state.runtime.settings.with_(upload_daily_limit=2)
    await client.login_as(uploader)
    assert (await send(client, "1.png", png(), "image/png")).status_code == 201
    assert (await send(client, "2.png", png(), "image/png")).status_code == 201
    third = await send(client, "3.png", png(), "image/png")
    assert third.status_code == 429
    assert third.json()["error"] == "You have uploaded as many files as you can today. Try again tomorrow."


async def test_new_accounts_cannot_upload_until_trusted(app, client, db, member):
    await client.login_as(member)
    refused = await send(client, "1.png", png(), "image/png")
    assert refused.status_code == 429
    assert refused.json()["error"] == "New accounts cannot upload files yet. Take part for a few days first."
    # A forum may give new accounts a few uploads a day instead.
    app.state.runtime.settings = app.state.runtime.settings.with_(upload_new_account_daily=1)
    assert (await send(client, "1.png", png(), "image/png")).status_code == 201
    assert (await send(client, "2.png", png(), "image/png")).status_code == 429
    # Once trusted, the ordinary allowance.
    await _age(db, member)
    assert (await send(client, "2.png", png(), "image/png")).status_code == 201


async def test_staff_are_trusted_from_the_start(client, staff):
    await client.login_as(staff)
    assert (await send(client, "1.png", png(), "image/png")).status_code == 201


async def test_csrf_is_required(client, uploader):
    await client.login_as(uploader)
    response = await client.post("/uploads", files={"file": ("a.png", png(), "image/png")})
    assert response.status_code == 403
    assert response.json()["status"] == 403


async def test_anonymous_uploads_are_refused(client):
    response = await send(client, "a.png", png(), "image/png")
    assert response.status_code == 401
    assert response.json() == {"error": "Log in to continue.", "status": 401}


async def test_no_file_is_a_clear_422(client, uploader):
    await client.login_as(uploader)
    response = await client.post("/uploads", data={"csrf_token": await client.csrf()})
    assert response.status_code == 422
    assert response.json()["error"] == "Choose a file to upload."


# ------------------------------------------------------------------ posts


def _own_post(user: User):  # type: ignore[no-untyped-def]
    return select(Post).options(joinedload(Post.thread)).where(col(Post.author_id) == user.id)  # type: ignore[arg-type]


async def _thread(db, author: User):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return await make_thread(s, author=author)


async def test_the_plain_file_field_uploads_with_the_reply_and_shows_the_image(client, db, uploader, other_member):
    thread = await _thread(db, other_member)
    await client.login_as(uploader)
    response = await client.post(
        f"/t/{thread.id}/reply",
        data={"csrf_token": await client.csrf(), "body": "This is what I see:"},
        files={"file": ("screen.png", png(), "image/png")},
    )
    assert response.status_code == 303, response.text
    async with db() as s:
        post = (await s.scalars(select(Post).where(col(Post.author_id) == uploader.id))).one()
        links = (await s.scalars(select(UploadPost).where(col(UploadPost.post_id) == post.id))).all()
    assert re.fullmatch(r"This is what I see:\n\n!\[screen\.png\]\(/uploads/[\w-]{24}\)", post.body)
    assert len(links) == 1
    page = await client.get(response.headers["location"])
    assert re.search(
        r'<img src="/uploads/[\w-]{24}" alt="screen.png" width="40" height="30" loading="lazy">', page.text
    )


async def test_posted_images_carry_their_size_as_stored_after_scaling(app, client, db, uploader, other_member):
    thread = await _thread(db, other_member)
    await client.login_as(uploader)
    small = (await send(client, "small.png", png(64, 48), "image/png")).json()["url"]
    limit = app.state.runtime.settings.upload_max_dimension
    large = (await send(client, "large.png", png(limit + 400, 100), "image/png")).json()["url"]
    log = (await send(client, "a.log", b"trace\n", "text/plain")).json()["url"]
    body = f"![s]({small}) ![l]({large}) ![log]({log}) ![gone](/uploads/abcdefghijklmnopqrstuvwx)"
    reply = await client.submit(f"/t/{thread.id}/reply", {"body": body})
    assert reply.status_code == 303
    page = (await client.get(reply.headers["location"])).text
    assert f'<img src="{small}" alt="s" width="64" height="48" loading="lazy">' in page
    async with db() as s:
        stored = await s.scalar(select(Upload).where(col(Upload.key) == large.rsplit("/", 1)[1]))
    assert stored.width == limit and abs(stored.height - 100 * limit / (limit + 400)) < 1  # scaled down
    assert f'<img src="{large}" alt="l" width="{limit}" height="{stored.height}" loading="lazy">' in page
    # An attachment, or a key the forum does not know, has no size to give.
    assert f'<img src="{log}" alt="log" loading="lazy">' in page
    assert '<img src="/uploads/abcdefghijklmnopqrstuvwx" alt="gone" loading="lazy">' in page
    # An edit keeps them.
    async with db() as s:
        post = (await s.scalars(_own_post(uploader))).one()
    edited = await client.submit(f"/p/{post.id}/edit", {"body": f"Only this one: ![s]({small})"})
    assert edited.status_code == 303
    async with db() as s:
        html = (await s.get(Post, post.id)).body_html
    assert f'<img src="{small}" alt="s" width="64" height="48" loading="lazy">' in html


def test_a_size_is_written_only_for_uploaded_images_and_only_as_numbers():
    sizes = {"abcdefghijklmnopqrstuvwx": (10, 20)}
    html = markdown.render(
        "![a](/uploads/abcdefghijklmnopqrstuvwx) ![b](https://x.example/abcdefghijklmnopqrstuvwx)", images=sizes
    )
    assert '<img src="/uploads/abcdefghijklmnopqrstuvwx" alt="a" width="10" height="20" loading="lazy">' in html
    assert "width" not in html.split("</a>")[0].split("<a ")[-1] and html.count("width=") == 1


async def test_a_refused_file_with_a_reply_keeps_the_text_and_saves_nothing(client, db, uploader, other_member):
    thread = await _thread(db, other_member)
    await client.login_as(uploader)
    response = await client.post(
        f"/t/{thread.id}/reply",
        data={"csrf_token": await client.csrf(), "body": "Here is the picture"},
        files={"file": ("x.png", b"<svg/>", "image/png")},
    )
    assert response.status_code == 422
    assert "Only images (PNG, JPEG, WebP, GIF)" in response.text
    assert "Here is the picture" in response.text
    async with db() as s:
        assert (await s.scalars(select(Upload))).all() == []
        assert (await s.scalars(select(Post).where(col(Post.author_id) == uploader.id))).all() == []


async def test_ask_and_edit_forms_take_a_file_too(client, db, uploader, settings):
    async with db.begin() as s:
        from tests.factories import make_category

        category = await make_category(s)
    await client.login_as(uploader)
    asked = await client.post(
        "/ask",
        data={
            "csrf_token": await client.csrf(),
            "category": category.slug,
            "title": "The export stops halfway",
            "body": "See the log.",
            "kind": "question",
        },
        files={"file": ("export.log", b"export failed: disk full\n", "text/plain")},
    )
    assert asked.status_code == 303, asked.text
    async with db() as s:
        post = (await s.scalars(select(Post).where(col(Post.author_id) == uploader.id))).one()
    assert "[export.log](/uploads/" in post.body
    edited = await client.post(
        f"/p/{post.id}/edit",
        data={"csrf_token": await client.csrf(), "body": "No log after all.", "title": "The export stops halfway"},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert edited.status_code == 303
    async with db() as s:
        assert (await s.scalars(select(UploadPost).where(col(UploadPost.post_id) == post.id))).all() == []
    for page in ("/ask", f"/p/{post.id}/edit"):
        html = (await client.get(page)).text
        assert 'enctype="multipart/form-data"' in html and 'type="file"' in html


async def test_an_upload_only_a_hidden_post_uses_is_404_for_members_and_shown_to_moderators(
    client, other_client, db, uploader, other_member, moderator
):
    thread = await _thread(db, other_member)
    await client.login_as(uploader)
    url = (await send(client, "a.png", png(), "image/png")).json()["url"]
    reply = await client.submit(f"/t/{thread.id}/reply", {"body": f"Look: ![a]({url})"})
    assert reply.status_code == 303
    assert (await other_client.get(url)).status_code == 200  # visible post: anyone
    async with db.begin() as s:
        post = (await s.scalars(_own_post(uploader))).one()
        await state.hide_post(s, post, reason="moderator")
    assert (await other_client.get(url)).status_code == 404  # anonymous
    await other_client.login_as(other_member)
    assert (await other_client.get(url)).status_code == 404
    await other_client.login_as(moderator)
    shown = await other_client.get(url)
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "private, no-store"
    own = await client.get(url)  # its uploader still sees it, as they see their hidden post
    assert own.status_code == 200
    # Used again by a visible post: public again.
    await client.submit(f"/t/{thread.id}/reply", {"body": f"Again: ![a]({url})"})
    async with WebClient(client.app) as anonymous:
        assert (await anonymous.get(url)).status_code == 200


async def test_a_deleted_post_hides_its_upload_too(client, db, uploader, other_member):
    thread = await _thread(db, other_member)
    await client.login_as(uploader)
    url = (await send(client, "a.log", b"trace\n", "text/plain")).json()["url"]
    await client.submit(f"/t/{thread.id}/reply", {"body": f"Log: [a.log]({url})"})
    async with db.begin() as s:
        post = (await s.scalars(_own_post(uploader))).one()
        await state.delete_post(s, post)
    async with WebClient(client.app) as anonymous:
        assert (await anonymous.get(url)).status_code == 404


# ------------------------------------------------------------------ remote images


def test_a_remote_image_becomes_a_link_and_an_upload_an_image():
    html = markdown.render("![the error](https://tracker.example/pixel.png) ![mine](/uploads/abcdefghijklmnopqrstuvwx)")
    assert "<img" in html and 'src="/uploads/abcdefghijklmnopqrstuvwx"' in html and 'loading="lazy"' in html
    assert '<a href="https://tracker.example/pixel.png" rel="nofollow ugc noopener">the error</a>' in html
    assert 'tracker.example/pixel.png"' not in html.split("<img", 1)[1]
    for sneaky in ("![x](//evil.example/a.png)", "![x](/uploads/../secret)", "![x](http://evil.example/a.png)"):
        assert "<img" not in markdown.render(sneaky)


async def test_pages_allow_images_from_this_site_only(client, db, member):
    thread = await _thread(db, member)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    csp = page.headers["content-security-policy"]
    assert "img-src 'self';" in csp
    assert "https:" not in csp


async def test_a_posted_remote_image_shows_as_a_link(client, db, uploader, other_member):
    thread = await _thread(db, other_member)
    await client.login_as(uploader)
    await client.submit(f"/t/{thread.id}/reply", {"body": "It looks like ![this](https://other.example/a.png)."})
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert '<a href="https://other.example/a.png" rel="nofollow ugc noopener">this</a>' in page.text
    assert 'src="https://other.example' not in page.text


# ------------------------------------------------------------------ avatars


async def test_a_member_uploads_an_avatar_cropped_square_and_removes_it(client, db, uploader):
    await client.login_as(uploader)
    profile = f"/u/{uploader.username}"
    page = await client.get(profile)
    assert 'class="avatar avatar-large avatar-c' in page.text  # initials before any upload
    assert 'action="/me/avatar"' in page.text
    response = await client.post(
        "/me/avatar",
        data={"csrf_token": await client.csrf()},
        files={"file": ("me.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert response.status_code == 303
    async with db() as s:
        key = (await s.get(User, uploader.id)).avatar_key
    assert key
    served = await client.get(f"/uploads/{key}")
    image = Image.open(io.BytesIO(served.content))
    assert image.size == (256, 256) and len(image.getexif()) == 0
    assert f'src="/uploads/{key}"' in (await client.get(profile)).text
    removed = await client.submit("/me/avatar/remove")
    assert removed.status_code == 303
    async with db() as s:
        assert (await s.get(User, uploader.id)).avatar_key is None
        assert (await s.scalars(select(Upload).where(col(Upload.key) == key))).all() == []
    assert (await client.get(f"/uploads/{key}")).status_code == 404
    assert 'class="avatar avatar-large avatar-c' in (await client.get(profile)).text


async def test_an_avatar_must_be_an_image(client, uploader):
    await client.login_as(uploader)
    response = await client.post(
        "/me/avatar", data={"csrf_token": await client.csrf()}, files={"file": ("me.log", b"hello\n", "text/plain")}
    )
    assert response.status_code == 415
    assert "An avatar must be an image" in response.text


async def test_other_members_see_no_avatar_form(client, uploader, other_member):
    await client.login_as(other_member)
    page = await client.get(f"/u/{uploader.username}")
    assert 'action="/me/avatar"' not in page.text


async def test_posts_show_the_authors_avatar_or_initials(client, db, uploader):
    async with db.begin() as s:
        initials = await make_user(s, username="kim", display_name="Kim Minji")
        pictured = await s.get(User, uploader.id)
        pictured.avatar_key = "k" * 24
        s.add(
            service_upload := Upload(
                key="k" * 24, owner_id=uploader.id, kind="avatar", content_type="image/png", filename="a.png"
            )
        )
        assert service_upload is not None
        thread = await make_thread(s, author=initials)
        from tests.factories import make_reply

        await make_reply(s, thread, author=pictured)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert (
        f'<span class="avatar avatar-small avatar-c{service.avatar_colour("kim")}" aria-hidden="true">KM</span>'
        in page.text
    )
    assert f'<img class="avatar avatar-small" src="/uploads/{"k" * 24}"' in page.text


def test_initials_and_colours_are_fixed_per_name():
    assert service.avatar_initials("Kim Minji") == "KM"
    assert service.avatar_initials("김민지") == "김"
    assert service.avatar_initials("tom") == "T"
    assert service.avatar_initials("") == "?"
    assert service.avatar_initials("한지수 (Cloudnote 지원팀)") == "한C"
    assert service.avatar_initials("(•_•)") == "?"
    assert service.avatar_colour("kim") == service.avatar_colour("kim")
    assert {service.avatar_colour(f"user{i}") for i in range(40)} == set(range(8))


# ------------------------------------------------------------------ icons


async def test_favicon_and_manifest_are_served_with_cache_headers_and_linked(client):
    ico = await client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.headers["cache-control"] == "public, max-age=86400"
    assert Image.open(io.BytesIO(ico.content)).format == "ICO"
    svg = await client.get("/favicon.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    manifest = await client.get("/manifest.webmanifest", headers={"accept-language": "ko"})
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.headers["cache-control"] == "public, max-age=86400"
    data = json.loads(manifest.text)
    assert data["start_url"] == "/" and data["lang"] == "ko"
    for icon in data["icons"]:
        assert (await client.get(icon["src"])).status_code == 200
    home = (await client.get("/")).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in home
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in home


# ------------------------------------------------------------------ storage


async def _exercise(storage) -> None:  # type: ignore[no-untyped-def]
    key = service.new_key()
    assert not await storage.exists(key)
    assert await storage.open(key) is None
    await storage.put(key, b"hello", "text/plain; charset=utf-8")
    assert await storage.exists(key)
    assert await storage.open(key) == b"hello"
    listed = await asyncio.to_thread(lambda: set(storage.keys_before(utcnow() + timedelta(minutes=5))))
    assert key in listed
    assert key not in await asyncio.to_thread(lambda: set(storage.keys_before(utcnow() - timedelta(minutes=5))))
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(ValueError):
        await storage.put("../escape", b"x", "text/plain")


async def test_local_storage_puts_opens_and_deletes(tmp_path):
    await _exercise(LocalStorage(tmp_path / "uploads"))


S3_ENDPOINT = os.environ.get("FORUM_TEST_S3_ENDPOINT", "")


@pytest.mark.skipif(not S3_ENDPOINT, reason="no S3-compatible server: set FORUM_TEST_S3_ENDPOINT (and a bucket)")
async def test_s3_storage_against_a_real_server():
    bucket = os.environ.get("FORUM_TEST_S3_BUCKET", "forum-test")
    await _exercise(S3Storage(bucket, "tests", endpoint_url=S3_ENDPOINT, region="us-east-1"))


# ------------------------------------------------------------------ demo


async def test_the_demo_has_a_question_with_an_uploaded_screenshot(app, client, db):
    from forum.demo import SCREENSHOT_THREAD, load_demo
    from forum.models import Thread

    async with db.begin() as s:
        await load_demo(s, app.state.runtime.storage)
    async with db() as s:
        thread = (await s.scalars(select(Thread).where(col(Thread.title) == SCREENSHOT_THREAD))).one()
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    found = re.search(
        r'<img src="(/uploads/[\w-]{24})" alt="crash.png" width="\d+" height="\d+" loading="lazy">', page.text
    )
    assert found
    image = await client.get(found.group(1))
    assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).format == "PNG"


async def test_a_deleted_account_loses_its_avatar(client, db, uploader):
    from forum.services import account_data

    await client.login_as(uploader)
    await client.post(
        "/me/avatar", data={"csrf_token": await client.csrf()}, files={"file": ("me.png", png(), "image/png")}
    )
    async with db.begin() as s:
        me = await s.get(User, uploader.id)
        key = me.avatar_key
        assert key
        await account_data.delete_account(s, me)
    async with db() as s:
        assert (await s.get(User, uploader.id)).avatar_key is None
    assert (await client.get(f"/uploads/{key}")).status_code == 404
