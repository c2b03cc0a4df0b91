"""A custom number field holding text (`{"score": "abc"}`, as an old import or a direct write
could leave it) is no number: filters and segment rules on the field simply don't match it,
where PostgreSQL used to refuse the cast (a 400 from the safety net). Text that reads as a number
(" 12 ", left by a field created as text, removed and added again as a number) still counts."""

from __future__ import annotations

import sqlite3

from sqlalchemy import literal
from sqlalchemy.dialects import sqlite

from saas.extensions import db
from saas.records.custom_fields import add_custom_field
from saas.records.fields import _HoldsNumber
from saas.records.models import Record
from saas.segments import membership
from saas.tenancy import tenant_context

ODD = {"score": "abc"}


def _records(app, admin):
    with app.app_context(), tenant_context(admin.tenant.id):
        add_custom_field(record_type="lead", label="Score", kind="number")
        for name, custom in (("Odd", ODD), ("High", {"score": 9}), ("Low", {"score": 2.5}),
                             ("Yes", {"score": True}), ("Listy", {"score": [7]}),
                             ("Blank", {"score": None}), ("None", {}),
                             ("Texty", {"score": " 12 "}), ("Huge", {"score": "9" * 400}),
                             ("Exp", {"score": "1e400"}), ("Inf", {"score": "Infinity"})):
            db.session.add(Record(record_type="lead", last_name=name, status="new",
                                  custom=custom))
        db.session.commit()


def _names(page: str) -> set[str]:
    return {n for n in ("Odd", "High", "Low", "Yes", "Listy", "Blank", "Texty", "Huge", "Exp",
                        "Inf") if f">{n}<" in page or f" {n}<" in page}


def test_a_filter_on_a_number_field_ignores_text_in_it(app, admin_client, admin):
    _records(app, admin)
    for op, value, expected in (("gt", "5", {"High", "Texty"}), ("lt", "5", {"Low"}),
                                ("equals", "9", {"High"}), ("equals", "12", {"Texty"}),
                                ("between", "1,10", {"High", "Low"})):
        response = admin_client.get("/acme/leads", query_string={
            "f": "custom.score", "op": op, "v": value})
        assert response.status_code == 200, (op, value)
        assert _names(response.get_data(as_text=True)) == expected, (op, value)
    count = admin_client.get("/acme/leads/count?f=custom.score&op=gt&v=5")
    assert count.status_code == 200
    export = admin_client.get("/acme/leads/export.csv?f=custom.score&op=gt&v=5")
    assert export.status_code == 200
    body = export.get_data(as_text=True)
    assert "High" in body and "Odd" not in body


def test_a_segment_rule_on_a_number_field_ignores_text_in_it(app, admin_client, admin):
    _records(app, admin)
    rules = {"op": "and", "rules": [{"field": "custom.score", "operator": "gt", "value": "1"}]}
    with app.app_context(), tenant_context(admin.tenant.id):
        count, first = membership.simulate("lead", rules)
        assert count == 3 and {r.last_name for r in first} == {"High", "Low", "Texty"}
    page = admin_client.post("/acme/segments/new", data={
        "name": "Scored", "record_type": "lead", "priority": "0", "description": "",
        "g-r-op": "and", "c-r.0-field": "custom.score", "c-r.0-operator": "gt",
        "c-r.0-value": "1", "action": "simulate"})
    assert page.status_code == 200
    assert "Simulated members: 3" in page.get_data(as_text=True)


def test_is_empty_still_judges_the_text():
    """Emptiness reads the JSON text (conditions.py), not the number: "abc" is not empty."""
    from saas.records.conditions import compile_condition
    from saas.records.fields import Field

    score = Field("custom.score", "Score", "number", custom=True)
    assert "jsonb_typeof" not in str(compile_condition(score, "is_empty"))


def test_the_sqlite_form_matches_numbers_and_numeric_text_only():
    expression = _HoldsNumber(literal('{"score": "abc"}'), literal("score"))
    sql = str(expression.compile(dialect=sqlite.dialect(),
                                 compile_kwargs={"literal_binds": True}))
    connection = sqlite3.connect(":memory:")
    for document, expected in (('{"score": "abc"}', 0), ('{"score": 9}', 1),
                               ('{"score": 2.5}', 1), ('{"score": true}', 0), ("{}", 0),
                               ('{"score": " 12 "}', 1), ('{"score": ""}', 0),
                               ('{"score": "1e5"}', 0), ('{"score": [1]}', 0),
                               ('{"sco\\"re": 1}', 0)):
        query = sql.replace("'{\"score\": \"abc\"}'", ":doc")
        (value,) = connection.execute(f"SELECT {query}", {"doc": document}).fetchone()
        assert (value or 0) == expected, document
