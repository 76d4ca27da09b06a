"""From what a customer typed to a structured query, built from analysed terms.

User input never reaches the database's query syntax: it goes through the
analyser (``forum.text``), and the backends quote every resulting term.

A query is an AND of groups; a group is an OR of alternatives. Each word of
the query (or each synonym phrase in it) makes one group whose alternatives
are the word itself, a prefix of it for Hangul (노트 finds 노트북, 환불 finds
환불금) and the variants of its synonym group (환불 also finds 환급, "money
back"). Alternatives taken from the query's own words are ``literal``: they
weigh more than synonyms in the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forum.text import HANGUL_RUN, get_analyzer, has_hangul, holds_run
from forum.textutil import one_line

MAX_QUERY_CHARS = 200
MAX_GROUPS = 8
MAX_ALTERNATIVES = 16
MAX_TERM_CHARS = 60
# Longest synonym variant, in terms, looked for in a query.
MAX_PHRASE_TERMS = 6
# Terms that say little on their own (negation, phrasal particles): a query
# keeps them only when it has nothing else.
WEAK_TERMS = frozenset({"not", "in", "on", "up", "out", "off", "back", "down", "over"})


def is_hangul(term: str) -> bool:
    return has_hangul(term)


@dataclass(frozen=True)
class Alternative:
    """``term``: one term; ``prefix``: any term starting with it; ``phrase``:
    these terms in this order; ``all``: these terms anywhere."""

    terms: tuple[str, ...]
    mode: str
    literal: bool


@dataclass(frozen=True)
class Group:
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    groups: tuple[Group, ...]

    @property
    def empty(self) -> bool:
        return not self.groups

    @property
    def highlight_terms(self) -> frozenset[str]:
        return frozenset(t for g in self.groups for a in g.alternatives if a.mode != "prefix" for t in a.terms)

    @property
    def highlight_prefixes(self) -> tuple[str, ...]:
        return tuple(sorted({a.terms[0] for g in self.groups for a in g.alternatives if a.mode == "prefix"}))

    def matches(self, terms: Sequence[str]) -> bool:
        """Whether a document with these analysed terms (in text order) matches:
        the same test the database makes, for checking a stale index entry."""
        present = set(terms)
        return bool(self.groups) and all(
            any(_alternative_matches(a, terms, present) for a in g.alternatives) for g in self.groups
        )


@dataclass(frozen=True)
class Source:
    """How a backend's index enters a search statement: FROM items for the
    index alone and for the index with each document's type and id, the SQL
    for those, the match condition and the text score (higher is better)."""

    index: str
    documents: str
    key: str
    doc_type: str
    doc_id: str
    match: str
    score: str
    params: dict[str, object]
    # FROM items joining the newest matches (``newest w``, by ``w.key``) to
    # each document's type and id, for a backend that ranks them in one pass.
    window_documents: str = ""
    # Added to ``score`` once that window is known (an expression of ``w.key``
    # that may read ``newest``), by a backend that ranks in one pass.
    window_bonus: str = "0"


@dataclass(frozen=True)
class Entry:
    """One document's analysed terms, for a backend to store under ``key``."""

    key: int
    doc_type: str
    doc_id: int
    title: Sequence[str]
    body: Sequence[str]


def _alternative_matches(alt: Alternative, terms: Sequence[str], present: set[str]) -> bool:
    if alt.mode == "term":
        return alt.terms[0] in present
    if alt.mode == "prefix":
        return any(t.startswith(alt.terms[0]) for t in present)
    if alt.mode == "all":
        return all(t in present for t in alt.terms)
    if not all(t in present for t in alt.terms):
        return False
    return holds_run(terms, alt.terms)


def clean(text: str) -> str:
    """The query as shown back: one line, at most ``MAX_QUERY_CHARS`` characters."""
    return one_line(text or "")[:MAX_QUERY_CHARS].strip()


def _word(term: str) -> Alternative:
    """A word typed; a Hangul word of two syllables or more also finds the
    words it starts (노트 -> 노트북, 환불 -> 환불금)."""
    return Alternative((term,), "prefix" if is_hangul(term) and len(term) >= 2 else "term", True)


def _compound(analyzer, term: str) -> list[Alternative]:  # type: ignore[no-untyped-def]
    """The parts of a Hangul compound, as the analyser splits it on its own:
    it keeps 비밀번호 whole in some sentences and splits it in others, so the
    index may hold either."""
    if not is_hangul(term) or len(term) < 3:
        return []
    parts = tuple(analyzer.terms(term))
    return [Alternative(parts, "phrase", True)] if len(parts) > 1 and term not in parts else []


def _split(analyzer, terms: tuple[str, ...]) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    parts: list[str] = []
    for term in terms:
        compound = _compound(analyzer, term)
        parts.extend(compound[0].terms if compound else (term,))
    return tuple(parts)


def _prune(alts: list[Alternative]) -> tuple[Alternative, ...]:
    """Drops alternatives that cannot find anything the others miss ("오류 코드"
    next to 오류, "error" next to "error"): each one costs the index work."""
    singles = {a.terms[0] for a in alts if a.mode == "term"}
    prefixes = tuple(a.terms[0] for a in alts if a.mode == "prefix")

    def covered(term: str) -> bool:
        return term in singles or (bool(prefixes) and term.startswith(prefixes))

    kept: list[Alternative] = []
    for alt in dict.fromkeys(alts):
        if alt.mode == "term" and prefixes and alt.terms[0].startswith(prefixes):
            continue
        if len(alt.terms) > 1 and any(covered(t) for t in alt.terms):
            continue
        kept.append(alt)
    return tuple(kept[:MAX_ALTERNATIVES])


def _synonym_alternatives(analyzer, concept: str, literal: tuple[str, ...]) -> list[Alternative]:  # type: ignore[no-untyped-def]
    alts: list[Alternative] = []
    for variant in analyzer.synonyms.variants(concept):
        if variant == literal or not variant:
            continue
        if len(variant) == 1:
            alts.append(Alternative(variant, "term", False))
        else:
            alts.append(Alternative(variant, "phrase", False))
    return alts


def parse(text: str, *, synonyms: bool = True) -> ParsedQuery:
    """The structured query for ``text``; empty when nothing searchable is left."""
    shown = clean(text)
    analyzer = get_analyzer()
    terms = [t for t in analyzer.terms(shown) if len(t) <= MAX_TERM_CHARS]
    groups: list[Group] = []
    weak: list[Group] = []
    seen: set[tuple[Alternative, ...]] = set()
    i = 0
    while i < len(terms) and len(groups) < MAX_GROUPS:
        concept = None
        span = 1
        if synonyms:
            for n in range(min(MAX_PHRASE_TERMS, len(terms) - i), 0, -1):
                concept = analyzer.synonyms.concept_of(terms[i : i + n])
                if concept:
                    span = n
                    break
        literal = tuple(terms[i : i + span])
        alts = [_word(literal[0]) if span == 1 else Alternative(literal, "all", True)]
        if span == 1:
            alts.extend(_compound(analyzer, literal[0]))
        elif (split := _split(analyzer, literal)) != literal:
            alts.append(Alternative(split, "all", True))
        if concept:
            alts.extend(_synonym_alternatives(analyzer, concept, literal))
        group = Group(_prune(alts))
        i += span
        if group.alternatives in seen:
            continue
        seen.add(group.alternatives)
        (weak if span == 1 and literal[0] in WEAK_TERMS else groups).append(group)
    if not groups:
        groups = weak[:MAX_GROUPS]
    if not groups:
        # The analyser kept nothing (a particle-like syllable such as 가, or a
        # word it does not know how to split): look for words starting with
        # the Hangul typed.
        for run in HANGUL_RUN.findall(shown)[:MAX_GROUPS]:
            groups.append(Group((Alternative((run[:3],), "prefix", True),)))
    return ParsedQuery(shown, tuple(groups))
