"""Tenant-isolation builders for the worklist routes, merged into tests/test_tenant_isolation.py.

Each builder creates the object in the tenant in context and returns a Case
(`from tests.test_tenant_isolation import Case` inside the builder, to avoid a cycle). The owner
in that test is a system administrator, who may act on any seller's activity.
"""

from __future__ import annotations

from datetime import timedelta


def _activity(steps: list[dict], settings: dict | None = None, **record_values):
    """A lead connected to a sequence (no seller); its first step run."""
    from tests.worklist import factories as f

    seq = f.sequence(steps, settings=settings)
    enrollment = f.connect(f.lead(**record_values), seq, None)
    return f.current_run(enrollment.id)


def _run_case(steps: list[dict], data: dict | None = None, settings: dict | None = None):
    def build(tenant):
        from tests.test_tenant_isolation import Case

        run = _activity(steps, settings)
        return Case({"step_run_id": run.id}, "POST", {"from": "record", **(data or {})})
    return build


def _send_case(tenant):
    from tests.test_tenant_isolation import Case
    from tests.worklist import factories as f

    template = f.email_template()
    run = _activity([{"type": "email", "name": "Intro",
                      "config": {"template_id": template.id}}])
    return Case({"step_run_id": run.id}, "POST",
                {"from": "record", "subject": "Hello", "body": "Hi there"})


def _snooze_case(tenant):
    from saas.engine import clock
    from tests.test_tenant_isolation import Case

    run = _activity([{"type": "task", "name": "Task"}])
    until = (clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    return Case({"step_run_id": run.id}, "POST", {"from": "record", "until": until})


def _panel_case(tenant):
    from tests.test_tenant_isolation import Case

    run = _activity([{"type": "task", "name": "Task"}])
    return Case({"record_id": run.record_id})


TASK = [{"type": "task", "name": "Task"}, {"type": "task", "name": "Next"}]

def _seller_case(method: str = "GET", data: dict | None = None):
    """A seller of the tenant (the sellers' pages: capacity, time off)."""
    def build(tenant):
        from saas.auth.models import User
        from saas.extensions import db
        from tests.test_tenant_isolation import Case

        seller = User(email="away@alpha.example", name="Away", roles=["seller"],
                      status="active", password_hash="x")
        db.session.add(seller)
        db.session.flush()
        return Case({"user_id": seller.id}, method, data or {})
    return build


def _time_off_case(tenant):
    from datetime import date

    from saas.auth.models import User
    from saas.extensions import db
    from saas.sellers.models import TimeOff
    from tests.test_tenant_isolation import Case

    seller = User(email="leave@alpha.example", name="Leave", roles=["seller"], status="active",
                  password_hash="x")
    db.session.add(seller)
    db.session.flush()
    leave = TimeOff(user_id=seller.id, starts_on=date(2030, 1, 1), ends_on=date(2030, 1, 5),
                    status="planned")
    db.session.add(leave)
    db.session.flush()
    return Case({"user_id": seller.id, "time_off_id": leave.id}, "POST")


CASES: dict = {
    "sellers.show": _seller_case(),
    "sellers.capacity": _seller_case("POST", {"capacity": "5"}),
    "sellers.add_time_off": _seller_case("POST", {"starts_on": "2030-02-01",
                                                  "ends_on": "2030-02-03", "note": "Ski"}),
    "sellers.remove_time_off": _time_off_case,
    "worklist.panel": _panel_case,
    "worklist.complete": _run_case(TASK),
    "worklist.skip": _run_case(TASK, {"reason": "Not needed"}),
    "worklist.snooze": _snooze_case,
    "worklist.log_call": _run_case([{"type": "call", "name": "Call"}],
                                   {"outcome": "connected"}),
    "worklist.skip_wait": _run_case(
        [{"type": "wait", "name": "Wait", "config": {"days": 1, "hours": 0}},
         {"type": "task", "name": "After"}], settings={"allow_skip_wait": True}),
    "worklist.send": _send_case,
}
