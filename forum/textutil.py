"""Small string helpers that must behave the same for Korean and English."""

from __future__ import annotations

import re
import unicodedata

_SLUG_DROP = re.compile(r"[^\w\s-]", re.UNICODE)
_SLUG_SPACE = re.compile(r"[\s_-]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise(text: str) -> str:
    """NFC (so a Hangul syllable typed as jamo counts as one character), no
    control characters, unified newlines, trimmed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def one_line(text: str) -> str:
    return " ".join(normalise(text).split())


def slugify(text: str, max_length: int = 80) -> str:
    """URL slug that keeps Hangul: '환불 받을 수 있나요?' -> '환불-받을-수-있나요'."""
    text = _SLUG_DROP.sub("", unicodedata.normalize("NFC", text).lower())
    slug = _SLUG_SPACE.sub("-", text).strip("-")
    return slug[:max_length].rstrip("-") or "thread"
