"""One text analyser for the whole forum (Korean + English).

Search indexing, query parsing, similar-question lookup and the repeated-topic
job all call :class:`Analyzer`, so a word is the same word everywhere.

* Korean goes through kiwipiepy's morphological analyser: particles and endings
  are dropped, content morphemes are kept (nouns, verb/adjective stems, roots,
  foreign words, numbers).  환불을 / 환불이 / 환불은 -> 환불;  튕겨요 -> 튕기.
* English (and any Latin-script word inside Korean text) is lower-cased,
  stop words are dropped and words are stemmed (Snowball English):
  refunds / refunded / refunding -> refund.  Phrasal particles (in, up, out, off,
  on, back, down) and negation (not) are kept: "sign in" and "sign up" differ.
* :meth:`Analyzer.expand` canonicalises synonyms from a staff-editable
  dictionary (``forum/data/synonyms.txt`` plus extra lines kept elsewhere):
  ["돈", "돌려받"] and ["환불"] both become ["~refund"].

Everything is deterministic and offline.  Kiwi takes about a second to load,
so it is loaded lazily, once per process (:func:`get_analyzer`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "BODY_CHARS",
    "CONCEPT_PREFIX",
    "DEFAULT_SYNONYMS_PATH",
    "ENCODE_BODY_CHARS",
    "Analyzer",
    "Synonyms",
    "ThreadText",
    "get_analyzer",
    "has_hangul",
    "is_korean",
    "language_of",
]

CONCEPT_PREFIX = "~"
DEFAULT_SYNONYMS_PATH = os.path.join(os.path.dirname(__file__), "data", "synonyms.txt")

#: Hangul syllables, jamo and compatibility jamo
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
#: Hangul syllables only
HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
#: runs of Hangul syllables
HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
#: the start of an opening post that analysis reads (and the job loads)
BODY_CHARS = 1500
#: the start of an opening post that the sentence encoders read (the title carries most of the question)
ENCODE_BODY_CHARS = 300
#: the start of the (analysed) body that decides whether a thread is grouped as a Korean one
KOREAN_BODY_CHARS = 300


def has_hangul(text: str) -> bool:
    """Whether ``text`` holds a Hangul syllable."""
    return HANGUL_SYLLABLE.search(text or "") is not None


def is_korean(text: str) -> bool:
    """True when Hangul syllables make up a noticeable part (a fifth) of the letters:
    how the encoders and the topic job tell Korean text from the rest."""
    hangul = len(HANGUL_SYLLABLE.findall(text or ""))
    return hangul > 0 and hangul * 5 >= sum(map(str.isalpha, text))


def language_of(text: str) -> str:
    """A thread's stored language: "ko" when Hangul makes up at least a quarter of
    the Hangul and ASCII letters, else "en". Korean questions often quote English
    product names and error messages, hence the low bar."""
    hangul = latin = 0
    for ch in text:
        if _HANGUL.match(ch):
            hangul += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    letters = hangul + latin
    return "ko" if letters and hangul * 4 >= letters else "en"


@dataclass(frozen=True, slots=True)
class ThreadText:
    """A thread's (or an article's) title and opening post, and the one rule for what of
    them analysis, the encoders and the similar-questions index read: the body is cut to
    :data:`BODY_CHARS`, and a body that only repeats the title counts for nothing."""

    title: str
    body: str = ""

    @property
    def analysed_body(self) -> str:
        """The body as analysis reads it: its first BODY_CHARS, empty when it repeats the title."""
        body = (self.body or "")[:BODY_CHARS]
        return "" if body.strip() == (self.title or "").strip() else body

    def analysis_text(self) -> str:
        """What the analyser's features are read from: the title twice, then the body."""
        return f"{self.title}\n{self.title}\n{self.analysed_body}"

    def terms(self, title_terms: list[str], body_terms: list[str]) -> list[str]:
        """A thread's analyser terms from its title's and its body's, by the same rule as
        :meth:`analysis_text` (``body_terms``: the terms of :attr:`analysed_body`, or of
        the whole stored body, whose cut is already BODY_CHARS)."""
        return title_terms + title_terms + ([] if not self.analysed_body else body_terms)

    def encoding_text(self) -> str:
        """What is encoded: the title, a line break, then the start of the opening post
        (the title alone when the post repeats it). USE reads both with the line break
        as a full stop; e5 reads the first line."""
        title = " ".join((self.title or "").split())
        body = " ".join((self.body or "")[: ENCODE_BODY_CHARS * 2].split())[:ENCODE_BODY_CHARS]
        if not body or body == title:
            return title
        return f"{title}\n{body}" if title else body

    def index_text(self) -> str:
        """What the similar-questions index reads ("title\nbody")."""
        return f"{self.title}\n{self.body}"

    @classmethod
    def from_index_text(cls, text: str) -> ThreadText:
        """The inverse of :meth:`index_text` (a text without a line break is a title)."""
        title, _, body = text.partition("\n")
        return cls(title, body)

    @property
    def korean(self) -> bool:
        """Whether the thread is grouped (and joins topics) as a Korean one: by its title
        and the start of its analysed body."""
        return is_korean(f"{self.title} {self.analysed_body[:KOREAN_BODY_CHARS]}")

    @property
    def language(self) -> str:
        """The language stored with the thread (:func:`language_of` of title and body)."""
        return language_of(f"{self.title}\n{self.body}")


# Latin words (with inner apostrophes), numbers (with inner . or ,), other letters.
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)

# English stop words: function words that carry no topic.  Kept on purpose:
# negation ("not") and phrasal-verb particles (in, up, out, off, on, back, down, over),
# because "sign in" / "sign up" / "log out" / "money back" mean different things.
EN_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "own",
        "same",
        "such",
        "i",
        "me",
        "my",
        "mine",
        "myself",
        "we",
        "us",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "doing",
        "done",
        "have",
        "has",
        "had",
        "having",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "again",
        "further",
        "once",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "any",
        "all",
        "both",
        "nor",
        "as",
        "until",
        "while",
        "because",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "o",
        "re",
        "ve",
        "y",
        "im",
        "ive",
        "id",
        "youre",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "hey",
        "ok",
        "okay",
        "pls",
        "plz",
        "get",
        "got",
        "getting",
        "gets",
        "want",
        "wanted",
        "need",
        "needed",
        "like",
        "would'd",
        "let",
        "lets",
        "tell",
        "know",
        "say",
        "said",
    ]
)
# contractions are split before stop-word removal; their negation survives as "not".
_NEGATIONS = {
    "not",
    "no",
    "never",
    "cannot",
    "cant",
    "can't",
    "won't",
    "wont",
    "don't",
    "doesn't",
    "didn't",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "couldn't",
    "shouldn't",
    "wouldn't",
    "haven't",
    "hasn't",
    "hadn't",
    "dont",
    "doesnt",
    "didnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "couldnt",
    "shouldnt",
    "wouldnt",
    "havent",
    "hasnt",
}

# Korean morphemes that are too generic to be useful terms (auxiliary-like stems,
# bound nouns, pronouns that kiwi tags as nouns).
KO_STOP = frozenset(
    [
        "하",
        "되",
        "있",
        "이",
        "아니",
        "알리",
        "나오",
        "들",
        "가",
        "오",
        "받",
        "주",
        "그렇",
        "이렇",
        "저렇",
        "어떻",
        "어떠하",
        "같",
        "싶",
        "주",
        "보",
        "말",
        "드리",
        "계시",
        "그러",
        "이러",
        "것",
        "수",
        "거",
        "등",
        "때",
        "중",
        "분",
        "번",
        "데",
        "뭐",
        "뭣",
        "무엇",
        "어디",
        "언제",
        "누구",
        "왜",
        "좀",
        "제",
        "저",
        "나",
        "너",
        "우리",
        "여기",
        "거기",
        "저기",
    ]
)

# kiwipiepy tags kept as content morphemes (prefix match on the tag string).
_NEG_ADVERBS = {"안", "못"}
_KO_NEG_STEMS = {"없", "않", "못하"}
_WEAK_TERMS = frozenset({"not", "in", "on", "up", "out", "off", "back", "down", "over"})


@functools.lru_cache(maxsize=200_000)
def _stem_en(word: str) -> str:
    return _stemmer().stemWord(word)


@functools.lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def is_english_word(word: str) -> bool:
    """A word of ASCII letters only: what the analyser stems (a key term's word that
    may need its written form back)."""
    return word.isascii() and word.isalpha()


def english_stem(word: str) -> str:
    """How the analyser keeps an English word (lower-cased, stemmed: "accidentally"
    -> "accident", "reimbursement" -> "reimburs")."""
    word = _normalise(word)
    return _stem_en(word) if word.isascii() else word


def written_forms(texts: Sequence[str], stems: Iterable[str]) -> dict[str, str]:
    """The most common written form of each of these English stems among the words
    of ``texts`` (ties: the shortest, then the first in the alphabet). A stem is
    what matching keeps, not always a word ("reimburs", "declin"): key terms show
    a word the threads wrote instead. Stems that no word of the texts makes are left out."""
    wanted = set(stems)
    seen: dict[str, Counter[str]] = {}
    for text in texts:
        for w in _WORD.findall(_normalise(text)):
            if not is_english_word(w):
                continue
            s = _stem_en(w)
            if s in wanted:
                seen.setdefault(s, Counter())[w] += 1
    return {s: min(c, key=lambda w: (-c[w], len(w), w)) for s, c in seen.items()}


def _joined_form(analyzer: Analyzer, variant: str) -> tuple[str, ...]:
    """The variant's terms with every word that analysis splits into pieces that spell
    the word again (비밀번호 -> 비밀, 번호) kept whole."""
    parts: list[str] = []
    for w in variant.split():
        tw = analyzer.terms(w)
        if len(tw) >= 2 and "".join(tw) == _normalise(w):
            parts.append("".join(tw))
        else:
            parts.extend(tw)
    return tuple(parts)


def _lossy(variant: str, terms: Sequence[str]) -> bool:
    """True when a multi-word synonym variant loses most of its words in analysis."""
    words = len(variant.split())
    return words >= 2 and (len(terms) == 1 or 2 * len(terms) < words)


def _nominalise(stem: str) -> str:
    """Verb stem + nominal ending ㅁ/음 as one noun: 알리 -> 알림, 멈추 -> 멈춤, 없 -> 없음."""
    last = stem[-1]
    code = ord(last) - 0xAC00
    if 0 <= code < 11172 and code % 28 == 0:
        return stem[:-1] + chr(ord(last) + 16)
    return stem + "음"


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _english_terms(chunk: str, out: list[str]) -> None:
    """Lower-cased Latin/other-script text -> stemmed terms appended to out."""
    for w in _WORD.findall(chunk):
        if w[0].isdigit():
            out.append(w.replace(",", ""))
            continue
        if w in _NEGATIONS or w.endswith("n't"):
            out.append("not")
            continue
        if "'" in w:
            w = w.split("'", 1)[0]
        if w in EN_STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        if w.isascii():
            s = _stem_en(w)
            if s in EN_STOPWORDS:
                continue
            out.append(s)
        else:
            out.append(w)


class Synonyms:
    """Groups of interchangeable words or phrases.

    One group per line, variants separated by commas, ``#`` starts a comment;
    a variant may have several words ("돈 돌려받기", "money back").  The first
    variant names the group.  ``extra`` takes more lines of the same format
    (the staff-edited list kept in the database); they are read after the file,
    so a staff line can add variants to a shipped group by repeating any of its
    variants.
    """

    def __init__(self, path: str | None = DEFAULT_SYNONYMS_PATH, extra: Iterable[str] | None = None):
        lines: list[str] = []
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                lines.extend(f.read().splitlines())
        if extra:
            for block in extra:
                lines.extend(str(block).splitlines())
        self.groups: list[list[str]] = []
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            variants = [v.strip() for v in line.split(",") if v.strip()]
            if len(variants) >= 2:
                self.groups.append(variants)
        self._compiled_for: int | None = None
        self._table: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._max_len = 1
        self._members: dict[str, list[tuple[str, ...]]] = {}
        # each analysed variant's words as the dictionary writes them (see written)
        self._written: dict[tuple[str, ...], str] = {}
        self._starters: frozenset[str] | None = None
        self._starters_for: object = None

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Synonyms:
        return cls(path=None, extra=list(lines))

    def __len__(self) -> int:
        return len(self.groups)

    def compile(self, analyzer: Analyzer) -> None:
        """Analyse every variant with ``analyzer`` so variants match analysed text."""
        if self._compiled_for == id(analyzer):
            return
        # A group that repeats a variant of an earlier group verbatim extends it
        # (that is how a staff line adds words to a shipped group); otherwise, when two
        # variants analyse to the same terms, the earlier group keeps them.
        raw_owner: dict[str, int] = {}
        self._display: dict[str, str] = {}
        self._display_ko: dict[str, str] = {}
        target: list[int] = []
        names: list[str] = []
        analysed_groups: list[list[tuple[str, tuple[str, ...]]]] = []
        for variants in self.groups:
            analysed = [(v, tuple(analyzer.terms(v))) for v in variants]
            # a variant that analyses to nothing, or to a lone particle/negation, would
            # swallow unrelated text ("안 오다" -> ["not"]): skip it.
            analysed = [(v, t) for v, t in analysed if t and not (len(t) == 1 and t[0] in _WEAK_TERMS)]
            # a phrase that analysis boils down to much less (두 번 결제 -> 결제, 누가 내 계정에
            # 로그인 -> 계정 로그인) would capture the plain word for this group: skip it.
            analysed = [(v, t) for v, t in analysed if not _lossy(v, t)]
            # Kiwi splits a compound it sees alone (비밀번호 -> 비밀 + 번호) but may keep it
            # whole in a sentence: register the joined spelling as well.
            extra_forms = []
            for v, t in analysed:
                j = _joined_form(analyzer, v)
                if j and j != t:
                    extra_forms.append((v, j))
            analysed.extend(extra_forms)
            if not analysed:
                target.append(-1)
                names.append("")
                analysed_groups.append([])
                continue
            gi = len(names)
            tgt = gi
            for v, _ in analysed:
                key = " ".join(v.lower().split())
                if key in raw_owner:
                    tgt = raw_owner[key]
                    break
            for v, _ in analysed:
                raw_owner.setdefault(" ".join(v.lower().split()), tgt)
            target.append(tgt)
            names.append(CONCEPT_PREFIX + "_".join(analysed[0][1]))
            self._display.setdefault(names[-1], analysed[0][0])
            korean_variant = next((v for v, _ in analysed if _HANGUL.search(v)), None)
            if korean_variant is not None:
                self._display_ko.setdefault(names[-1], korean_variant)
            analysed_groups.append(analysed)
        table: dict[tuple[str, ...], tuple[str, ...]] = {}
        members: dict[str, list[tuple[str, ...]]] = {}
        written: dict[tuple[str, ...], str] = {}
        for gi, group in enumerate(analysed_groups):
            if not group:
                continue
            name = names[target[gi]]
            for v, t in group:
                if t not in table:
                    table[t] = (name,)
                    members.setdefault(name, []).append(t)
                    written[t] = v
        self._written = written
        self._table = table
        self._members = {k: sorted(v) for k, v in members.items()}
        self._max_len = max((len(t) for t in table), default=1)
        self._compiled_for = id(analyzer)

    def canonicalise(self, terms: Sequence[str]) -> list[str]:
        starters = self._starters
        if starters is None or self._starters_for is not self._table:
            starters = self._starters = frozenset(t[0] for t in self._table)
            self._starters_for = self._table
        if starters.isdisjoint(terms):
            return list(terms)
        out: list[str] = []
        i, n = 0, len(terms)
        table, max_len = self._table, self._max_len
        while i < n:
            if terms[i] not in starters:
                out.append(terms[i])
                i += 1
                continue
            for L in range(min(max_len, n - i), 0, -1):
                hit = table.get(tuple(terms[i : i + L]))
                if hit is not None:
                    out.extend(hit)
                    i += L
                    break
            else:
                out.append(terms[i])
                i += 1
        return out

    def variants(self, concept: str) -> list[tuple[str, ...]]:
        """Analysed variants of a concept term (for OR-expanding a search query)."""
        return list(self._members.get(concept, []))

    def display(self, concept: str, korean: bool = False) -> str:
        """Human-readable name of a concept term (its group's first variant; with
        ``korean``, its first Korean variant when it has one)."""
        if korean:
            hit = getattr(self, "_display_ko", {}).get(concept)
            if hit is not None:
                return hit
        return getattr(self, "_display", {}).get(concept, concept.lstrip(CONCEPT_PREFIX).replace("_", " "))

    def written(self, concept: str, texts: Sequence[Sequence[str]], korean: bool) -> str | None:
        """The variant of a concept term that most of these texts (their analysed
        terms, before synonyms) hold, as the dictionary writes it: Korean ones with
        ``korean``, the others without. None when none of them holds one. A key term
        then shows what the threads said ("call"), not the group's name ("phone support")."""
        best, best_n = None, 0
        for t in self._members.get(concept, ()):
            variant = self._written.get(t)
            if variant is None or bool(_HANGUL.search(variant)) != korean:
                continue
            n = sum(1 for terms in texts if holds_run(terms, t))
            if n > best_n:
                best, best_n = variant, n
        return best

    def concept_of(self, terms: Sequence[str]) -> str | None:
        hit = self._table.get(tuple(terms))
        return hit[0] if hit else None


def holds_run(terms: Sequence[str], run: tuple[str, ...]) -> bool:
    """Whether ``run`` occurs in ``terms`` as consecutive terms (an empty run always does)."""
    if not run:
        return True
    if len(run) == 1:
        return run[0] in terms
    n = len(run)
    return any(tuple(terms[i : i + n]) == run for i in range(len(terms) - n + 1) if terms[i] == run[0])


_WORD_OF: dict[str, str] = {}  # Korean term -> its whole word (see Analyzer.word_of)


class Analyzer:
    """Korean + English analyser.  Thread-safe; cheap to call once built."""

    def __init__(self, synonyms: Synonyms | None = None):
        self.synonyms = synonyms if synonyms is not None else Synonyms()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ...]] = {}
        self._cache_max = 100_000
        # The synonym variants' terms are kept between processes: analysing them all
        # costs Kiwi's start (1.4 s) and two more seconds, at every process start.
        kept = _load_variant_terms()
        self._cache.update(kept)
        self.synonyms.compile(self)
        if len(self._cache) > len(kept):
            _save_variant_terms(self._cache)

    # ---------------------------------------------------------------- kiwi
    @property
    def kiwi(self):
        return _shared_kiwi()  # not kept here, so that release_kiwi() can free it

    # ---------------------------------------------------------------- terms
    def _korean_terms(self, tokens, text: str) -> list[str]:
        out: list[str] = []
        prefix = ""
        n = len(tokens)
        for k, tok in enumerate(tokens):
            tag = str(tok.tag)
            form = tok.form
            if tag == "XPN":  # 재설치, 무제한, 비활성: keep the prefix on the next word
                prefix = form
                continue
            if tag.startswith(("NNG", "NNP", "XR", "SH")):
                if prefix:
                    out.append(prefix + form.lower())
                elif form not in KO_STOP:
                    out.append(form.lower())
            elif tag.startswith(("VV", "VA")):
                nxt = tokens[k + 1] if k + 1 < n else None
                if nxt is not None and str(nxt.tag) == "ETN" and nxt.form in ("\u11b7", "\u3141", "음"):
                    form = _nominalise(form)  # 알리+ㅁ -> 알림, 멈추+ㅁ -> 멈춤
                if form in _KO_NEG_STEMS:
                    out.append("not")
                elif prefix:
                    out.append(prefix + form)
                elif form not in KO_STOP:
                    out.append(form)
            elif tag.startswith("VX") and form in _KO_NEG_STEMS:
                out.append("not")
            elif tag == "NR":
                out.append(form)
            elif tag == "SN":
                out.append(form.replace(",", ""))
            elif tag == "SL" or tag.startswith("W_"):
                _english_terms(form.lower(), out)
            elif tag == "MAG" and form in _NEG_ADVERBS:
                out.append("not")
            prefix = ""
        return out

    def _analyse_uncached(self, norm: str, tokens=None) -> tuple[str, ...]:
        if not norm.strip():
            return ()
        if _HANGUL.search(norm):
            if tokens is None:
                tokens = self.kiwi.tokenize(norm)
            return tuple(self._korean_terms(tokens, norm))
        out: list[str] = []
        _english_terms(norm, out)
        return tuple(out)

    def word_of(self, term: str) -> str:
        """A term as a whole word for a person to read: a Korean verb or adjective stem
        (생기, 걸리: what matching keeps) in its dictionary form (생기다, 걸리다); any other
        term as it is."""
        if not HANGUL_RUN.fullmatch(term):
            return term
        hit = _WORD_OF.get(term)
        if hit is None:
            tokens = self.kiwi.tokenize(term + "다")
            first = tokens[0] if tokens else None
            is_verb = first is not None and str(first.tag).startswith(("VV", "VA")) and first.form == term
            hit = _WORD_OF[term] = term + "다" if is_verb else term
        return hit

    def terms(self, text: str) -> list[str]:
        """Normalised index terms of ``text`` (no synonym handling)."""
        norm = _normalise(text)
        hit = self._cache.get(norm)
        if hit is None:
            hit = self._analyse_uncached(norm)
            if len(self._cache) >= self._cache_max:
                self._cache.clear()
            self._cache[norm] = hit
        return list(hit)

    def terms_many(self, texts: Sequence[str]) -> list[list[str]]:
        """``terms`` for many texts at once; Korean ones go through Kiwi in one batch
        (uses all of Kiwi's worker threads)."""
        norms = [_normalise(t) for t in texts]
        result: list[list[str] | None] = [None] * len(norms)
        korean_idx: list[int] = []
        for i, norm in enumerate(norms):
            hit = self._cache.get(norm)
            if hit is not None:
                result[i] = list(hit)
            elif _HANGUL.search(norm):
                korean_idx.append(i)
            else:
                result[i] = list(self._analyse_uncached(norm))
        if korean_idx:
            token_lists = self.kiwi.tokenize([norms[i] for i in korean_idx])
            for i, tokens in zip(korean_idx, token_lists, strict=False):
                result[i] = self._korean_terms(tokens, norms[i])
        return [r if r is not None else [] for r in result]

    # ---------------------------------------------------------------- synonyms
    def expand(self, terms: list[str]) -> list[str]:
        """Replace every synonym variant in ``terms`` by its group's concept term
        (``~name``).  Longest variant wins; terms outside the dictionary pass through."""
        self.synonyms.compile(self)
        return self.synonyms.canonicalise(terms)

    def expand_query(self, terms: list[str]) -> list[list[str]]:
        """For search: each position's alternatives.  A concept expands to the
        analysed variants of its group (each a list of terms); other terms stand alone.
        Returns a list of alternative term sequences per query concept."""
        out: list[list[str]] = []
        for t in self.expand(terms):
            if t.startswith(CONCEPT_PREFIX):
                out.append([" ".join(v) for v in self.synonyms.variants(t)])
            else:
                out.append([t])
        return out

    # ---------------------------------------------------------------- features
    def features(self, text: str, terms: Sequence[str] | None = None) -> list[str]:
        """Features for similarity/topic detection: canonicalised terms, adjacent
        term pairs, and character trigrams of Korean words (robust against
        inconsistent spacing and compounds)."""
        if terms is None:
            terms = self.terms(text)
        return feature_list(self.expand(list(terms)), _normalise(text))


def feature_list(canon_terms: Sequence[str], norm_text: str) -> list[str]:
    feats = list(canon_terms)
    feats.extend([f"{a} {b}" for a, b in itertools.pairwise(canon_terms)])
    for run in HANGUL_RUN.findall(norm_text):
        feats.extend(_hangul_grams(run))
    if LATIN_NGRAMS:
        for w in _LATIN_WORD.findall(norm_text):
            feats.extend(_latin_grams(w))
    return feats


@functools.lru_cache(maxsize=200_000)
def _hangul_grams(run: str) -> tuple[str, ...]:
    """Character bigrams of a run of Hangul syllables (robust against spacing and compounds)."""
    return tuple("#" + run[i : i + 2] for i in range(len(run) - 1))


@functools.lru_cache(maxsize=200_000)
def _latin_grams(w: str) -> tuple[str, ...]:
    """Character 4-grams of a Latin word (with word boundaries), for words of 4+ letters."""
    if w in EN_STOPWORDS or len(w) < 4:
        return ()
    w = f"<{w}>"
    return tuple("#" + w[i : i + 4] for i in range(len(w) - 3))


LATIN_NGRAMS = True
_LATIN_WORD = re.compile(r"[a-z]+")


_kiwi_instance = None
_kiwi_lock = threading.Lock()


@functools.cache
def analysis_fingerprint() -> str:
    """Changes whenever the analyser could produce different terms (its code, Kiwi's
    version)."""
    try:
        from kiwipiepy import __version__ as kiwi_version
    except ImportError:  # pragma: no cover - kiwipiepy is a dependency
        kiwi_version = "none"
    try:
        with open(__file__, "rb") as f:
            source = f.read()
    except OSError:  # pragma: no cover
        source = b""
    h = hashlib.sha256(source)
    h.update(str(kiwi_version).encode())
    return h.hexdigest()[:16]


def _variant_terms_path() -> str:
    folder = os.environ.get("FORUM_DATA_DIR") or "data"
    return os.path.join(folder, "cache", f"synonym-terms-{analysis_fingerprint()}.json")


def _load_variant_terms() -> dict[str, tuple[str, ...]]:
    """The terms of texts analysed while compiling synonyms before, by normalised text
    (nothing when there is no such file for this analyser, or it cannot be read)."""
    try:
        with open(_variant_terms_path(), encoding="utf-8") as f:
            data = json.load(f)
        return {str(k): tuple(str(t) for t in v) for k, v in data.items() if isinstance(v, list)}
    except (OSError, ValueError, AttributeError):
        return {}


def _save_variant_terms(cache: dict[str, tuple[str, ...]]) -> None:
    """Writes them for the next process (atomically; a read-only data folder just
    means the next process analyses them again)."""
    path = _variant_terms_path()
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({k: list(v) for k, v in cache.items()}, f, ensure_ascii=False)
        os.replace(tmp, path)
        for name in os.listdir(os.path.dirname(path)):  # an older analyser's terms are of no use
            if name.startswith("synonym-terms-") and name.endswith(".json") and name != os.path.basename(path):
                os.remove(os.path.join(os.path.dirname(path), name))
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def release_kiwi() -> None:
    """Lets the process's Kiwi go (~500 MB); the next analysis loads it again.
    For one-off processes (``forum topics detect``) once every text is analysed."""
    global _kiwi_instance
    with _kiwi_lock:
        _kiwi_instance = None


def _shared_kiwi():
    """One Kiwi per process (it takes ~1-2 s and ~300 MB to load), shared by all analysers."""
    global _kiwi_instance
    if _kiwi_instance is None:
        with _kiwi_lock:
            if _kiwi_instance is None:
                from kiwipiepy import Kiwi

                workers = max(1, min(4, os.cpu_count() or 1))
                _kiwi_instance = Kiwi(num_workers=workers)
    return _kiwi_instance


_default: Analyzer | None = None
_default_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide analyser with the shipped synonym list (built on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Analyzer()
    return _default
