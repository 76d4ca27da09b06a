"""Markdown to safe HTML: raw HTML off in the parser, then sanitised by nh3."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
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
    "img": {"src", "alt", "title", "loading", "width", "height"},
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
        size = ""
        sizes = env.get("images") if isinstance(env, dict) else None
        if sizes and (known := sizes.get(src.rsplit("/", 1)[1])) is not None:
            size = f' width="{int(known[0])}" height="{int(known[1])}"'
        return f'<img src="{escapeHtml(src)}" alt="{escapeHtml(alt)}"{size} loading="lazy">'
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt or src)}</a>'


# ---------------------------------------------------------------- @mentions

# "@name" where name is a username (forum.services.accounts.USERNAME_RE), not
# preceded by a letter, digit or one of "@./-" (so an email address is no mention).
MENTION_RE = re.compile(r"(?<![\w@./-])@([0-9A-Za-z_가-힣][0-9A-Za-z_.가-힣-]{0,29})")
MAX_CANDIDATES = 300


def _mention_texts(tokens: list[Token]) -> list[tuple[list[Token], int]]:
    """The inline text tokens where a mention may stand: not in code (code
    spans and blocks are tokens of their own) and not inside a link."""
    found: list[tuple[list[Token], int]] = []
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        depth = 0
        for i, child in enumerate(token.children):
            if child.type == "link_open":
                depth += 1
            elif child.type == "link_close":
                depth -= 1
            elif child.type == "text" and depth == 0 and "@" in child.content:
                found.append((token.children, i))
    return found


def _prefixes(name: str) -> list[str]:
    """What "@name" may mean, longest first ("@minji님" is minji, "@minji." too)."""
    return [name[:n] for n in range(len(name), 1, -1)]


def mention_candidates(text: str) -> list[str]:
    """The names that "@name" in ``text`` might mean, in order of appearance (each
    with its shorter readings), case-folded: what to look up among usernames."""
    tokens = _parser().parse(text)
    seen: dict[str, None] = {}
    for children, i in _mention_texts(tokens):
        for match in MENTION_RE.finditer(children[i].content):
            for name in _prefixes(match.group(1)):
                seen.setdefault(name.casefold(), None)
                if len(seen) >= MAX_CANDIDATES:
                    return list(seen)
    return list(seen)


def mentioned(text: str, known: Mapping[str, str]) -> list[str]:
    """The usernames ``text`` mentions, in order, once each: ``known`` maps the
    case-folded names that exist to their usernames."""
    out: dict[str, None] = {}
    tokens = _parser().parse(text)
    for children, i in _mention_texts(tokens):
        for match in MENTION_RE.finditer(children[i].content):
            name = _match(match.group(1), known)
            if name is not None:
                out.setdefault(known[name], None)
    return list(out)


def _match(name: str, known: Mapping[str, str]) -> str | None:
    for prefix in _prefixes(name):
        if prefix.casefold() in known:
            return prefix.casefold()
    return None


def _link_mentions(state: StateCore) -> None:
    known: Mapping[str, str] | None = state.env.get("mentions") if isinstance(state.env, dict) else None
    if not known:
        return
    # Backwards, so that replacing a token keeps the earlier indexes right.
    for children, i in reversed(_mention_texts(state.tokens)):
        text = children[i].content
        parts: list[Token] = []
        last = 0
        for match in MENTION_RE.finditer(text):
            key = _match(match.group(1), known)
            if key is None:
                continue
            start, end = match.start(), match.start() + 1 + len(key)
            if start > last:
                parts.append(_text(text[last:start]))
            link = Token("link_open", "a", 1)
            link.attrs = {"href": "/u/" + quote(known[key]), "class": "mention"}
            parts += [link, _text("@" + known[key]), Token("link_close", "a", -1)]
            last = end
        if parts:
            if last < len(text):
                parts.append(_text(text[last:]))
            children[i : i + 1] = parts


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image)
    md.core.ruler.push("mentions", _link_mentions)
    return md


def render(
    text: str,
    *,
    mentions: Mapping[str, str] | None = None,
    images: Mapping[str, tuple[int, int]] | None = None,
) -> str:
    """``mentions``: the case-folded usernames that exist, to their usernames
    (``forum.services.mentions.resolve``): "@name" of those links to their
    profile; any other "@name" stays plain text. ``images``: the pixel size of
    uploaded images by key (``forum.services.uploads.image_sizes``), written
    on their ``<img>`` so that the page does not shift as they load."""
    env: dict[str, Any] = {"mentions": mentions or {}, "images": images or {}}
    html = _parser().render(text, env)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes={"a": {"mention"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )
