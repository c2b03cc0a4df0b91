"""Small SQL helpers for the engine's bulk statements."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from saas.extensions import db


def id_in(column, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column IN ids`; on PostgreSQL `column = ANY(:array)`: one parameter instead of
    thousands, so the driver does not parse a statement with 5,000 placeholders each time."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(BigInteger)))
    return column.in_(list(ids))
