"""Ids typed into URLs and forms: ASCII digits within the column's range, else nothing.

`str.isdigit()` alone is not enough: it accepts "²", which `int()` refuses, and a 20-digit
number overflows PostgreSQL's bigint (a 500 instead of a 404 or an ignored value)."""

from __future__ import annotations

from collections.abc import Iterable

INT_MAX = 2**31 - 1      # Integer columns (users, sequences, segments, ...)
BIGINT_MAX = 2**63 - 1   # BigInteger columns (records, enrollments, step runs)


def parse_id(value, limit: int = INT_MAX) -> int | None:
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= limit else None


def parse_ids(values: Iterable, limit: int = BIGINT_MAX) -> list[int]:
    return [n for n in (parse_id(v, limit) for v in values) if n is not None]


def coerce_id(value) -> int:
    """An id for a WTForms choice field (`coerce=coerce_id`): ValueError, a field error, when it
    is not one, instead of an int that overflows the column."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT_MAX:
        return value
    number = parse_id(value)
    if number is None:
        raise ValueError(f"not an id: {str(value)[:20]!r}")
    return number
