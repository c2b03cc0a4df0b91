"""Every API operation routed on the blueprint: the modules that declare them are imported
here, once, then the table is routed (saas/api/blueprint.py)."""

from saas.api import (  # noqa: F401 - their operations join the table
    activities,
    analytics,
    bulk,
    enrollments,
    records,
    segments,
    sequences,
    suppressions,
    templates,
    webhooks,
)
from saas.api.blueprint import bp, route
from saas.api.spec import OPERATIONS

route(OPERATIONS)

__all__ = ["bp"]
