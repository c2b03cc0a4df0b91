"""Small SQL helpers for bulk statements (the engine's and the records' set-based updates)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, any_, func, literal, select
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


def id_any(column, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column = ANY(:array)` on PostgreSQL, for a compare-and-set on rows just claimed (a claim,
    a chunk: thousands of ids at most, beside a status predicate). Their status was written
    after the last ANALYZE, so the planner takes the status index for one row and tests each
    row it returns against the ids: against an array that is a hash probe (a linear scan in C
    for a prepared plan), where `IN (SELECT unnest(...))` runs the whole unnest again per row.
    Measured on 10,000 claimed runs with stale statistics: 0.26–0.36 s against 8.4 s."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(BigInteger)))
    return column.in_(list(ids))
