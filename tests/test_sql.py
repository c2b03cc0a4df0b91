"""The bulk SQL helpers (saas/sql.py) on PostgreSQL: what they bind and the plans they lead to
when a table's statistics are older than its rows, as they are in the middle of a tick."""

from __future__ import annotations

import json

from sqlalchemy import event, func, select, text, update

from saas.engine.conditions import field_matches
from saas.engine.graph import StepInfo
from saas.extensions import db
from saas.records.models import Record
from saas.sql import id_array
from saas.tenancy import tenant_context


def test_an_id_array_reads_back_as_the_ids_in_their_order(app):
    with app.app_context():
        ids = [5, 3, 2**40, 3]
        assert db.session.execute(select(func.unnest(id_array(ids)))).scalars().all() == ids
        assert db.session.execute(select(func.unnest(id_array([])))).scalars().all() == []
        db.session.rollback()


def test_an_id_array_is_a_constant_the_planner_counts(app):
    """The plan sees the array's values: `unnest` is sized from it, as from a list bound as an
    array (the semi-joins of `id_in` rely on that estimate)."""
    with app.app_context():
        statement = select(func.unnest(id_array(range(1, 1235)))).compile(db.engine)
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.execute("EXPLAIN (FORMAT JSON) " + str(statement), statement.params)
        assert cursor.fetchone()[0][0]["Plan"]["Plan Rows"] == 1234
        db.session.rollback()


def _loops_over_the_ids(statement: str, params) -> list[int]:
    """EXPLAIN ANALYZE of a captured statement: how many times each node reading the id array
    (ProjectSet of the unnest, a Function Scan) ran."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
    plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    loops, nodes = [], [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node["Node Type"] in ("ProjectSet", "Function Scan"):
            loops.append(node["Actual Loops"])
        nodes.extend(node.get("Plans", []))
    return loops


def test_a_field_condition_on_records_just_updated_reads_the_ids_once(app, make_tenant,
                                                                      add_records):
    """A field update right before a field condition: the statistics say no record has the
    new value. The condition's query must still go from the group's ids, not read them again
    for every record of the tenant (with `IN (SELECT unnest(...))` it read them 3,000 times)."""
    tenant = make_tenant()
    ids = add_records(tenant, 3000)
    group = ids[1000:1200]
    with app.app_context(), tenant_context(tenant.id):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE record"))
        db.session.execute(update(Record).where(Record.id.in_(group))
                           .values(status="contacted"))
        captured = []

        def capture(conn, cursor, statement, params, context, executemany):
            if statement.lstrip().startswith("SELECT record.id"):
                captured.append((statement, params))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            step = StepInfo(1, 1, None, "main", 0, "field_condition", "Contacted?", {
                "rules": {"op": "and", "rules": [
                    {"field": "status", "operator": "equals", "value": "contacted"}]}})
            assert field_matches(step, group, "lead") == set(group)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert len(captured) == 1
        loops = _loops_over_the_ids(*captured[0])
        assert all(n <= 1 for n in loops), loops
        db.session.rollback()
