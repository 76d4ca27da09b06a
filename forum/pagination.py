"""Pages of lists, and the bounds that keep any page's work fixed.

Lists are paged by offset, and stop at ``MAX_PAGES``: the deepest page skips
at most ``(MAX_PAGES - 1) * size`` rows of an index, so no request's cost grows
with the forum. (Keyset pages would not need a bound, but lose the numbered
"page n of m" the lists show and links that stay put; nobody reads a forum
three thousand threads deep: search finds older threads.) A page number past
the bound is not found, and so is one past a list's last page where the
list's size is known before its rows are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from forum.errors import NotFound
from forum.i18n import gettext as _
from forum.i18n import ngettext

T = TypeVar("T")

MAX_PAGES = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    size: int
    # How many items the list holds (or, from a capped count, at least: see count_up_to_last_page).
    total: int

    @property
    def pages(self) -> int:
        """The pages the list can show: at most ``MAX_PAGES``."""
        return min(MAX_PAGES, max(1, -(-self.total // self.size)))

    @property
    def more(self) -> bool:
        """Whether the list holds more than its pages reach."""
        return self.total > MAX_PAGES * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: str | None) -> int:
    """A page number from the query string; anything odd means page 1, and a
    number past ``MAX_PAGES`` is not found."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    if number > MAX_PAGES:
        raise NotFound(_("Lists stop at page %(n)s. Search finds older posts.", n=MAX_PAGES))
    return max(number, 1)


def check_page(number: int, *, total: int, size: int) -> None:
    """Not found: a page past the list's last one (the first page always exists)."""
    if number > MAX_PAGES or (number > 1 and (number - 1) * size >= total):
        pages = Page([], 1, size, total).pages
        raise NotFound(
            ngettext("This list has only %(num)s page.", "This list has only %(num)s pages.", pages, num=pages)
        )


def count_up_to_last_page(stmt: Select[Any], size: int) -> Select[Any]:
    """A count of the rows ``stmt`` finds, stopping one past what ``MAX_PAGES``
    pages of ``size`` show: a bounded count for lists with no stored size."""
    return select(func.count()).select_from(stmt.limit(MAX_PAGES * size + 1).subquery())
