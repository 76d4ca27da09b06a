"""Jinja2 environment: autoescape everywhere, gettext from ``forum.i18n``."""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from forum import i18n
from forum.paths import TEMPLATES_DIR


def make_templates(*, auto_reload: bool = False) -> Jinja2Templates:
    """``auto_reload``: look at every template file's time on every render, to pick
    up edits (``FORUM_RELOAD_TEMPLATES=1`` while working on them); off, each
    template is read and compiled once per process."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        auto_reload=auto_reload,
        cache_size=-1,
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Newstyle gettext: Jinja looks the message up through these and then
    # formats it itself, escaping the values (`_("%(name)s", name=x)`).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.translate,
        ngettext=i18n.translate_plural,
        newstyle=True,
    )
    env.globals.update(
        format_datetime=i18n.format_datetime,
        format_ago=i18n.format_ago,
        format_utc=i18n.format_utc,
        format_number=i18n.format_number,
        get_locale=i18n.get_locale,
        LOCALES=i18n.LOCALES,
        language_name=i18n.language_name,
    )
    return Jinja2Templates(env=env)


def context(**values: Any) -> dict[str, Any]:
    return values
