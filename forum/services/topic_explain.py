"""The per-thread explanation on a topic's page (:mod:`forum.topics.explain`):
the members' stored terms and vectors, read in one query; no encoder runs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum.models import Thread, ThreadTerms
from forum.topics.explain import MemberExplanation, MemberText, explain


async def explain_members(
    session: AsyncSession, threads: Sequence[Thread], key_terms: Sequence[str]
) -> dict[int, MemberExplanation]:
    """Thread id -> its explanation, for the threads a topic page shows (one query)."""
    ids = [t.id for t in threads if t.id is not None]
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(
                col(ThreadTerms.thread_id),
                col(ThreadTerms.title_terms),
                col(ThreadTerms.body_terms),
                col(ThreadTerms.vector),
                col(ThreadTerms.vector_model),
            ).where(col(ThreadTerms.thread_id).in_(ids))
        )
    ).all()
    stored = {tid: (f"{title} {body}".split(), vector, model) for tid, title, body, vector, model in rows}
    members = []
    for t in threads:
        assert t.id is not None
        terms, vector, model = stored.get(t.id, ([], None, None))
        members.append(MemberText(t.id, t.title, frozenset(w.lower() for w in terms), vector, model))
    return {e.thread_id: e for e in explain(members, key_terms)}
