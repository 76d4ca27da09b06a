"""Markdown to safe HTML: raw HTML off in the parser, then sanitised by nh3."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "loading"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}


#: the one kind of image a post may show: a file uploaded to this forum
UPLOAD_SRC = re.compile(r"^/uploads/[A-Za-z0-9_-]{8,64}$")


def _image(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
    """Uploaded images as ``<img loading="lazy">``; an image from another site as
    a plain link to it (its host never sees the readers: ``img-src 'self'``)."""
    token = tokens[idx]
    src = str(token.attrs.get("src", ""))
    alt = self.renderInlineAsText(token.children or [], options, env)
    if UPLOAD_SRC.match(src):
        return f'<img src="{escapeHtml(src)}" alt="{escapeHtml(alt)}" loading="lazy">'
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt or src)}</a>'


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image)
    return md


def render(text: str) -> str:
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )
