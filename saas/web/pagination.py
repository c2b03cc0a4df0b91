"""Keyset pagination: as fast on page 1,000 as on page 1."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Numeric, Select, literal, tuple_

from saas.extensions import db


@dataclass
class Page:
    items: list[Any]
    next_after: str | None


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(value, sql_type):
    """Turn a cursor value back into what the column compares with."""
    if value is None:
        return None
    if isinstance(sql_type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(sql_type, Date):
        return date.fromisoformat(value)
    if isinstance(sql_type, Numeric):
        return Decimal(value)
    return value


def encode_cursor(values: tuple) -> str:
    plain = [_plain(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> tuple | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    return tuple(values)


def keyset_page(stmt: Select, keys: list, after: str | None, *, descending: bool = False,
                limit: int = 50, cursor_of=None) -> Page:
    """Rows of `stmt` ordered by `keys` (all ascending or all descending), after a cursor.

    `cursor_of(row)` gives the key values of a row for the next cursor.
    """
    position = decode_cursor(after, len(keys))
    if position is not None:
        try:
            typed = [literal(_typed(v, k.type), k.type) for v, k in zip(position, keys,
                                                                         strict=True)]
        except (TypeError, ValueError):
            typed = None  # a tampered cursor: start from the beginning
        if typed is not None:
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
