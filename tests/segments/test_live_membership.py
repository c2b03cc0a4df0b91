"""Live membership keeps its statement per tenant (PostgreSQL): segments and custom fields changed
behind its back, by any path, must still give the right members, on both databases."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, update

from saas import create_app
from saas.auth.models import Tenant
from saas.extensions import db
from saas.records.models import CustomField, Record
from saas.segments import live
from saas.segments.membership import refresh_records
from saas.segments.models import Segment, SegmentEvent, SegmentMember
from saas.tenancy import tenant_context
from tests.conftest import app_config


def rules(field: str, operator: str, value: str) -> dict:
    return {"op": "and", "rules": [{"field": field, "operator": operator, "value": value}]}


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_app(request, app, tmp_path):
    """`app` (PostgreSQL) is always requested so its tables are emptied after the test."""
    if request.param == "postgresql":
        return app
    sqlite_app = create_app(app_config(DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}"))
    with sqlite_app.app_context():
        upgrade()
        db.session.remove()
    return sqlite_app


def _tenant_with_a_lead(score: float) -> tuple[int, int]:
    tenant = Tenant(slug="live", name="Live", licence="sales_enterprise", settings={},
                    opportunities_enabled=False)
    db.session.add(tenant)
    db.session.commit()
    with tenant_context(tenant.id):
        record = Record(record_type="lead", first_name="Ann", last_name="Lee",
                        email="ann@live.example", status="new", country="FR", time_zone="UTC",
                        custom={"score": score})
        db.session.add(record)
        db.session.add(CustomField(record_type="lead", key="score", label="Score", kind="text",
                                   choices=[]))
        db.session.commit()
        return tenant.id, record.id


def _members() -> dict[str, int]:
    """Members by segment name, and each segment's member_count."""
    rows = db.session.execute(
        select(Segment.name, Segment.member_count, func.count(SegmentMember.id))
        .outerjoin(SegmentMember, SegmentMember.segment_id == Segment.id)
        .group_by(Segment.name, Segment.member_count)).all()
    assert all(count == members for _, count, members in rows), rows
    return {name: members for name, _, members in rows if members}


def _events() -> list[tuple[str, str]]:
    return [tuple(row) for row in db.session.execute(
        select(SegmentEvent.kind, Segment.name).join(Segment, Segment.id == SegmentEvent.segment_id)
        .order_by(SegmentEvent.id))]


def _segment_table_update(segment_id: int, **values):
    """As another process or a repair script would: no ORM, `updated_at` left as it was."""
    table = Segment.__table__
    db.session.execute(update(table).where(table.c.id == segment_id)
                       .values(updated_at=table.c.updated_at, **values))


def test_refresh_follows_segments_and_custom_fields_changed_by_any_path(backend_app):
    with backend_app.app_context():
        tenant_id, record_id = _tenant_with_a_lead(score=12.0)
        with tenant_context(tenant_id):
            france = Segment(name="France", record_type="lead", status="active",
                             rules=rules("country", "equals", "FR"))
            scored = Segment(name="Scored", record_type="lead", status="active",
                             rules=rules("custom.score", "equals", "12"))
            db.session.add_all([france, scored])
            db.session.commit()
            france_id, scored_id = france.id, scored.id
            # 12.0 read as text is not "12"
            assert refresh_records([record_id]) == {"joined": 1, "left": 0}
            db.session.commit()
            assert refresh_records([record_id]) == {"joined": 0, "left": 0}
            assert _members() == {"France": 1}

            _segment_table_update(france_id, rules=rules("country", "equals", "DE"))
            db.session.commit()
            assert refresh_records([record_id]) == {"joined": 0, "left": 1}
            db.session.commit()
            assert _members() == {}

            # the field removed and added again as a number: 12.0 now equals 12
            db.session.execute(delete(CustomField).where(CustomField.key == "score"))
            db.session.add(CustomField(record_type="lead", key="score", label="Score",
                                       kind="number", choices=[]))
            db.session.commit()
            assert refresh_records([record_id]) == {"joined": 1, "left": 0}
            db.session.commit()
            assert _members() == {"Scored": 1}

            # deactivated: members forgotten, and the next refresh must not bring them back
            _segment_table_update(scored_id, status="inactive", member_count=0)
            db.session.execute(delete(SegmentMember).where(SegmentMember.segment_id == scored_id))
            db.session.commit()
            assert refresh_records([record_id]) == {"joined": 0, "left": 0}
            db.session.commit()
            assert _members() == {}

            # activated again with other rules, and a new segment
            _segment_table_update(scored_id, status="active",
                                  rules=rules("custom.score", "gt", "12"))
            db.session.add(Segment(name="Anyone", record_type="lead", status="active",
                                   rules=rules("custom.score", "lt", "100")))
            db.session.commit()
            assert refresh_records([record_id]) == {"joined": 1, "left": 0}
            db.session.commit()
            assert _members() == {"Anyone": 1}
            assert _events() == [("joined", "France"), ("left", "France"),
                                 ("joined", "Scored"), ("joined", "Anyone")]
        db.session.remove()


def test_a_stale_statement_writes_nothing_and_is_built_again(app, monkeypatch):
    with app.app_context():
        tenant_id, record_id = _tenant_with_a_lead(score=5)
        with tenant_context(tenant_id):
            db.session.add(Segment(name="France", record_type="lead", status="active",
                                   rules=rules("country", "equals", "FR")))
            db.session.commit()
            assert refresh_records([record_id]) == {"joined": 1, "left": 0}
            db.session.commit()

            # a statement whose signature the database no longer gives: it must write nothing
            live._STATEMENTS[tenant_id] = replace(live._STATEMENTS[tenant_id], signature="old")
            db.session.execute(update(Record).where(Record.id == record_id).values(country="DE"))
            assert refresh_records([record_id]) == {"joined": 0, "left": 1}
            db.session.commit()
            assert live._STATEMENTS[tenant_id].signature != "old"

            # segments changing at every attempt: the multi-statement path answers
            monkeypatch.setattr(live, "ATTEMPTS", 0)
            db.session.execute(update(Record).where(Record.id == record_id).values(country="FR"))
            assert refresh_records([record_id]) == {"joined": 1, "left": 0}
            db.session.commit()
            assert _members() == {"France": 1}
            assert _events() == [("joined", "France"), ("left", "France"), ("joined", "France")]
        db.session.remove()


def test_kept_statements_are_bounded_least_recently_used_first(monkeypatch):
    from saas.segments import live

    monkeypatch.setattr(live, "_STATEMENTS", live.OrderedDict())
    monkeypatch.setattr(live, "_STATEMENTS_MAX", 3)
    for tenant_id in (1, 2, 3):
        live._keep(tenant_id, live.Statement(str(tenant_id), (), False))
    live._keep(1, live._STATEMENTS[1])  # tenant 1 refreshed again: 2 is now the oldest
    live._keep(4, live.Statement("4", (), False))
    assert list(live._STATEMENTS) == [3, 1, 4]
