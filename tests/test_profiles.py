"""Profiles: a member edits their display name and bio."""

from __future__ import annotations

from forum.models import User
from tests.factories import make_thread


async def test_a_member_edits_their_display_name_and_bio(client, db, member):
    await client.login_as(member)
    r = await client.submit("/me/profile", {"display_name": "  Kim Minji ", "bio": "I write notes.\r\nLots of them."})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Kim Minji" in page.text and "I write notes.\nLots of them." in page.text
    assert "member since" in page.text
    async with db() as s:
        fresh = await s.get(User, member.id)
    assert fresh is not None and (fresh.display_name, fresh.bio) == ("Kim Minji", "I write notes.\nLots of them.")


async def test_a_blank_display_name_is_the_username(client, db, member):
    await client.login_as(member)
    assert (await client.submit("/me/profile", {"display_name": "", "bio": ""})).status_code == 303
    async with db() as s:
        fresh = await s.get(User, member.id)
    assert fresh is not None and fresh.display_name == member.username


async def test_too_long_a_display_name_or_bio_is_refused_and_nothing_is_saved(client, db, member):
    await client.login_as(member)
    r = await client.submit("/me/profile", {"display_name": "x" * 51, "bio": "y" * 501})
    assert r.status_code == 422
    assert "Display names can have at most 50 characters." in r.text
    assert "Bios can have at most 500 characters." in r.text
    async with db() as s:
        fresh = await s.get(User, member.id)
    assert fresh is not None and fresh.bio == "" and fresh.display_name == member.display_name


async def test_the_profile_form_shows_only_to_its_owner(client, db, member, other_member):
    await client.login_as(other_member)
    page = await client.get(f"/u/{member.username}")
    assert 'action="/me/profile"' not in page.text


async def test_anonymous_readers_cannot_edit_a_profile(client):
    r = await client.submit("/me/profile", {"display_name": "Someone"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_display_name_shows_on_thread_pages(client, db, member):
    await client.login_as(member)
    await client.submit("/me/profile", {"display_name": "박현우", "bio": ""})
    async with db.begin() as s:
        thread = await make_thread(s, author=await s.get(User, member.id))
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "박현우" in page.text
