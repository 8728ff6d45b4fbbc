"""Numbers read from text that someone else wrote (participants' pages, environment variables, servers'
headers), strictly: ASCII digits only, the whole value, a bounded length. Python's ``int()`` and ``float()``
would also take " 3", "3\n", "²", "٣", "1_000", "inf" or an exponent, which no page of the study ever sends;
every reader of such a number uses these."""
from __future__ import annotations

import re
from functools import cache


@cache
def _pattern(max_digits: int, signed: bool, max_places: int) -> re.Pattern:
    sign = "-?" if signed else ""
    places = rf"(\.[0-9]{{1,{max_places}}})?" if max_places else ""
    return re.compile(rf"{sign}[0-9]{{1,{max_digits}}}{places}")


def ascii_int(raw: object, *, max_digits: int = 18, signed: bool = False) -> int | None:
    """``raw`` as the integer it spells (a str of at most ``max_digits`` ASCII digits), or None."""
    if not isinstance(raw, str) or not _pattern(max_digits, signed, 0).fullmatch(raw):
        return None
    return int(raw)


def ascii_decimal(raw: object, *, max_digits: int, max_places: int) -> float | None:
    """``raw`` as the plain decimal number it spells (no sign, exponent, inf or nan), or None."""
    if not isinstance(raw, str) or not _pattern(max_digits, False, max_places).fullmatch(raw):
        return None
    return float(raw)
