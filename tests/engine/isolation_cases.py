"""Tenant-isolation builders for the engine routes, merged into tests/test_tenant_isolation.py.

Each builder creates the object in the tenant in context and returns a Case
(`from tests.test_tenant_isolation import Case` inside the builder, to avoid a cycle).
"""

from __future__ import annotations

CASES: dict = {}
