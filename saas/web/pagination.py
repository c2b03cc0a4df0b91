"""Keyset pagination: as fast on page 1,000 as on page 1.

A cursor (`after=`) is signed with the app's secret and a purpose salt, and each value is checked
against its column's type and range before it reaches the database: a forged, tampered or stale
cursor restarts at the first page, never a 500.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    SmallInteger,
    String,
    literal,
    tuple_,
)

from saas.extensions import db
from saas.web.ids import BIGINT_MAX, INT_MAX

CURSOR_SALT = "keyset-cursor"
MAX_CURSOR = 2_000  # characters; a real cursor is a few hundred at most


@dataclass
class Page:
    items: list[Any]
    next_after: str | None


class BadCursor(ValueError):
    """A cursor value that does not fit its column."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=CURSOR_SALT)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _int_in(value, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -limit - 1 <= value <= limit:
        raise BadCursor(value)
    return value


def _typed(value, sql_type):
    """Turn a cursor value back into what the column compares with, or raise BadCursor."""
    if value is None:
        return None
    try:
        if isinstance(sql_type, SmallInteger):
            return _int_in(value, 2**15 - 1)
        if isinstance(sql_type, BigInteger):
            return _int_in(value, BIGINT_MAX)
        if isinstance(sql_type, Integer):
            return _int_in(value, INT_MAX)
        if isinstance(sql_type, Boolean):
            if not isinstance(value, bool):
                raise BadCursor(value)
            return value
        if isinstance(sql_type, Float):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise BadCursor(value)
            return float(value)
        if not isinstance(value, str) or "\x00" in value:
            raise BadCursor(value)
        if isinstance(sql_type, DateTime):
            return datetime.fromisoformat(value)
        if isinstance(sql_type, Date):
            return date.fromisoformat(value)
        if isinstance(sql_type, Numeric):
            number = Decimal(value)
            if not number.is_finite():
                raise BadCursor(value)
            return number
        if isinstance(sql_type, String) and sql_type.length and len(value) > sql_type.length:
            raise BadCursor(value)
        return value
    except (ValueError, TypeError, InvalidOperation, OverflowError) as error:
        raise BadCursor(value) from error


def encode_cursor(values: tuple) -> str:
    return _serializer().dumps([_plain(v) for v in values])


def decode_cursor(cursor: str | None, size: int) -> tuple | None:
    """The signed values of a cursor, or None (first page) when it is absent or not ours."""
    if not cursor or not isinstance(cursor, str) or len(cursor) > MAX_CURSOR:
        return None
    try:
        values = _serializer().loads(cursor)
    except (BadData, ValueError, TypeError, RecursionError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    return tuple(values)


def cursor_position(cursor: str | None, keys: list) -> list | None:
    """The cursor's values typed for `keys` (Python values), or None to start at the top."""
    position = decode_cursor(cursor, len(keys))
    if position is None:
        return None
    try:
        return [_typed(v, k.type) for v, k in zip(position, keys, strict=True)]
    except BadCursor:
        return None


def keyset_page(stmt: Select, keys: list, after: str | None, *, descending: bool = False,
                limit: int = 50, cursor_of=None) -> Page:
    """Rows of `stmt` ordered by `keys` (all ascending or all descending), after a cursor.

    `cursor_of(row)` gives the key values of a row for the next cursor.
    """
    position = cursor_position(after, keys)
    if position is not None:
        typed = [literal(v, k.type) for v, k in zip(position, keys, strict=True)]
        key = tuple_(*keys) if len(keys) > 1 else keys[0]
        value = tuple_(*typed) if len(keys) > 1 else typed[0]
        stmt = stmt.where(key < value if descending else key > value)
    order = [k.desc() for k in keys] if descending else keys
    rows = list(db.session.execute(stmt.order_by(*order).limit(limit + 1)).scalars())
    next_after = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_after = encode_cursor(tuple(cursor_of(rows[-1])))
    return Page(rows, next_after)
