"""The English sentence encoder run on numpy: BERT's tokenizer, the forward pass, the
shipped 8-bit weights."""

from __future__ import annotations

import numpy as np

from forum.topics import minilm

#: sha256 of all-MiniLM-L6-v2's model.safetensors as published by sentence-transformers
UPSTREAM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def _pieces(text: str) -> list[str]:
    model = minilm._loaded()
    names = {i: w for w, i in model.vocab.items()}
    return [names[i] for i in minilm.tokenize(text)]


def test_the_weights_are_the_published_model_in_eight_bits():
    z = np.load(minilm.WEIGHTS_PATH)
    assert bytes(z["source_sha256"]).decode() == UPSTREAM_SHA256
    assert z["embeddings.word_embeddings.weight.q"].dtype == np.int8
    assert z["embeddings.word_embeddings.weight.q"].shape == (30522, minilm.DIM)


def test_the_tokenizer_lowercases_strips_accents_and_splits_punctuation_and_word_pieces():
    assert _pieces("Café naïve, OK?") == ["[CLS]", "cafe", "naive", ",", "ok", "?", "[SEP]"]
    assert _pieces("unsubscribing") == ["[CLS]", "un", "##su", "##bs", "##cr", "##ib", "##ing", "[SEP]"]
    assert _pieces("x" * 150) == ["[CLS]", "[UNK]", "[SEP]"]
    assert _pieces("") == ["[CLS]", "[SEP]"]
    long = minilm.tokenize("word " * 500)
    assert len(long) == minilm.MAX_TOKENS and long[-1] == minilm._loaded().sep


def test_paraphrases_sit_closer_than_other_requests():
    cancel, block, weather, forecast = minilm.encode(
        ["how do I cancel my credit card", "please block my card", "what's the weather today", "will it rain tomorrow"]
    )
    assert np.allclose(np.linalg.norm([cancel, weather], axis=1), 1.0, atol=1e-5)
    assert cancel @ block > cancel @ weather + 0.3
    assert weather @ forecast > weather @ block + 0.2


def test_a_text_encodes_the_same_alone_or_in_a_batch_of_other_lengths():
    texts = ["reset my password", "I was charged twice for my subscription last month, can I get a refund?", "hi"]
    together = minilm.encode(texts, batch=2)
    alone = np.vstack([minilm.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert minilm.encode([]).shape == (0, minilm.DIM)
