"""Fair turns: the tenants in an order that rotates from call to call (the tick's rounds, its
housekeeping and the send sweeps), so that no tenant is always last."""

from __future__ import annotations

import itertools

_turn = itertools.count()


def rotated(tenant_ids: list[int]) -> list[int]:
    """The tenants in a fair order that rotates from tick to tick: no tenant is always last."""
    if not tenant_ids:
        return tenant_ids
    start = next(_turn) % len(tenant_ids)
    return tenant_ids[start:] + tenant_ids[:start]
