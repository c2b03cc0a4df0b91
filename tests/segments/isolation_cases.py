"""Tenant-isolation builders for the assignment routes (used by tests/test_tenant_isolation.py)."""

from __future__ import annotations

from saas.extensions import db
from saas.segments.models import AssignmentRule, Segment


def segment_case(tenant):
    from tests.test_tenant_isolation import Case

    segment = Segment(name="Assigned", record_type="lead", status="active", rules={})
    db.session.add(segment)
    db.session.flush()
    return Case({"segment_id": segment.id})


def assignment_rule_case(method: str = "POST", data: dict | None = None):
    def build(tenant):
        from tests.test_tenant_isolation import Case

        segment = Segment(name="Assigned", record_type="lead", status="active", rules={})
        db.session.add(segment)
        db.session.flush()
        first = AssignmentRule(segment_id=segment.id, name="First", position=0, conditions={})
        rule = AssignmentRule(segment_id=segment.id, name="Second", position=1, conditions={})
        db.session.add_all([first, rule])
        db.session.flush()
        return Case({"segment_id": segment.id, "rule_id": rule.id}, method, data or {})
    return build
