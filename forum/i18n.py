"""Translations and locale-aware formatting.

Every visible string is an English msgid passed through ``gettext``; the
catalogues live in ``forum/locale/<lang>/LC_MESSAGES/messages.po`` and are read
directly (no compile step). The current locale is a context variable set once
per request, so services and templates translate without threading it through.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_time, format_timedelta, get_datetime_format
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from forum.clock import utcnow
from forum.paths import LOCALE_DIR

LOCALES = ("en", "ko")
LOCALE_NAMES = {"en": "English", "ko": "한국어"}
DEFAULT_LOCALE = "en"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


@functools.cache
def catalogue(locale: str) -> dict[str, str | tuple[str, ...]]:
    """All of a locale's messages. Each feature keeps its own ``.po`` file in
    ``forum/locale/<locale>/LC_MESSAGES/`` (messages.po, moderation.po, ...)."""
    out: dict[str, str | tuple[str, ...]] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            cat = read_po(f, locale=locale)
        for message in cat:
            if not message.id or not message.string or message.fuzzy:
                continue
            key = message.id[0] if isinstance(message.id, tuple | list) else message.id
            value = message.string
            if isinstance(value, tuple | list):
                if not all(value):
                    continue
                out[key] = tuple(value)
            else:
                out[key] = value
    return out


def get_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> contextvars.Token[str]:
    return _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    token = set_locale(locale)
    try:
        yield
    finally:
        _current.reset(token)


def translate(message: str) -> str:
    """The translation, unformatted (templates format it themselves)."""
    translated = catalogue(get_locale()).get(message, message)
    return translated[0] if isinstance(translated, tuple) else translated


def gettext(message: str, **params: object) -> str:
    translated = translate(message)
    return translated % params if params else translated


def translate_plural(singular: str, plural: str, n: int) -> str:
    """The right plural form, unformatted (templates format it themselves)."""
    translated = catalogue(get_locale()).get(singular)
    if isinstance(translated, tuple) and translated:
        # Korean has one plural form; English two.
        form = 0 if len(translated) == 1 or n == 1 else 1
        return translated[min(form, len(translated) - 1)]
    if isinstance(translated, str):
        return translated
    return singular if n == 1 else plural


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    params.setdefault("num", n)
    return translate_plural(singular, plural, n) % params


_ = gettext


def lazy(message: str) -> str:
    """Marks a msgid for extraction where it is translated later (at render time)."""
    return message


def negotiate(accept_language: str | None) -> str | None:
    """The best supported locale for an Accept-Language header, or None."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        lang, _sep, rest = piece.partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = lang.strip().lower().split("-")[0]
        if primary in LOCALES and quality > 0:
            choices.append((-quality, index, primary))
    return min(choices)[2] if choices else None


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A time in the reader's language: a CLDR format name ("medium": 'Dec 6, 2026, 5:04:25 PM'),
    or "minutes": the medium date and the time to the minute ('Dec 6, 2026, 5:04 PM' /
    '2026. 12. 6. 오후 5:04'), for times where seconds are noise."""
    if value is None:
        return ""
    return _cached_datetime(value, fmt, get_locale())


@functools.lru_cache(maxsize=8192)
def _cached_datetime(value: datetime, fmt: str, locale: str) -> str:
    # CLDR formatting costs ~0.1 ms; a page shows the same few times again and again.
    if fmt == "minutes":
        # the locale's medium date-time pattern, with its short time (hours and minutes)
        text = (
            str(get_datetime_format("medium", locale=locale))
            .replace("'", "")
            .replace("{0}", format_time(value, "short", locale=locale, tzinfo=None))
            .replace("{1}", _format_date(value, "medium", locale=locale))
        )
    else:
        text = _format_datetime(value, format=fmt, locale=locale, tzinfo=None)
    if locale == "ko":
        # CLDR's abbreviated Korean day periods are "AM"/"PM"; people write 오전/오후.
        text = text.replace("AM", "오전").replace("PM", "오후")
    return text


def format_date(value: datetime | None, fmt: str = "long") -> str:
    """The day alone ('December 5, 2026' / '2026년 12월 5일')."""
    if value is None:
        return ""
    return _format_date(value, format=fmt, locale=get_locale())


def format_utc(value: datetime | None) -> str:
    """'2026-12-04 15:37 UTC': an exact time beside a relative one (a tooltip)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


_TIMEDELTA_UNITS = (
    ("year", 31536000),
    ("month", 2592000),
    ("week", 604800),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
    ("second", 1),
)
_ago_texts: dict[tuple[str, bool, str, int], str] = {}


# The time relative times are counted from, read again at most once a second:
# a list page shows sixty of them, and reading the clock as naive UTC cost 3 µs
# each on this machine (datetime's replace()): 5% of the home page's CPU. The
# texts given while it holds are kept by (time, locale) until it is read again:
# the same rows' times are asked for by every request in that second (working a
# text out again cost ~2 µs, another 4% of the home page).
_now_read: tuple[float, datetime] = (-1.0, datetime.min)
_ago_recent: dict[tuple[datetime, str], str] = {}
_MINUTE = timedelta(minutes=1)


def _recent_now() -> datetime:
    global _now_read
    tick = time.monotonic()
    if tick - _now_read[0] >= 1.0:
        _now_read = (tick, utcnow())
        _ago_recent.clear()
    return _now_read[1]


def format_ago(value: datetime | None, now: datetime | None = None) -> str:
    """'3 hours ago' / '3시간 전'. Babel's text, kept per (unit, number): a page of
    thirty relative times costs thirty dictionary lookups, not thirty CLDR look-ups.
    Without ``now``, counted from a clock read within the last second."""
    if value is None:
        return ""
    if now is not None:
        return _ago(value, now, get_locale())
    now = _recent_now()
    key = (value, get_locale())
    text = _ago_recent.get(key)
    if text is None:
        text = _ago_recent[key] = _ago(value, now, key[1])
    return text


def _ago(value: datetime, now: datetime, locale: str) -> str:
    delta: timedelta = value - now
    if -_MINUTE < delta < _MINUTE:
        return gettext("just now")
    seconds = delta.days * 86400 + delta.seconds
    for unit, unit_seconds in _TIMEDELTA_UNITS:  # babel's choice of unit at threshold 1.0
        amount = abs(seconds) / unit_seconds
        if amount >= 1.0 or unit == "second":
            key = (locale, seconds >= 0, unit, round(max(1.0, amount)))
            text = _ago_texts.get(key)
            if text is None:
                text = _ago_texts[key] = format_timedelta(delta, add_direction=True, locale=locale, threshold=1.0)
            return text
    return ""  # pragma: no cover - "second" always matches


@functools.lru_cache(maxsize=8192)
def _number(value: int | float, locale: str) -> str:
    return format_decimal(value, locale=locale)


def format_number(value: int | float) -> str:
    return _number(value, get_locale())


def language_name(locale: str) -> str:
    return LOCALE_NAMES.get(locale) or Locale.parse(locale).display_name or locale
