"""Similarity index and repeated-topic detection on small hand-made threads."""

from dataclasses import replace

from forum.text import Analyzer, Synonyms
from forum.topics.cluster import Doc, assign, detect
from forum.topics.settings import DEFAULT_SETTINGS
from forum.topics.similarity import SimilarityIndex

SYNONYMS = [
    "refund, money back, 환불, 돈 돌려받기, 환급",
    "password, 비밀번호, 비번",
    "crash, 튕기다, 강제 종료",
]

TOPICS = {
    "refund": [
        "환불 받고 싶어요",
        "환불은 어떻게 하나요",
        "돈 돌려받기 가능한가요",
        "환급 신청 방법",
        "구독 환불 요청합니다",
    ],
    "password": [
        "비밀번호를 잊어버렸어요",
        "비번 재설정 방법",
        "비밀번호 재설정 메일이 안 와요",
        "비밀번호 찾기",
        "비번을 바꾸고 싶어요",
    ],
    "crash": [
        "앱이 자꾸 튕겨요",
        "실행하면 강제 종료돼요",
        "앱이 튕기는 문제",
        "사진 올리면 앱이 튕겨요",
        "계속 강제 종료가 됩니다",
    ],
    "export": [
        "export my data to csv",
        "how do I export data as csv",
        "csv export of all my data",
        "data export to a csv file",
    ],
}
ONE_OFFS = ["회사 소개서를 받을 수 있을까요", "what are your office hours in berlin", "로고 사용 가이드가 있나요"]


def analyzer():
    return Analyzer(Synonyms.from_lines(SYNONYMS))


def make_docs():
    docs, label = [], {}
    for name, texts in TOPICS.items():
        for t in texts:
            label[len(docs)] = name
            docs.append(Doc(id=len(docs), title=t, body=t))
    for t in ONE_OFFS:
        label[len(docs)] = None
        docs.append(Doc(id=len(docs), title=t, body=t))
    return docs, label


def test_detect_finds_one_topic_per_repeated_question():
    docs, label = make_docs()
    topics = detect(docs, analyzer())
    found = [{label[d] for d in t.doc_ids} for t in topics]
    assert all(len(names) == 1 for names in found), found
    assert sorted(n for names in found for n in names) == sorted(TOPICS)


def test_one_off_questions_stay_unclustered():
    docs, label = make_docs()
    clustered = {d for t in detect(docs, analyzer()) for d in t.doc_ids}
    assert not any(label[d] is None for d in clustered)


def test_detect_is_deterministic_and_independent_of_input_order():
    docs, _ = make_docs()
    a = detect(docs, analyzer())
    b = detect(list(reversed(docs)), analyzer())
    assert [(t.doc_ids, t.title, t.key_terms) for t in a] == [(t.doc_ids, t.title, t.key_terms) for t in b]


def test_topics_smaller_than_min_size_are_not_suggested():
    docs, _ = make_docs()
    assert all(t.size >= 6 for t in detect(docs, analyzer(), min_size=6))


def test_a_topic_is_titled_by_one_of_its_own_threads_and_has_key_terms():
    docs, _ = make_docs()
    titles = {d.id: d.title for d in docs}
    for t in detect(docs, analyzer()):
        assert t.title in {titles[i] for i in t.doc_ids}
        assert t.key_terms


def test_topic_keys_survive_a_rerun_that_adds_threads():
    docs, _ = make_docs()
    first = detect(docs, analyzer())
    more = [*docs, Doc(id=100, title="환불 요청드려요", body="환불 요청드려요")]
    second = detect(more, analyzer(), previous=first)
    assert {t.key for t in first} <= {t.key for t in second}


def test_a_new_thread_joins_the_topic_it_repeats_and_a_new_subject_is_left_over():
    docs, label = make_docs()
    topics = detect(docs, analyzer())
    new = [
        Doc(id=200, title="앱이 계속 튕겨요 도와주세요", body=""),
        Doc(id=201, title="채용 공고는 어디서 보나요", body=""),
    ]
    updated, leftovers = assign(new, topics, analyzer())
    crash = next(t for t in updated if 200 in t.doc_ids)
    assert {label.get(d) for d in crash.doc_ids if d in label} == {"crash"}
    assert [d.id for d in leftovers] == [201]


def test_similar_questions_come_best_first_with_scores_between_zero_and_one():
    docs, label = make_docs()
    index = SimilarityIndex.build([(d.id, d.title) for d in docs], analyzer())
    hits = index.query("환불 받을 수 있나요", limit=3)
    assert [label[i] for i, _ in hits] == ["refund"] * 3
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_similar_lookup_excludes_given_ids():
    docs, _ = make_docs()
    index = SimilarityIndex.build([(d.id, d.title) for d in docs], analyzer())
    best = index.query(docs[0].title, limit=1)[0][0]
    assert best == 0
    assert index.query(docs[0].title, limit=1, exclude={0})[0][0] != 0


def test_index_supports_adding_and_removing_documents():
    docs, _ = make_docs()
    index = SimilarityIndex.build([(d.id, d.title) for d in docs], analyzer())
    index.add([(500, "비밀번호 재설정이 안 돼요")])
    assert 500 in [i for i, _ in index.query("비밀번호 재설정", limit=5)]
    index.remove([500])
    assert 500 not in [i for i, _ in index.query("비밀번호 재설정", limit=5)]


def test_index_round_trips_through_bytes():
    docs, _ = make_docs()
    a = analyzer()
    index = SimilarityIndex.build([(d.id, d.title) for d in docs], a)
    copy = SimilarityIndex.from_bytes(index.to_bytes(), a)
    q = "export data to csv"
    assert [i for i, _ in copy.query(q, 3)] == [i for i, _ in index.query(q, 3)]


def test_empty_inputs_are_handled():
    a = analyzer()
    assert detect([], a) == []
    index = SimilarityIndex.build([], a)
    assert index.query("anything") == []


def test_reciprocal_agglomeration_merges_close_rows_and_keeps_far_ones_apart():
    import numpy as np
    import scipy.sparse as sp

    from forum.topics.cluster import groups_of, rac_cluster
    from forum.topics.similarity import TextModel, knn_graph

    X = sp.csr_matrix(np.array([[1, 0, 0], [0.95, 0.3, 0], [0.9, 0.4, 0], [0, 0, 1], [0, 0.1, 0.99]], np.float32))
    X = sp.csr_matrix(X.multiply(1 / np.sqrt(X.multiply(X).sum(axis=1))))
    model = TextModel({"a": 0, "b": 1, "c": 2}, np.ones(3), 5)
    nbr, sim = knn_graph(model, X, None, 3)
    groups = groups_of(rac_cluster(X, nbr, sim, 0.5))
    assert sorted(map(sorted, groups)) == [[0, 1, 2], [3, 4]]


def test_the_link_test_keeps_apart_groups_whose_neighbours_are_their_own():
    import numpy as np
    import scipy.sparse as sp

    from forum.topics.cluster import groups_of, rac_cluster

    # two tight triples whose centroids are close (cosine ~0.9), but each row's neighbours
    # are its own triple's rows but for one link between rows 2 and 3 (the rows are all
    # dense part: embeddings)
    E = np.array(
        [[1, 0.1, 0, 0], [1, 0, 0.1, 0], [1, 0.1, 0.1, 0], [1, 0, 0, 0.45], [1, 0.05, 0, 0.5], [1, 0, 0.05, 0.5]],
        np.float32,
    )
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    X = sp.csr_matrix((6, 1), dtype=np.float32)
    nbr = np.array([[1, 2], [0, 2], [0, 3], [2, 4], [3, 5], [3, 4]], np.int32)
    sim = np.einsum("ij,ikj->ik", E, E[nbr])
    order = np.argsort(-sim, axis=1)
    nbr, sim = np.take_along_axis(nbr, order, axis=1), np.take_along_axis(sim, order, axis=1).astype(np.float32)

    def groups(**kw):
        return sorted(map(sorted, groups_of(rac_cluster(X, nbr, sim, 0.85, linkage="centroid", E=E, **kw))))

    assert groups() == [list(range(6))]
    # 2 links between the triples, under 0.5 of the 2 k = 4 links each of three rows could have
    assert groups(link=0.5) == [[0, 1, 2], [3, 4, 5]]
    # groups smaller than link_min are not held to it
    assert groups(link=0.5, link_min=4) == [list(range(6))]


def test_rank_linked_groups_merge_below_the_bar_and_single_rows_do_not():
    import numpy as np
    import scipy.sparse as sp

    from forum.topics.cluster import groups_of, rac_cluster

    # two tight pairs (0, 1) and (2, 3) whose centroids are only ~0.5 similar, but each
    # row's neighbours after its own mate are the other pair's rows; rows 4 and 5 are
    # each other's nearest at ~0.5 too, but single (rows are all dense part: embeddings)
    E = np.array(
        [
            [1, 0.1, 0, 0, 0],
            [1, -0.1, 0, 0, 0],
            [0.5, 0.9, 0.1, 0, 0],
            [0.5, 0.9, -0.1, 0, 0],
            [0, 0, 0, 1, 0],
            [0, 0, 0, 0.5, 0.87],
        ],
        np.float32,
    )
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    X = sp.csr_matrix((6, 1), dtype=np.float32)
    nbr = np.array([[1, 2, 3], [0, 3, 2], [3, 0, 1], [2, 1, 0], [5, 0, 2], [4, 1, 3]], np.int32)
    sim = np.einsum("ij,ikj->ik", E, E[nbr])
    order = np.argsort(-sim, axis=1)
    nbr, sim = np.take_along_axis(nbr, order, axis=1), np.take_along_axis(sim, order, axis=1).astype(np.float32)

    def groups(**kw):
        return sorted(map(sorted, groups_of(rac_cluster(X, nbr, sim, 0.85, linkage="centroid", E=E, **kw))))

    apart = [[0, 1], [2, 3], [4], [5]]
    assert groups() == apart
    # every row names both rows of the other pair among its 3 nearest: 8 of 8 links
    assert groups(ranked=(0.4, 0.4, 3)) == [[0, 1, 2, 3], [4], [5]]
    # below the lower bar, or among each row's nearest 1 (its own mate), they stay apart
    assert groups(ranked=(0.6, 0.4, 3)) == apart
    assert groups(ranked=(0.4, 0.4, 1)) == apart
    # groups smaller than link_min never merge this way
    assert groups(ranked=(0.4, 0.4, 3), link_min=3) == apart


def test_large_input_knn_path_agrees_with_the_exact_one():
    import numpy as np

    from forum.topics import similarity

    a = analyzer()
    docs, _ = make_docs()
    texts = [d.title for d in docs] * 3
    feats = [[*a.features(t), f"u{i}"] for i, t in enumerate(texts)]
    model, X = similarity.TextModel.fit_transform(feats)
    _exact_n, exact_s = similarity.knn_graph(model, X, None, 5)
    _approx_n, approx_s = similarity._pruned_knn(X, 5)

    # the approximate path ignores candidates with next to no overlap (CANDIDATE_FLOOR)
    def strong(s):
        return np.sort(np.where(s >= 0.05, s, 0), axis=1)

    assert np.allclose(strong(exact_s), strong(approx_s), atol=1e-5)


def test_detection_does_not_depend_on_input_order():
    docs, _ = make_docs()
    a = analyzer()
    first = [sorted(t.doc_ids) for t in detect(docs, a)]
    assert [sorted(t.doc_ids) for t in detect(list(reversed(docs)), a)] == first


def test_new_threads_join_the_topic_they_ask_about():
    docs, label = make_docs()
    a = analyzer()
    topics = detect(docs, a)
    new = [Doc(id=900, title="환불 신청은 어떻게 하나요", body="환불 신청은 어떻게 하나요")]
    updated, leftovers = assign(new, topics, a)
    joined = [t for t in updated if 900 in t.doc_ids]
    assert not leftovers and len(joined) == 1
    assert {label[d] for d in joined[0].doc_ids if d != 900} == {"refund"}


def test_key_terms_leave_out_particles_and_lone_syllables():
    from forum.topics.cluster import _readable_key_term

    assert _readable_key_term("환불")
    assert _readable_key_term("desktop app")
    assert not _readable_key_term("in")
    assert not _readable_key_term("쓰")
    assert not _readable_key_term("쓰 노트")
    assert not _readable_key_term("#환불")


def test_english_key_terms_are_words_the_threads_wrote():
    """Matching keeps stems ("reimburs", "accident") and synonym groups' names; key
    terms show a word the threads wrote, a pair word by word, and a pair's words once."""
    from forum.topics.cluster import _display

    titles = [
        "Accidentally ordered twice, need reimbursement",
        "I accidentally ordered the yearly plan, reimbursement please",
        "Reimbursement for an accidentally placed order",
    ]
    a = analyzer()
    docs = [Doc(id=i, title=t, body=t) for i, t in enumerate(titles)]
    (topic,) = detect(docs, a, threshold=0.1)
    shown = " ".join(topic.key_terms).split()
    assert "accidentally" in shown and "reimbursement" in shown
    assert not {"accident", "reimburs"} & set(shown) and not any(w.startswith("~") for w in shown)
    assert all(len(set(t.split())) == len(t.split()) for t in topic.key_terms)
    # a stem none of the threads wrote as a word is not shown; a pair's words are shown one by one
    forms = {"chang": "change", "oil": "oil"}
    assert _display("xyzzi", a, forms=forms) == ""
    assert _display("chang oil", a, forms=forms) == "change oil"
    assert "~" not in _display("oil ~refund", a, forms=forms)


def test_a_synonym_group_shows_as_the_variant_its_threads_used():
    """A key term says what the threads said: 돈 돌려받기 / money back when they wrote
    that, not the group's first variant (refund, 환불)."""
    a = analyzer()
    titles = ["돈 돌려받기 되나요", "돈 돌려받기 신청", "돈 돌려받기 문의"]
    korean = [Doc(id=i, title=t, body=t) for i, t in enumerate(titles)]
    (topic,) = detect(korean, a, threshold=0.1)
    assert "돈 돌려받기" in topic.key_terms and "환불" not in topic.key_terms
    titles = ["money back please", "want my money back", "money back now"]
    english = [Doc(id=i, title=t, body=t) for i, t in enumerate(titles)]
    (topic,) = detect(english, a, threshold=0.1)
    assert "money back" in topic.key_terms and "refund" not in topic.key_terms
    held = [a.terms("돈 돌려받기 되나요")]
    assert a.synonyms.written("~refund", held, korean=True) == "돈 돌려받기"
    assert a.synonyms.written("~refund", held, korean=False) is None


def test_a_group_holding_too_large_a_share_is_grouped_again_against_a_higher_bar():
    refund = [
        "How do I get a refund for my subscription",
        "Can I get a refund for my subscription",
        "Refund for my subscription please",
        "I want a refund for my subscription",
    ]
    password = [
        "How do I reset my password",
        "I forgot my password",
        "Password reset email never arrives",
        "Can't reset my password",
    ]
    docs = [Doc(id=i, title=t, body=t) for i, t in enumerate(refund + password)]
    # A bar this low chains both questions into one group (with the embeddings as they are
    # stored and no link test: centred, the two questions' cosines fall below it) ...
    chain = replace(DEFAULT_SETTINGS, centre_other=False, link_other=0.0)
    never = replace(chain, blob_min=1000)
    assert [t.doc_ids for t in detect(docs, analyzer(), threshold=0.1, settings=never)] == [list(range(8))]
    # ... which, holding more than the allowed share, is grouped again against a higher bar.
    split = replace(chain, blob_min=5, blob_share=0.5, blob_raise=0.3)
    assert sorted(t.doc_ids for t in detect(docs, analyzer(), threshold=0.1, settings=split)) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
    ]


def test_the_same_question_asked_very_often_stays_one_topic():
    settings = replace(DEFAULT_SETTINGS, blob_min=5, blob_share=0.1)
    titles = ["How do I reset my password"] * 8 + ["Can I get a refund for my subscription"] * 4
    docs = [Doc(id=i, title=t, body=t) for i, t in enumerate(titles)]
    # Far over the allowed share, but a higher bar does not split it: it stays.
    assert sorted(t.doc_ids for t in detect(docs, analyzer(), settings=settings)) == [list(range(8)), [8, 9, 10, 11]]


def test_the_cohesion_check_drops_a_weak_member_and_holds_back_a_weak_group():
    from forum.topics.cluster import prune

    # a member much less like the rest than they are like each other leaves
    assert prune([0.5, 0.5, 0.5, 0.2], (-1.0, 0.7, -1.0), 3) == [0, 1, 2]
    # too few left to be a topic: not suggested
    assert prune([0.5, 0.5, 0.2, 0.2], (-1.0, 0.7, -1.0), 3) is None
    # members that agree too little on average: not suggested
    assert prune([0.3, 0.3, 0.3], (-1.0, 0.0, 0.4), 3) is None
    assert prune([0.3, 0.3, 0.3], (-1.0, 0.0, -1.0), 3) == [0, 1, 2]


def test_threads_that_are_each_others_best_match_are_grouped():
    import numpy as np

    from forum.topics.cluster import join_best_matches

    label = np.arange(5)
    # rows 0, 1, 2 point at each other above the bar; 3 and 4 are weaker
    nbr = np.array([[1, 2, 3], [0, 2, 4], [1, 0, 3], [4, 0, 1], [3, 1, 0]])
    sim = np.array([[0.8, 0.7, 0.1], [0.8, 0.7, 0.1], [0.7, 0.6, 0.1], [0.3, 0.1, 0.1], [0.3, 0.1, 0.1]])
    out = join_best_matches(label, nbr, sim, 0.5, 3, 4)
    assert out[0] == out[1] == out[2] and len({out[0], out[3], out[4]}) == 3


def test_the_demo_english_refund_threads_are_one_topic_with_their_agreement():
    from forum.demo_content import THREADS
    from forum.text import get_analyzer
    from tests.kb_helpers import DEMO_ENGLISH_REFUND as refund_titles

    english = [t for t in THREADS if not any("가" <= c <= "힣" for c in t["title"])]
    docs = [Doc(id=i, title=t["title"], body=t["body"]) for i, t in enumerate(english)]
    refunds = {d.id for d in docs if d.title in refund_titles}
    assert len(refunds) == 3
    topics = detect(docs, get_analyzer())
    holding = [t for t in topics if refunds & set(t.doc_ids)]
    assert len(holding) == 1 and set(holding[0].doc_ids) == refunds
    assert 0 < holding[0].agreement <= 1 and set(holding[0].strengths) == refunds
