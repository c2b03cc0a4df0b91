"""Small SQL helpers for bulk statements (the engine's and the records' set-based updates)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from saas.extensions import db


def id_in(column, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column IN ids`; on PostgreSQL `column IN (SELECT unnest(:array))`: one parameter instead
    of thousands (the driver does not parse a statement with 20,000 placeholders), and a
    semi-join the planner sizes from the array, never a scan testing each row against the whole
    array (`= ANY(:array)` does that when the table's statistics are stale, e.g. while a large
    segment is being connected)."""
    if db.engine.dialect.name == "postgresql":
        return column.in_(select(func.unnest(literal(list(ids), ARRAY(BigInteger)))))
    return column.in_(list(ids))
