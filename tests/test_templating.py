"""The template environment's own rules (forum.templating): kept fragments and globals."""

from __future__ import annotations

import sys

from markupsafe import Markup

from forum.templating import Fragments, make_templates


def _renderer(calls: list[str]):  # type: ignore[no-untyped-def]
    def render(text: str) -> str:
        calls.append(text)
        return text

    return render


def test_a_fragment_is_rendered_once_and_kept_by_its_key() -> None:
    calls: list[str] = []
    fragments = Fragments(limit=1024 * 1024)
    render = _renderer(calls)
    first = fragments(("a", 1), render, "<b>one</b>")
    again = fragments(("a", 1), render, "<b>changed</b>")
    assert isinstance(first, Markup) and again == first == "<b>one</b>"
    assert calls == ["<b>one</b>"]
    assert fragments(("a", 2), render, "<b>two</b>") == "<b>two</b>"  # another key: rendered
    assert calls == ["<b>one</b>", "<b>two</b>"]


def test_fragments_stay_within_their_memory_and_drop_the_least_recently_used() -> None:
    calls: list[str] = []
    render = _renderer(calls)
    piece = "x" * 1000
    fragments = Fragments(limit=3 * sys.getsizeof(Markup(piece)) + 10)
    for key in ("a", "b", "c"):
        fragments((key,), render, piece)
    fragments(("a",), render, piece)  # used again: "b" is now the least recent
    fragments(("d",), render, piece)  # over the limit: "b" goes
    assert set(fragments.items) == {("a",), ("c",), ("d",)}
    assert fragments.size == sum(sys.getsizeof(v) for v in fragments.items.values()) <= fragments.limit
    calls.clear()
    fragments(("a",), render, piece)
    fragments(("b",), render, piece)
    assert calls == [piece]  # "a" was kept, "b" rendered again
    # Korean text takes two bytes a character: fewer such pieces fit.
    korean = "환" * 1000
    assert sys.getsizeof(korean) > 2 * len(korean)
    fragments(("k",), render, korean)
    assert fragments.size <= fragments.limit and len(fragments.items) == 2


def test_no_fragment_is_kept_with_a_limit_of_zero() -> None:
    calls: list[str] = []
    fragments = Fragments(limit=0)
    render = _renderer(calls)
    fragments(("a",), render, "one")
    fragments(("a",), render, "one")
    assert calls == ["one", "one"] and not fragments.items and fragments.size == 0


def test_a_global_set_after_templates_were_loaded_reaches_them() -> None:
    """Templates hold a copy of the globals (not Jinja's ChainMap over them): a
    change to the environment's globals makes the next render load them again."""
    env = make_templates().env
    env.loader = __import__("jinja2").DictLoader(
        {
            "page.html": '{% from "m.html" import m %}{{ greeting }} {{ m() }}',
            "m.html": "{% macro m() %}{{ greeting }}!{% endmacro %}",
        }
    )
    env.globals["greeting"] = "hello"
    assert env.get_template("page.html").render() == "hello hello!"
    env.globals["greeting"] = "안녕"
    assert env.get_template("page.html").render() == "안녕 안녕!"
    env.globals.update(greeting="hi")
    assert env.get_template("page.html").render() == "hi hi!"
    assert type(env.get_template("page.html").globals) is dict
