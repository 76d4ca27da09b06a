"""Keeping spam and abuse out, as ``before_post`` / ``after_post`` hooks.

In order, for members (staff, moderators and admins are trusted by role):

1. the posting rate limit (429 with Retry-After);
2. blocked words refuse the post with a message naming the word;
3. the same body from the same author again within
   ``duplicate_post_window`` seconds is refused (new posts);
4. until an account is trusted (``trusted_after_days`` old and
   ``trusted_after_posts`` visible posts): at most ``new_account_max_links``
   links per post, ``new_account_post_interval`` seconds between two
   questions or two replies, and ``new_account_daily_posts`` posts a day;
5. watched words hold the post for review: it is saved hidden and a system
   flag puts it in the review queue.

Words match case-insensitively after NFKC. A Latin word matches whole words
(``cash`` does not match ``cashew``; end it with ``*`` to match prefixes:
``casino*``). A word with Hangul matches inside words, because Korean
attaches particles (``바카라`` matches ``바카라를``), and also across spaces
put in to dodge the filter (``바 카 라``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from forum.clock import utcnow
from forum.config import Settings
from forum.errors import Conflict, NotFound, ValidationError
from forum.hooks import Hooks, PostAttempt
from forum.i18n import gettext as _
from forum.models import Post, User
from forum.ratelimit import RateLimiter
from forum.services.trust import is_trusted
from forum.textutil import one_line
from moderation import audit
from moderation.flags import raise_system_flag
from moderation.models import Word, WordKind
from moderation.permissions import check_admin

WORD_MAX = 100
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_SPACE = re.compile(r"\s+")
# Links: explicit schemes and bare www. addresses (Markdown links carry a scheme).
_LINK = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)


def word_key(word: str) -> str:
    return unicodedata.normalize("NFKC", one_line(word)).casefold()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class WordMatcher:
    """Finds which of a list of words a text contains."""

    latin: re.Pattern[str] | None
    latin_words: dict[str, str]  # regex group name -> word as entered
    hangul: tuple[tuple[str, str], ...]  # (key without spaces, word as entered)

    @classmethod
    def build(cls, words: Iterable[Word]) -> WordMatcher:
        latin_words: dict[str, str] = {}
        hangul: list[tuple[str, str]] = []
        parts: list[str] = []
        for w in words:
            key = w.word_key
            if _HANGUL.search(key):
                hangul.append((_SPACE.sub("", key), w.word))
                continue
            prefix = key.endswith("*")
            stem = key.rstrip("*")
            if not stem:
                continue
            part = r"(?<!\w)" + re.escape(stem) + (r"\w*" if prefix else r"(?!\w)")
            parts.append(f"(?P<w{len(parts)}>{part})")
            latin_words[f"w{len(parts) - 1}"] = w.word
        latin = re.compile("|".join(parts)) if parts else None
        return cls(latin=latin, latin_words=latin_words, hangul=tuple(hangul))

    def find(self, text: str) -> list[str]:
        folded = _fold(text)
        found: list[str] = []
        if self.latin is not None:
            for match in self.latin.finditer(folded):
                word = self.latin_words[match.lastgroup or ""]
                if word not in found:
                    found.append(word)
        if self.hangul:
            squeezed = _SPACE.sub("", folded)
            for key, word in self.hangul:
                if key and key in squeezed and word not in found:
                    found.append(word)
        return found


async def load_matchers(session: AsyncSession) -> dict[str, WordMatcher]:
    words = (await session.scalars(select(Word))).all()
    return {
        kind.value: WordMatcher.build(w for w in words if w.kind == kind.value)
        for kind in (WordKind.blocked, WordKind.watched)
    }


def count_links(text: str) -> int:
    return len(_LINK.findall(text))


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


async def check_post(session: AsyncSession, attempt: PostAttempt, *, settings: Settings, limiter: RateLimiter) -> None:
    """The ``before_post`` hook: refuses or holds the attempt (see the module)."""
    author = attempt.author
    if author.is_staff:
        return
    text = f"{attempt.title or ''}\n{attempt.body}"
    if not attempt.is_edit:
        await limiter.check("post", f"user:{author.id}")
    matchers = await load_matchers(session)
    blocked = matchers[WordKind.blocked.value].find(text)
    if blocked:
        field = "title" if attempt.title and matchers[WordKind.blocked.value].find(attempt.title) else "body"
        raise ValidationError(
            {
                field: _(
                    "This contains a word that is not allowed here: %(word)s. Remove it and try again.", word=blocked[0]
                )
            }
        )
    now = utcnow()
    if not attempt.is_edit and settings.duplicate_post_window > 0:
        same = await session.scalar(
            select(col(Post.id))
            .where(
                col(Post.author_id) == author.id,
                col(Post.created_at) >= now - timedelta(seconds=settings.duplicate_post_window),
                col(Post.body) == attempt.body,
            )
            .limit(1)
        )
        if same is not None:
            raise ValidationError(
                {"body": _("You posted exactly this a moment ago. Say something new, or wait a few minutes.")}
            )
    if not await is_trusted(session, author, settings):
        links = count_links(attempt.body)
        if links > settings.new_account_max_links:
            raise ValidationError(
                {
                    "body": _(
                        "New accounts can include at most %(n)s links in a post. Remove some and try again.",
                        n=settings.new_account_max_links,
                    )
                }
            )
        if not attempt.is_edit:
            await _check_new_account_pace(session, author, settings, new_thread=attempt.is_new_thread)
    watched = matchers[WordKind.watched.value].find(text)
    if watched and attempt.post is not None:
        # An edit is held only for words it adds: a post a moderator approved
        # is not sent back to the queue for fixing a typo.
        old_title = attempt.thread.title if attempt.thread is not None and attempt.post.is_first else ""
        before = set(matchers[WordKind.watched.value].find(f"{old_title}\n{attempt.post.body}"))
        watched = [w for w in watched if w not in before]
    if watched:
        attempt.hold_for_review(", ".join(watched))


async def _check_new_account_pace(session: AsyncSession, author: User, settings: Settings, *, new_thread: bool) -> None:
    """The interval runs between posts of one kind (questions, or replies), as
    on mature forums: asking and then adding a detail in a reply is fine,
    five replies in a row are not. The daily cap counts both."""
    now = utcnow()
    day_ago = now - timedelta(days=1)
    same_kind = case((col(Post.is_first) == new_thread, col(Post.created_at)))
    last, today = (
        await session.execute(
            select(func.max(same_kind), func.count()).where(
                col(Post.author_id) == author.id,
                col(Post.created_at) >= day_ago,
            )
        )
    ).one()
    if last is not None and settings.new_account_post_interval > 0:
        ready = last + timedelta(seconds=settings.new_account_post_interval)
        if ready > now:
            raise ValidationError(
                {
                    "body": _(
                        "New accounts can post once every %(n)s seconds. Wait %(left)s more seconds and try again.",
                        n=settings.new_account_post_interval,
                        left=_seconds(ready - now),
                    )
                }
            )
    if settings.new_account_daily_posts > 0 and today >= settings.new_account_daily_posts:
        raise ValidationError(
            {
                "body": _(
                    "New accounts can post %(n)s times a day. You can post again tomorrow.",
                    n=settings.new_account_daily_posts,
                )
            }
        )


async def record_hold(session: AsyncSession, attempt: PostAttempt, post: Post) -> None:
    """The ``after_post`` hook: a held post goes into the review queue."""
    if attempt.held:
        await raise_system_flag(session, post, note=", ".join(attempt.hold_notes))


def register(hooks: Hooks, *, settings: Settings, limiter: RateLimiter) -> None:
    async def before_post(session: AsyncSession, attempt: PostAttempt) -> None:
        await check_post(session, attempt, settings=settings, limiter=limiter)

    hooks.before_post.append(before_post)
    hooks.after_post.append(record_hold)


# ---------------------------------------------------------------- word lists


async def list_words(session: AsyncSession) -> dict[str, Sequence[Word]]:
    words = (await session.scalars(select(Word).order_by(col(Word.word_key)))).all()
    return {kind.value: [w for w in words if w.kind == kind.value] for kind in (WordKind.watched, WordKind.blocked)}


async def add_word(session: AsyncSession, *, actor: User | None, kind: str, word: str) -> Word:
    admin = check_admin(actor)
    word = one_line(word)
    errors: dict[str, str] = {}
    if kind not in (WordKind.watched.value, WordKind.blocked.value):
        errors["kind"] = _("Choose watched or blocked.")
    if not word.rstrip("*"):
        errors["word"] = _("Enter a word.")
    elif len(word) > WORD_MAX:
        errors["word"] = _("Words can have at most %(n)s characters.", n=WORD_MAX)
    if errors:
        raise ValidationError(errors)
    entry = Word(kind=kind, word=word, word_key=word_key(word), created_by_id=admin.id)
    exists = await session.scalar(
        select(col(Word.id)).where(col(Word.kind) == kind, col(Word.word_key) == entry.word_key)
    )
    if exists is not None:
        raise Conflict(_("That word is already on the list."))
    try:
        async with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        raise Conflict(_("That word is already on the list.")) from None
    await audit.record(session, actor=admin, action="word.add", target=entry, after={"kind": kind, "word": word})
    return entry


async def remove_word(session: AsyncSession, word_id: int, *, actor: User | None) -> bool:
    admin = check_admin(actor)
    entry = await session.get(Word, word_id)
    if entry is None:
        raise NotFound(_("No such word."))
    before = {"kind": entry.kind, "word": entry.word}
    await audit.record(session, actor=admin, action="word.remove", target=entry, before=before)
    await session.delete(entry)
    await session.flush()
    return True
