"""Finds every translatable message in the code and templates (used by the
catalogue test and by ``scripts/missing_translations.py``)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from forum.paths import PACKAGE_DIR, TEMPLATES_DIR

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None}
METHOD_MAP = [("**.py", "python")]
TEMPLATE_METHOD_MAP = [("**.html", "jinja2")]
TEMPLATE_OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}


def messages() -> dict[str, tuple[str, ...]]:
    """msgid -> (msgid, msgid_plural?) for everything marked for translation, with where it was found."""
    found: dict[str, tuple[str, ...]] = {}
    sources = [
        (PACKAGE_DIR, METHOD_MAP, {}),
        (PACKAGE_DIR.parent / "moderation", METHOD_MAP, {}),
        (TEMPLATES_DIR, TEMPLATE_METHOD_MAP, TEMPLATE_OPTIONS),
    ]
    for folder, method_map, options in sources:
        if not Path(folder).is_dir():
            continue
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(folder), method_map, options, keywords=KEYWORDS, strip_comment_tags=True
        ):
            ids = message if isinstance(message, tuple) else (message,)
            if ids and ids[0]:
                found.setdefault(ids[0], tuple(i for i in ids if i))
    return found
