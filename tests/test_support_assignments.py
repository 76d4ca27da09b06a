"""Assigning threads: who may, to whom, and the history it leaves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum.errors import NotAllowed, ValidationError
from forum.models import AssignmentEvent, Role, ThreadAssignment
from forum.services import assignments
from tests.factories import make_thread, make_user


async def _events(db, thread):  # type: ignore[no-untyped-def]
    async with db() as s:
        rows = await s.scalars(
            select(AssignmentEvent).where(AssignmentEvent.thread_id == thread.id).order_by(AssignmentEvent.id)
        )
        return [(e.action, e.actor_id, e.from_user_id, e.to_user_id) for e in rows]


async def test_assign_reassign_and_unassign_are_recorded(db, staff, moderator):
    async with db.begin() as s:
        thread = await make_thread(s)
    async with db.begin() as s:
        assert await assignments.assign(s, thread, actor=staff, assignee=staff) is True
    async with db.begin() as s:
        assert await assignments.assign(s, thread, actor=staff, assignee=staff) is False
    async with db.begin() as s:
        assert await assignments.assign(s, thread, actor=moderator, assignee=moderator) is True
    async with db() as s:
        current = await s.get(ThreadAssignment, thread.id)
        assert current is not None
        assert (current.assignee_id, current.assigned_by_id) == (moderator.id, moderator.id)
    async with db.begin() as s:
        assert await assignments.unassign(s, thread, actor=staff) is True
        assert await assignments.unassign(s, thread, actor=staff) is False
    async with db() as s:
        assert await s.get(ThreadAssignment, thread.id) is None
    assert await _events(db, thread) == [
        ("assigned", staff.id, None, staff.id),
        ("reassigned", moderator.id, staff.id, moderator.id),
        ("unassigned", staff.id, moderator.id, None),
    ]


async def test_members_cannot_assign_and_threads_go_only_to_staff(db, staff, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    async with db.begin() as s:
        with pytest.raises(NotAllowed):
            await assignments.assign(s, thread, actor=member, assignee=staff)
        with pytest.raises(ValidationError):
            await assignments.assign(s, thread, actor=staff, assignee=member)
    assert await _events(db, thread) == []


async def test_banned_staff_cannot_be_assigned(db, staff):
    from forum.clock import utcnow

    async with db.begin() as s:
        thread = await make_thread(s)
        gone = await make_user(s, role=Role.staff)
        gone.banned_at = utcnow()
    async with db.begin() as s:
        with pytest.raises(ValidationError):
            await assignments.assign(s, thread, actor=staff, assignee=gone)


async def test_staff_assign_from_the_thread_page_and_see_it_there(client, db, staff, moderator):
    async with db.begin() as s:
        thread = await make_thread(s, title="Where is my invoice?")
    await client.login_as(staff)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Nobody is assigned." in page.text
    assert f'action="/t/{thread.id}/assign"' in page.text
    r = await client.submit(f"/t/{thread.id}/assign", {"assignee": "moderator"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/t/{thread.id}/{thread.slug}#support-panel"
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Assigned to Moderator" in page.text
    assert "Staff assigned it to Moderator" in page.text
    r = await client.submit(f"/t/{thread.id}/unassign", {})
    assert r.status_code == 303
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert "Staff unassigned Moderator" in page.text
    assert "Nobody is assigned." in page.text


async def test_members_see_no_support_panel_and_cannot_post_assignments(client, db, member, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(member)
    page = await client.get(f"/t/{thread.id}/{thread.slug}")
    assert page.status_code == 200
    assert "support-panel" not in page.text
    r = await client.submit(f"/t/{thread.id}/assign", {"assignee": "staff"})
    assert r.status_code == 403
    assert await _events(db, thread) == []


async def test_assigning_to_a_member_shows_a_clear_error_and_changes_nothing(client, db, staff, member):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    r = await client.submit(f"/t/{thread.id}/assign", {"assignee": "member"})
    assert r.status_code == 422
    assert "only be assigned to staff" in r.text
    r = await client.submit(f"/t/{thread.id}/assign", {"assignee": "nobody-by-that-name"})
    assert r.status_code == 422
    assert await _events(db, thread) == []


async def test_assignment_needs_a_valid_form_token(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    r = await client.post(f"/t/{thread.id}/assign", data={"assignee": "me", "csrf_token": "forged"})
    assert r.status_code == 403
    assert await _events(db, thread) == []


async def test_assigning_a_hidden_thread_needs_a_moderator(client, db, staff, moderator):
    from forum.clock import utcnow

    async with db.begin() as s:
        thread = await make_thread(s)
        thread.hidden_at = utcnow()
    await client.login_as(staff)
    assert (await client.submit(f"/t/{thread.id}/assign", {"assignee": "me"})).status_code == 404
    await client.login_as(moderator)
    assert (await client.submit(f"/t/{thread.id}/assign", {"assignee": "me"})).status_code == 303


async def test_the_redirect_after_assigning_stays_on_this_site(client, db, staff):
    async with db.begin() as s:
        thread = await make_thread(s)
    await client.login_as(staff)
    r = await client.submit(f"/t/{thread.id}/assign", {"assignee": "me", "next": "https://evil.example/"})
    assert r.headers["location"] == f"/t/{thread.id}/{thread.slug}#support-panel"
