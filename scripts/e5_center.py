"""Writes forum/data/e5_center.npy: the direction every e5 vector shares.

multilingual-e5-small puts any two short texts at cosine ≈ 0.8; taking away
their common mean spreads its cosines over the same range as USE's, which is
what lets the two be blended (see forum/topics/embed.py). The mean is a
property of the model more than of any one corpus (the means of 5,000 Korean
questions, of 5,500 English banking and travel requests and of the demo forum
lie at cosine 0.92–0.98 from each other), so it is taken once, here, from the
demo forum's own bilingual questions: titles and the first line of each post.

    .venv/bin/python scripts/e5_center.py
"""

from __future__ import annotations

import numpy as np

from forum.demo_content import THREADS
from forum.topics import embed
from forum.topics.e5 import E5


def main() -> None:
    texts = []
    for thread in THREADS:
        texts.append(thread["title"])
        first = " ".join(thread["body"].split("\n\n", 1)[0].split())
        if first and first != thread["title"]:
            texts.append(first[: embed.E5_CHARS])
    vectors = E5().query(texts)
    center = vectors.mean(axis=0).astype(np.float32)
    np.save(embed.CENTER_PATH, center)
    print(f"{embed.CENTER_PATH}: mean of {len(texts)} texts, length {np.linalg.norm(center):.3f}")


if __name__ == "__main__":
    main()
