"""Sentence embeddings: the real encoder, stored once per thread, blended into
similar questions and topic detection, and a switch to turn them off."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import select, update

from forum.db import make_sync_engine
from forum.models import Post, Thread, ThreadTerms
from forum.text import ENCODE_BODY_CHARS, Analyzer, Synonyms, ThreadText
from forum.topics import embed, store
from forum.topics.cluster import Doc, assign, detect
from forum.topics.settings import DEFAULT_SETTINGS, DEFAULT_SIMILARITY
from forum.topics.similarity import SimilarityIndex
from tests.factories import make_category, make_thread, make_user
from tests.kb_helpers import cli


def test_paraphrases_sit_closer_than_other_questions_in_korean_english_and_across():
    refund_ko, money_back_ko, password_ko, refund_en, money_back_en, password_en = embed.encode(
        [
            "환불 받고 싶어요",
            "돈을 돌려받을 수 있나요",
            "비밀번호를 잊어버렸어요",
            "Can I get a refund?",
            "I want my money back",
            "How do I reset my password",
        ]
    )
    assert refund_ko @ money_back_ko > refund_ko @ password_ko + 0.2
    assert refund_en @ money_back_en > refund_en @ password_en + 0.2
    assert refund_ko @ money_back_en > refund_ko @ password_en + 0.2
    assert np.allclose(np.linalg.norm([refund_ko, password_en], axis=1), 1.0, atol=1e-5)


def test_empty_texts_encode_to_zeros_and_vectors_survive_storage():
    vectors = embed.encode(["", "  ", "hello"])
    assert not vectors[0].any() and not vectors[1].any() and vectors[2].any()
    assert np.allclose(embed.from_bytes(embed.to_bytes(vectors[2])), vectors[2], atol=1e-3)
    assert len(embed.to_bytes(vectors[2])) == 2 * embed.dim()


def test_the_encoded_text_is_the_title_then_the_start_of_the_post():
    assert ThreadText("Refund", "Refund").encoding_text() == "Refund"
    assert ThreadText("Refund", "I paid twice.\n\nPlease help.").encoding_text() == "Refund\nI paid twice. Please help."
    assert len(ThreadText("t", "x" * 5000).encoding_text()) == len("t\n") + ENCODE_BODY_CHARS


def test_the_encoders_see_the_thread_and_blend_into_one_cosine():
    assert embed.e5_available() and embed.mini_available()
    assert embed.dim() == embed.USE_DIM + embed.E5_DIM + embed.MINI_DIM
    a, b, c = embed.encode(
        [
            ThreadText("환불 받고 싶어요", "지난달에 두 번 결제됐어요").encoding_text(),
            ThreadText("돈 돌려받을 수 있나요", "결제가 잘못됐어요").encoding_text(),
            ThreadText("환불 받고 싶어요", "비밀번호도 잊어버렸어요").encoding_text(),
        ]
    )
    use = slice(0, embed.USE_DIM)
    e5 = slice(embed.USE_DIM, embed.USE_DIM + embed.E5_DIM)
    mini = slice(embed.USE_DIM + embed.E5_DIM, None)
    use_share, e5_share, mini_share = embed.shares(korean=True)
    # each part is a scaled unit vector, so one dot product is the weighted blend;
    # the English encoder has no part in a Korean text
    assert np.isclose(a[use] @ a[use], use_share, atol=1e-5)
    assert np.isclose(a[e5] @ a[e5], e5_share, atol=1e-5)
    assert mini_share == 0 and not a[mini].any()
    # e5 reads the title only; USE also reads the post
    assert np.allclose(a[e5], c[e5], atol=1e-6) and not np.allclose(a[use], c[use], atol=1e-3)
    # with the shared direction taken away, e5's cosines spread out: paraphrases high,
    # another question low
    password = embed.encode(["비밀번호를 잊어버렸어요"])[0]
    assert a[e5] @ b[e5] / e5_share > 0.4 > a[e5] @ password[e5] / e5_share


def test_english_text_is_read_by_all_three_encoders():
    cancel, block, weather = embed.encode(
        [
            ThreadText("How do I cancel my card", "I lost it yesterday.").encoding_text(),
            "please block my credit card",
            "what's the weather like today",
        ]
    )
    parts = [
        slice(0, embed.USE_DIM),
        slice(embed.USE_DIM, embed.USE_DIM + embed.E5_DIM),
        slice(embed.USE_DIM + embed.E5_DIM, None),
    ]
    for part, share in zip(parts, embed.shares(korean=False), strict=True):
        assert share > 0 and np.isclose(cancel[part] @ cancel[part], share, atol=1e-5)
    mini = parts[2]
    share = embed.shares(korean=False)[2]
    assert cancel[mini] @ block[mini] / share > 0.4 > cancel[mini] @ weather[mini] / share
    # a Korean and an English text meet through the multilingual encoders only
    refund_ko = embed.encode(["환불 받고 싶어요"])[0]
    assert not refund_ko[mini].any()


def test_a_query_is_read_without_minilm_and_scores_one_against_its_own_text():
    texts = ["How do I cancel my card", "환불 받고 싶어요", "please block my credit card"]
    stored = embed.encode(texts)
    queries = embed.encode(texts, query=True, quick=False)  # e5's stored-vector graph: exact
    mini = slice(embed.USE_DIM + embed.E5_DIM, None)
    assert not queries[:, mini].any()
    assert np.allclose((stored * queries).sum(axis=1), 1.0, atol=1e-5)
    # against another text: the mean of the two multilingual encoders' cosines
    use, e5 = slice(0, embed.USE_DIM), slice(embed.USE_DIM, embed.USE_DIM + embed.E5_DIM)
    s_use, s_e5, _ = embed.shares(korean=False)
    mean = (stored[0, use] @ stored[2, use] / s_use + stored[0, e5] @ stored[2, e5] / s_e5) / 2
    assert np.isclose(queries[0] @ stored[2], mean, atol=1e-5)
    # a Korean query is read as a Korean thread is
    assert np.allclose(queries[1], stored[1], atol=1e-6)
    # a lookup's query is read by e5's quicker graph: about one against its own text
    quick = embed.encode(texts, query=True)
    assert not quick[:, mini].any()
    assert np.allclose((stored * quick).sum(axis=1), 1.0, atol=0.02)


def test_shares_sum_to_one_among_the_encoders_installed(monkeypatch):
    assert np.isclose(sum(embed.shares(korean=True)), 1.0) and np.isclose(sum(embed.shares(korean=False)), 1.0)
    monkeypatch.setattr(embed, "mini_available", lambda: False)
    use, e5, mini = embed.shares(korean=False)
    assert mini == 0 and np.isclose(use + e5, 1.0) and np.isclose(use, e5)


def _index(**kwargs) -> SimilarityIndex:
    docs = [
        (1, "How do I cancel my subscription?\nI no longer need it."),
        (2, "How do I change the card my subscription is paid with?\nMy card expired."),
        (3, "환불 받고 싶어요\n지난달 결제를 환불해 주세요."),
        (4, "비밀번호를 잊어버렸어요\n로그인이 안 돼요."),
    ]
    return SimilarityIndex.build(docs, Analyzer(Synonyms.from_lines([])), **kwargs)


def test_similar_questions_blend_meaning_with_shared_words():
    index = _index()
    assert index.embed_weight == DEFAULT_SIMILARITY.search_weight
    hits = index.query("stop my subscription from renewing", 5)
    assert hits[0][0] == 1
    assert all(0 < score <= 1 for _, score in hits)
    # Korean: the refund question, not the password one, for a differently worded refund request
    assert index.query("환불 요청은 어떻게 하나요", 1)[0][0] == 3


def test_a_query_blends_its_cosines_the_same_way_whatever_the_language_of_the_thread():
    """A Korean thread's vector holds e5 at a larger share than an English one's: the
    query is rescaled for each, so that a Korean query meets an English thread (and an
    English query a Korean thread) with the mean of cosines it uses in its own language."""
    texts = ["How do I get a refund?", "환불 받고 싶어요"]
    stored = embed.encode(texts)
    assert embed.stored_korean(stored).tolist() == [False, True]
    assert not embed.stored_korean(np.zeros((1, embed.dim()), np.float32)).any()
    use, e5 = slice(0, embed.USE_DIM), slice(embed.USE_DIM, embed.USE_DIM + embed.E5_DIM)

    def cosines(a: int, b: int) -> tuple[float, float]:
        ka, kb = embed.shares(korean=a == 1), embed.shares(korean=b == 1)
        return (
            float(stored[a, use] @ stored[b, use] / np.sqrt(ka[0] * kb[0])),
            float(stored[a, e5] @ stored[b, e5] / np.sqrt(ka[1] * kb[1])),
        )

    queries = embed.encode(texts, query=True, quick=False)  # exact, as stored vectors are read
    for_korean = embed.for_documents(queries, texts, korean_docs=True)
    for_other = embed.for_documents(queries, texts, korean_docs=False)
    # within a language nothing changes
    assert np.allclose(for_other[0], queries[0]) and np.allclose(for_korean[1], queries[1])
    cu, ce = cosines(0, 1)
    s_use, s_e5, _ = embed.shares(korean=True)
    assert np.isclose(for_other[1] @ stored[0], (s_use * cu + s_e5 * ce) / (s_use + s_e5), atol=1e-4)
    assert np.isclose(for_korean[0] @ stored[1], (cu + ce) / 2, atol=1e-4)
    # the index does the same, and keeps each row's language through bytes
    docs = [(1, "How do I get a refund?\nI was charged twice."), (2, "환불 받고 싶어요\n결제를 취소했어요.")]
    index = SimilarityIndex.build(docs, Analyzer(Synonyms.from_lines([])))
    again = SimilarityIndex.from_bytes(bytes(index.to_bytes()), index.analyzer)
    assert index._korean.tolist() == again._korean.tolist() == [0, 1]
    qe = again._query_vectors(["돈을 돌려받고 싶어요"])[0]
    index._matrices()
    again._matrices()
    Q = embed.encode(["돈을 돌려받고 싶어요"], query=True)
    V = embed.encode([ThreadText(*d.split("\n")).encoding_text() for _, d in docs])
    expected = [
        float(embed.for_documents(Q, ["돈을 돌려받고 싶어요"], korean_docs=k)[0] @ v)
        for k, v in zip((False, True), V, strict=True)
    ]
    assert np.allclose(again._embed_scores(qe, korean_query=True), expected, atol=2e-3)


def test_only_the_best_rows_of_the_other_language_are_scored_again():
    """One pass with the query's own vector, then its vector for the other language on
    that language's best rows: those are exact, the same language's rows always."""
    rng = np.random.default_rng(3)
    index = SimilarityIndex(None, settings=replace(DEFAULT_SIMILARITY, cross_rescore=50))  # type: ignore[arg-type]
    index._E = rng.standard_normal((1000, 16)).astype(np.float32)
    index._korean = np.where(rng.random(1000) < 0.5, 1, 0).astype(np.int8)
    index._korean[:10] = -1  # not known: read as the query's language
    qe = rng.standard_normal((2, 16)).astype(np.float32)
    exact = np.where(index._korean == 0, index._E @ qe[1], index._E @ qe[0])
    e = index._embed_scores(qe, korean_query=True)
    same = index._korean != 0
    assert np.allclose(e[same], exact[same], atol=1e-5)
    redone = np.flatnonzero(~same & np.isclose(e, exact, atol=1e-5))
    first = index._E @ qe[0]
    assert len(redone) >= 50 and set(np.argsort(-first[~same])[:50]) <= set(
        np.searchsorted(np.flatnonzero(~same), redone)
    )
    index.settings = replace(DEFAULT_SIMILARITY, cross_rescore=1000)
    assert np.allclose(index._embed_scores(qe, korean_query=True), exact, atol=1e-5)


def test_a_match_must_share_something_with_the_query():
    index = _index()
    assert index.query("zzzz qqqq", 5) == []
    assert index.query("what is the capital of peru", 5) == []


def test_an_index_with_embeddings_round_trips_through_bytes():
    index = _index()
    again = SimilarityIndex.from_bytes(index.to_bytes(), index.analyzer)
    assert again.embed_weight == index.embed_weight
    before = index.query("cancel subscription", 3)
    after = again.query("cancel subscription", 3)
    assert [d for d, _ in before] == [d for d, _ in after]
    assert np.allclose([s for _, s in before], [s for _, s in after], atol=1e-3)


def test_embeddings_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("FORUM_EMBEDDINGS", "off")
    assert not embed.enabled()
    assert embed.fingerprint() == "embeddings:off"
    index = _index()
    assert index.embed_weight == 0.0
    assert [d for d, _ in index.query("cancel my subscription", 1)] == [1]
    monkeypatch.setenv("FORUM_EMBEDDINGS", "on")
    assert embed.enabled() and embed.fingerprint().startswith("use3-")


def test_topics_group_korean_paraphrases_that_share_few_words():
    # No synonyms at all: 돌려받다 / 환불 / 결제 취소 only meet through meaning. In a forum this
    # small a thread borrows in smoothing only from neighbours at least 0.6 of the merge bar alike
    # (ClusterSettings.smooth_floor); the password questions (0.47-0.56 apart in meaning, nearly
    # nothing in words) fall short of it, which is the point of the floor in a small forum, so
    # here smoothing borrows from every neighbour to show what meaning alone links.
    refund = [
        "환불 받고 싶어요",
        "결제한 돈 돌려받을 수 있나요",
        "구독 취소하고 환불 요청합니다",
        "환불 신청은 어디서 하나요",
    ]
    password = [
        "비밀번호를 잊어버렸어요",
        "비번 재설정 메일이 안 와요",
        "로그인 암호를 바꾸고 싶어요",
        "비밀번호 찾기는 어떻게 하나요",
    ]
    others = ["회사 소개서를 받을 수 있을까요", "로고 사용 가이드가 있나요", "사무실 위치가 어디인가요"]
    texts = refund + password + others
    docs = [Doc(id=i, title=t, body=t) for i, t in enumerate(texts)]
    analyzer = Analyzer(Synonyms.from_lines([]))
    lending = replace(DEFAULT_SETTINGS, smooth_floor=0.0)
    topics = detect(docs, analyzer, settings=lending)
    groups = [{texts[i] for i in t.doc_ids} for t in topics]
    assert any(len(g & set(refund)) >= 3 and not g & set(password) for g in groups), groups
    assert any(len(g & set(password)) >= 3 and not g & set(refund) for g in groups), groups
    assert not any(g & set(others) for g in groups), groups
    # with the default floor the refund questions (0.53-0.70 apart) are still one topic
    groups = [{texts[i] for i in t.doc_ids} for t in detect(docs, analyzer)]
    assert any(len(g & set(refund)) >= 3 and not g & set(password) for g in groups), groups
    assert not any(g & set(others) for g in groups), groups


def test_a_new_wording_joins_its_topic_through_the_nearest_members():
    # No synonyms: 종료 / 닫히다 share no word with 튕기다, only meaning.
    crash = ["앱이 자꾸 튕겨요", "앱이 계속 튕깁니다", "앱 실행하면 튕겨요", "앱이 갑자기 튕겨요"]
    refund = ["How do I get a refund for my subscription", "Can I get a refund for my subscription",
              "Refund for my subscription please", "I want a refund for my subscription"]  # fmt: skip
    analyzer = Analyzer(Synonyms.from_lines([]))
    vectors = embed.encode(crash + refund)
    topics = detect([Doc(id=i, title=t, body=t) for i, t in enumerate(crash + refund)], analyzer, vectors=vectors)
    assert sorted(t.doc_ids for t in topics) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    new_titles = ["프로그램이 갑자기 종료돼요", "켜면 바로 닫혀버립니다", "다크 모드는 어디서 켜나요"]
    new = [Doc(id=100 + i, title=t, body=t) for i, t in enumerate(new_titles)]
    members = [d for t in topics for d in t.doc_ids]

    joined, left = assign(new, topics, analyzer, vectors=embed.encode(new_titles), members=(members, vectors[members]))
    by_first = {t.doc_ids[0]: t.doc_ids for t in joined}
    assert by_first[0] == [0, 1, 2, 3, 100, 101] and by_first[4] == [4, 5, 6, 7]
    assert [d.id for d in left] == [102]
    # Words alone cannot tell.
    _, left = assign(new, topics, analyzer)
    assert [d.id for d in left] == [100, 101, 102]


async def test_vectors_are_stored_once_and_renewed_when_the_text_changes(db, database_url):
    async with db.begin() as s:
        category = await make_category(s)
        author = await make_user(s, username="asker")
        thread = await make_thread(s, author=author, category=category, title="환불 받고 싶어요", body="결제 취소")
        thread_id = thread.id
    engine = make_sync_engine(database_url)
    try:
        analyzer = Analyzer(Synonyms.from_lines([]))
        with engine.connect() as conn:
            texts = store.load_texts_by_id(conn, [thread_id])
        store.ensure_terms(engine, texts, analyzer)
        first = store.ensure_vectors(engine, texts)[0]
        with engine.connect() as conn:
            blob, model = conn.execute(
                select(ThreadTerms.vector, ThreadTerms.vector_model).where(ThreadTerms.thread_id == thread_id)
            ).one()
        assert model == store.vector_key("환불 받고 싶어요", "결제 취소")
        assert model != store.vector_key("환불 받고 싶어요", "결제 취소", encoder="another encoder")
        assert np.array_equal(embed.from_bytes(blob), first)

        # A stored vector is read back, not encoded again.
        calls = []
        real = embed.encode

        def counting(texts, **kw):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return real(texts, **kw)

        embed.encode = counting  # type: ignore[assignment]
        try:
            again = store.ensure_vectors(engine, texts)[0]
            assert calls == [] and np.array_equal(again, first)
            # A new analyser re-analyses the text but keeps its vector (same text, same encoder).
            with engine.begin() as conn:
                conn.execute(update(ThreadTerms).values(digest="another analyser"))
            store.ensure_terms(engine, texts, analyzer)
            assert calls == [] and np.array_equal(store.ensure_vectors(engine, texts)[0], first)
            # An edited text gets new terms and is encoded anew.
            with engine.begin() as conn:
                conn.execute(update(Thread).where(Thread.id == thread_id).values(title="비밀번호를 잊어버렸어요"))
                conn.execute(update(Post).where(Post.thread_id == thread_id).values(body="로그인이 안 돼요"))
            with engine.connect() as conn:
                edited = store.load_texts_by_id(conn, [thread_id])
            store.ensure_terms(engine, edited, analyzer)
            renewed = store.ensure_vectors(engine, edited)[0]
            assert calls == [1] and float(renewed @ first) < 0.9
        finally:
            embed.encode = real  # type: ignore[assignment]
    finally:
        engine.dispose()


def test_import_analyses_and_encodes_what_it_brought_in(database_url, tmp_path):
    path = tmp_path / "threads.jsonl"
    lines = [
        {"external_id": f"x{i}", "title": t, "body": t} for i, t in enumerate(["환불 받고 싶어요", "Reset password"])
    ]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    done = cli(database_url, "import", "threads", str(path))
    assert done.returncode == 0, done.stderr
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(ThreadTerms.title_terms, ThreadTerms.vector, ThreadTerms.vector_model)).all()
    finally:
        engine.dispose()
    assert len(rows) == 2
    assert all(terms and vector is not None and len(vector) == 2 * embed.dim() for terms, vector, _ in rows)
    assert all(model.startswith(store.vector_key("", "")[:-16]) for _, _, model in rows)


@pytest.mark.parametrize("flag", ["0", "off", "false", "no", "OFF"])
def test_every_off_spelling_turns_embeddings_off(monkeypatch, flag):
    monkeypatch.setenv("FORUM_EMBEDDINGS", flag)
    assert not embed.enabled()


def test_topics_from_given_vectors_match_topics_from_vectors_encoded_on_the_spot():
    texts = ["환불 받고 싶어요", "환불은 어떻게 하나요", "환불 신청 방법", "환불 요청합니다"]
    texts += ["비밀번호를 잊어버렸어요", "비밀번호 찾기", "비밀번호 재설정 메일이 안 와요", "비밀번호를 바꾸고 싶어요"]
    docs = [Doc(id=10 - i, title=t, body=t) for i, t in enumerate(texts)]  # ids in reverse: detect sorts them
    analyzer = Analyzer(Synonyms.from_lines([]))
    vectors = embed.encode(texts)
    given = detect(docs, analyzer, vectors=vectors)
    encoded = detect(docs, analyzer)
    assert [sorted(t.doc_ids) for t in given] == [sorted(t.doc_ids) for t in encoded]
    assert frozenset({10, 9, 8, 7}) in {frozenset(t.doc_ids) for t in given}


def test_the_large_corpus_neighbour_search_finds_neighbours_by_meaning_alone():
    # 60 "topics" of 30 rows that share no words (empty tf-idf part): only the dense part links them.
    import scipy.sparse as sp

    from forum.topics.similarity import TextModel, _pruned_knn, knn_graph

    rng = np.random.default_rng(3)
    centres = rng.standard_normal((60, 64)).astype(np.float32)
    E = np.repeat(centres, 30, axis=0) + 0.35 * rng.standard_normal((1800, 64)).astype(np.float32)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    X = sp.csr_matrix((1800, 10), dtype=np.float32)
    model = TextModel({}, np.zeros(0, np.float32), 1800)
    exact, _ = knn_graph(model, X, None, 10, E=E)
    approx, sim = _pruned_knn(X, 10, E=E)
    assert (approx != np.arange(1800)[:, None]).all()  # never itself
    found = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx, exact, strict=True)])
    assert found >= 0.9
    assert (np.diff(sim, axis=1) <= 1e-6).all()  # best first


def test_a_large_corpus_keeps_its_vectors_in_their_leading_directions():
    rng = np.random.default_rng(3)
    n, full = 1200, embed.dim()
    # vectors that live in 100 directions: their 256 leading ones keep every dot product
    V = (rng.standard_normal((n, 100)) @ rng.standard_normal((100, full))).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    P = embed.basis(V)
    assert P is not None and P.shape == (full, embed.REDUCED_DIM)
    assert np.allclose(P.T @ P, np.eye(embed.REDUCED_DIM), atol=1e-4)
    R = embed.project(V.astype(np.float16), P)
    assert R.dtype == np.float32 and np.allclose(R[:50] @ R[:50].T, V[:50] @ V[:50].T, atol=2e-3)
    assert embed.basis(V[:100]) is None  # a small corpus stays as encoded

    docs = [(i, f"question number {i}\nabout thing {i % 37}") for i in range(n)]
    index = SimilarityIndex.build(docs, Analyzer(Synonyms.from_lines([])), vectors=V, embed_weight=0.6)
    assert index._P is not None and index._matrices() and index._E.shape == (n, embed.REDUCED_DIM)
    again = SimilarityIndex.from_bytes(bytes(index.to_bytes()), Analyzer(Synonyms.from_lines([])))
    assert np.array_equal(again._P, index._P)
    for text in ("question number 7 about thing 7", "thing 12"):
        hits, stored = index.query(text, 5), again.query(text, 5)  # the blob keeps float16
        assert hits and [d for d, _ in stored] == [d for d, _ in hits]
        assert np.allclose([s for _, s in stored], [s for _, s in hits], atol=1e-3)


async def test_stored_vectors_are_read_by_thread_whatever_their_count(db, database_url):
    async with db.begin() as s:
        category = await make_category(s)
        author = await make_user(s, username="reader")
        threads = [
            await make_thread(
                s, title=f"Question number {i}", body="A body long enough", category=category, author=author
            )
            for i in range(3)
        ]
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            texts = store.load_texts_by_id(conn, [t.id for t in threads])
        store.ensure_terms(engine, texts, Analyzer(Synonyms.from_lines([])))
        encoded = store.ensure_vectors(engine, texts)
        with engine.connect() as conn:
            none, empty = store.stored_vectors(conn, [])
            assert none == [] and empty.shape == (0, embed.dim())
            ids, vectors = store.stored_vectors(conn, [threads[2].id, threads[0].id, 10**9])
        assert sorted(ids) == sorted([threads[2].id, threads[0].id])
        by_id = {t.id: v for t, v in zip(texts, encoded, strict=True)}
        assert all(np.allclose(v, by_id[i].astype(np.float32)) for i, v in zip(ids, vectors, strict=True))
    finally:
        engine.dispose()


def test_centring_takes_each_encoders_common_direction_away_and_keeps_its_share():
    V = embed.encode(["Can I get a refund?", "How do I reset my password?", "What time is it in Paris?", ""])
    mean = embed.part_means(V[:3])
    C = embed.centred(V.copy(), mean)
    for part in embed._part_slices():
        if part.stop > part.start:
            assert np.allclose(np.linalg.norm(C[:3, part], axis=1), np.linalg.norm(V[:3, part], axis=1), atol=1e-5)
    assert not C[3].any()  # an empty text stays zero
    # questions that mean different things fall further apart than before
    assert (C[0] @ C[1]) < (V[0] @ V[1])
    assert np.allclose(embed.project(V, None, mean), C, atol=1e-6)


def test_feedback_raises_the_matches_that_agree_with_the_best_ones():
    """Pseudo-relevance feedback: of two rows the query scores alike, the one whose stored
    vector is close to the best matches' gains; rows outside the pool and dead rows do not."""
    index = SimilarityIndex(None, settings=replace(DEFAULT_SIMILARITY, feedback_docs=2))  # type: ignore[arg-type]
    E = np.zeros((6, 4), dtype=np.float32)
    E[0] = E[1] = [1, 0, 0, 0]  # the two best matches
    E[2] = [1, 0, 0, 0]  # agrees with them
    E[3] = [0, 1, 0, 0]  # does not
    E[4] = [1, 0, 0, 0]  # agrees, but the query found nothing in it
    E[5] = [1, 0, 0, 0]  # gone
    index._E = E
    s = np.array([0.9, 0.8, 0.5, 0.5, 0.0, -1.0], dtype=np.float32)
    out = index._feedback(s, 0.5)
    assert np.allclose(out[:4], [1.4, 1.3, 1.0, 0.5])
    assert out[4] == 0.0 and out[5] == -1.0
    assert index._feedback(s, 0.0) is s
