"""Highlighted snippets cut from the original text.

The index holds analysed terms (환불, refund, 튕기), not what people wrote
(환불했는데, refunded, 튕겨요), so snippets are made here: words of the
original text are analysed one by one (cheap candidates first) and marked
when they produce a query term.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from forum.search.query import ParsedQuery, is_hangul
from forum.text import get_analyzer

SNIPPET_CHARS = 200
LEAD_CHARS = 40
MAX_SCAN_CHARS = 20_000
# Words each highlighter remembers (128 highlighters are kept, one per
# query's terms), and snippets kept (see snippet_of).
MAX_WORDS = 2000
MAX_SNIPPETS = 4096

_CODE_FENCE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_LINE_MARK = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|`|~~)")


@functools.lru_cache(maxsize=4096)
def plain_text(markdown: str) -> str:
    """Markdown source as one line of readable text (kept for the posts that
    searches keep finding: a page of results converts up to a few hundred)."""
    text = _CODE_FENCE.sub(" ", markdown)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _LINE_MARK.sub("", text)
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Snippet:
    """Pieces of text; the ones with ``mark`` set matched the query."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(p for p, _ in self.parts)

    @property
    def marked(self) -> list[str]:
        return [p for p, mark in self.parts if mark]


def highlighter(query: ParsedQuery) -> Highlighter:
    """The query's highlighter, shared by the searches for the same terms."""
    return _highlighter(query.highlight_terms, query.highlight_prefixes)


@functools.lru_cache(maxsize=128)
def _highlighter(terms: frozenset[str], prefixes: tuple[str, ...]) -> Highlighter:
    return Highlighter(terms, prefixes)


class Highlighter:
    """Finds the words of a text that match a query's terms and prefixes."""

    def __init__(self, terms: frozenset[str], prefixes: tuple[str, ...]) -> None:
        self.terms = terms
        self.prefixes = prefixes
        # Cheap test before analysing a word: it must contain the start of a term.
        starts = {t[: 1 if is_hangul(t) else 3] for t in self.terms if t}
        starts.update(p[:1] for p in self.prefixes)
        # Longest first: the regex takes the first alternative that matches.
        ordered = sorted((s for s in starts if s), key=len, reverse=True)
        self._starts = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.analyzer = get_analyzer()
        self._cache: dict[str, tuple[int, int] | None] = {}

    def _term_match(self, word_terms: Sequence[str]) -> bool:
        return (
            any(t in self.terms or t.startswith(self.prefixes) for t in word_terms)
            if self.prefixes
            else any(t in self.terms for t in word_terms)
        )

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the matching parts of ``text`` (one line: words
        separated by single spaces, as ``plain_text`` makes it)."""
        out: list[tuple[int, int]] = []
        if self._starts is None:
            return out
        text = text[:MAX_SCAN_CHARS]
        norm = unicodedata.normalize("NFKC", text).lower()
        if len(norm) != len(text):
            norm = text.lower()
            if len(norm) != len(text):
                return out
        done = -1
        for found in self._starts.finditer(norm):
            start = norm.rfind(" ", 0, found.start()) + 1
            if start <= done:
                continue
            end = norm.find(" ", found.end())
            end = len(norm) if end == -1 else end
            done = end
            key = norm[start:end]
            if key in self._cache:
                hit = self._cache[key]
            else:
                if len(self._cache) >= MAX_WORDS:
                    self._cache.clear()
                hit = self._cache[key] = self._match(text[start:end], key)
            if hit is not None:
                out.append((start + hit[0], start + hit[1]))
        return out

    def _match(self, word: str, key: str) -> tuple[int, int] | None:
        if not self._term_match(self.analyzer.terms(word)):
            return None
        # Mark the Hangul term itself inside a word with a particle or ending
        # (환불했는데 -> 환불), else the word without surrounding punctuation.
        if len(key) == len(word):
            # The longest term; of equal ones, the first in the word (the same in every process).
            found = [(-len(t), key.index(t), t) for t in self.terms | set(self.prefixes) if is_hangul(t) and t in key]
            if found:
                _, start, t = min(found)
                return start, start + len(t)
        start, end = 0, len(word)
        while start < end and not word[start].isalnum():
            start += 1
        while end > start and not word[end - 1].isalnum():
            end -= 1
        return (start, end) if end > start else None


def make_snippet(texts: Iterable[str], highlighter: Highlighter, *, size: int = SNIPPET_CHARS) -> Snippet:
    """The window of ``size`` characters of the texts (in order) with the most
    matches, starting a little before its first one; the start of the first
    text when nothing matches."""
    best: tuple[int, str, list[tuple[int, int]]] | None = None
    for text in texts:
        if not text:
            continue
        spans = highlighter.spans(text)
        if not spans:
            if best is None:
                best = (0, text, [])
            continue
        j = 0
        count_best, start_best = 0, spans[0][0]
        for i, (s, _) in enumerate(spans):
            while j < len(spans) and spans[j][1] <= s + size - LEAD_CHARS:
                j += 1
            if j - i > count_best:
                count_best, start_best = j - i, s
        if best is None or count_best > best[0]:
            best = (count_best, text, [sp for sp in spans if sp[0] >= start_best])
        if count_best >= 3:
            break
    if best is None:
        return Snippet(())
    _, text, spans = best
    first = spans[0][0] if spans else 0
    start = max(0, first - LEAD_CHARS)
    if start > 0:
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", max(start, first + 1), end)
        end = space if space > first else end
    parts: list[tuple[str, bool]] = []
    if start > 0:
        parts.append(("… ", False))
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        if s > pos:
            parts.append((text[pos:s], False))
        parts.append((text[s:e], True))
        pos = e
    if pos < end:
        parts.append((text[pos:end], False))
    if end < len(text):
        parts.append((" …", False))
    return Snippet(tuple(parts))


_SNIPPETS: OrderedDict[tuple[frozenset[str], tuple[str, ...], Hashable], Snippet] = OrderedDict()


def _key(highlighter: Highlighter, version: Hashable) -> tuple[frozenset[str], tuple[str, ...], Hashable]:
    """What a kept snippet is kept by: the query's terms and the texts' version."""
    return (highlighter.terms, highlighter.prefixes, version)


def snippet_of(highlighter: Highlighter, markdown: Sequence[str], *, version: Hashable = None) -> Snippet:
    """``make_snippet`` of these Markdown texts, kept by the query's terms and
    ``version`` (what the texts depend on, when the caller knows it without
    the texts: see ``kept_snippet``) or else a digest of the texts: the
    documents a popular search finds are found again and again, and cutting
    their snippet costs more than looking it up. The MAX_SNIPPETS last used
    are kept."""
    if version is None:
        lengths = ",".join(str(len(text)) for text in markdown)
        version = hashlib.blake2b(f"{lengths}:{''.join(markdown)}".encode(), digest_size=16).digest()
    snippet = kept_snippet(highlighter, version)
    if snippet is not None:
        return snippet
    # lazily: stops at a good window
    snippet = _SNIPPETS[_key(highlighter, version)] = make_snippet(map(plain_text, markdown), highlighter)
    if len(_SNIPPETS) > MAX_SNIPPETS:
        _SNIPPETS.popitem(last=False)
    return snippet


def kept_snippet(highlighter: Highlighter, version: Hashable) -> Snippet | None:
    """The snippet ``snippet_of`` made for these terms and this ``version``, if
    it is still kept: the texts need not be read again."""
    key = _key(highlighter, version)
    snippet = _SNIPPETS.get(key)
    if snippet is not None:
        _SNIPPETS.move_to_end(key)
    return snippet
