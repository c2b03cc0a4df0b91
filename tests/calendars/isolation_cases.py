"""Tenant-isolation builders for Settings > Calendar (used by tests/test_tenant_isolation.py)."""

from __future__ import annotations

from datetime import date

from saas.calendars.models import ClosureDay
from saas.extensions import db


def closure_day_case(tenant):
    from tests.test_tenant_isolation import Case

    closure = ClosureDay(day=date(2027, 3, 29), name="Easter Monday")
    db.session.add(closure)
    db.session.flush()
    return Case({"closure_id": closure.id}, "POST")


CASES = {"calendars.remove_closure": closure_day_case}
