"""The path convertor of every ``{name:int}`` route: ids the database can hold.

Starlette's own ``int`` matches any run of digits, so ``/t/99999999999999999999``
reached the database, which refused the value (PostgreSQL's ids are 32-bit
``INTEGER``; SQLite's are 64-bit) and the request ended in a 500. This
convertor matches 0 to 2**31 - 1 only, so a larger id matches no route and
is a 404 on every route, whichever database. It replaces Starlette's ``int``
when the ``forum`` package is imported, before any route is built, so routes
keep writing ``{thread_id:int}``.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2**31 - 1

# 0 … 2147483647, leading zeros allowed (as int() reads them).
_BOUNDED = (
    r"0*(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])"
)


class IdConvertor(Convertor[int]):
    regex = _BOUNDED

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        assert 0 <= value <= MAX_ID, "Id out of range"
        return str(value)


def register() -> None:
    register_url_convertor("int", IdConvertor())
