"""Tenant-isolation builders for the analytics routes, merged into tests/test_tenant_isolation.py.

Each builder creates the object in the tenant in context and returns a Case
(`from tests.test_tenant_isolation import Case` inside the builder, to avoid a cycle).
"""

from __future__ import annotations


def _sequence_with_ab_test():
    from saas.engine import abtests
    from tests.analytics.history import ab_config, add_step, make_sequence

    sequence = make_sequence("Isolation sequence")
    add_step(sequence, "ab_test", "A/B", position=0, config=ab_config())
    test = abtests.start_tests(sequence.id)[0]
    return sequence, test


def _sequence_case(tenant):
    from tests.test_tenant_isolation import Case

    sequence, _ = _sequence_with_ab_test()
    return Case({"sequence_id": sequence.id})


def _stop_case(tenant):
    from tests.test_tenant_isolation import Case

    _, test = _sequence_with_ab_test()
    return Case({"test_id": test.id}, "POST", {"version": "B"})


CASES: dict = {
    "analytics.sequence": _sequence_case,
    "analytics.export_csv": _sequence_case,
    "analytics.stop_ab_test": _stop_case,
}
