"""The per-thread explanation on a topic's page: key terms each thread contains,
its closeness to the rest from the stored vectors, the weakest member marked."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from forum.models import ThreadTerms, TopicMember, TopicSuggestion
from forum.topics.explain import MemberText, closeness, contains_term, explain
from tests.factories import make_category, make_thread
from tests.support_helpers import QueryCounter


def _vec(*xs: float) -> bytes:
    return np.asarray(xs, dtype=np.float16).tobytes()


def _member(
    tid: int, vector: bytes | None, *, terms: str = "", title: str = "t", model: str | None = "m"
) -> MemberText:
    return MemberText(tid, title, frozenset(terms.split()), vector, model if vector is not None else None)


# ---------------------------------------------------------------- pure


def test_closeness_is_the_mean_cosine_to_the_other_members_from_0_to_100():
    # cos(a,b) = 0.6, cos(a,c) = 0, cos(b,c) = 0.8
    a, b, c = _vec(1, 0), _vec(0.6, 0.8), _vec(0, 1)
    assert closeness([a, b, c], ["m", "m", "m"]) == [30, 70, 40]


def test_the_scale_does_not_matter_and_opposites_count_as_zero():
    assert closeness([_vec(2, 0), _vec(5, 0)], ["m", "m"]) == [100, 100]
    assert closeness([_vec(1, 0), _vec(-1, 0)], ["m", "m"]) == [0, 0]


def test_vectors_compare_by_their_encoders_whatever_the_digest_of_their_text():
    a, b = _vec(1, 0), _vec(0.6, 0.8)
    assert closeness([a, b], ["enc:text1", "enc:text2"]) == [60, 60]
    assert closeness([a, b], ["enc:text1", "other:text2"]) == [None, None]


def test_a_member_without_a_stored_vector_or_of_another_encoder_has_no_closeness():
    a, b, c = _vec(1, 0), _vec(0.6, 0.8), _vec(0, 1, 0)
    assert closeness([a, None, b, c], ["m", None, "m", "other"]) == [60, None, 60, None]
    assert closeness([a, None], ["m", None]) == [None, None]  # nothing to compare with


def test_the_weakest_member_is_marked_once_three_have_a_closeness():
    members = [_member(1, _vec(1, 0)), _member(2, _vec(0.6, 0.8)), _member(3, _vec(0, 1)), _member(4, None)]
    out = explain(members, [])
    assert [(e.thread_id, e.closeness, e.weakest) for e in out] == [
        (1, 30, True),
        (2, 70, False),
        (3, 40, False),
        (4, None, False),
    ]
    two = explain(members[:2], [])
    assert not any(e.weakest for e in two)


def test_key_terms_match_stored_terms_korean_stems_phrases_and_titles():
    m = _member(1, None, terms="앱 튕기 자꾸 sign in", title="Refund please")
    assert contains_term(m, "튕기다")  # the key term's dictionary form, stored as its stem
    assert contains_term(m, "앱")
    assert contains_term(m, "sign in")  # every word of a phrase
    assert contains_term(m, "refund")  # in the title
    assert not contains_term(m, "환불")
    assert not contains_term(m, "log in")
    assert explain([m], ["튕기다", "환불", "sign in"])[0].key_terms == ("튕기다", "sign in")
    # an English key term is shown as the threads wrote it, and stored as its stem
    m = _member(2, None, terms="accident order reimburs", title="Double charge")
    assert contains_term(m, "accidentally") and contains_term(m, "reimbursement")
    assert not contains_term(m, "refunded")


# ---------------------------------------------------------------- the page


@pytest.fixture
async def topic(db):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        category = await make_category(s)
        suggestion = TopicSuggestion(title="앱이 튕겨요", key_terms=json.dumps(["튕기다", "업데이트"]), thread_count=4)
        s.add(suggestion)
        await s.flush()
        rows = [
            ("앱이 업데이트 후 튕겨요", "앱 업데이트 후 튕기", _vec(1, 0)),
            ("실행하면 튕겨요", "실행 튕기", _vec(0.6, 0.8)),
            ("자꾸 꺼져요", "자꾸 꺼지", _vec(0, 1)),
            ("앱이 멈춰요", "앱 멈추", None),
        ]
        threads = []
        for title, terms, vector in rows:
            t = await make_thread(s, category=category, title=title, body=title)
            threads.append(t)
            s.add(TopicMember(thread_id=t.id, suggestion_id=suggestion.id))
            s.add(
                ThreadTerms(
                    thread_id=t.id,
                    digest="x",
                    title_terms=terms,
                    body_terms="",
                    vector=vector,
                    vector_model="m" if vector is not None else None,
                )
            )
    return suggestion, threads


def _row(html: str, title: str) -> str:
    start = html.index(f">{title}</a>")
    end = html.find('<li class="thread-row">', start)
    return html[start : end if end > 0 else len(html)]


async def test_each_thread_shows_its_key_terms_its_closeness_and_the_weakest_is_marked(client, staff, topic):
    suggestion, _ = topic
    await client.login_as(staff)
    r = await client.get(f"/topics/{suggestion.id}")
    assert r.status_code == 200
    first = _row(r.text, "앱이 업데이트 후 튕겨요")
    assert "Closeness 30" in first and "Weakest member" in first
    assert re.search(r"term-chip\">튕기다<.*term-chip\">업데이트<", first, re.S)
    second = _row(r.text, "실행하면 튕겨요")
    assert "Closeness 70" in second and "Weakest member" not in second and "업데이트<" not in second
    assert "None of the key terms" in _row(r.text, "자꾸 꺼져요")
    assert "No stored vector: closeness unknown" in _row(r.text, "앱이 멈춰요")


async def test_the_explanation_is_in_korean_for_a_korean_reader(client, db, topic):
    from forum.models import Role
    from tests.factories import make_user

    suggestion, _ = topic
    async with db.begin() as s:
        lead = await make_user(s, role=Role.staff, locale="ko")
    await client.login_as(lead)
    r = await client.get(f"/topics/{suggestion.id}")
    assert "근접도 70" in r.text and "가장 동떨어진 글" in r.text and "저장된 벡터 없음" in r.text


async def test_the_explanation_costs_one_query_whatever_the_number_of_threads(client, app, db, staff, topic):
    suggestion, _threads = topic
    await client.login_as(staff)
    await client.get(f"/topics/{suggestion.id}")
    with QueryCounter(app) as few:
        await client.get(f"/topics/{suggestion.id}")
    async with db.begin() as s:
        for i in range(12):
            t = await make_thread(s, title=f"더 튕겨요 {i}")
            s.add(TopicMember(thread_id=t.id, suggestion_id=suggestion.id))
            s.add(
                ThreadTerms(
                    thread_id=t.id, digest="x", title_terms="튕기", body_terms="", vector=_vec(1, i), vector_model="m"
                )
            )
    with QueryCounter(app) as many:
        r = await client.get(f"/topics/{suggestion.id}")
    assert r.status_code == 200 and "Closeness" in r.text
    assert len(few) == len(many)
    assert sum("thread_terms" in q for q in many.statements) == 1


async def test_members_cannot_see_a_topic_page(client, member, topic):
    suggestion, _ = topic
    await client.login_as(member)
    assert (await client.get(f"/topics/{suggestion.id}")).status_code == 403
