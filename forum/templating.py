"""Jinja2 environment: autoescape everywhere, gettext from ``forum.i18n``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

from forum import i18n
from forum.paths import TEMPLATES_DIR


class _Globals(dict[str, Any]):
    """The environment's globals: a change forgets the templates loaded so far, so
    that the next render loads them again with the new globals (see
    :class:`_Environment`). They are all set as the app is built."""

    def __init__(self, environment: jinja2.Environment, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.environment = environment

    def _forget(self) -> None:
        if self.environment.cache is not None:
            self.environment.cache.clear()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._forget()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._forget()

    def update(self, *args: Any, **values: Any) -> None:  # type: ignore[override]
        super().update(*args, **values)
        self._forget()

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class _Environment(jinja2.Environment):
    """Each template's globals are one plain dict, copied from the environment's
    when the template is loaded, instead of Jinja's ChainMap over them: every
    render, include and ``{% from ... import %}`` iterates and tests a template's
    globals (about 50 names here), which through a ChainMap's Python methods took
    ~5% of a thread page's CPU. Jinja asks for globals not to change after a
    template is loaded; here a change forgets the loaded templates (``_Globals``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals = _Globals(self, self.globals)

    def make_globals(self, d: Any) -> Any:
        return {**self.globals, **d} if d else dict(self.globals)


def make_templates(*, auto_reload: bool = False, fragment_cache_mb: int = 48) -> Jinja2Templates:
    """``auto_reload``: look at every template file's time on every render, to pick
    up edits (``FORUM_RELOAD_TEMPLATES=1`` while working on them); off, each
    template is read and compiled once per process. ``fragment_cache_mb``: the
    memory kept for rendered fragments (:class:`Fragments`)."""
    env = _Environment(
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
    # The same newstyle semantics (the message is trusted, the values are escaped)
    # without the extension's second context call and its formatting of every
    # message: a page has dozens of them.
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    # While templates are being edited, every piece is rendered every time.
    fragments = Fragments(limit=0 if auto_reload else fragment_cache_mb * 1024 * 1024)
    post_views = PostViews(fragments)
    env.globals.update(
        format_datetime=i18n.format_datetime,
        format_date=i18n.format_date,
        format_ago=i18n.format_ago,
        format_utc=i18n.format_utc,
        time_ago=time_ago,
        csrf=csrf_field,
        form_key=form_key_field,
        format_number=i18n.format_number,
        get_locale=i18n.get_locale,
        LOCALES=i18n.LOCALES,
        language_name=i18n.language_name,
        thread_item=ThreadItems(env, fragments),
        anonymous_post=post_views,
        post_main_kept=post_views.main,
        search_hit=SearchHits(env, fragments),
        thread_head=ThreadHeads(env, fragments),
    )
    return Jinja2Templates(env=env)


class Fragments:
    """Rendered pieces of pages, kept by a key that holds everything they show:
    a thread list's rows and an anonymous reader's posts are the same for every
    reader and many requests, change only when what they show does, and cost
    ~100-200 µs each to render (thirty a list, ten a thread). Bounded by the
    memory the kept strings take (``limit`` bytes, as ``sys.getsizeof`` counts
    them: one byte a character for ASCII, two for Korean), the least recently
    used dropped first; 0 keeps nothing, as while templates are being edited."""

    def __init__(self, limit: int = 48 * 1024 * 1024) -> None:
        self.limit = limit
        self.size = 0
        self.items: dict[tuple[Any, ...], Markup] = {}

    def __call__(self, key: tuple[Any, ...], render: Callable[..., Any], *args: Any) -> Markup:
        items = self.items
        html = items.pop(key, None)
        if html is None:
            html = Markup(render(*args))
            if not self.limit:
                return html
            self.size += sys.getsizeof(html)
            while self.size > self.limit and items:
                self.size -= sys.getsizeof(items.pop(next(iter(items))))
        items[key] = html  # the newest last: the first is the least recently used
        return html


class _KeptMacro:
    """A template macro whose HTML is kept in the page fragments: subclasses name
    the template and macro, and build from their arguments the key that holds all
    the macro shows."""

    template = ""
    macro = ""

    def __init__(self, env: jinja2.Environment, fragments: Fragments) -> None:
        self.env, self.fragments = env, fragments

    def _render(self, *args: Any) -> Any:
        return getattr(self.env.get_template(self.template).module, self.macro)(*args)


class ThreadItems(_KeptMacro):
    """``thread_item(thread)``: a thread list's row (templates/threads/_item.html),
    kept per locale, relative time ('3 minutes ago') and the row's values (its
    own, its category's and its author's, and its tags: all the row shows)."""

    template, macro = "threads/_item.html", "thread_item"

    def __call__(self, row: Any) -> Markup:
        ago = (i18n.format_ago(row.created_at), i18n.format_ago(row.last_activity_at))
        key = ("thread-item", i18n.get_locale(), ago, row.values, getattr(row, "tags", ()))
        return self.fragments(key, self._render, row)


class PostViews:
    """A thread page's posts (templates/threads/_post.html), kept by what they show:
    the post's and its author's values, the locale, the relative time and whether
    it is the thread's accepted or official answer.

    ``anonymous_post(post, v, post_view)``: the whole post as an anonymous reader
    sees it (no forms, no per-reader state). ``post_main_kept(post, v, show_body,
    post_main)``: for a signed-in reader, the part every reader sees alike (flags,
    author, time, notice and, when ``show_body``, the body); the footer with the
    reader's own buttons is rendered each time. A thread page shows ten posts."""

    def __init__(self, fragments: Fragments) -> None:
        self.fragments = fragments

    @staticmethod
    def _key(kind: str, post: Any, v: Any) -> tuple[Any, ...]:
        return (
            kind,
            i18n.get_locale(),
            i18n.format_ago(post.created_at),
            post.values,
            post.id == v.thread.accepted_post_id,
            post.id == v.thread.official_post_id,
        )

    def __call__(self, post: Any, v: Any, render: Callable[..., Any]) -> Markup:
        if not post.values:
            return Markup(render(post, v))
        return self.fragments(self._key("post", post, v), render, post, v)

    def main(self, post: Any, v: Any, show_body: bool, render: Callable[..., Any]) -> Markup:
        # An anonymous reader's whole post is kept by __call__ already.
        if not post.values or v.user is None:
            return Markup(render(post, v, show_body))
        return self.fragments((*self._key("post-main", post, v), bool(show_body)), render, post, v, show_body)


class ThreadHeads(_KeptMacro):
    """``thread_head(page, canonical)``: a visible thread's <head> additions
    (templates/threads/_head.html: description, OpenGraph, JSON-LD of every
    visible answer), kept per locale, address, the values of the posts (votes,
    bodies, authors) and the thread's own that it shows (title, kind, accepted
    and official answers, category): not all the thread's values, whose view
    count changes every few seconds. Building the JSON-LD took a tenth of a
    thread page."""

    template, macro = "threads/_head.html", "thread_head"

    def __call__(self, page: Any, canonical: str) -> Markup:
        thread, posts = page.thread, (page.question, *page.answers)
        if not all(p.values for p in posts):
            return Markup(self._render(page, canonical))
        c = thread.category
        key = (
            "thread-head",
            i18n.get_locale(),
            canonical,
            (thread.id, thread.title, thread.kind, thread.accepted_post_id, thread.official_post_id),
            (c.id, c.slug, c.name_en, c.name_ko),
            tuple(p.values for p in posts),
        )
        return self.fragments(key, self._render, page, canonical)


class SearchHits(_KeptMacro):
    """``search_hit(hit)``: a search result (templates/search/_hit.html), kept
    per locale, relative time and all the hit shows; twenty a page."""

    template, macro = "search/_hit.html", "search_hit"

    def __call__(self, hit: Any) -> Markup:
        c = hit.category
        key = (
            "search-hit",
            i18n.get_locale(),
            i18n.format_ago(hit.created_at),
            (hit.type, hit.id, hit.title, hit.url, hit.snippet.parts, hit.kind, hit.solved, hit.official),
            (hit.tags, hit.created_at, hit.reply_count),
            (c.slug, c.name_en, c.name_ko) if c is not None else None,
        )
        return self.fragments(key, self._render, hit)


def template_gettext(message: str, /, **variables: Any) -> Markup:
    translated = Markup(i18n.translate(message))
    return translated % variables if variables else translated


def template_ngettext(singular: str, plural: str, n: int, /, **variables: Any) -> Markup:
    variables.setdefault("num", n)  # a template may pass num= itself (a formatted number)
    return Markup(i18n.translate_plural(singular, plural, n)) % variables


def csrf_field(token: Any) -> Markup:
    """The hidden CSRF field of a form (a function: a page may have dozens of forms)."""
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">')


def form_key_field() -> Markup:
    """The one-use key of a form that creates something (``forum.services.formkeys``):
    a new one each time the form is rendered."""
    from forum.services.formkeys import FIELD, new_key

    return Markup(f'<input type="hidden" name="{FIELD}" value="{new_key()}">')


def time_ago(value: datetime) -> Markup:
    """``<time>`` with the relative time ('3 hours ago') and the exact one as its
    tooltip. A function rather than a macro: pages call it for every row, and a
    macro call costs several times more."""
    ago = escape(i18n.format_ago(value))
    return Markup(f'<time datetime="{value.isoformat()}Z" title="{i18n.format_utc(value)}">{ago}</time>')


def context(**values: Any) -> dict[str, Any]:
    return values
